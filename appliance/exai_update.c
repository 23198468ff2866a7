/*
 * exai-update: verifies and applies offline update bundles on the appliance. Front end:
 * argument parsing, loading config/state/trust, printing, exit codes. The no-network filter
 * goes in before anything else runs.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "exai/cli.h"
#include "exai/json.h"
#include "exai/secmem.h"
#include "exai/text.h"
#include "outbox.h"
#include "render.h"
#include "sandbox.h"
#include "trustdir.h"

enum {
	EX_OK = 0,
	EX_FAIL = 1,	 /* refused, or failed with nothing changed */
	EX_USAGE = 2,	 /* usage, config or provisioning error (state missing or damaged) */
	EX_REVERTED = 3, /* applied, health check failed, switched back to the old version */
	EX_PENDING = 4,	 /* an interrupted operation needs recover, or another run holds the lock */
};

typedef struct args {
	const char *config;
	const char *cmd;
	const char *media;
	size_t limit;
	bool json;
	bool dry_run;
	bool limit_set;
} args;

#define USAGE "usage: exai-update [--config FILE] [--json] "

/* Each command's --help. */
static const char init_help[] =
    USAGE "init\n\nProvisions the state database and its ratchet record in the config's "
	  "state_dir, once\n(image build or first boot). Refused (exit 1) when a state is "
	  "already there;\nevery other command refuses to run without one (exit 2).\n";
static const char verify_help[] =
    USAGE "verify MEDIA\n\nThe full offline check apply would make of the bundle it "
	  "would pick from MEDIA\n(a bundle, or a directory holding bundles): trust root "
	  "and chain, the release\nsignature threshold, every entry and chunk hash, "
	  "decryption with the site key,\nevery component's plaintext hash, the ratchets "
	  "and the target. Changes nothing;\nrecords one history row. Exit 0 verified, 1 "
	  "refused.\n";
static const char apply_help[] =
    USAGE "apply [--dry-run] MEDIA\n\nVerifies as verify does, then stages every "
	  "component, switches atomically,\nruns the health check and switches back if it "
	  "fails (exit 3). --dry-run stops\nafter the plan and the space check and changes "
	  "nothing. A signal before the\nswitch undoes the apply (exit 130/143/129); after "
	  "it, recover finishes it.\n";
static const char status_help[] =
    USAGE "status\n\nWhat is in force: a running or interrupted operation, the trust "
	  "root and where it\ncame from, the ratchets, the boot slot and each installed "
	  "component with its\nversion, the bundle that installed it and the version kept "
	  "for rollback.\n";
static const char history_help[] =
    USAGE "history [--limit N]\n\nEvery verify, apply, refusal, rollback and recover, "
	  "oldest first: the last N\n(default 100, at most 100000).\n";
static const char rollback_help[] =
    USAGE "rollback\n\nSwitches the components of the last apply back to the "
	  "versions they replaced\n(kept on disk), and records it.\n";
static const char recover_help[] =
    USAGE "recover\n\nFinishes or undoes an apply that was interrupted (power cut, "
	  "crash): before the\nswitch it removes the staging, after it it completes the "
	  "switch. Run at boot\nby exai-update-recover.service.\n";

enum { O_CONFIG, O_JSON, O_DRY_RUN, O_LIMIT };

/* Every command takes the same options (the global --config and --json among them), so a
 * misplaced one is named as such rather than as unknown. */
static const exai_cli_opt opts[] = {
    {"config", true, O_CONFIG}, {"json", false, O_JSON}, {"dry-run", false, O_DRY_RUN},
    {"limit", true, O_LIMIT},	{NULL, false, 0},
};

static int parse_limit(const exai_cli_call *call, const char *v, args *a)
{
	uint64_t n;

	if (!exai_parse_u64(v, &n) || n == 0 || n > 100000)
		return exai_cli_refuse(call, "--limit must be 1..100000, not '%s'", v);
	a->limit = (size_t)n;
	a->limit_set = true;
	return 0;
}

