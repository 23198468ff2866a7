/*
 * run_proc: the namespace's init, the command, the event loop and the kill.
 *
 * Invariants: the verifier has exactly one child (init); every descriptor the verifier opens is
 * close-on-exec, so the command inherits only stdin/stdout/stderr; the command's signal mask is
 * the one the verifier started with. Init and the command report back through two
 * close-on-exec pipes: the command writes its exec errno (nothing when exec succeeds), init
 * writes one fixed-size record when it is done.
 */
#include "run_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exai/progress.h"

enum { INIT_DONE = 0, INIT_FAILED = 1 };

typedef struct init_record {
	int32_t kind;
	int32_t err;	 /* errno, when INIT_FAILED */
	int32_t wstatus; /* the command's, when INIT_DONE */
	uint32_t leftovers;
} init_record;

static bool executable_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

exai_status vf_run_find_cmd(const char *cmd, char **path_out, exai_error *e)
{
	const char *path = getenv("PATH"), *p;

	*path_out = NULL;
	if (!*cmd)
		return exai_error_set(e, EXAI_ENOENT, "empty command name");
	if (strchr(cmd, '/')) {
		if (!executable_file(cmd))
			return exai_error_set(e, EXAI_ENOENT, "%s: not an executable file", cmd);
		*path_out = strdup(cmd);
		goto done;
	}
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; *p;) {
		size_t n = strcspn(p, ":");
		char *full;

		if (asprintf(&full, "%.*s/%s", (int)n, n ? p : ".", cmd) < 0)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		if (executable_file(full)) {
			*path_out = full;
			goto done;
		}
		free(full);
		p += n;
		if (*p == ':')
			p++;
	}
	return exai_error_set(e, EXAI_ENOENT, "%s: command not found in PATH", cmd);
done:
	if (!*path_out)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

/* Removes the capabilities that could undo the isolation from the bounding and inheritable
 * sets: an exec as root then gets none of them. Returns 0 or -1 (errno set). */
static int drop_capabilities(void)
{
	static const int caps[] = {CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE,
				   CAP_SYS_RAWIO, CAP_BPF,	 CAP_PERFMON};
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	size_t i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (prctl(PR_CAPBSET_DROP, caps[i], 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -1;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		data[caps[i] / 32].inheritable &= ~(1u << (caps[i] % 32));
	return (int)syscall(SYS_capset, &hdr, data);
}

static void write_errno(int fd, int err)
{
	int32_t v = err;

	if (write(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		/* the verifier then sees EOF and reports the command's exit status 127 */
	}
}

static void init_report(int fd, int32_t kind, int32_t err, int32_t wstatus, uint32_t leftovers)
{
	init_record r = {.kind = kind, .err = err, .wstatus = wstatus, .leftovers = leftovers};

	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
		/* the verifier reports a missing record as an error */
	}
}

/* The command, in the namespace init's fork. Never returns. */
static void command_main(const char *path, char *const *argv, const vf_run_spawn_opts *o, int errfd)
{
	sigprocmask(SIG_SETMASK, o->mask, NULL);
	if (o->stdout_to_stderr && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		write_errno(errfd, errno);
		_exit(127);
	}
	if (o->drop_caps && drop_capabilities() < 0) {
		write_errno(errfd, errno);
		_exit(127);
	}
	execv(path, argv);
	write_errno(errfd, errno);
	_exit(127);
}

/* PID 1 of the namespace. Never returns. */
static void init_main(const char *path, char *const *argv, const vf_run_spawn_opts *o, int errfd,
		      int statfd)
{
	int wstatus = 0;
	uint32_t leftovers = 0;
	pid_t cmd, r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		init_report(statfd, INIT_FAILED, errno, 0, 0);
		_exit(1);
	}
	cmd = fork();
	if (cmd < 0) {
		init_report(statfd, INIT_FAILED, errno, 0, 0);
		_exit(1);
	}
	if (cmd == 0) {
		close(statfd);
		command_main(path, argv, o, errfd);
	}
	close(errfd);
	for (;;) {
		r = waitpid(-1, &wstatus, 0);
		if (r == cmd || (r < 0 && errno != EINTR))
			break;
	}
	kill(-1, SIGKILL);
	for (;;) {
		r = waitpid(-1, NULL, 0);
		if (r > 0)
			leftovers++;
		else if (errno != EINTR)
			break;
	}
	init_report(statfd, INIT_DONE, 0, wstatus, leftovers);
	_exit(0);
}

/* Forks a child that is PID 1 of a new PID namespace. The verifier itself stays in its own
 * namespace, and so do its later children (sanitizer helpers at exit included): the namespace
 * for children is set back right after the fork. */
static exai_status fork_into_pid_namespace(pid_t *pid, exai_error *e)
{
	int self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	exai_status st = EXAI_OK;

	if (self < 0)
		return exai_error_sys(e, EXAI_EIO, "open /proc/self/ns/pid");
	if (unshare(CLONE_NEWPID) < 0) {
		st = exai_error_sys(e, EXAI_EIO, "unshare a PID namespace");
		goto out;
	}
	*pid = fork();
	if (*pid == 0) {
		close(self);
		return EXAI_OK;
	}
	if (*pid < 0)
		st = exai_error_sys(e, EXAI_EIO, "fork the namespace's init");
	if (setns(self, CLONE_NEWPID) < 0 && st == EXAI_OK)
		st = exai_error_sys(e, EXAI_EIO, "return to the verifier's PID namespace");
out:
	close(self);
	return st;
}

exai_status vf_run_spawn(const char *path, char *const *argv, const vf_run_spawn_opts *o,
			 vf_run_child *c, exai_error *e)
{
	int errp[2] = {-1, -1}, statp[2] = {-1, -1};
	exai_status st = EXAI_OK;
	int32_t err;
	ssize_t n;

	c->pid = -1;
	c->pidfd = c->status_fd = -1;
	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(statp, O_CLOEXEC) < 0) {
		st = exai_error_sys(e, EXAI_EIO, "pipe");
		goto out;
	}
	st = fork_into_pid_namespace(&c->pid, e);
	if (st != EXAI_OK)
		goto out;
	if (c->pid == 0) {
		close(errp[0]);
		close(statp[0]);
		init_main(path, argv, o, errp[1], statp[1]);
	}
	close(errp[1]);
	close(statp[1]);
	errp[1] = statp[1] = -1;
	c->status_fd = statp[0];
	statp[0] = -1;
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0) {
		st = exai_error_sys(e, EXAI_EIO, "pidfd_open");
		goto out;
	}
	do
		n = read(errp[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(err)) {
		errno = err;
		st = exai_error_sys(e, EXAI_EIO, "exec %s", path);
	}
out:
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (statp[i] >= 0)
			close(statp[i]);
	}
	if (st != EXAI_OK)
		vf_run_child_end(c);
	return st;
}

