/*
 * run_cmd: `airgap-verifier run [options] -- CMD ARGS...`, the dynamic egress check.
 *
 * The verifier moves itself into fresh network and mount namespaces (run_ns), opens the DNS
 * sink there (run_sink), puts exai-egress's audit programs on a cgroup of the run's when it
 * can (run_egress: attribution), starts the command as the child of a new PID namespace's
 * init (run_proc), records every lookup and every packet that tries to leave until the
 * command ends or the timeout passes, and reports them with the processes that made them
 * (run_report). This file only parses arguments, orders the steps and
 * prints; it is the one place in the run mode that writes to stdout/stderr.
 * Exit: 0 nothing seen (or all allowed), 1 attempts or lookups not allowed, 2 usage, privilege
 * or runtime error, or an interrupted run with nothing seen.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "commands.h"
#include "exai/file.h"
#include "report.h"
#include "run_allow.h"
#include "run_egress.h"
#include "run_log.h"
#include "run_ns.h"
#include "run_proc.h"
#include "run_report.h"
#include "run_sink.h"

#define MAX_ALLOW	  256
#define DEFAULT_TIMEOUT_S 30
#define MAX_TIMEOUT_S	  (7 * 24 * 3600)
#define PRIVILEGE_NEEDED                                                                      \
	"needs root: it creates network, mount and PID namespaces (CAP_SYS_ADMIN) and a TUN " \
	"device with routes (CAP_NET_ADMIN); run it as root, e.g. with sudo"

typedef struct run_args {
	vf_allow allow[MAX_ALLOW];
	size_t nallow;
	uint64_t timeout_s;
	vf_format format;
	const char *output;
	bool keep_caps;
	bool writable_cwd;
	const char *user; /* --user; NULL: nobody (root with --keep-caps) */
	vf_egress_want egress;
	const char *egress_path; /* --egress */
	char **cmd;
} run_args;

const char vf_run_help[] =
    "usage: airgap-verifier run [--allow CIDR:PORT]... [--timeout S] [--format "
    "text|json|junit|sarif]\n"
    "                           [--output FILE] [--user NAME|UID] [--writable-cwd]\n"
    "                           [--keep-caps] [--egress PATH | --no-egress] [--json]\n"
    "                           -- CMD ARGS...\n"
    "\n"
    "Runs CMD in a network namespace holding only loopback and a TUN device that every\n"
    "outbound packet is routed into, recorded and dropped, with a DNS sink that records\n"
    "every lookup and answers NXDOMAIN. Nothing can leave. CMD runs as an unprivileged\n"
    "user with no_new_privs, sees / read-only (with a private writable /tmp over the\n"
    "host's) and cannot open AF_VSOCK sockets.\n"
    "\n"
    "  --allow CIDR:PORT  do not fail on attempts to CIDR at PORT (1-65535 or *);\n"
    "                     IPv6 as [2001:db8::/32]:443; repeatable\n"
    "  --timeout S        kill CMD and every process it started after S seconds "
    "(default 30)\n"
    "  --format F         report format (default text); --json is --format json\n"
    "  --output FILE      write the report to FILE (atomically) instead of stdout;\n"
    "                     without it, CMD's stdout is sent to stderr\n"
    "  --user NAME|UID    run CMD as this user (default nobody; 'root' keeps root\n"
    "                     without CAP_SYS_ADMIN, CAP_NET_ADMIN...)\n"
    "  --writable-cwd     keep the working directory writable for CMD\n"
    "  --keep-caps        run CMD as root with CAP_SYS_ADMIN, CAP_NET_ADMIN... (it\n"
    "                     could then change its namespace's routes)\n"
    "  --egress PATH      name the pid and command of each attempt with this\n"
    "                     exai-egress (audit mode, private pins); refuse to run if it\n"
    "                     cannot attach. Default: exai-egress from PATH when it works\n"
    "  --no-egress        do not attribute attempts to processes\n"
    "\n"
    "Exit status: 0 nothing seen, 1 attempts or lookups not allowed, 2 error.\n"
    "CMD's own exit status is in the report.\n";

static exai_status parse_timeout(const char *s, uint64_t *out, exai_error *e)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno || v < 1 || v > MAX_TIMEOUT_S)
		return exai_error_set(e, EXAI_EINVAL, "--timeout '%s': expected 1-%d seconds", s,
				      MAX_TIMEOUT_S);
	*out = v;
	return EXAI_OK;
}

enum {
	O_ALLOW,
	O_TIMEOUT,
	O_FORMAT,
	O_JSON,
	O_OUTPUT,
	O_USER,
	O_WRITABLE_CWD,
	O_KEEP_CAPS,
	O_EGRESS,
	O_NO_EGRESS
};

static const exai_cli_opt run_opts[] = {
    {"allow", true, O_ALLOW},
    {"timeout", true, O_TIMEOUT},
    {"format", true, O_FORMAT},
    {"json", false, O_JSON}, /* as every read command: --format json */
    {"output", true, O_OUTPUT},
    {"user", true, O_USER},
    {"writable-cwd", false, O_WRITABLE_CWD},
    {"keep-caps", false, O_KEEP_CAPS},
    {"egress", true, O_EGRESS},
    {"no-egress", false, O_NO_EGRESS},
    {NULL, false, 0},
};

