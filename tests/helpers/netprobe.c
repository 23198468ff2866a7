/*
 * netprobe: tries every way out of the hook sandbox it knows and reports each attempt.
 *
 * Run as exai-update's health check (tests/cli/update_sandbox.sh). For every address family
 * 0..63 (the kernel's list, AF_MAX-1 and beyond) and SOCK_STREAM, SOCK_DGRAM, SOCK_RAW it
 * calls socket() and socketpair(), once with the clean family and once with bit 32 set
 * (the kernel reads only the low 32 bits; a filter comparing 64 may not); then setns into
 * /proc/1/ns/net and its own netns, unshare(CLONE_NEWNET) (also with CLONE_NEWUSER), bpf,
 * io_uring_setup, and socket through the x32 and ia32 ABIs (in a child each: the filter
 * kills those). One line per attempt: "... refused errno=N (text)", "... killed by signal N"
 * or "... OPENED"; then who it ran as (/proc/self/status: Uid, Gid, Groups, CapBnd, CapEff,
 * CapPrm, CapInh, CapAmb, NoNewPrivs, Seccomp), its cwd and environment.
 *
 * Exits 0 iff nothing opened that is not AF_UNIX (AF_UNIX may open). Usage: netprobe [FILE]
 * (the report goes to FILE, else stdout); the last line is the summary either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif
#define FAMILIES 64

extern char **environ;

/* In a sanitizer build: LeakSanitizer needs ptrace at exit, which the hook filter refuses. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
	return 1;
}
static FILE *out;
static int attempts, opened;

/* Records one attempt's result @r (an fd or 0 for success, -1 with errno on failure). */
static void report(const char *what, long r, int allowed)
{
	int err = errno;

	attempts++;
	if (r >= 0) {
		fprintf(out, "%s: OPENED%s\n", what, allowed ? " (allowed)" : "");
		if (!allowed)
			opened++;
	} else {
		fprintf(out, "%s: refused errno=%d (%s)\n", what, err, strerror(err));
	}
}

static void try_sockets(void)
{
	static const struct {
		int type;
		const char *name;
	} types[] = {{SOCK_STREAM, "stream"}, {SOCK_DGRAM, "dgram"}, {SOCK_RAW, "raw"}};
	char what[128];
	int sv[2];

	for (long f = 0; f < FAMILIES; f++)
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			for (int hi = 0; hi < 2; hi++) {
				long arg = hi ? f | 0x100000000L : f;
				long r;

				snprintf(what, sizeof(what), "socket family=%ld type=%s arg=%#lx",
					 f, types[t].name, arg);
				errno = 0;
				r = syscall(SYS_socket, arg, types[t].type, 0);
				report(what, r, f == AF_UNIX);
				if (r >= 0)
					close((int)r);
				snprintf(what, sizeof(what),
					 "socketpair family=%ld type=%s arg=%#lx", f, types[t].name,
					 arg);
				errno = 0;
				r = syscall(SYS_socketpair, arg, types[t].type, 0, sv);
				report(what, r, f == AF_UNIX);
				if (r >= 0) {
					close(sv[0]);
					close(sv[1]);
				}
			}
}

static void try_setns(const char *path)
{
	char what[128];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	snprintf(what, sizeof(what), "setns %s", path);
	if (fd < 0) {
		snprintf(what, sizeof(what), "setns %s (open)", path);
		report(what, -1, 0);
		return;
	}
	errno = 0;
	report(what, syscall(SYS_setns, fd, CLONE_NEWNET), 0);
	close(fd);
}

/* In a child: a foreign-ABI socket call (the filter may kill the process). */
static void try_in_child(const char *what, int abi)
{
	int status = 0;
	pid_t pid;

	fflush(out);
	pid = fork();
	if (pid == 0) {
		long r;
		if (abi == 32) {
			r = syscall(__X32_SYSCALL_BIT | SYS_socket, AF_INET, SOCK_DGRAM, 0);
		} else {
			/* ia32 int 0x80: socket is 359 there. */
			long nr = 359, a = AF_INET, b = SOCK_DGRAM, c = 0;
			__asm__ volatile("int $0x80"
					 : "+a"(nr)
					 : "b"(a), "c"(b), "d"(c)
					 : "memory", "r8", "r9", "r10", "r11");
			r = nr;
			if (r < 0 && r > -4096) {
				errno = (int)-r;
				r = -1;
			}
		}
		_exit(r >= 0 ? 0 : (errno & 0x7f) + 1);
	}
	attempts++;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		fprintf(out, "%s: probe error: %s\n", what, strerror(errno));
		opened++;
	} else if (WIFSIGNALED(status)) {
		fprintf(out, "%s: killed by signal %d\n", what, WTERMSIG(status));
	} else if (WEXITSTATUS(status) == 0) {
		fprintf(out, "%s: OPENED\n", what);
		opened++;
	} else {
		int err = WEXITSTATUS(status) - 1;
		fprintf(out, "%s: refused errno=%d (%s)\n", what, err, strerror(err));
	}
}

static void who_am_i(void)
{
	static const char *const keys[] = {
	    "Uid:",    "Gid:",	  "Groups:",	 "CapInh:",  "CapPrm:", "CapEff:",
	    "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:", NULL};
	char line[512], cwd[256];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		for (int i = 0; keys[i]; i++)
			if (!strncmp(line, keys[i], strlen(keys[i]))) {
				char *v = line + strlen(keys[i]);
				v += strspn(v, " \t");
				v[strcspn(v, "\n")] = '\0';
				for (char *p = v; *p; p++)
					if (*p == '\t')
						*p = ' ';
				fprintf(out, "status %.*s %s\n", (int)strlen(keys[i]) - 1, keys[i],
					v);
			}
	if (f)
		fclose(f);
	fprintf(out, "cwd %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	for (char **e = environ; *e; e++)
		fprintf(out, "env %s\n", *e);
}

int main(int argc, char **argv)
{
	out = stdout;
	if (argc > 1 && !(out = fopen(argv[1], "we"))) {
		fprintf(stderr, "netprobe: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	who_am_i();
	try_sockets();
	try_setns("/proc/1/ns/net");
	try_setns("/proc/self/ns/net");
	errno = 0;
	report("unshare CLONE_NEWNET", syscall(SYS_unshare, CLONE_NEWNET), 0);
	errno = 0;
	report("unshare CLONE_NEWUSER|CLONE_NEWNET",
	       syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNET), 0);
	{
		char attr[128] = {0}; /* BPF_PROG_LOAD (5) of an empty program: any cmd will do */
		errno = 0;
		report("bpf BPF_PROG_LOAD", syscall(SYS_bpf, 5, attr, sizeof(attr)), 0);
		errno = 0;
		report("bpf BPF_MAP_CREATE", syscall(SYS_bpf, 0, attr, sizeof(attr)), 0);
		errno = 0;
		report("io_uring_setup", syscall(SYS_io_uring_setup, 1, attr), 0);
	}
	try_in_child("x32 socket(AF_INET, SOCK_DGRAM)", 32);
	try_in_child("ia32 socket(AF_INET, SOCK_DGRAM)", 86);
	fprintf(out, "summary attempts=%d opened=%d\n", attempts, opened);
	if (out != stdout) {
		fclose(out);
		printf("summary attempts=%d opened=%d\n", attempts, opened);
	}
	return opened ? 1 : 0;
}