/* 0, or what exai_cli_exit turns into the exit code. */
static int parse(const exai_cli_call *call, int argc, char **argv, args *a)
{
	bool needs_media = !strcmp(a->cmd, "verify") || !strcmp(a->cmd, "apply");
	exai_cli_parser p;
	const char *v;
	int id, ret;

	a->limit = 100;
	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (id) {
		case O_CONFIG:
			a->config = v;
			break;
		case O_JSON:
			a->json = true;
			break;
		case O_DRY_RUN:
			a->dry_run = true;
			break;
		case O_LIMIT:
			if ((ret = parse_limit(call, v, a)))
				return ret;
			break;
		case EXAI_CLI_ARG:
			if (!needs_media || a->media)
				return exai_cli_refuse(call, "unexpected argument '%s'", v);
			a->media = v;
			break;
		default:
			return id; /* help or a refusal */
		}
	}
	if (a->dry_run && strcmp(a->cmd, "apply"))
		return exai_cli_refuse(call, "--dry-run is an option of apply only");
	if (a->limit_set && strcmp(a->cmd, "history"))
		return exai_cli_refuse(call, "--limit is an option of history only");
	if (needs_media && !a->media)
		return exai_cli_refuse(call, "MEDIA is required");
	return 0;
}

static int report_error(const args *a, const exai_error *e, int code)
{
	if (a->json)
		exai_json_emit(exai_json_error(e), stdout);
	else
		fprintf(stderr, "exai-update %s: %s\n", a->cmd, e->msg);
	return code;
}

static int exit_code(upd_outcome o)
{
	switch (o) {
	case UPD_OK:
		return EX_OK;
	case UPD_REVERTED:
		return EX_REVERTED;
	case UPD_PENDING:
		return EX_PENDING;
	default:
		return EX_FAIL;
	}
}

static void flush_mirror(upd_ctx *c, bool quiet)
{
	size_t sent = 0;
	exai_error e;

	if (!c->cfg->mirror_socket)
		return;
	if (upd_mirror_flush(c->st, c->cfg->mirror_socket, &sent, &e) && !quiet)
		fprintf(stderr, "exai-update: events stay queued for the mirror: %s\n", e.msg);
}

/* init: the one command that creates a state. Refused (exit 1) when one is there. */
static int cmd_init(const args *a, const upd_config *cfg)
{
	char id[33];
	exai_error e;

	if (upd_state_init(cfg->state_dir, id, &e))
		return report_error(a, &e, e.code == EXAI_EEXIST ? EX_FAIL : EX_USAGE);
	if (a->json) {
		json_t *o = json_object();
		exai_json_set(o, "ok", json_true());
		exai_json_set(o, "command", json_string("init"));
		exai_json_set(o, "state_dir", json_string(cfg->state_dir));
		exai_json_set(o, "state_id", json_string(id));
		exai_json_emit(o, stdout);
	} else {
		printf("exai-update init: provisioned %s (state id %s, every ratchet 0)\n",
		       cfg->state_dir, id);
	}
	return EX_OK;
}

/* Exit code of a failed state open: lock held 4, missing/damaged/unprovisioned state 2. */
static int state_exit(const exai_error *e)
{
	if (e->code == EXAI_EEXIST)
		return EX_PENDING;
	return e->code == EXAI_ECONFIG ? EX_USAGE : EX_FAIL;
}

static int run(const args *a)
{
	static upd_result r; /* large; one per process */
	bool mutating = strcmp(a->cmd, "status") && strcmp(a->cmd, "history");
	bool needs_lock = mutating && strcmp(a->cmd, "verify") && !a->dry_run;
	upd_ctx c = {0};
	exai_error e;
	int ret;

	if (upd_config_load(upd_config_path(a->config), &c.cfg, &e))
		return report_error(a, &e, EX_USAGE);
	if (upd_trustdir_check(c.cfg, &e)) {
		ret = report_error(a, &e, EX_USAGE);
		goto out;
	}
	if (!strcmp(a->cmd, "init")) {
		ret = cmd_init(a, c.cfg);
		goto out;
	}
	if (upd_state_open(c.cfg->state_dir, needs_lock, &c.st, &e)) {
		ret = report_error(a, &e, state_exit(&e));
		goto out;
	}
	if (!strcmp(a->cmd, "status") || !strcmp(a->cmd, "history")) {
		exai_status rc = !strcmp(a->cmd, "status")
				     ? upd_print_status(&c, a->json, &e)
				     : upd_print_history(&c, a->limit, a->json, &e);
		ret = rc ? report_error(a, &e, EX_FAIL) : EX_OK;
		goto out;
	}
	if (upd_sandbox_hooks(c.cfg->hook_user, c.cfg->hook_env, &e)) { /* who hooks run as */
		ret = report_error(a, &e, EX_USAGE);
		goto out;
	}
	if ((!strcmp(a->cmd, "verify") || !strcmp(a->cmd, "apply")) && upd_ctx_load_trust(&c, &e)) {
		ret = report_error(a, &e, e.code == EXAI_EREFUSED ? EX_FAIL : EX_USAGE);
		goto out;
	}
	if (!strcmp(a->cmd, "verify"))
		upd_cmd_verify(&c, a->media, &r);
	else if (!strcmp(a->cmd, "apply") && a->dry_run)
		upd_cmd_dry_run(&c, a->media, &r);
	else if (!strcmp(a->cmd, "apply")) {
		upd_apply_catch_signals();
		upd_cmd_apply(&c, a->media, &r);
	} else if (!strcmp(a->cmd, "rollback"))
		upd_cmd_rollback(&c, &r);
	else
		upd_cmd_recover(&c, &r);
	upd_print_result(a->cmd, &r, a->json);
	ret = exit_code(r.outcome);
	if (r.what && !strcmp(r.what, "interrupted") && r.outcome == UPD_FAILED &&
	    upd_apply_signal())
		ret = 128 + upd_apply_signal(); /* as a shell reports a signal: 130, 143, 129 */
	flush_mirror(&c, a->json);
out:
	exai_site_key_free(c.key);
	free(c.root);
	upd_state_close(c.st);
	upd_config_free(c.cfg);
	return ret;
}

