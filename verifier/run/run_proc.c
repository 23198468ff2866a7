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
#include <grp.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
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

exai_status vf_run_find_user(const char *user, uid_t *uid, gid_t *gid, exai_error *e)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	char *end = NULL;
	unsigned long n = 0;
	bool numeric = user[0] >= '0' && user[0] <= '9', found = false;

	if (numeric) {
		errno = 0;
		n = strtoul(user, &end, 10);
		if (errno || *end || n >= (uid_t)-1 || (user[0] == '0' && user[1])) {
			if (f)
				fclose(f);
			return exai_error_set(e, EXAI_EINVAL, "--user '%s': not a uid", user);
		}
		*uid = (uid_t)n;
		*gid = (gid_t)n;
	}
	while (f && !found && (pw = fgetpwent(f)))
		if (numeric ? pw->pw_uid == (uid_t)n : !strcmp(pw->pw_name, user)) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			found = true;
		}
	if (f)
		fclose(f);
	if (!found && !numeric)
		return exai_error_set(e, EXAI_EINVAL, "--user '%s': no such user in /etc/passwd",
				      user);
	return EXAI_OK;
}

/* Leaves root for @o's user: an empty bounding set, no ambient or inheritable capabilities,
 * no supplementary groups, then gid and uid (which clears the permitted and effective sets).
 * Returns 0 or -1 (errno set). */
static int switch_user(const vf_run_spawn_opts *o)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL) /* past the kernel's last capability */
				break;
			return -1;
		}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	if (setgroups(0, NULL) < 0 || setresgid(o->gid, o->gid, o->gid) < 0 ||
	    setresuid(o->uid, o->uid, o->uid) < 0)
		return -1;
	memset(data, 0, sizeof(data));
	return (int)syscall(SYS_capset, &hdr, data);
}

/* AF_VSOCK refused for socket() and socketpair(): the low 32 bits of the family (all the
 * kernel reads) compared with a mask. x32 and ia32 programs get the same rules (on ia32
 * libseccomp refuses socketcall's SOCKET and SOCKETPAIR whole: their arguments are behind a
 * pointer). Returns 0 or -1 (errno set). */
static int refuse_vsock(void)
{
	static const uint32_t arches[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct scmp_arg_cmp c;
	int r = ctx ? 0 : -ENOMEM;

	memset(&c, 0, sizeof(c));
	c.arg = 0;
	c.op = SCMP_CMP_MASKED_EQ;
	c.datum_a = 0xffffffff;
	c.datum_b = AF_VSOCK;
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]) && !r; i++)
		if (seccomp_arch_exist(ctx, arches[i]) == -EEXIST)
			r = seccomp_arch_add(ctx, arches[i]);
	if (!r)
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, &c);
	if (!r)
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
					   &c);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		errno = -r;
	return r ? -1 : 0;
}

/* /tmp as an overlay: the host's /tmp (read-only) below, a private tmpfs above, so the command
 * can write temp files without touching the host's and still sees what lives there (the
 * program under test itself may). The tmpfs is a detached mount (fsopen/fsmount), reached
 * through /proc/self/fd, so it needs no mount point on the read-only tree. Falls back to a
 * plain private tmpfs where overlayfs is missing. Returns 0 or -1 (errno set). */
static int private_tmp(void)
{
	char opts[160];
	int fs, m = -1, r = -1;

	fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
	if (fs >= 0 && !syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", "25%", 0) &&
	    !syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", "0755", 0) &&
	    !syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0))
		m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
				 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	if (m >= 0 && !mkdirat(m, "upper", 01777) && !fchmodat(m, "upper", 01777, 0) &&
	    !mkdirat(m, "work", 0700)) {
		snprintf(
		    opts, sizeof(opts),
		    "lowerdir=/tmp,upperdir=/proc/self/fd/%d/upper,workdir=/proc/self/fd/%d/work",
		    m, m);
		r = mount("overlay", "/tmp", "overlay", MS_NOSUID | MS_NODEV, opts);
	}
	if (m >= 0)
		close(m);
	if (fs >= 0)
		close(fs);
	if (r == 0)
		return 0;
	return mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=25%");
}

