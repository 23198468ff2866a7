/*
 * probe.c: the probe clients and the loopback listener of bench/egress.sh.
 *
 *   probe listen ADDR PORTFILE     TCP and UDP on ADDR (kernel-chosen ports, written to
 *                                  PORTFILE as "TCP UDP"); accepts and closes, drains UDP,
 *                                  until killed. Run outside the measured cgroups.
 *   probe once CGROUP ADDR PORT    joins CGROUP, one TCP connect: prints "ok" or "errno=NAME"
 *   probe bench tcp|udp ADDR PORT OPS BLOCK CGROUP...
 *                                  one worker process per CGROUP, each moved into its cgroup
 *                                  before it makes a socket; the workers take turns, one at a
 *                                  time, doing BLOCK operations each, until each has done OPS:
 *                                    tcp  socket + connect + close, BLOCK times
 *                                    udp  sendto of 64 bytes on the worker's one unconnected
 *                                         UDP socket, BLOCK times
 *                                  The first worker of each turn moves on by one, so no
 *                                  cgroup always runs first. Prints each worker's total time
 *                                  of its blocks (CLOCK_MONOTONIC around each block), in
 *                                  seconds, in the order of the CGROUPs.
 *
 * Fine-grained turns between the configurations put them under the same load from the rest
 * of the machine (other processes come and go in seconds; a block lasts about 10 ms). Each
 * worker does one untimed block first. Any failed operation (EPERM from a policy, a refused
 * connection) fails the run: times are printed only for OPS successes each. TCP sockets are
 * closed with SO_LINGER 0 (a RST, no TIME_WAIT), so that rounds of tens of thousands of
 * connections do not fill the port range and every round starts from the same state.
 * Addresses are loopback addresses chosen by the script.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
	return 1;
}

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		fprintf(stderr, "probe: %s: not an IPv4 address\n", ip);
		return -1;
	}
	return 0;
}

static int join_cgroup(const char *cg)
{
	char path[4096], pid[32];
	int fd, n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "probe: join %s: %s\n", cg, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int listen_loop(const char *ip, const char *portfile)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, big = 4 << 20;
	int t = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	unsigned tport, uport;
	char tmp[4096];
	FILE *f;

	if (t < 0 || u < 0 || addr_of(ip, "0", &sa) != 0)
		return die("socket");
	setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(u, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(t, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(t, 4096) != 0 ||
	    getsockname(t, (struct sockaddr *)&sa, &len) != 0)
		return die("tcp listener");
	tport = ntohs(sa.sin_port);
	sa.sin_port = 0;
	len = sizeof(sa);
	if (bind(u, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(u, (struct sockaddr *)&sa, &len) != 0)
		return die("udp sink");
	uport = ntohs(sa.sin_port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u %u\n", tport, uport) < 0 || fclose(f) != 0 ||
	    rename(tmp, portfile) != 0)
		return die(portfile);
	for (;;) {
		struct pollfd p[2] = {{.fd = t, .events = POLLIN}, {.fd = u, .events = POLLIN}};
		char buf[2048];
		int c;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return die("poll");
		while ((c = accept(t, NULL, NULL)) >= 0)
			close(c);
		while (recv(u, buf, sizeof(buf), 0) > 0)
			;
	}
}

static int tcp_once(const struct sockaddr_in *sa)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int rc = -1, err;

	if (s < 0)
		return -1;
	if (setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0 &&
	    connect(s, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		rc = 0;
	err = errno;
	close(s);
	errno = err;
	return rc;
}

/* One connect, for the script's checks that a policy is in force: "ok" or "errno=NAME". */
static int run_once(const struct sockaddr_in *sa)
{
	if (tcp_once(sa) == 0)
		printf("ok\n");
	else if (errno == EPERM || errno == ECONNREFUSED)
		printf("errno=%s\n", errno == EPERM ? "EPERM" : "ECONNREFUSED");
	else
		printf("errno=%s\n", strerror(errno));
	return 0;
}

static int udp_once(int u, const struct sockaddr_in *sa)
{
	static const char msg[64] = "exai-egress bench";
	ssize_t n = sendto(u, msg, sizeof(msg), 0, (const struct sockaddr *)sa, sizeof(*sa));

	return n < 0 ? -1 : 0;
}

enum { MAX_WORKERS = 8 };

struct worker {
	pid_t pid;
	int cmd, res; /* parent's ends: commands to it, results from it */
};

/* One block of @n operations on @sa (@udp: on socket @u); 0, or -1 with errno. */
static int block(bool udp, int u, const struct sockaddr_in *sa, long n)
{
	for (long i = 0; i < n; i++)
		if ((udp ? udp_once(u, sa) : tcp_once(sa)) != 0)
			return -1;
	return 0;
}

