/*
 * cmd_reload.c: 'exai-egress reload', what exai-update's policy_reload hook runs after
 * installing a policy component: a policy directory (DIR/policy.yaml with every
 * DIR/NAME.minisig as its signatures) or one policy file, swapped in whole over the running
 * policy (one update of the policy slot: no moment with no policy or half of one).
 *
 * Two ways, chosen before anything else is done:
 *  - a daemon: with --socket, or when the control socket ($EXAI_EGRESS_SOCKET, else
 *    /run/exai-egress/control.sock) exists, the request goes to exai-egress serve, which checks
 *    the caller and the files and does the rest itself (with its own trust root). This is the
 *    way that works in exai-update's hook sandbox, where bpf() is refused even to root.
 *  - direct: otherwise this process reads, checks and swaps the policy itself, as apply does
 *    (root, --root ROOT or --unsigned).
 */
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl.h"
#include "egress_cli.h"
#include "exai/json.h"
#include "pins.h"
#include "ratchet.h"
#include "serve_config.h"

#define CALL_TIMEOUT_S 120

const char egress_reload_help[] =
    "usage: exai-egress reload (--policy-dir DIR | --policy FILE [--sig SIG]...)\n"
    "                          [--socket PATH] [--root ROOT | --unsigned]\n"
    "                          [--mode enforce|audit] [--state-dir DIR] [--pin-dir DIR]\n"
    "                          [--json]\n"
    "\n"
    "Swaps the running policy for DIR/policy.yaml (signed by the files DIR/*.minisig) or for\n"
    "FILE (signed by the --sig files, default FILE.minisig), in one step; refused when\n"
    "nothing is applied yet.\n"
    "With --socket PATH, or when the control socket exists ($EXAI_EGRESS_SOCKET, "
    "else\n" EGRESS_DEFAULT_SOCKET "), the request goes to exai-egress serve, which\n"
    "reads the files, checks the signatures against its own trust_root and swaps the policy\n"
    "(this works from exai-update's hook sandbox); --root, --mode and --pin-dir are then\n"
    "refused. Otherwise the policy is checked and swapped here, as apply does (as root):\n"
    "--root ROOT or --unsigned is needed, and a signed policy is checked against the\n"
    "ratchet record in --state-dir (default " EGRESS_DEFAULT_STATE_DIR "; serve uses its\n"
    "config's state_dir, and refuses --state-dir here).\n"
    "Exit 0 swapped in; 1 refused (the running policy stays); 2 usage error or unreadable file.\n";

enum {
	O_DIR = EGRESS_O_FIRST_OWN,
	O_UNSIGNED,
	O_MODE,
	O_ROOT,
	O_POLICY,
	O_SIG,
	O_SOCKET,
	O_STATE_DIR
};

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"policy-dir", true, O_DIR},
				    {"policy", true, O_POLICY},
				    {"sig", true, O_SIG},
				    {"socket", true, O_SOCKET},
				    {"unsigned", false, O_UNSIGNED},
				    {"mode", true, O_MODE},
				    {"root", true, O_ROOT},
				    {"state-dir", true, O_STATE_DIR},
				    {NULL, false, 0}};

struct reload_args {
	egress_apply_args a;
	const char *dir, *socket;
	bool socket_given;
};

static int is_sig(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 8 && strcmp(d->d_name + n - 8, ".minisig") == 0;
}

