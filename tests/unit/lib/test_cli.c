/*
 * cli: the command table's dispatcher and the option parser every tool uses (exai/cli.h),
 * run on a small test tool "t". Each case asserts the exit code and the exact bytes on
 * stdout and stderr (captured through temporary files), and what the command saw.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/cli.h"
#include "exai/version.h"
#include "testutil.h"

enum { O_ROOT, O_KEY, O_JSON, O_TIMEOUT };

/* What the commands saw, in order: "root=R arg=B json ". */
static char seen[1024];
static int prepared;

static void see(const char *fmt, ...) EXAI_PRINTF(1, 2);
static void see(const char *fmt, ...)
{
	size_t n = strlen(seen);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seen + n, sizeof(seen) - n, fmt, ap);
	va_end(ap);
}

static const exai_cli_opt verify_opts[] = {
    {"root", true, O_ROOT}, {"key", true, O_KEY}, {"json", false, O_JSON}, {NULL, false, 0}};

static int run_verify(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v;
	int id;

	see("[%s] ", call->who);
	exai_cli_parser_init(&p, call, verify_opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (id) {
		case O_ROOT:
			see("root=%s ", v);
			break;
		case O_KEY:
			see("key=%s ", v);
			break;
		case O_JSON:
			see("json ");
			break;
		case EXAI_CLI_ARG:
			see("arg=%s ", v);
			break;
		default:
			return exai_cli_exit(id);
		}
	}
	/* A parse that has ended stays ended. */
	ck_assert_int_eq(exai_cli_next(&p, &v), EXAI_CLI_END);
	return 7;
}

static const exai_cli_opt run_opts[] = {
    {"timeout", true, O_TIMEOUT}, {"json", false, O_JSON}, {NULL, false, 0}};

static int run_run(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v;
	char **rest;
	int id, n;

	exai_cli_parser_init(&p, call, run_opts, argc, argv, EXAI_CLI_STOP_AT_ARG);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == O_TIMEOUT)
			see("timeout=%s ", v);
		else if (id == O_JSON)
			see("json ");
		else
			return exai_cli_exit(id);
	}
	rest = exai_cli_rest(&p, &n);
	see("rest(%d):", n);
	for (int i = 0; i < n; i++)
		see(" %s", rest[i]);
	ck_assert_ptr_null(rest[n]);
	return 0;
}

static int prepare(const exai_cli_call *call)
{
	(void)call;
	prepared++;
	return 0;
}