static int run_command(const exai_cli_call *call, int argc, char **argv)
{
	args a = {.cmd = call->cmd->name};
	int ret;

	if ((ret = parse(call, argc, argv, &a)))
		return exai_cli_exit(ret);
	return run(&a);
}

static const exai_cli_cmd cmds[] = {
    {"init", "provision the state database and ratchet record (once)", init_help, run_command,
     NULL},
    {"verify", "MEDIA: full offline check of the bundle apply would pick", verify_help, run_command,
     NULL},
    {"apply", "[--dry-run] MEDIA: verify, stage, switch, health check (or switch back)", apply_help,
     run_command, NULL},
    {"status", "what is installed, ratchets, pending journal", status_help, run_command, NULL},
    {"history", "[--limit N]: every verify, apply, refusal, rollback and recover", history_help,
     run_command, NULL},
    {"rollback", "switch the last apply's components back to their previous versions",
     rollback_help, run_command, NULL},
    {"recover", "finish or undo an interrupted apply (run at boot)", recover_help, run_command,
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* --config and --json may also come before the command. */
static const exai_cli_opt global[] = {
    {"config", true, O_CONFIG}, {"json", false, O_JSON}, {NULL, false, 0}};

static int prepare(const exai_cli_call *call)
{
	exai_error e;

	if (exai_init(&e) == EXAI_OK)
		return EX_OK;
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	return EX_USAGE;
}

static const exai_cli_tool tool = {
    .name = "exai-update",
    .usage = "usage: exai-update [--config FILE] [--json] <command> [args]\n"
	     "       exai-update --version | --help | help COMMAND\n",
    .epilog =
	"MEDIA is a bundle (.exb file or bundle directory) or a directory holding bundles,\n"
	"of which the newest acceptable one is used (the others are listed with the reason).\n"
	"Config: --config, else $EXAI_UPDATE_CONFIG, else " UPD_DEFAULT_CONFIG ".\n"
	"Exit status: 0 ok; 1 refused or failed (nothing changed); 2 usage or config error,\n"
	"an untrusted directory, or a state database / ratchet record that is missing (not\n"
	"provisioned: run init) or damaged;\n"
	"3 applied but the health check failed and the old version was switched back;\n"
	"4 an interrupted operation must be recovered first, or another run is active;\n"
	"130/143/129 apply was interrupted by SIGINT/SIGTERM/SIGHUP before its switch and\n"
	"undid itself (staging removed, nothing changed). After the switch a signal ends\n"
	"the process and 'recover' finishes the journal.\n",
    .cmds = cmds,
    .global = global,
    .version = true,
    .prepare = prepare,
};

int main(int argc, char **argv)
{
	exai_error e;

	/* First: no internet socket can be opened by this process or anything it starts. */
	if (upd_sandbox_install(&e) != EXAI_OK) {
		fprintf(stderr, "exai-update: %s\n", e.msg);
		return EX_USAGE;
	}
	return exai_cli_dispatch(&tool, argc, argv);
}