/* One option's value into @a. */
static exai_status run_option(int id, const char *v, run_args *a, exai_error *e)
{
	switch (id) {
	case O_ALLOW:
		if (a->nallow == MAX_ALLOW)
			return exai_error_set(e, EXAI_EINVAL, "more than %d --allow rules",
					      MAX_ALLOW);
		return vf_allow_parse(v, &a->allow[a->nallow++], e);
	case O_TIMEOUT:
		return parse_timeout(v, &a->timeout_s, e);
	case O_FORMAT:
		if (!vf_format_parse(v, &a->format))
			return exai_error_set(e, EXAI_EINVAL,
					      "--format '%s': expected text, json, junit or sarif",
					      v);
		break;
	case O_JSON:
		a->format = VF_FMT_JSON;
		break;
	case O_OUTPUT:
		a->output = v;
		break;
	case O_USER:
		a->user = v;
		break;
	case O_WRITABLE_CWD:
		a->writable_cwd = true;
		break;
	case O_KEEP_CAPS:
		a->keep_caps = true;
		break;
	case O_EGRESS:
	case O_NO_EGRESS:
		if (a->egress != VF_EGRESS_AUTO)
			return exai_error_set(e, EXAI_EINVAL,
					      "--egress and --no-egress: give one of them, once");
		if (id == O_EGRESS && !*v)
			return exai_error_set(e, EXAI_EINVAL, "--egress: an empty path");
		a->egress = id == O_EGRESS ? VF_EGRESS_REQUIRED : VF_EGRESS_OFF;
		a->egress_path = id == O_EGRESS ? v : NULL;
		break;
	}
	return EXAI_OK;
}

/* The options, then CMD ARGS... (after "--" or from the first argument that is not an
 * option); 0, or what exai_cli_exit turns into the exit code. */
static int parse_args(const exai_cli_call *call, int argc, char **argv, run_args *a)
{
	exai_cli_parser p;
	const char *v;
	exai_error e;
	int id, n;

	memset(a, 0, sizeof(*a));
	a->timeout_s = DEFAULT_TIMEOUT_S;
	exai_cli_parser_init(&p, call, run_opts, argc, argv, EXAI_CLI_STOP_AT_ARG);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id < 0)
			return id; /* help or a refusal */
		if (run_option(id, v, a, &e) != EXAI_OK)
			return vf_usage_error("run", "%s", e.msg);
	}
	a->cmd = exai_cli_rest(&p, &n);
	if (n == 0)
		return vf_usage_error("run", "no command given (run [options] -- CMD ARGS...)");
	if (a->keep_caps && a->user && strcmp(a->user, "root") && strcmp(a->user, "0"))
		return vf_usage_error(
		    "run", "--keep-caps runs CMD as root; it cannot go with --user %s", a->user);
	if (!a->user)
		a->user = a->keep_caps ? "root" : "nobody";
	return 0;
}

/* Refuses an --output whose directory cannot be written, before the command runs. */
static exai_status check_output(const char *path, exai_error *e)
{
	char *dir;
	const char *slash;
	exai_status st = EXAI_OK;

	if (!path)
		return EXAI_OK;
	slash = strrchr(path, '/');
	dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	if (!dir)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (access(dir, W_OK) < 0)
		st = exai_error_sys(e, EXAI_EIO, "--output %s: directory %s", path, dir);
	free(dir);
	return st;
}

/* Blocks the signals that end a run and returns a signalfd for them; @old gets the mask the
 * command must start with. */
static exai_status catch_signals(sigset_t *old, int *fd_out, exai_error *e)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, old) < 0)
		return exai_error_sys(e, EXAI_EIO, "sigprocmask");
	*fd_out = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*fd_out < 0)
		return exai_error_sys(e, EXAI_EIO, "signalfd");
	return EXAI_OK;
}