/* The worker: joins @cg, then for each command byte runs a block and answers with its
 * nanoseconds (UINT64_MAX: an operation failed). */
static int work(const char *cg, bool udp, const struct sockaddr_in *sa, long n, int cmd, int res)
{
	int u = -1;
	char c;

	if (join_cgroup(cg) != 0)
		return 1;
	if (udp && (u = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
		return die("socket");
	while (read(cmd, &c, 1) == 1 && c == 'g') {
		double t0 = now();
		uint64_t ns = UINT64_MAX;

		if (block(udp, u, sa, n) == 0)
			ns = (uint64_t)((now() - t0) * 1e9);
		else
			fprintf(stderr, "probe: %s in %s: %s\n", udp ? "sendto" : "connect", cg,
				strerror(errno));
		if (write(res, &ns, sizeof(ns)) != (ssize_t)sizeof(ns))
			return 1;
	}
	return 0;
}

/* Starts worker @w[@i]; the earlier workers' pipes are closed in it, so each worker sees the
 * end of its commands when the parent closes its end. */
static int start_worker(struct worker *w, int i, const char *cg, bool udp,
			const struct sockaddr_in *sa, long n)
{
	int to[2], from[2];

	if (pipe(to) != 0 || pipe(from) != 0)
		return die("pipe");
	w[i].pid = fork();
	if (w[i].pid < 0)
		return die("fork");
	if (w[i].pid == 0) {
		for (int k = 0; k < i; k++) {
			close(w[k].cmd);
			close(w[k].res);
		}
		close(to[1]);
		close(from[0]);
		_exit(work(cg, udp, sa, n, to[0], from[1]));
	}
	w += i;
	close(to[0]);
	close(from[1]);
	w->cmd = to[1];
	w->res = from[0];
	return 0;
}

/* One block by worker @w; its seconds into *@s (not touched for the untimed warm-up). */
static int turn(struct worker *w, double *s)
{
	uint64_t ns;

	if (write(w->cmd, "g", 1) != 1 || read(w->res, &ns, sizeof(ns)) != (ssize_t)sizeof(ns) ||
	    ns == UINT64_MAX)
		return -1;
	if (s)
		*s += (double)ns / 1e9;
	return 0;
}

static int run_bench(bool udp, const struct sockaddr_in *sa, long ops, long blk, int ncg,
		     char **cgs)
{
	struct worker w[MAX_WORKERS];
	double total[MAX_WORKERS] = {0};
	int rc = 0, started = 0;

	while (started < ncg && rc == 0)
		if ((rc = start_worker(w, started, cgs[started], udp, sa, blk)) == 0)
			started++;
	for (int i = 0; i < started && rc == 0; i++)
		rc = turn(&w[i], NULL);
	for (long b = 0; b < ops / blk && rc == 0; b++)
		for (int k = 0; k < ncg && rc == 0; k++) {
			int i = (int)((b + k) % ncg);

			rc = turn(&w[i], &total[i]);
		}
	for (int i = 0; i < started; i++)
		close(w[i].cmd);
	for (int i = 0; i < started; i++) {
		int st;

		close(w[i].res);
		if (waitpid(w[i].pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = -1;
	}
	if (rc != 0) {
		fprintf(stderr, "probe: a worker failed\n");
		return 1;
	}
	for (int i = 0; i < ncg; i++)
		printf("%s%.6f", i ? " " : "", total[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	long ops, blk;

	if (argc == 4 && strcmp(argv[1], "listen") == 0)
		return listen_loop(argv[2], argv[3]);
	if (argc == 5 && strcmp(argv[1], "once") == 0)
		return addr_of(argv[3], argv[4], &sa) != 0 || join_cgroup(argv[2]) != 0
			   ? 2
			   : run_once(&sa);
	if (argc < 8 || argc - 7 > MAX_WORKERS || strcmp(argv[1], "bench") != 0 ||
	    (strcmp(argv[2], "tcp") != 0 && strcmp(argv[2], "udp") != 0)) {
		fprintf(stderr, "usage: probe listen ADDR PORTFILE | probe once CGROUP ADDR PORT | "
				"probe bench tcp|udp ADDR PORT OPS BLOCK CGROUP...\n");
		return 2;
	}
	ops = atol(argv[5]);
	blk = atol(argv[6]);
	if (blk < 1 || ops < blk || addr_of(argv[3], argv[4], &sa) != 0)
		return 2;
	return run_bench(strcmp(argv[2], "udp") == 0, &sa, ops, blk, argc - 7, argv + 7);
}