void vf_run_child_end(vf_run_child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = -1;
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->status_fd >= 0)
		close(c->status_fd);
	c->pidfd = c->status_fd = -1;
}

/* Reaps init and reads its record into @out. */
static exai_status reap(vf_run_child *c, vf_run_outcome *out, exai_error *e)
{
	init_record r;
	ssize_t n;

	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
	do
		n = read(c->status_fd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r)) {
		if (out->timed_out || out->interrupted)
			return EXAI_OK; /* killed before it could report */
		return exai_error_set(e, EXAI_EINTERNAL,
				      "the namespace's init ended without a report");
	}
	if (r.kind == INIT_FAILED) {
		errno = r.err;
		return exai_error_sys(e, EXAI_EIO, "namespace init: mount /proc or fork");
	}
	out->finished = true;
	out->wstatus = r.wstatus;
	out->leftovers = r.leftovers;
	return EXAI_OK;
}

/* Serves everything ready; false when the command has ended. */
static exai_status serve(vf_run_sink *s, int tun_fd, exai_error *e)
{
	int more = 1;
	exai_status st = EXAI_OK;

	while (more && st == EXAI_OK)
		st = vf_run_sink_tun(s, tun_fd, &more, e);
	return st == EXAI_OK ? vf_run_sink_service(s, e) : st;
}

exai_status vf_run_watch(vf_run_child *c, vf_run_sink *s, int tun_fd, int sig_fd,
			 uint64_t timeout_ms, vf_run_outcome *out, exai_error *e)
{
	uint64_t start = exai_now_ns() / 1000000, now;
	exai_status st = EXAI_OK;

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct pollfd p[3 + 2 + VF_SINK_MAX_CONNS];
		size_t n = 0;
		int rc;

		now = exai_now_ns() / 1000000;
		if (now - start >= timeout_ms) {
			out->timed_out = true;
			break;
		}
		p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = tun_fd, .events = POLLIN};
		p[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		n += vf_run_sink_pollfds(s, p + n, sizeof(p) / sizeof(p[0]) - n);
		rc = poll(
		    p, n,
		    (int)(timeout_ms - (now - start) > 1000 ? 1000 : timeout_ms - (now - start)));
		if (rc < 0 && errno != EINTR)
			return exai_error_sys(e, EXAI_EIO, "poll");
		st = serve(s, tun_fd, e);
		if (st != EXAI_OK)
			break;
		if (sig_fd >= 0 && (p[2].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				out->interrupted = true;
				out->signal = (int)si.ssi_signo;
				break;
			}
		}
		if (p[0].revents & POLLIN)
			break;
	}
	if (out->timed_out || out->interrupted)
		kill(c->pid, SIGKILL);
	if (st == EXAI_OK)
		st = reap(c, out, e);
	if (st == EXAI_OK)
		st = serve(s, tun_fd, e); /* what was queued before the end */
	out->elapsed_ms = exai_now_ns() / 1000000 - start;
	vf_run_child_end(c);
	return st;
}