/* Everything between the namespaces and the report. */
static exai_status run(const run_args *a, const char *path, uid_t uid, gid_t gid, vf_run_log *log,
		       vf_run_egress *g, vf_report *r, int *interrupted, exai_error *e)
{
	vf_run_extra events = {.fd = vf_run_egress_fd, .serve = vf_run_egress_serve, .ctx = g};
	vf_run_net net = {.tun_fd = -1};
	vf_run_sink *sink = NULL;
	vf_run_child child = {.pid = -1, .pidfd = -1, .status_fd = -1};
	vf_run_outcome outcome;
	char masked[512];
	sigset_t old;
	int sig_fd = -1;
	exai_status st;

	st = vf_run_net_setup(&net, e);
	if (st == EXAI_OK)
		st = vf_run_sink_open(VF_RUN_DNS_ADDR, 53, log, &sink, e);
	if (st == EXAI_OK)
		st = vf_run_mounts_setup(VF_RUN_DNS_ADDR, masked, sizeof(masked), e);
	if (st == EXAI_OK) /* in the private mount namespace just set up */
		st = vf_run_egress_start(g, a->egress, a->egress_path, e);
	if (st == EXAI_OK)
		st = catch_signals(&old, &sig_fd, e);
	if (st == EXAI_OK) {
		vf_run_spawn_opts o = {.drop_caps = !a->keep_caps,
				       .switch_user = uid != 0,
				       .uid = uid,
				       .gid = gid,
				       .writable_cwd = a->writable_cwd,
				       .stdout_to_stderr = a->output == NULL,
				       .mask = &old,
				       .cgroup_procs = g->active ? g->cgroup_procs : NULL,
				       .hide_mount = g->active ? g->mnt : NULL};

		st = vf_run_spawn(path, a->cmd, &o, &child, e);
	}
	if (st == EXAI_OK) {
		vf_run_egress_set_pidns(g, child.pid);
		st = vf_run_watch(&child, sink, net.tun_fd, sig_fd, g->active ? &events : NULL,
				  a->timeout_s * 1000, &outcome, e);
	}
	vf_run_child_end(&child); /* every process of the run gone before the events are drained */
	vf_run_egress_finish(g);
	if (st == EXAI_OK) {
		vf_run_attrib at = {.active = g->active,
				    .status = g->status,
				    .trouble = g->trouble,
				    .log = &g->log,
				    .pids_translated = g->pidns[0] != '\0',
				    .counters_read = g->counters_read,
				    .kernel_lost = g->kernel_lost,
				    .kernel_suppressed = g->kernel_suppressed};
		vf_run_info info = {.argv = a->cmd,
				    .outcome = &outcome,
				    .timeout_s = a->timeout_s,
				    .caps_dropped = !a->keep_caps,
				    .user = a->user,
				    .uid = uid,
				    .writable_cwd = a->writable_cwd,
				    .masked = masked,
				    .dns_answered = sink->answered,
				    .dns_refused_conns = sink->refused_conns,
				    .attrib = &at};

		st = vf_run_report_build(r, log, a->allow, a->nallow, &info, e);
		*interrupted = outcome.interrupted ? outcome.signal : 0;
	}
	if (sig_fd >= 0)
		close(sig_fd);
	vf_run_sink_free(sink);
	vf_run_net_close(&net);
	return st;
}

int vf_cmd_run(const exai_cli_call *call, int argc, char **argv)
{
	run_args *a = calloc(1, sizeof(*a));
	vf_report *r = vf_report_new("run");
	vf_run_log log;
	vf_run_egress egress;
	char *path = NULL;
	exai_error e;
	int rc = 2, interrupted = 0, pr;
	uid_t uid = 0;
	gid_t gid = 0;

	vf_run_log_init(&log);
	vf_run_egress_init(&egress);
	if (!a || !r) {
		fputs("airgap-verifier run: out of memory\n", stderr);
		goto out;
	}
	if ((pr = parse_args(call, argc, argv, a))) {
		rc = exai_cli_exit(pr);
		goto out;
	}
	if (geteuid() != 0) {
		fputs("airgap-verifier run: " PRIVILEGE_NEEDED "\n", stderr);
		goto out;
	}
	if (check_output(a->output, &e) != EXAI_OK ||
	    vf_run_find_cmd(a->cmd[0], &path, &e) != EXAI_OK ||
	    vf_run_find_user(a->user, &uid, &gid, &e) != EXAI_OK) {
		fprintf(stderr, "airgap-verifier run: %s\n", e.msg);
		goto out;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		if (errno == EPERM)
			fputs("airgap-verifier run: " PRIVILEGE_NEEDED "\n", stderr);
		else
			fprintf(stderr, "airgap-verifier run: unshare: %s\n", strerror(errno));
		goto out;
	}
	if (run(a, path, uid, gid, &log, &egress, r, &interrupted, &e) != EXAI_OK ||
	    vf_report_emit(r, a->format, a->output, &e) != EXAI_OK) {
		fprintf(stderr, "airgap-verifier run: %s\n", e.msg);
		goto out;
	}
	rc = vf_report_count(r, VF_SEV_HIGH) > 0 ? 1 : 0;
	if (rc == 0 && interrupted) {
		fprintf(stderr,
			"airgap-verifier run: interrupted by signal %d before the command ended: "
			"nothing was seen, but the run is incomplete\n",
			interrupted);
		rc = 2;
	}
	if (a->output)
		fprintf(stderr, "airgap-verifier run: %zu finding%s, report in %s\n",
			vf_report_count(r, VF_SEV_HIGH),
			vf_report_count(r, VF_SEV_HIGH) == 1 ? "" : "s", a->output);
out:
	if (egress.trouble[0])
		fprintf(stderr, "airgap-verifier run: exai-egress: %s\n", egress.trouble);
	vf_run_egress_free(&egress);
	free(path);
	vf_run_log_free(&log);
	vf_report_free(r);
	free(a);
	return rc;
}
