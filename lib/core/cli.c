/*
 * cli: the command table's dispatcher, the option parser and usage errors, as every tool
 * reports them (exai/cli.h).
 *
 * Invariants: nothing here keeps state between calls (the parser's is in its struct); every
 * refusal goes through exai_cli_usage, so it is one line (plus a hint) on stderr and, with
 * --json, one JSON error document on stdout; help and version go to stdout. Arguments are
 * never copied, only compared and pointed to; the only write to argv is the dispatcher's
 * move of the global options after the command name.
 */
#include "exai/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/json.h"
#include "exai/text.h"
#include "exai/version.h"

#define SUGGEST_DIST 2

const char *exai_cli_setting(const char *opt, const char *env, const char *dflt)
{
	const char *v = env ? getenv(env) : NULL;

	if (opt && *opt)
		return opt;
	return v && *v ? v : dflt;
}

bool exai_cli_json_requested(int argc, char *const argv[])
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--json"))
			return true;
	}
	return false;
}

int exai_cli_usage(const char *who, bool json, const char *hint, const char *fmt, ...)
{
	exai_error e = {.code = EXAI_EINVAL};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", who, e.msg);
	if (hint)
		fprintf(stderr, "(%s)\n", hint);
	if (json)
		exai_json_emit(exai_json_error(&e), stdout);
	return EXAI_EXIT_USAGE;
}