static const exai_cli_cmd grp_cmds[] = {
    {"one", "the first", "usage: t grp one [--key K]\n", run_verify, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_tool grp = {
    .name = "t grp",
    .usage = "usage: t grp <command>\n",
    .cmds = grp_cmds,
    .global = (const exai_cli_opt[]){{"json", false, O_JSON}, {NULL, false, 0}},
};

static const exai_cli_cmd cmds[] = {
    {"verify", "check a thing", "usage: t verify THING [--root R] [--key K] [--json]\n", run_verify,
     NULL},
    {"run", "run a command", "usage: t run [--timeout S] -- CMD...\n", run_run, NULL},
    {"grp", "commands of its own", NULL, NULL, &grp},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_opt globals[] = {{"json", false, O_JSON}, {NULL, false, 0}};

static const exai_cli_tool tool = {
    .name = "t",
    .usage = "usage: t <command> [options]\n",
    .epilog = "Exit status: 0 ok.\n",
    .cmds = cmds,
    .global = globals,
    .version = true,
    .prepare = prepare,
};

#define TOOL_HELP                         \
	"usage: t <command> [options]\n"  \
	"\n"                              \
	"commands:\n"                     \
	"  verify  check a thing\n"       \
	"  run     run a command\n"       \
	"  grp     commands of its own\n" \
	"\n"                              \
	"Exit status: 0 ok.\n"

typedef struct result {
	int rc;
	char out[4096], err[4096];
} result;

static void slurp(FILE *f, char *buf, size_t cap)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs "t ARGS..." (NULL-terminated) through exai_cli_dispatch, stdout and stderr captured. */
static result *dispatch(const char *first, ...)
{
	static result r;
	char *argv[32];
	int argc = 0, fd1, fd2;
	FILE *o = tmpfile(), *e = tmpfile();
	va_list ap;

	ck_assert(o && e);
	argv[argc++] = (char *)"t";
	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		ck_assert_int_lt(argc, 31);
		argv[argc++] = (char *)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	seen[0] = '\0';
	prepared = 0;
	fflush(stdout);
	fflush(stderr);
	fd1 = dup(1);
	fd2 = dup(2);
	ck_assert(fd1 >= 0 && fd2 >= 0);
	ck_assert_int_ge(dup2(fileno(o), 1), 0);
	ck_assert_int_ge(dup2(fileno(e), 2), 0);
	r.rc = exai_cli_dispatch(&tool, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(fd1, 1);
	dup2(fd2, 2);
	close(fd1);
	close(fd2);
	slurp(o, r.out, sizeof(r.out));
	slurp(e, r.err, sizeof(r.err));
	return &r;
}

/* A usage error of @who: exit 2, @line and the hint on stderr, nothing on stdout. */
static void assert_refused(const result *r, const char *who, const char *msg, const char *hint)
{
	char want_err[2048];

	snprintf(want_err, sizeof(want_err), "%s: %s\n(%s)\n", who, msg, hint);
	ck_assert_int_eq(r->rc, EXAI_EXIT_USAGE);
	ck_assert_str_eq(r->err, want_err);
	ck_assert_str_eq(r->out, "");
}

/* A refusal of "t verify": its hint names the command's help. */
static void assert_verify_refused(const result *r, const char *msg)
{
	assert_refused(r, "t verify", msg, "see 't verify --help'");
	ck_assert_int_eq(prepared, 1);
}

START_TEST(tool_help_version_and_help_command)
{
	result *r = dispatch("--help", NULL);
	char want[256];

	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, TOOL_HELP);
	ck_assert_str_eq(r->err, "");
	r = dispatch("-h", NULL);
	ck_assert_str_eq(r->out, TOOL_HELP);
	r = dispatch("help", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, TOOL_HELP);
	r = dispatch("help", "run", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "usage: t run [--timeout S] -- CMD...\n");
	r = dispatch("help", "help", NULL);
	ck_assert_str_eq(r->out, TOOL_HELP);
	r = dispatch("--version", NULL);
	ck_assert_int_eq(r->rc, 0);
	snprintf(want, sizeof(want), "t %s\n", exai_version());
	ck_assert_int_eq(strncmp(r->out, want, strlen(want)), 0);
	ck_assert_ptr_nonnull(strstr(r->out, "\nbundle format: 1 and 2\n"));
	ck_assert_ptr_nonnull(strstr(r->out, "\nbuild: "));
	ck_assert_ptr_nonnull(strstr(r->out, "\nlibsodium: "));
	ck_assert_int_eq(prepared, 0); /* help and version never prepare */
	r = dispatch("--version=2", NULL);
	assert_refused(r, "t", "--version takes no value ('--version=2')", "see 't --help'");
}
END_TEST

START_TEST(command_help_is_its_own)
{
	result *r = dispatch("verify", "--help", NULL);

	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "usage: t verify THING [--root R] [--key K] [--json]\n");
	ck_assert_str_eq(r->err, "");
	r = dispatch("verify", "B", "-h", "--bogus", NULL); /* help ends the parse */
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, "usage: t verify THING [--root R] [--key K] [--json]\n");
	ck_assert_str_eq(seen, "[t verify] arg=B ");
	r = dispatch("verify", "--help=yes", NULL);
	assert_verify_refused(r, "--help takes no value ('--help=yes')");
	r = dispatch("help", "verfy", NULL);
	assert_refused(r, "t", "unknown command 'verfy' (did you mean 'verify'?)",
		       "see 't --help' for the commands");
	r = dispatch("help", "verify", "run", NULL);
	assert_refused(r, "t help", "one command at a time, not 'run' too", "see 't --help'");
}
END_TEST

START_TEST(unknown_and_missing_command)
{
	result *r = dispatch("frobnicate", NULL);
	json_error_t je;
	json_t *doc;

	assert_refused(r, "t", "unknown command 'frobnicate'", "see 't --help' for the commands");
	r = dispatch("verfiy", NULL);
	assert_refused(r, "t", "unknown command 'verfiy' (did you mean 'verify'?)",
		       "see 't --help' for the commands");
	ck_assert_int_eq(prepared, 0);
	r = dispatch(NULL);
	assert_refused(r, "t", "no command given", "see 't --help'");
	r = dispatch("--json", NULL);
	ck_assert_int_eq(r->rc, EXAI_EXIT_USAGE);
	ck_assert_str_eq(r->err, "t: no command given\n(see 't --help')\n");
	r = dispatch("--", "verify", NULL);
	assert_refused(r, "t", "'--' before the command", "see 't --help'");
	/* --json anywhere: the JSON error document on stdout as well. */
	r = dispatch("frobnicate", "--json", NULL);
	ck_assert_int_eq(r->rc, EXAI_EXIT_USAGE);
	ck_assert_str_eq(r->err,
			 "t: unknown command 'frobnicate'\n(see 't --help' for the commands)\n");
	doc = json_loads(r->out, 0, &je);
	ck_assert_ptr_nonnull(doc);
	ck_assert(json_is_false(json_object_get(doc, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(doc, "error"), "code")),
			 "EINVAL");
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(doc, "error"), "message")),
	    "unknown command 'frobnicate'");
	json_decref(doc);
}
END_TEST