exai_status egress_reload_find(const char *dir, bool need_sigs, egress_apply_args *a,
			       egress_reload_paths *p, exai_error *e)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_sig, alphasort);
	exai_status rc = EXAI_OK;

	if (n < 0)
		return exai_error_sys(e, EXAI_EIO, "policy directory %s", dir);
	snprintf(p->policy, sizeof(p->policy), "%s/policy.yaml", dir);
	a->policy = p->policy;
	a->nsigs = 0;
	for (int i = 0; i < n; i++) {
		if (a->nsigs == EGRESS_MAX_SIGS && !rc) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s: more than %d signature files",
					    dir, EGRESS_MAX_SIGS);
		} else if (!rc) {
			snprintf(p->sigs[a->nsigs], sizeof(p->sigs[0]), "%s/%s", dir,
				 list[i]->d_name);
			a->sigs[a->nsigs] = p->sigs[a->nsigs];
			a->nsigs++;
		}
		free(list[i]);
	}
	free(list);
	if (!rc && need_sigs && a->nsigs == 0)
		rc = exai_error_set(e, EXAI_EREFUSED, "%s holds no signature (*.minisig)", dir);
	return rc;
}

static int parse_mode(const exai_cli_call *call, const char *v, egress_apply_args *a)
{
	if (strcmp(v, "enforce") && strcmp(v, "audit"))
		return exai_cli_refuse(call, "--mode must be enforce or audit");
	a->mode = strcmp(v, "audit") == 0 ? EGRESS_MODE_AUDIT : EGRESS_MODE_ENFORCE;
	return EGRESS_RUN;
}

static int parse(const exai_cli_call *call, int argc, char **argv, struct reload_args *r)
{
	egress_apply_args *a = &r->a;
	exai_cli_parser p;
	const char *v;
	int c, rc = EGRESS_RUN;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while (rc == EGRESS_RUN && (c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			a->json = true;
		else if (c == EGRESS_O_PIN_DIR)
			a->pin_dir = v;
		else if (c == O_DIR)
			r->dir = v;
		else if (c == O_POLICY)
			a->policy = v;
		else if (c == O_SIG && a->nsigs == EGRESS_MAX_SIGS)
			rc = exai_cli_refuse(call, "more than %d --sig", EGRESS_MAX_SIGS);
		else if (c == O_SIG)
			a->sigs[a->nsigs++] = v;
		else if (c == O_SOCKET)
			r->socket = v;
		else if (c == O_UNSIGNED)
			a->unsigned_ok = true;
		else if (c == O_ROOT)
			a->root = v;
		else if (c == O_STATE_DIR)
			a->state_dir = v;
		else if (c == O_MODE)
			rc = parse_mode(call, v, a);
		else if (c == EXAI_CLI_ARG)
			rc = exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			rc = exai_cli_exit(c);
	}
	if (rc != EGRESS_RUN)
		return rc;
	if (!r->dir == !a->policy)
		return exai_cli_refuse(call,
				       "one of --policy-dir DIR and --policy FILE is required");
	if (r->dir && a->nsigs)
		return exai_cli_refuse(call, "--sig goes with --policy (a policy directory's "
					     "signatures are its *.minisig files)");
	if (a->unsigned_ok && (a->root || a->nsigs))
		return exai_cli_refuse(call, "--unsigned and --root/--sig exclude each other");
	r->socket_given = r->socket != NULL;
	if (!r->socket)
		r->socket = exai_cli_setting(NULL, "EXAI_EGRESS_SOCKET", EGRESS_DEFAULT_SOCKET);
	return EGRESS_RUN;
}

static int direct(const exai_cli_call *call, struct reload_args *r)
{
	static egress_reload_paths paths;
	egress_apply_args *a = &r->a;
	exai_error e = {0};

	if (!a->root && !a->unsigned_ok)
		return exai_cli_refuse(call,
				       "no exai-egress serve answers at %s: reloading here needs "
				       "--root ROOT (or --unsigned); or give --socket PATH",
				       r->socket);
	if (a->nsigs && !a->root)
		return exai_cli_refuse(call, "--sig needs --root ROOT to check it against");
	if (r->dir && egress_reload_find(r->dir, a->root != NULL, a, &paths, &e) != EXAI_OK)
		return egress_fail(call, a->json, &e, EXAI_EXIT_USAGE);
	if (a->unsigned_ok)
		a->nsigs = 0;
	return egress_apply_run(a, call);
}

/* @path made absolute (the daemon's working directory is not ours) into @out. */
static exai_status absolute(const char *path, char *out, exai_error *e)
{
	if (!realpath(path, out))
		return exai_error_sys(e, EXAI_EIO, "%s", path);
	return EXAI_OK;
}

/* The reply: printed, and its exit code. */
static int take_reply(const exai_cli_call *call, bool json, const char *line)
{
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *er;
	exai_error e = {0};
	json_int_t x;
	int rc;

	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "ok"))) {
		json_decref(o);
		exai_error_set(&e, EXAI_EFORMAT, "exai-egress serve sent a reply that is not one");
		return egress_fail(call, json, &e, EXAI_EXIT_FAIL);
	}
	if (json_is_true(json_object_get(o, "ok"))) {
		if (json)
			printf("%s\n", line);
		else
			printf("exai-egress: %s\n",
			       json_string_value(json_object_get(o, "message"))
				   ? json_string_value(json_object_get(o, "message"))
				   : "swapped in");
		json_decref(o);
		return EXAI_EXIT_OK;
	}
	er = json_object_get(o, "error");
	x = json_integer_value(json_object_get(o, "exit"));
	rc = x == EXAI_EXIT_USAGE ? EXAI_EXIT_USAGE : EXAI_EXIT_FAIL;
	e.code = EXAI_EREFUSED;
	snprintf(e.msg, sizeof(e.msg), "%s",
		 json_string_value(json_object_get(er, "message"))
		     ? json_string_value(json_object_get(er, "message"))
		     : "refused");
	json_decref(o);
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	if (json)
		printf("%s\n", line);
	return rc;
}

