/*
 * cmd_events.c: 'exai-egress events' (reading the ring buffer) and 'exai-egress detach'
 * (removing enforcement: every link detached, every pin removed).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "egress_cli.h"
#include "events.h"
#include "exai/json.h"
#include "links.h"

const char egress_events_help[] =
    "usage: exai-egress events [--follow] [--pin-dir DIR] [--json]\n"
    "\n"
    "Writes the deny events waiting in the pinned ring buffer, one line each (with --json\n"
    "one JSON object each): verdict (deny, or audit in audit mode), hook, protocol,\n"
    "destination, pid, comm, uid and cgroup of the process that created the socket, its\n"
    "workload, the policy generation and the reason. An event is read once.\n"
    "  --follow   keep reading until SIGINT or SIGTERM\n";

const char egress_detach_help[] =
    "usage: exai-egress detach [--pin-dir DIR] [--json]\n"
    "\n"
    "Detaches every exai-egress program from every workload cgroup and removes the pins.\n"
    "The workloads' egress is then no longer filtered.\n";

enum { O_FOLLOW = EGRESS_O_FIRST_OWN };

static const exai_cli_opt events_opts[] = {{"json", false, EGRESS_O_JSON},
					   {"pin-dir", true, EGRESS_O_PIN_DIR},
					   {"follow", false, O_FOLLOW},
					   {NULL, false, 0}};

static const exai_cli_opt detach_opts[] = {
    {"json", false, EGRESS_O_JSON}, {"pin-dir", true, EGRESS_O_PIN_DIR}, {NULL, false, 0}};

struct common {
	const char *dir;
	bool json, follow;
};

static int parse(const exai_cli_call *call, const exai_cli_opt *opts, int argc, char **argv,
		 struct common *a)
{
	exai_cli_parser p;
	const char *v;
	int c;

	a->json = call->json;
	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			a->json = true;
		else if (c == EGRESS_O_PIN_DIR)
			a->dir = v;
		else if (c == O_FOLLOW)
			a->follow = true;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	a->dir = egress_pin_dir(a->dir);
	return EGRESS_RUN;
}

int egress_cmd_events(const exai_cli_call *call, int argc, char **argv)
{
	struct common a = {0};
	egress_pins pins;
	exai_error e = {0};
	unsigned long n = 0;
	int rc = parse(call, events_opts, argc, argv, &a), lock;

	if (rc != EGRESS_RUN)
		return rc;
	if (egress_pins_open(a.dir, &pins, &e) != EXAI_OK)
		return egress_fail(call, a.json, &e, EXAI_EXIT_FAIL);
	/* one reader of the ring: exai-egress serve holds this lock while it reads */
	lock = open(a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0) {
		exai_error_set(&e, EXAI_EREFUSED,
			       "%s: another reader holds the events (exai-egress serve, whose "
			       "events are in its spool and the mirror, or another 'events')",
			       a.dir);
		rc = egress_fail(call, a.json, &e, EXAI_EXIT_FAIL);
	} else {
		rc = EXAI_EXIT_OK;
		if (egress_events_read(&pins, a.follow, a.json, stdout, &n, &e) != EXAI_OK)
			rc = egress_fail(call, false, &e, EXAI_EXIT_FAIL);
	}
	if (lock >= 0)
		close(lock);
	egress_pins_close(&pins);
	return rc;
}

int egress_cmd_detach(const exai_cli_call *call, int argc, char **argv)
{
	struct common a = {0};
	egress_pins pins;
	exai_error e = {0};
	int rc = parse(call, detach_opts, argc, argv, &a);

	if (rc != EGRESS_RUN)
		return rc;
	egress_pins_init(&pins, a.dir);
	if (access(a.dir, F_OK) != 0) { /* a partial set (no map_policy) is removed too */
		exai_error_set(&e, EXAI_ENOENT, "nothing is pinned in %s (not applied)", a.dir);
		return egress_fail(call, a.json, &e, EXAI_EXIT_FAIL);
	}
	if (egress_links_prune(&pins, NULL, &e) != EXAI_OK ||
	    egress_pins_remove(a.dir, &e) != EXAI_OK)
		return egress_fail(call, a.json, &e, EXAI_EXIT_FAIL);
	if (a.json) {
		json_t *o = json_object();

		exai_json_set(o, "ok", json_true());
		exai_json_set(o, "detached", json_string(a.dir));
		(void)exai_json_emit(o, stdout);
	} else {
		printf("exai-egress: detached; %s removed: egress is no longer filtered\n", a.dir);
	}
	return EXAI_EXIT_OK;
}