START_TEST(options_both_forms_and_positionals_in_order)
{
	result *r = dispatch("verify", "--root=R1", "B1", "--key", "K1", "B2", "--json", NULL);

	ck_assert_int_eq(r->rc, 7);
	ck_assert_str_eq(seen, "[t verify] root=R1 arg=B1 key=K1 arg=B2 json ");
	ck_assert_int_eq(prepared, 1);
	ck_assert_str_eq(r->out, "");
	ck_assert_str_eq(r->err, "");
	/* A value with '=' in it, "-" alone, and a value starting with '-' given with '='. */
	r = dispatch("verify", "--root=a=b", "--key", "-", "--root=-x", "-", NULL);
	ck_assert_int_eq(r->rc, 7);
	ck_assert_str_eq(seen, "[t verify] root=a=b key=- root=-x arg=- ");
	/* "--" ends the options: what follows is positional, --json too (no JSON errors). */
	r = dispatch("verify", "B", "--", "--json", "--", "-h", NULL);
	ck_assert_int_eq(r->rc, 7);
	ck_assert_str_eq(seen, "[t verify] arg=B arg=--json arg=-- arg=-h ");
}
END_TEST

START_TEST(global_options_move_after_the_command)
{
	result *r = dispatch("--json", "verify", "B", NULL);

	ck_assert_int_eq(r->rc, 7);
	ck_assert_str_eq(seen, "[t verify] json arg=B ");
	r = dispatch("--bogus", "verify", NULL);
	assert_refused(r, "t", "unknown option '--bogus'", "see 't --help'");
	r = dispatch("--jsno", "verify", NULL);
	assert_refused(r, "t", "unknown option '--jsno' (did you mean '--json'?)",
		       "see 't --help'");
	r = dispatch("--json=1", "verify", NULL);
	assert_refused(r, "t", "--json takes no value ('--json=1')", "see 't --help'");
	r = dispatch("--help", "verify", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, TOOL_HELP);
	ck_assert_int_eq(prepared, 0);
}
END_TEST

START_TEST(refuses_unknown_options_with_the_nearest_name)
{
	result *r = dispatch("verify", "--jsn", NULL);

	assert_verify_refused(r, "unknown option '--jsn' (did you mean '--json'?)");
	r = dispatch("verify", "--rot=R", NULL);
	assert_verify_refused(r, "unknown option '--rot' (did you mean '--root'?)");
	r = dispatch("verify", "--hlep", NULL);
	assert_verify_refused(r, "unknown option '--hlep' (did you mean '--help'?)");
	r = dispatch("verify", "--no-such-flag", NULL);
	assert_verify_refused(r, "unknown option '--no-such-flag'");
	r = dispatch("verify", "-x", NULL); /* no short options but -h */
	assert_verify_refused(r, "unknown option '-x'");
	r = dispatch("verify", "--ro", NULL); /* no prefixes */
	assert_verify_refused(r, "unknown option '--ro'");
	r = dispatch("verify", "---root", "R", NULL);
	assert_verify_refused(r, "unknown option '---root' (did you mean '--root'?)");
	r = dispatch("verify", "--=R", NULL);
	assert_verify_refused(r, "unknown option '--'");
	/* What came before the refusal was seen; nothing after it. */
	r = dispatch("verify", "B", "--bad", "C", NULL);
	assert_verify_refused(r, "unknown option '--bad'");
	ck_assert_str_eq(seen, "[t verify] arg=B ");
}
END_TEST

