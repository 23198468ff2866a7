/*
 * sandbox: the seccomp filters, the hook identity and the hook runner. See sandbox.h.
 *
 * The socket allow-list is written with masked comparisons of the low 32 bits only, because
 * that is all the kernel reads of the family (an int), while libseccomp compares all 64 bits
 * of the register: an exact comparison with AF_INET is passed by 0x100000002. libseccomp
 * cannot add an ALLOW rule to a default-ALLOW filter, so "low 32 bits == AF_UNIX" is written
 * as its complement, one ERRNO rule per way to differ: bit 0 clear, or any of bits 1-31 set.
 *
 * The hook filter is exported to memory by the parent before fork: the child only makes
 * system calls between fork and exec (no allocation, no locks).
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exai/progress.h"

#define FILTER_MAX_INSNS 4096 /* BPF_MAXINSNS */

/* LeakSanitizer stops the world with ptrace at exit: a sanitizer build lets exai-update itself
 * (not its hooks) call ptrace. Release builds refuse it in both filters. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_NEEDS_PTRACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_NEEDS_PTRACE 1
#endif
#endif
#ifndef SANITIZER_NEEDS_PTRACE
#define SANITIZER_NEEDS_PTRACE 0
#endif
#define ENV_MAX (UPD_HOOK_MAX_ENV + 3)

/* Who hooks run as, decided once by upd_sandbox_hooks(). */
static struct {
	bool set;
	bool root; /* exai-update runs as root: netns, bounding set, user switch */
	uid_t uid; /* the hook's uid and gid (as root) */
	gid_t gid;
	int last_cap; /* /proc/sys/kernel/cap_last_cap */
	char *env[ENV_MAX];
} hook;

static struct scmp_arg_cmp arg_cmp(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
				   scmp_datum_t b)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = a;
	c.datum_b = b;
	return c;
}

/* ERRNO(EACCES) for @sys unless the low 32 bits of argument 0 are exactly AF_UNIX. */
static int only_unix_family(scmp_filter_ctx ctx, int sys)
{
	struct scmp_arg_cmp c = arg_cmp(0, SCMP_CMP_MASKED_EQ, 1, 0); /* bit 0 clear */
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), sys, 1, &c);

	for (unsigned b = 1; b < 32 && !r; b++) { /* or bit b set */
		c = arg_cmp(0, SCMP_CMP_MASKED_EQ, (scmp_datum_t)1 << b, (scmp_datum_t)1 << b);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EACCES), sys, 1, &c);
	}
	return r;
}

/* The rules of both filters; @hook_filter refuses unshare altogether. */
static int add_rules(scmp_filter_ctx ctx, bool hook_filter)
{
	static const char *const refused[] = {"setns",
					      "bpf",
					      "io_uring_setup",
					      "io_uring_enter",
					      "io_uring_register",
					      "ptrace",
					      "process_vm_writev",
					      "process_vm_readv",
					      "pidfd_getfd",
					      "init_module",
					      "finit_module",
					      "delete_module",
					      "kexec_load",
					      "kexec_file_load"};
	static const unsigned long ns_flags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS,
						 CLONE_NEWIPC, CLONE_NEWUSER,	CLONE_NEWPID,
						 CLONE_NEWNET};
	struct scmp_arg_cmp c;
	int r = only_unix_family(ctx, SCMP_SYS(socket));

	if (!r)
		r = only_unix_family(ctx, SCMP_SYS(socketpair));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]) && !r; i++) {
		int nr = seccomp_syscall_resolve_name(refused[i]);
		if (SANITIZER_NEEDS_PTRACE && !hook_filter && !strcmp(refused[i], "ptrace"))
			continue;
		r = nr == __NR_SCMP_ERROR ? -ENOENT
					  : seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
	}
	for (size_t i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) && !r; i++) {
		c = arg_cmp(0, SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &c);
	}
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!r && hook_filter)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0);
	else if (!r) {
		c = arg_cmp(0, SCMP_CMP_NE, CLONE_NEWNET, 0); /* all 64 bits: exactly NEWNET */
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1, &c);
	}
	/* Only the native ABI is in the filter: ia32 (another audit arch) and x32 (the native
	 * arch with __X32_SYSCALL_BIT, which libseccomp sends to the bad-arch action when x32 is
	 * not added) kill the process. */
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	return r;
}

static scmp_filter_ctx filter_new(bool hook_filter, int *r)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	if (!ctx) {
		*r = -ENOMEM;
		return NULL;
	}
	if ((*r = add_rules(ctx, hook_filter))) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

exai_status upd_sandbox_install(exai_error *e)
{
	int r = 0;
	scmp_filter_ctx ctx = filter_new(false, &r);

	if (ctx)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		return exai_error_set(e, EXAI_EINTERNAL, "seccomp: cannot load the filter: %s",
				      strerror(-r));
	return EXAI_OK;
}

