/*
 * client: the benchmark's batching client for a newline-delimited JSON unix stream socket.
 * C connections each send batches of N records (gen.h) and, in ack mode, wait for the acks
 * that settle every line of a batch before sending the next (exai-mirror's ack lines:
 * docs/mirror.md). Without acks (--no-ack, for rsyslog) it only sends.
 *
 *   client --socket PATH --total T [--batch N] [--conns C] [--rate EV_PER_S] [--no-ack]
 *   client --print-bytes --total T      the bytes of records 0 to T-1, newlines included
 *
 * --rate paces the batches of all connections together to that many events per second
 * (0: as fast as the acks allow). Prints one tab-separated line on stdout:
 *   events <T> seconds <S> rate <EV/S> p50_ms <..> p99_ms <..> max_ms <..>
 * where a latency is from the batch's first byte sent to the ack covering its last line.
 * Exits 1 on an error or nack line, a short read or a failed connection, naming it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

static const char *sock_path;
static uint64_t total, batch = 1000, conns = 1;
static double rate;
static bool no_ack, print_bytes;
static double t0;

typedef struct worker {
	pthread_t th;
	uint64_t first, count; /* records [first, first + count) */
	uint64_t cidx;
	double *lat; /* one per batch, ms */
	size_t nlat;
	int failed;
} worker;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_sock(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "client: connect %s: %s\n", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "client: send: %s\n", strerror(errno));
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

typedef struct acks {
	char buf[65536];
	size_t len;
	uint64_t through; /* lines settled so far */
} acks;

/* Reads reply lines until every line up to @want_line is settled. An error or nack line
 * fails: the benchmark's records are all valid. */
static int wait_acks(int fd, acks *a, uint64_t want_line)
{
	while (a->through < want_line) {
		char *nl;
		ssize_t k = recv(fd, a->buf + a->len, sizeof(a->buf) - 1 - a->len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "client: the server closed or failed after line %llu: %s\n",
				(unsigned long long)a->through,
				k ? strerror(errno) : "end of file");
			return -1;
		}
		a->len += (size_t)k;
		a->buf[a->len] = '\0';
		while ((nl = memchr(a->buf, '\n', a->len))) {
			const char *t = strstr(a->buf, "\"through_line\":");
			*nl = '\0';
			if (strncmp(a->buf, "{\"ack\":", 7) || !t || t > nl) {
				fprintf(stderr, "client: not an ack: %s\n", a->buf);
				return -1;
			}
			a->through = strtoull(t + 15, NULL, 10);
			a->len -= (size_t)(nl + 1 - a->buf);
			memmove(a->buf, nl + 1, a->len);
		}
		if (a->len >= sizeof(a->buf) - 1) {
			fprintf(stderr, "client: a reply line over %zu bytes\n", sizeof(a->buf));
			return -1;
		}
	}
	return 0;
}

static void *work(void *arg)
{
	worker *w = arg;
	acks *a = calloc(1, sizeof(*a));
	char *buf = malloc(batch * GEN_LINE_MAX);
	int fd = connect_sock();
	uint64_t sent = 0, nb = 0;

	w->failed = 1;
	if (fd < 0 || !a || !buf)
		goto out;
	while (sent < w->count) {
		uint64_t n = w->count - sent < batch ? w->count - sent : batch;
		size_t len = 0;
		double start;

		for (uint64_t i = 0; i < n; i++)
			len += (size_t)gen_record(w->first + sent + i, buf + len);
		if (rate > 0) {
			/* Batch nb of this connection is due at its slot in the shared schedule. */
			double due = t0 + (double)(nb * conns + w->cidx) * (double)batch / rate;
			double d = due - now_s();
			if (d > 0) {
				struct timespec ts = {(time_t)d,
						      (long)((d - (double)(time_t)d) * 1e9)};
				nanosleep(&ts, NULL);
			}
		}
		start = now_s();
		if (send_all(fd, buf, len))
			goto out;
		sent += n;
		if (!no_ack) {
			if (wait_acks(fd, a, sent))
				goto out;
			w->lat[w->nlat++] = (now_s() - start) * 1000;
		}
		nb++;
	}
	w->failed = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(a);
	return NULL;
}

static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static int usage(void)
{
	fprintf(stderr, "usage: client --socket PATH --total T [--batch N] [--conns C] "
			"[--rate EV_PER_S] [--no-ack]\n       client --print-bytes --total T\n");
	return 2;
}

int main(int argc, char **argv)
{
	worker *ws;
	double *all;
	size_t nall = 0;
	double t1;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--no-ack") || !strcmp(argv[i], "--print-bytes")) {
			no_ack = no_ack || !strcmp(argv[i], "--no-ack");
			print_bytes = print_bytes || !strcmp(argv[i], "--print-bytes");
			continue;
		}
		if (!v)
			return usage();
		if (!strcmp(argv[i], "--socket"))
			sock_path = v;
		else if (!strcmp(argv[i], "--total"))
			total = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i], "--batch"))
			batch = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i], "--conns"))
			conns = strtoull(v, NULL, 10);
		else if (!strcmp(argv[i], "--rate"))
			rate = strtod(v, NULL);
		else
			return usage();
		i++;
	}
	if (print_bytes && total) {
		char line[GEN_LINE_MAX];
		uint64_t n = 0;
		for (uint64_t i = 0; i < total; i++)
			n += (uint64_t)gen_record(i, line);
		printf("%llu\n", (unsigned long long)n);
		return 0;
	}
	if (!sock_path || !total || !batch || !conns || conns > 64)
		return usage();
	ws = calloc(conns, sizeof(*ws));
	all = calloc(total / batch + conns + 1, sizeof(*all));
	if (!ws || !all)
		return 1;
	t0 = now_s();
	for (uint64_t c = 0; c < conns; c++) {
		ws[c].cidx = c;
		ws[c].first = total / conns * c;
		ws[c].count = c + 1 == conns ? total - ws[c].first : total / conns;
		ws[c].lat = all + nall;
		nall += ws[c].count / batch + 1;
		pthread_create(&ws[c].th, NULL, work, &ws[c]);
	}
	nall = 0;
	for (uint64_t c = 0; c < conns; c++) {
		pthread_join(ws[c].th, NULL);
		rc |= ws[c].failed;
	}
	t1 = now_s();
	/* Gather the latencies (each worker wrote into its own slice of all). */
	{
		double *v = calloc(total / batch + conns + 1, sizeof(*v));
		for (uint64_t c = 0; v && c < conns; c++)
			for (size_t j = 0; j < ws[c].nlat; j++)
				v[nall++] = ws[c].lat[j];
		if (v)
			qsort(v, nall, sizeof(*v), cmp_d);
		printf(
		    "events\t%llu\tseconds\t%.6f\trate\t%.0f\tp50_ms\t%.3f\tp99_ms\t%.3f\tmax_ms\t"
		    "%.3f\n",
		    (unsigned long long)total, t1 - t0, (double)total / (t1 - t0),
		    pct(v, nall, 0.5), pct(v, nall, 0.99), nall ? v[nall - 1] : 0.0);
		free(v);
	}
	free(all);
	free(ws);
	return rc;
}