START_TEST(refuses_missing_empty_and_option_like_values)
{
	result *r = dispatch("verify", "B", "--root", NULL);

	assert_verify_refused(r, "--root needs a value");
	r = dispatch("verify", "--root=", NULL);
	assert_verify_refused(r, "--root needs a value, not an empty one");
	r = dispatch("verify", "--root", "", NULL);
	assert_verify_refused(r, "--root needs a value, not an empty one");
	r = dispatch("verify", "--root", "-x", NULL);
	assert_verify_refused(r, "--root needs a value, and '-x' looks like an option (write "
				 "--root=-x if it is the value)");
	r = dispatch("verify", "--root", "--key", "K", NULL);
	assert_verify_refused(r, "--root needs a value, and '--key' looks like an option (write "
				 "--root=--key if it is the value)");
	ck_assert_str_eq(seen, "[t verify] ");
}
END_TEST

START_TEST(refuses_a_value_given_to_a_flag)
{
	result *r = dispatch("verify", "--json=1", NULL);

	assert_verify_refused(r, "--json takes no value ('--json=1')");
	r = dispatch("verify", "--json=", NULL);
	assert_verify_refused(r, "--json takes no value ('--json=')");
}
END_TEST

START_TEST(json_refusals_are_one_document)
{
	result *r = dispatch("verify", "--json", "--root", NULL);
	json_error_t je;
	json_t *doc;

	ck_assert_int_eq(r->rc, EXAI_EXIT_USAGE);
	ck_assert_str_eq(r->err, "t verify: --root needs a value\n(see 't verify --help')\n");
	doc = json_loads(r->out, 0, &je); /* exactly one document: trailing text fails */
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(doc, "error"), "message")),
	    "--root needs a value");
	json_decref(doc);
}
END_TEST

START_TEST(stop_at_the_first_argument)
{
	result *r = dispatch("run", "--timeout", "5", "cmd", "--json", "-x", NULL);

	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(seen, "timeout=5 rest(3): cmd --json -x");
	r = dispatch("run", "--timeout=5", "--", "--cmd", "--", NULL);
	ck_assert_str_eq(seen, "timeout=5 rest(2): --cmd --");
	r = dispatch("run", "--json", NULL);
	ck_assert_str_eq(seen, "json rest(0):");
	r = dispatch("run", "--", NULL);
	ck_assert_str_eq(seen, "rest(0):");
	r = dispatch("run", "--bogus", "--", "true", NULL);
	assert_refused(r, "t run", "unknown option '--bogus'", "see 't run --help'");
}
END_TEST

START_TEST(parsers_keep_no_global_state)
{
	static const exai_cli_opt opts[] = {{"key", true, O_KEY}, {NULL, false, 0}};
	char *argv[] = {(char *)"cmd", (char *)"--key", (char *)"K", (char *)"A", NULL};
	exai_cli_call call = {.tool = &tool, .cmd = &cmds[0], .who = "t verify"};
	exai_cli_parser p, q;
	const char *v, *w;

	/* Two parses of the same arguments, interleaved, each see everything. */
	exai_cli_parser_init(&p, &call, opts, 4, argv, 0);
	exai_cli_parser_init(&q, &call, opts, 4, argv, 0);
	ck_assert_int_eq(exai_cli_next(&p, &v), O_KEY);
	ck_assert_str_eq(v, "K");
	ck_assert_int_eq(exai_cli_next(&q, &w), O_KEY);
	ck_assert_int_eq(exai_cli_next(&p, &v), EXAI_CLI_ARG);
	ck_assert_str_eq(v, "A");
	ck_assert_int_eq(exai_cli_next(&p, &v), EXAI_CLI_END);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(exai_cli_next(&q, &w), EXAI_CLI_ARG);
	ck_assert_int_eq(exai_cli_next(&q, &w), EXAI_CLI_END);
	ck_assert_int_eq(exai_cli_exit(EXAI_CLI_HELP), EXAI_EXIT_OK);
	ck_assert_int_eq(exai_cli_exit(EXAI_CLI_ERROR), EXAI_EXIT_USAGE);
	ck_assert_int_eq(exai_cli_exit(EXAI_EXIT_USAGE), EXAI_EXIT_USAGE); /* exit codes pass */
	ck_assert_int_eq(exai_cli_exit(EXAI_EXIT_FAIL), EXAI_EXIT_FAIL);
}
END_TEST