/* The hook filter as BPF in *out (malloc'ed), for the child to load with prctl. */
static exai_status hook_filter_export(struct sock_fprog *out, exai_error *e)
{
	int r = 0, fd = -1;
	scmp_filter_ctx ctx = filter_new(true, &r);
	struct stat st;
	exai_status rc = EXAI_OK;

	out->filter = NULL;
	if (!ctx)
		return exai_error_set(e, EXAI_EINTERNAL, "seccomp: hook filter: %s", strerror(-r));
	if ((fd = memfd_create("exai-hook-filter", MFD_CLOEXEC)) < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "seccomp: hook filter: memfd_create");
		goto out;
	}
	if ((r = seccomp_export_bpf(ctx, fd))) {
		rc = exai_error_set(e, EXAI_EINTERNAL, "seccomp: hook filter: export: %s",
				    strerror(-r));
		goto out;
	}
	if (fstat(fd, &st) != 0 || st.st_size <= 0 ||
	    st.st_size > (off_t)(FILTER_MAX_INSNS * sizeof(struct sock_filter)) ||
	    st.st_size % sizeof(struct sock_filter)) {
		rc = exai_error_set(e, EXAI_EINTERNAL, "seccomp: hook filter: %lld bytes of BPF",
				    (long long)st.st_size);
		goto out;
	}
	if (!(out->filter = malloc((size_t)st.st_size))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (pread(fd, out->filter, (size_t)st.st_size, 0) != st.st_size) {
		rc = exai_error_sys(e, EXAI_EIO, "seccomp: hook filter: read back");
		free(out->filter);
		out->filter = NULL;
		goto out;
	}
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

/* ---- the hook's identity ---- */

/* The /etc/passwd entry of @name (or of uid @uid when @name is NULL). fgetpwent reads the
 * file itself: no NSS modules to load into a static binary. */
static bool passwd_find(const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	bool found = false;

	if (!f)
		return false;
	while (!found && (pw = fgetpwent(f)))
		if (name ? !strcmp(pw->pw_name, name) : pw->pw_uid == uid) {
			*uid_out = pw->pw_uid;
			*gid_out = pw->pw_gid;
			found = true;
		}
	fclose(f);
	return found;
}

/* @user as a uid and gid: a decimal uid (gid from its passwd entry, else the same number) or
 * a passwd name. */
static exai_status resolve_user(const char *user, uid_t *uid, gid_t *gid, exai_error *e)
{
	char *end = NULL;
	unsigned long n;

	if (user[0] >= '0' && user[0] <= '9') {
		errno = 0;
		n = strtoul(user, &end, 10);
		if (errno || *end || n >= (uid_t)-1 || (user[0] == '0' && user[1]))
			return exai_error_set(e, EXAI_ECONFIG, "hooks.user '%s': not a uid", user);
		if (!passwd_find(NULL, (uid_t)n, uid, gid)) {
			*uid = (uid_t)n;
			*gid = (gid_t)n;
		}
		return EXAI_OK;
	}
	if (!passwd_find(user, 0, uid, gid))
		return exai_error_set(e, EXAI_ECONFIG,
				      "hooks.user '%s': no such user in /etc/passwd", user);
	return EXAI_OK;
}

static int read_last_cap(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC), n = -1;
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (len > 0 && sscanf(buf, "%d", &n) == 1 && n >= 0 && n < 64)
		return n;
	return -1;
}

static void env_free(void)
{
	for (size_t i = 0; i < ENV_MAX; i++) {
		free(hook.env[i]);
		hook.env[i] = NULL;
	}
}

exai_status upd_sandbox_hooks(const char *user, char *const env[], exai_error *e)
{
	const char *who = user;
	uid_t uid = getuid();
	gid_t gid = getgid();
	size_t n = 0;
	exai_status rc;

	hook.set = false;
	hook.root = geteuid() == 0;
	if (hook.root && !who) /* the dedicated user, else nobody */
		who = passwd_find(UPD_HOOK_USER, 0, &uid, &gid) ? UPD_HOOK_USER : UPD_HOOK_FALLBACK;
	if (who && (rc = resolve_user(who, &uid, &gid, e)))
		return rc;
	if (hook.root && uid == 0 && strcmp(who, "root"))
		return exai_error_set(e, EXAI_ECONFIG,
				      "hooks.user '%s' is uid 0: write 'user: root' to run hooks "
				      "as root",
				      who);
	if (!hook.root && uid != geteuid())
		return exai_error_set(e, EXAI_ECONFIG,
				      "hooks.user '%s' (uid %u): exai-update runs as uid %u and "
				      "only root can switch users",
				      who, (unsigned)uid, (unsigned)geteuid());
	if (hook.root && (hook.last_cap = read_last_cap()) < 0)
		return exai_error_set(e, EXAI_EIO, "/proc/sys/kernel/cap_last_cap: unreadable");
	env_free();
	if (!(hook.env[n++] = strdup(UPD_HOOK_PATH)) || !(hook.env[n++] = strdup(UPD_HOOK_LANG)))
		goto nomem;
	for (size_t i = 0; env && env[i]; i++) {
		if (i >= UPD_HOOK_MAX_ENV) {
			env_free();
			return exai_error_set(e, EXAI_ECONFIG, "hooks.env: more than %d variables",
					      UPD_HOOK_MAX_ENV);
		}
		if (!(hook.env[n++] = strdup(env[i])))
			goto nomem;
	}
	hook.uid = uid;
	hook.gid = gid;
	hook.set = true;
	return EXAI_OK;
nomem:
	env_free();
	return exai_error_set(e, EXAI_ENOMEM, "out of memory");
}

