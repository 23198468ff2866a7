/*
 * exai-egress: default-deny eBPF egress for workload cgroups. Front end: the command table
 * (exai/cli.h dispatches, each command parses its own options in cmd_*.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "egress_cli.h"
#include "exai/json.h"
#include "exai/secmem.h"
#include "pins.h"

static const exai_cli_cmd cmds[] = {
    {"init", "provisioning, once: the ratchet record of signed policies [--state-dir DIR]",
     egress_init_help, egress_cmd_init, NULL},
    {"apply", "put a policy in force: --policy FILE (--root ROOT [--sig SIG]... | --unsigned)",
     egress_apply_help, egress_cmd_apply, NULL},
    {"reload", "swap in a policy whole: --policy-dir DIR | --policy FILE (through serve, or here)",
     egress_reload_help, egress_cmd_reload, NULL},
    {"run", "run a command confined: --policy FILE (--root ROOT | --unsigned) -- CMD ARGS...",
     egress_run_help, egress_cmd_run, NULL},
    {"status", "whether enforcement is attached, which policy generation is live [--json]",
     egress_status_help, egress_cmd_status, NULL},
    {"events", "the deny (and audit) events: [--follow] [--json]", egress_events_help,
     egress_cmd_events, NULL},
    {"serve", "the daemon: events to a spool and the mirror, reloads over a socket [--config]",
     egress_serve_help, egress_cmd_serve, NULL},
    {"detach", "detach every program and remove the pins (egress is then unfiltered)",
     egress_detach_help, egress_cmd_detach, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_opt global[] = {
    {"json", false, EGRESS_O_JSON}, {"pin-dir", true, EGRESS_O_PIN_DIR}, {NULL, false, 0}};

const char *egress_pin_dir(const char *opt)
{
	return exai_cli_setting(opt, "EXAI_EGRESS_PIN_DIR", EGRESS_DEFAULT_PIN_DIR);
}

int egress_fail(const exai_cli_call *call, bool json, const exai_error *e, int rc)
{
	fprintf(stderr, "%s: %s\n", call->who, e->msg);
	if (json)
		(void)exai_json_emit(exai_json_error(e), stdout);
	return rc;
}

static int prepare(const exai_cli_call *call)
{
	exai_error e;

	if (exai_init(&e) == EXAI_OK)
		return EXAI_EXIT_OK;
	fprintf(stderr, "%s: %s\n", call->who, e.msg);
	return EXAI_EXIT_USAGE;
}

static const exai_cli_tool tool = {
    .name = "exai-egress",
    .usage = "usage: exai-egress [--pin-dir DIR] [--json] <command> [options]\n"
	     "       exai-egress --version | --help | help COMMAND\n",
    .epilog = "Programs, maps and links are pinned under --pin-dir, else $EXAI_EGRESS_PIN_DIR,\n"
	      "else " EGRESS_DEFAULT_PIN_DIR "; enforcement stays when exai-egress exits.\n"
	      "Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) and a cgroup2 mount.\n"
	      "Exit status: 0 success; 1 refused or failed (the running policy is unchanged),\n"
	      "or status found enforcement missing or tampered with; 2 usage or setup error.\n",
    .cmds = cmds,
    .global = global,
    .version = true,
    .prepare = prepare,
};

int main(int argc, char **argv)
{
	return exai_cli_dispatch(&tool, argc, argv);
}