START_TEST(refuse_names_the_command)
{
	exai_cli_call call = {.tool = &tool, .cmd = &cmds[0], .who = "t verify"};
	char err[256];
	FILE *e = tmpfile();
	int fd2 = dup(2), rc;

	ck_assert(e && fd2 >= 0);
	fflush(stderr);
	dup2(fileno(e), 2);
	rc = exai_cli_refuse(&call, "give exactly one %s", "THING");
	fflush(stderr);
	dup2(fd2, 2);
	close(fd2);
	slurp(e, err, sizeof(err));
	ck_assert_int_eq(rc, EXAI_EXIT_USAGE);
	ck_assert_str_eq(err, "t verify: give exactly one THING\n(see 't verify --help')\n");
}
END_TEST

START_TEST(commands_of_a_command)
{
	static const char grp_help[] = "usage: t grp <command>\n\ncommands:\n  one  the first\n";
	result *r = dispatch("--json", "grp", "one", "--key", "K", "A", NULL);

	ck_assert_int_eq(r->rc, 7);
	ck_assert_str_eq(seen, "[t grp one] json key=K arg=A ");
	ck_assert_int_eq(prepared, 1); /* the tool's prepare, once */
	r = dispatch("help", "grp", NULL);
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, grp_help);
	r = dispatch("grp", "--help", NULL);
	ck_assert_str_eq(r->out, grp_help);
	r = dispatch("grp", "one", "--help", NULL);
	ck_assert_str_eq(r->out, "usage: t grp one [--key K]\n");
	r = dispatch("grp", NULL);
	assert_refused(r, "t grp", "no command given", "see 't grp --help'");
	r = dispatch("grp", "on", NULL);
	assert_refused(r, "t grp", "unknown command 'on' (did you mean 'one'?)",
		       "see 't grp --help' for the commands");
	r = dispatch("grp", "one", "--nope", NULL);
	assert_refused(r, "t grp one", "unknown option '--nope'", "see 't grp one --help'");
}
END_TEST

START_TEST(setting_option_env_default)
{
	unsetenv("EXAI_TEST_SETTING");
	ck_assert_str_eq(exai_cli_setting(NULL, "EXAI_TEST_SETTING", "/dflt"), "/dflt");
	setenv("EXAI_TEST_SETTING", "", 1);
	ck_assert_str_eq(exai_cli_setting(NULL, "EXAI_TEST_SETTING", "/dflt"), "/dflt");
	setenv("EXAI_TEST_SETTING", "/env", 1);
	ck_assert_str_eq(exai_cli_setting(NULL, "EXAI_TEST_SETTING", "/dflt"), "/env");
	ck_assert_str_eq(exai_cli_setting("", "EXAI_TEST_SETTING", "/dflt"), "/env");
	ck_assert_str_eq(exai_cli_setting("/opt", "EXAI_TEST_SETTING", "/dflt"), "/opt");
	unsetenv("EXAI_TEST_SETTING");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, tool_help_version_and_help_command);
	tcase_add_test(tc, setting_option_env_default);
	tcase_add_test(tc, command_help_is_its_own);
	tcase_add_test(tc, unknown_and_missing_command);
	tcase_add_test(tc, options_both_forms_and_positionals_in_order);
	tcase_add_test(tc, global_options_move_after_the_command);
	tcase_add_test(tc, refuses_unknown_options_with_the_nearest_name);
	tcase_add_test(tc, refuses_missing_empty_and_option_like_values);
	tcase_add_test(tc, refuses_a_value_given_to_a_flag);
	tcase_add_test(tc, json_refusals_are_one_document);
	tcase_add_test(tc, stop_at_the_first_argument);
	tcase_add_test(tc, parsers_keep_no_global_state);
	tcase_add_test(tc, refuse_names_the_command);
	tcase_add_test(tc, commands_of_a_command);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