/* ---- the child ---- */

#define CHILD_FAIL(fd, what)                                                               \
	do {                                                                               \
		dprintf(fd, "exai-update: hook sandbox: %s: %s\n", what, strerror(errno)); \
		_exit(126);                                                                \
	} while (0)

/* Drops every capability: bounding set (as root), ambient, then after the user switch the
 * inheritable, permitted and effective sets. */
static void child_identity(int fd)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (hook.root) {
		for (int cap = 0; cap <= hook.last_cap; cap++)
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
				CHILD_FAIL(fd, "PR_CAPBSET_DROP");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		CHILD_FAIL(fd, "PR_CAP_AMBIENT_CLEAR_ALL");
	if (hook.root) {
		if (setgroups(0, NULL) != 0)
			CHILD_FAIL(fd, "setgroups");
		if (setresgid(hook.gid, hook.gid, hook.gid) != 0)
			CHILD_FAIL(fd, "setresgid");
		if (setresuid(hook.uid, hook.uid, hook.uid) != 0)
			CHILD_FAIL(fd, "setresuid");
	}
	if (syscall(SYS_capset, &h, d) != 0)
		CHILD_FAIL(fd, "capset");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		CHILD_FAIL(fd, "PR_SET_NO_NEW_PRIVS");
}

/* In the child: own process group, own network namespace when root, no privileges, the hook
 * filter, cwd "/", stdin from /dev/null, stdout and stderr into the capture pipe, the fixed
 * environment. Never returns. */
static void child(char *const argv[], int out_fd, const struct sock_fprog *prog)
{
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	if (hook.root && unshare(CLONE_NEWNET) != 0)
		CHILD_FAIL(2, "unshare(CLONE_NEWNET)");
	if (chdir("/") != 0)
		CHILD_FAIL(2, "chdir /");
	child_identity(2);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) != 0)
		CHILD_FAIL(2, "seccomp hook filter");
	execve(argv[0], argv, hook.env);
	dprintf(2, "exai-update: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}
/* Keeps the last non-empty line of output (bounded) in @tail; *nl says a line just ended, so
 * the next character starts a new one (output may arrive in any pieces). */
static void keep_tail(char *tail, size_t cap, size_t *len, bool *nl, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			*nl = true;
			continue;
		}
		if (buf[i] == '\r')
			continue;
		if (*nl) {
			*len = 0;
			*nl = false;
		}
		if (*len + 1 < cap)
			tail[(*len)++] = (buf[i] >= 32 && buf[i] < 127) ? buf[i] : '?';
	}
	tail[*len] = '\0';
}

exai_status upd_run_hook(char *const argv[], uint64_t timeout_s, exai_error *e)
{
	uint64_t deadline = exai_now_ns() + timeout_s * 1000000000ull;
	char tail[256] = "", buf[4096];
	size_t tail_len = 0;
	bool timed_out = false, open = true, nl = false;
	struct sock_fprog prog = {0};
	int fds[2], status = 0;
	exai_status rc;
	pid_t pid;

	if (!hook.set && (rc = upd_sandbox_hooks(NULL, NULL, e)))
		return rc;
	if ((rc = hook_filter_export(&prog, e)))
		return rc;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		free(prog.filter);
		return exai_error_sys(e, EXAI_EIO, "%s: pipe", argv[0]);
	}
	pid = fork();
	if (pid < 0) {
		free(prog.filter);
		close(fds[0]);
		close(fds[1]);
		return exai_error_sys(e, EXAI_EIO, "%s: fork", argv[0]);
	}
	if (pid == 0) {
		close(fds[0]);
		child(argv, fds[1], &prog);
	}
	free(prog.filter);
	close(fds[1]);
	while (open) {
		uint64_t now = exai_now_ns();
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		if (now >= deadline) {
			timed_out = true;
			break;
		}
		int r = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			ssize_t n = read(fds[0], buf, sizeof(buf));
			if (n > 0)
				keep_tail(tail, sizeof(tail), &tail_len, &nl, buf, (size_t)n);
			else if (n == 0 || errno != EINTR)
				open = false;
		}
	}
	close(fds[0]);
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return exai_error_set(e, EXAI_EREFUSED, "%s: timed out after %llu s", argv[0],
				      (unsigned long long)timeout_s);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return EXAI_OK;
	if (WIFSIGNALED(status))
		return exai_error_set(e, EXAI_EREFUSED, "%s: killed by signal %d%s%s", argv[0],
				      WTERMSIG(status), tail[0] ? ": " : "", tail);
	return exai_error_set(e, EXAI_EREFUSED, "%s: exit %d%s%s", argv[0],
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1, tail[0] ? ": " : "",
			      tail);
}
