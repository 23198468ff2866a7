/*
 * cmd_run.c: 'exai-egress run --policy FILE -- CMD ARGS...'. Puts FILE (one workload) in
 * force as apply does, makes a transient child cgroup under the workload's, runs CMD there
 * confined (sandbox.h), waits for it and removes the transient cgroup. Every attempt of CMD
 * is then an event naming its pid and comm (exai-egress events). The policy stays in force.
 * Exit: CMD's exit status (128+N for a signal); 1 or 2 when it could not be started.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress.h"
#include "egress_cli.h"
#include "sandbox.h"

const char egress_run_help[] =
    "usage: exai-egress run --policy FILE (--root ROOT [--sig SIG]... | --unsigned)\n"
    "                       [--mode enforce|audit] [--state-dir DIR] [--pin-dir DIR]\n"
    "                       -- CMD [ARGS...]\n"
    "\n"
    "Puts the policy FILE (exactly one workload) in force as apply does, then runs CMD in a\n"
    "transient cgroup (and a cgroup namespace) under the workload's cgroup, without\n"
    "CAP_NET_RAW, with sockets of the families unix, inet, inet6 and netlink only (seccomp;\n"
    "AF_PACKET and every other family EPERM) and no bpf(2). Every attempt CMD makes is an\n"
    "event with its pid and comm (see 'exai-egress events'). The transient cgroup is\n"
    "removed after CMD; the policy stays in force. Exit status: CMD's (128+N if killed by\n"
    "signal N). A signed policy is checked against the ratchet record in --state-dir (as\n"
    "apply does).\n";

enum { O_POLICY = EGRESS_O_FIRST_OWN, O_UNSIGNED, O_MODE, O_ROOT, O_SIG, O_STATE_DIR };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"policy", true, O_POLICY},
				    {"unsigned", false, O_UNSIGNED},
				    {"mode", true, O_MODE},
				    {"root", true, O_ROOT},
				    {"sig", true, O_SIG},
				    {"state-dir", true, O_STATE_DIR},
				    {NULL, false, 0}};

static int parse(const exai_cli_call *call, int argc, char **argv, egress_apply_args *a,
		 char ***cmd)
{
	exai_cli_parser p;
	const char *v;
	int c, n = 0;

	exai_cli_parser_init(&p, call, opts, argc, argv, EXAI_CLI_STOP_AT_ARG);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			a->json = true;
		else if (c == EGRESS_O_PIN_DIR)
			a->pin_dir = v;
		else if (c == O_POLICY)
			a->policy = v;
		else if (c == O_UNSIGNED)
			a->unsigned_ok = true;
		else if (c == O_ROOT)
			a->root = v;
		else if (c == O_STATE_DIR)
			a->state_dir = v;
		else if (c == O_SIG && a->nsigs < EGRESS_MAX_SIGS)
			a->sigs[a->nsigs++] = v;
		else if (c == O_SIG)
			return exai_cli_refuse(call, "more than %d --sig", EGRESS_MAX_SIGS);
		else if (c == O_MODE && (!strcmp(v, "enforce") || !strcmp(v, "audit")))
			a->mode = strcmp(v, "audit") == 0 ? EGRESS_MODE_AUDIT : EGRESS_MODE_ENFORCE;
		else if (c == O_MODE)
			return exai_cli_refuse(call, "--mode must be enforce or audit");
		else
			return exai_cli_exit(c);
	}
	*cmd = exai_cli_rest(&p, &n);
	if (n > 0 && strcmp((*cmd)[0], "--") == 0) {
		(*cmd)++;
		n--;
	}
	if (!a->policy)
		return exai_cli_refuse(call, "--policy FILE is required");
	if (n == 0)
		return exai_cli_refuse(call, "no command to run (after --)");
	if (a->unsigned_ok && (a->root || a->nsigs))
		return exai_cli_refuse(call, "--unsigned and --root/--sig exclude each other");
	return EGRESS_RUN;
}

static int wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return EXAI_EXIT_FAIL;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int run_in(const exai_cli_call *call, const char *cgroup, char **cmd)
{
	exai_error e = {0};
	pid_t pid;
	int rc;

	pid = fork();
	if (pid < 0) {
		exai_error_sys(&e, EXAI_EIO, "fork");
		return egress_fail(call, false, &e, EXAI_EXIT_FAIL);
	}
	if (pid == 0) {
		if (egress_sandbox_enter(cgroup, &e) != EXAI_OK) {
			fprintf(stderr, "%s: %s\n", call->who, e.msg);
			_exit(126);
		}
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s: %s: %s\n", call->who, cmd[0], strerror(errno));
		_exit(127);
	}
	signal(SIGINT, SIG_IGN); /* the command gets them; we wait for it */
	signal(SIGTERM, SIG_IGN);
	rc = wait_child(pid);
	if (rmdir(cgroup) != 0)
		fprintf(stderr, "%s: remove transient cgroup %s: %s\n", call->who, cgroup,
			strerror(errno));
	return rc;
}

int egress_cmd_run(const exai_cli_call *call, int argc, char **argv)
{
	egress_apply_args a = {.mode = -1, .json = call->json};
	char parent[4096], cgroup[4200];
	char **cmd = NULL;
	exai_error e = {0};
	int rc = parse(call, argc, argv, &a, &cmd);

	if (rc != EGRESS_RUN)
		return rc;
	parent[0] = '\0';
	a.run_cgroup = parent;
	a.run_cgroup_size = sizeof(parent);
	if ((rc = egress_apply_run(&a, call)) != EXAI_EXIT_OK)
		return rc;
	snprintf(cgroup, sizeof(cgroup), "%s/exai-run-%d", parent, (int)getpid());
	if (mkdir(cgroup, 0755) != 0) {
		exai_error_sys(&e, EXAI_EIO, "create transient cgroup %s", cgroup);
		return egress_fail(call, a.json, &e, EXAI_EXIT_FAIL);
	}
	return run_in(call, cgroup, cmd);
}