/* In init's mount namespace: every mount read-only, a private writable /tmp, and with
 * @writable_cwd the working directory bound writable again. Returns 0 or -1 (errno set). */
static int readonly_view(bool writable_cwd)
{
	struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
	struct mount_attr rw = {.attr_clr = MOUNT_ATTR_RDONLY};
	char cwd[4096];

	if (writable_cwd && !getcwd(cwd, sizeof(cwd)))
		return -1;
	if (syscall(SYS_mount_setattr, -1, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		return -1;
	if (writable_cwd &&
	    (mount(cwd, cwd, NULL, MS_BIND, NULL) < 0 ||
	     syscall(SYS_mount_setattr, -1, cwd, 0, &rw, sizeof(rw)) < 0 || chdir(cwd) < 0))
		return -1;
	return private_tmp();
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
	if ((o->switch_user && switch_user(o) < 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    refuse_vsock() < 0) {
		write_errno(errfd, errno);
		_exit(127);
	}
	execv(path, argv);
	write_errno(errfd, errno);
	_exit(127);
}

/* Moves the calling process into the cgroup whose cgroup.procs is @procs. Returns 0 or -1
 * (errno set). */
static int join_cgroup(const char *procs)
{
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	int r = fd < 0 ? -1 : (write(fd, "0", 1) == 1 ? 0 : -1);

	if (fd >= 0)
		close(fd);
	return r;
}

/* PID 1 of the namespace. Never returns. */
static void init_main(const char *path, char *const *argv, const vf_run_spawn_opts *o, int errfd,
		      int statfd)
{
	int wstatus = 0;
	uint32_t leftovers = 0;
	pid_t cmd, r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* the cgroup first, in the verifier's mount namespace (the read-only view would refuse
	 * the write): the command is forked below, already inside it */
	if ((o->cgroup_procs && join_cgroup(o->cgroup_procs) < 0) || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (o->hide_mount && umount2(o->hide_mount, MNT_DETACH) < 0) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ||
	    readonly_view(o->writable_cwd) < 0) {
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
		return exai_error_sys(e, EXAI_EIO,
				      "namespace init: join the attribution cgroup, mount /proc, "
				      "the read-only view or fork");
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

/* Serves @x when poll said its descriptor is ready. */
static exai_status serve_extra(const vf_run_extra *x, const struct pollfd *p, exai_error *e)
{
	if (!x || p->fd < 0 || !p->revents)
		return EXAI_OK;
	return x->serve(x->ctx, e);
}

exai_status vf_run_watch(vf_run_child *c, vf_run_sink *s, int tun_fd, int sig_fd,
			 const vf_run_extra *extra, uint64_t timeout_ms, vf_run_outcome *out,
			 exai_error *e)
{
	uint64_t start = exai_now_ns() / 1000000, now;
	exai_status st = EXAI_OK;

	memset(out, 0, sizeof(*out));
	for (;;) {
		struct pollfd p[4 + 2 + VF_SINK_MAX_CONNS];
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
		p[n++] =
		    (struct pollfd){.fd = extra ? extra->fd(extra->ctx) : -1, .events = POLLIN};
		n += vf_run_sink_pollfds(s, p + n, sizeof(p) / sizeof(p[0]) - n);
		rc = poll(
		    p, n,
		    (int)(timeout_ms - (now - start) > 1000 ? 1000 : timeout_ms - (now - start)));
		if (rc < 0 && errno != EINTR)
			return exai_error_sys(e, EXAI_EIO, "poll");
		st = serve(s, tun_fd, e);
		if (st == EXAI_OK && rc > 0)
			st = serve_extra(extra, &p[3], e);
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
