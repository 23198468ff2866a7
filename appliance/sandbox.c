/*
 * sandbox: the seccomp filter and hook runner. See sandbox.h.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exai/progress.h"

#ifndef AF_PACKET
#define AF_PACKET 17
#endif

exai_status upd_sandbox_install(exai_error *e)
{
	static const int families[] = {AF_INET, AF_INET6, AF_PACKET};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r = 0;

	if (!ctx)
		return exai_error_set(e, EXAI_ENOMEM, "seccomp: init failed");
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]) && !r; i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
					     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
	}
	if (!r)
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r)
		return exai_error_set(e, EXAI_EINTERNAL, "seccomp: cannot load the filter: %s",
				      strerror(-r));
	return EXAI_OK;
}

/* In the child: own process group, own network namespace when root, stdin from /dev/null,
 * stdout and stderr into the capture pipe. Never returns. */
static void child(char *const argv[], int out_fd)
{
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);

	setpgid(0, 0);
	if (geteuid() == 0 && unshare(CLONE_NEWNET) != 0) {
		dprintf(out_fd, "exai-update: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		_exit(126);
	}
	if (nul < 0 || dup2(nul, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
		_exit(126);
	execv(argv[0], argv);
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
	int fds[2], status = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: pipe", argv[0]);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return exai_error_sys(e, EXAI_EIO, "%s: fork", argv[0]);
	}
	if (pid == 0) {
		close(fds[0]);
		child(argv, fds[1]);
	}
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