static int via_daemon(const exai_cli_call *call, struct reload_args *r)
{
	static char paths[1 + EGRESS_MAX_SIGS][PATH_MAX];
	egress_apply_args *a = &r->a;
	egress_ctl_req q = {0};
	exai_error e = {0};
	char *line = NULL, *reply = NULL;
	int rc;

	if (a->root || a->mode >= 0 || a->pin_dir || a->state_dir)
		return exai_cli_refuse(call,
				       "%s given, but the request goes to exai-egress serve at %s, "
				       "which uses its own trust_root, the policy's mode, its "
				       "pin directory and its state_dir",
				       a->root	      ? "--root"
				       : a->mode >= 0 ? "--mode"
				       : a->pin_dir   ? "--pin-dir"
						      : "--state-dir",
				       r->socket);
	if (absolute(r->dir ? r->dir : a->policy, paths[0], &e) != EXAI_OK)
		return egress_fail(call, a->json, &e, EXAI_EXIT_USAGE);
	*(r->dir ? &q.policy_dir : &q.policy) = paths[0];
	for (size_t i = 0; i < a->nsigs; i++) {
		if (absolute(a->sigs[i], paths[1 + i], &e) != EXAI_OK)
			return egress_fail(call, a->json, &e, EXAI_EXIT_USAGE);
		q.sigs[q.nsigs++] = paths[1 + i];
	}
	q.unsigned_ok = a->unsigned_ok;
	if (!(line = egress_ctl_req_line(&q))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		return egress_fail(call, a->json, &e, EXAI_EXIT_FAIL);
	}
	if (egress_ctl_call(r->socket, line, CALL_TIMEOUT_S, &reply, &e) != EXAI_OK)
		rc = egress_fail(call, a->json, &e, EXAI_EXIT_FAIL);
	else
		rc = take_reply(call, a->json, reply);
	free(line);
	free(reply);
	return rc;
}

static bool is_socket(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int egress_cmd_reload(const exai_cli_call *call, int argc, char **argv)
{
	struct reload_args r = {.a = {.mode = -1, .adopt_only = true, .json = call->json}};
	int rc = parse(call, argc, argv, &r);

	if (rc != EGRESS_RUN)
		return rc;
	if (r.socket_given || is_socket(r.socket))
		return via_daemon(call, &r);
	return direct(call, &r);
}