int exai_cli_refuse(const exai_cli_call *call, const char *fmt, ...)
{
	char msg[EXAI_ERROR_MSG_MAX], hint[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(hint, sizeof(hint), "see '%s --help'", call->who);
	return exai_cli_usage(call->who, call->json, hint, "%s", msg);
}

int exai_cli_exit(int next)
{
	if (next == EXAI_CLI_HELP)
		return EXAI_EXIT_OK;
	return next == EXAI_CLI_ERROR ? EXAI_EXIT_USAGE : next;
}

/* ---- the option parser ---- */

static void parser_start(exai_cli_parser *p, const char *who, const char *help, bool json,
			 const exai_cli_opt *opts, int argc, char **argv, unsigned flags)
{
	memset(p, 0, sizeof(*p));
	p->who = who;
	p->help = help;
	p->json = json;
	p->opts = opts;
	p->argc = argc;
	p->argv = argv;
	p->next = 1;
	p->flags = flags;
	snprintf(p->hint, sizeof(p->hint), "see '%s --help'", who);
}

void exai_cli_parser_init(exai_cli_parser *p, const exai_cli_call *call, const exai_cli_opt *opts,
			  int argc, char **argv, unsigned flags)
{
	parser_start(p, call->who, call->cmd ? call->cmd->help : NULL, call->json, opts, argc, argv,
		     flags);
}

/* Every later call answers @ret as well (a parse that has ended stays ended). */
static int parser_end(exai_cli_parser *p, int ret)
{
	p->ended = ret;
	p->help = NULL;
	return ret;
}

static int refuse(exai_cli_parser *p, const char *fmt, ...) EXAI_PRINTF(2, 3);
static int refuse(exai_cli_parser *p, const char *fmt, ...)
{
	char msg[EXAI_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	exai_cli_usage(p->who, p->json, p->hint, "%s", msg);
	return parser_end(p, EXAI_CLI_ERROR);
}

/* The option of the table named by the @len bytes at @name, or NULL. */
static const exai_cli_opt *lookup(const exai_cli_opt *opts, const char *name, size_t len)
{
	for (size_t i = 0; opts && opts[i].name && i < EXAI_CLI_OPTS_MAX; i++)
		if (strlen(opts[i].name) == len && !memcmp(opts[i].name, name, len))
			return &opts[i];
	return NULL;
}

/* At most this much of an argument is quoted in a message. */
#define QUOTE_MAX 200

/* "unknown option '--NAME'", with the nearest name of the table (or help) when one is near. */
static int unknown_option(exai_cli_parser *p, const char *arg, size_t len)
{
	int q = (int)(len < QUOTE_MAX ? len : QUOTE_MAX);
	const char *words[EXAI_CLI_OPTS_MAX + 2], *near;
	char typo[EXAI_SUGGEST_MAX_LEN + 1];
	size_t n = 0;

	for (size_t i = 0; p->opts && p->opts[i].name && n < EXAI_CLI_OPTS_MAX; i++)
		words[n++] = p->opts[i].name;
	words[n++] = "help";
	words[n] = NULL;
	near = NULL;
	if (arg[0] == '-' && arg[1] == '-' && len - 2 <= EXAI_SUGGEST_MAX_LEN) {
		memcpy(typo, arg + 2, len - 2);
		typo[len - 2] = '\0';
		near = exai_suggest(typo, words, SUGGEST_DIST);
	}
	if (near)
		return refuse(p, "unknown option '%.*s' (did you mean '--%s'?)", q, arg, near);
	return refuse(p, "unknown option '%.*s'%s", q, arg, len > QUOTE_MAX ? "..." : "");
}

/* The value of @o, given as "--name=VALUE" (@eq points at the '=') or as the next argument. */
static int option_value(exai_cli_parser *p, const exai_cli_opt *o, const char *eq,
			const char **value)
{
	const char *v;

	if (eq) {
		v = eq + 1;
	} else {
		if (p->next >= p->argc)
			return refuse(p, "--%s needs a value", o->name);
		v = p->argv[p->next++];
		if (v[0] == '-' && v[1] != '\0')
			return refuse(p,
				      "--%s needs a value, and '%.*s' looks like an option (write "
				      "--%s=%.*s if it is the value)",
				      o->name, QUOTE_MAX, v, o->name, QUOTE_MAX, v);
	}
	if (!*v)
		return refuse(p, "--%s needs a value, not an empty one", o->name);
	*value = v;
	return o->id;
}

/* One argument that starts with '-' (and is not "-" or "--"). */
static int option(exai_cli_parser *p, const char *arg, const char **value)
{
	const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const exai_cli_opt *o;

	if (!strcmp(arg, "-h") || (len == 6 && !memcmp(arg, "--help", 6))) {
		if (eq)
			return refuse(p, "--help takes no value ('%.*s')", QUOTE_MAX, arg);
		if (p->help)
			fputs(p->help, stdout);
		return parser_end(p, EXAI_CLI_HELP);
	}
	if (arg[1] != '-' || !(o = lookup(p->opts, arg + 2, len - 2)))
		return unknown_option(p, arg, len);
	if (!o->value) {
		if (eq)
			return refuse(p, "--%s takes no value ('%.*s')", o->name, QUOTE_MAX, arg);
		return o->id;
	}
	return option_value(p, o, eq, value);
}

int exai_cli_next(exai_cli_parser *p, const char **value)
{
	const char *arg;

	*value = NULL;
	if (p->ended)
		return p->ended;
	while (p->next < p->argc) {
		arg = p->argv[p->next];
		if (p->only_args) {
			p->next++;
			*value = arg;
			return EXAI_CLI_ARG;
		}
		if (!strcmp(arg, "--")) {
			p->next++;
			p->only_args = true;
			if (p->flags & EXAI_CLI_STOP_AT_ARG)
				break;
			continue;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			if (p->flags & EXAI_CLI_STOP_AT_ARG)
				break;
			p->next++;
			*value = arg;
			return EXAI_CLI_ARG;
		}
		p->next++;
		return option(p, arg, value);
	}
	return parser_end(p, EXAI_CLI_END);
}

char **exai_cli_rest(const exai_cli_parser *p, int *n)
{
	*n = p->ended == EXAI_CLI_END && (p->flags & EXAI_CLI_STOP_AT_ARG) ? p->argc - p->next : 0;
	return p->argv + (*n ? p->next : p->argc);
}

/* ---- the command table ---- */

static void tool_help(const exai_cli_tool *t)
{
	size_t w = 0;

	for (const exai_cli_cmd *c = t->cmds; c->name; c++)
		if (strlen(c->name) > w)
			w = strlen(c->name);
	fputs(t->usage, stdout);
	fputs("\ncommands:\n", stdout);
	for (const exai_cli_cmd *c = t->cmds; c->name; c++)
		printf("  %-*s  %s\n", (int)w, c->name, c->summary);
	if (t->epilog) {
		fputc('\n', stdout);
		fputs(t->epilog, stdout);
	}
}

static const exai_cli_cmd *find_cmd(const exai_cli_tool *t, const char *name)
{
	for (const exai_cli_cmd *c = t->cmds; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

#define CMDS_MAX 64

static int unknown_cmd(const exai_cli_tool *t, bool json, const char *name)
{
	const char *words[CMDS_MAX + 2], *near;
	char hint[160];
	size_t n = 0;

	for (const exai_cli_cmd *c = t->cmds; c->name && n < CMDS_MAX; c++)
		words[n++] = c->name;
	words[n++] = "help";
	words[n] = NULL;
	near = exai_suggest(name, words, SUGGEST_DIST);
	snprintf(hint, sizeof(hint), "see '%s --help' for the commands", t->name);
	if (near)
		return exai_cli_usage(t->name, json, hint,
				      "unknown command '%s' (did you mean '%s'?)", name, near);
	return exai_cli_usage(t->name, json, hint, "unknown command '%s'", name);
}

/* "TOOL help [CMD]". */
static int help_cmd(const exai_cli_tool *t, bool json, int argc, char **argv)
{
	const exai_cli_cmd *c;
	char who[128], hint[160];

	if (argc < 2) {
		tool_help(t);
		return EXAI_EXIT_OK;
	}
	snprintf(who, sizeof(who), "%s help", t->name);
	snprintf(hint, sizeof(hint), "see '%s --help'", t->name);
	if (argc > 2)
		return exai_cli_usage(who, json, hint, "one command at a time, not '%s' too",
				      argv[2]);
	if (!strcmp(argv[1], "help")) {
		tool_help(t);
		return EXAI_EXIT_OK;
	}
	if (!(c = find_cmd(t, argv[1])))
		return unknown_cmd(t, json, argv[1]);
	if (c->sub)
		tool_help(c->sub);
	else
		fputs(c->help, stdout);
	return EXAI_EXIT_OK;
}

/* The options before the command, as the parser reads them (with --version and --help).
 * Returns the command's index in @argv, or 0 with *@exit set when the parse ended there. */
#define OPT_VERSION (-100)
static int global_options(const exai_cli_tool *t, bool json, int argc, char **argv, int *exit)
{
	exai_cli_opt opts[EXAI_CLI_OPTS_MAX + 2];
	exai_cli_parser p;
	const char *v;
	size_t n = 0;
	int id;

	for (size_t i = 0; t->global && t->global[i].name && n < EXAI_CLI_OPTS_MAX; i++)
		opts[n++] = t->global[i];
	if (t->version)
		opts[n++] = (exai_cli_opt){"version", false, OPT_VERSION};
	opts[n] = (exai_cli_opt){NULL, false, 0};
	parser_start(&p, t->name, NULL, json, opts, argc, argv, EXAI_CLI_STOP_AT_ARG);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_HELP) {
			tool_help(t);
			*exit = EXAI_EXIT_OK;
			return 0;
		}
		if (id == EXAI_CLI_ERROR) {
			*exit = EXAI_EXIT_USAGE;
			return 0;
		}
		if (id == OPT_VERSION) {
			exai_version_print(stdout, t->name);
			*exit = EXAI_EXIT_OK;
			return 0;
		}
	}
	if (p.only_args) /* "--" would be handed to the command and end its options */
		*exit = exai_cli_usage(t->name, json, p.hint, "'--' before the command");
	else if (p.next >= argc)
		*exit = exai_cli_usage(t->name, json, p.hint, "no command given");
	else
		return p.next;
	return 0;
}

/* Moves argv[at] (the command) to argv[1], the arguments before it one place up. */
static void command_first(char **argv, int at)
{
	char *cmd = argv[at];

	memmove(argv + 2, argv + 1, (size_t)(at - 1) * sizeof(*argv));
	argv[1] = cmd;
}

int exai_cli_dispatch(const exai_cli_tool *t, int argc, char **argv)
{
	bool json = exai_cli_json_requested(argc, argv);
	exai_cli_call call = {.tool = t, .json = json};
	int at, ret = EXAI_EXIT_USAGE;

	if (!(at = global_options(t, json, argc, argv, &ret)))
		return ret;
	if (!strcmp(argv[at], "help"))
		return help_cmd(t, json, argc - at, argv + at);
	if (!(call.cmd = find_cmd(t, argv[at])))
		return unknown_cmd(t, json, argv[at]);
	snprintf(call.who, sizeof(call.who), "%s %s", t->name, call.cmd->name);
	command_first(argv, at);
	if (t->prepare && (ret = t->prepare(&call)))
		return ret;
	if (call.cmd->sub)
		return exai_cli_dispatch(call.cmd->sub, argc - 1, argv + 1);
	return call.cmd->run(&call, argc - 1, argv + 1);
}
