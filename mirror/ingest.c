/*
 * ingest: the unix socket listener and its poll loop. See ingest.h.
 *
 * Invariants: the loop is the only thread that touches connections; the writer only hands
 * batches back through its done list. A connection is freed only when no batch of it is in
 * flight, so every ack finds its connection (or its connection's tombstone, when dead).
 */
#include "ingest.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

exai_status mir_ingest_listen(const mir_config *c, int *fd_out, exai_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	*fd_out = -1;
	memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
	if (lstat(c->socket_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return exai_error_set(e, EXAI_EUNSAFE,
					      "%s: exists and is not a socket (refused; remove it)",
					      c->socket_path);
		if (unlink(c->socket_path) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: remove the stale socket",
					      c->socket_path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return exai_error_sys(e, EXAI_EIO, "socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(c->socket_path, c->socket_mode) != 0 || listen(fd, 128) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: bind/listen", c->socket_path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return EXAI_OK;
}

typedef struct loop {
	const mir_config *cfg;
	mir_writer *w;
	mir_conn *conns[MIR_INGEST_CONNS];
	size_t nconns;
	uint64_t next_id;
	bool draining;
	bool disk_low;	      /* free disk under min_free_bytes: nothing is read */
	int64_t disk_next_ms; /* when to look at the free space again */
	uint64_t disk_waits;  /* times reading stopped for it, not yet counted in the store */
} loop;

static mir_conn *find_conn(loop *L, uint64_t id)
{
	for (size_t i = 0; i < L->nconns; i++)
		if (L->conns[i]->id == id)
			return L->conns[i];
	return NULL;
}

/* Reads and drops what the peer already sent (at most 1 MiB, without waiting), so closing
 * does not reset the connection before the peer has read the error line. */
static void discard_input(int fd)
{
	char buf[16384];

	for (int i = 0; i < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++) {
	}
}

/* Refuses a connection at once: one error line, counted, closed. */
static void refuse_peer(loop *L, int fd, enum mir_refusal why, const char *msg)
{
	json_t *o;
	char *s;
	mir_batch *bt = mir_batch_new(0, NULL);

	o = json_pack("{s:{s:i,s:s,s:s}}", "error", "line", 0, "code", "EREFUSED", "message", msg);
	if (o && (s = json_dumps(o, JSON_COMPACT))) {
		size_t n = strlen(s);
		s[n] = '\n';
		(void)!send(fd, s, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(s);
	}
	json_decref(o);
	discard_input(fd);
	close(fd);
	if (bt) {
		bt->refused[why]++;
		mir_writer_submit(L->w, bt);
	}
}

static void accept_one(loop *L, int lfd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char msg[128];
	const char *tenant;
	mir_conn *k;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		close(fd);
		return;
	}
	if (!(tenant = mir_config_tenant(L->cfg, cr.uid, cr.gid))) {
		snprintf(msg, sizeof(msg), "peer uid %u gid %u is not in the tenant map: refused",
			 (unsigned)cr.uid, (unsigned)cr.gid);
		refuse_peer(L, fd, MIR_REF_UNMAPPED_PEER, msg);
		return;
	}
	if (L->nconns == MIR_INGEST_CONNS ||
	    !(k = mir_conn_new(L->cfg, fd, ++L->next_id, tenant))) {
		snprintf(msg, sizeof(msg), "too many connections (%d): try again later",
			 MIR_INGEST_CONNS);
		refuse_peer(L, fd, MIR_REF_BUSY, msg);
		return;
	}
	L->conns[L->nconns++] = k;
}

static void settle_done(loop *L)
{
	for (mir_batch *b = mir_writer_take_done(L->w), *n; b; b = n) {
		mir_conn *k = b->conn_id ? find_conn(L, b->conn_id) : NULL;
		n = b->next;
		if (k)
			mir_conn_settled(k, b);
		mir_batch_free(b);
	}
}

/* Free bytes under state_dir for an unprivileged writer (test builds: the number in the file
 * $EXAI_MIRROR_TEST_FREE_FILE, so a test can fill and free the disk). UINT64_MAX if unknown. */
static uint64_t free_bytes(const mir_config *c)
{
	struct statvfs sv;
#ifdef EXAI_TESTING
	const char *f = getenv("EXAI_MIRROR_TEST_FREE_FILE");
	FILE *fp = f ? fopen(f, "r") : NULL;
	unsigned long long v = UINT64_MAX;
	if (fp) {
		if (fscanf(fp, "%llu", &v) != 1)
			v = UINT64_MAX;
		fclose(fp);
		return (uint64_t)v;
	}
#endif
	if (statvfs(c->state_dir, &sv) != 0)
		return UINT64_MAX; /* the writer's own errors say what is wrong with the disk */
	return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

/* The free-disk watermark, looked at every 200 ms: under it nothing is read (backpressure;
 * clients wait in their send). Each stop is counted as backpressure:disk once reading resumes
 * (a counters-only batch: nothing is committed while the disk is low). */
static void check_disk(loop *L)
{
	struct timespec ts;
	int64_t now;
	bool low;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (L->cfg->min_free_bytes == 0 || now < L->disk_next_ms)
		return;
	L->disk_next_ms = now + 200;
	low = free_bytes(L->cfg) < L->cfg->min_free_bytes;
	if (low && !L->disk_low) {
		L->disk_waits++;
		fprintf(stderr,
			"exai-mirror serve: free disk under %s is below min_free_bytes (%llu): not "
			"reading\n",
			L->cfg->state_dir, (unsigned long long)L->cfg->min_free_bytes);
	} else if (!low && L->disk_low) {
		mir_batch *b = mir_batch_new(0, NULL);
		fprintf(stderr,
			"exai-mirror serve: free disk above min_free_bytes again: reading\n");
		if (b) {
			b->disk_waits = L->disk_waits;
			L->disk_waits = 0;
			mir_writer_submit(L->w, b);
		}
	}
	L->disk_low = low;
}

static bool may_read(loop *L, const mir_conn *k)
{
	return !L->draining && !L->disk_low && !k->eof && !k->dead &&
	       k->inflight < MIR_INGEST_INFLIGHT && k->out_len < MIR_INGEST_OUT_MAX &&
	       mir_writer_queued_bytes(L->w) < L->cfg->queue_bytes;
}

/* Frees the connections that are finished: nothing in flight and nothing left to say. */
static void reap(loop *L)
{
	size_t j = 0;

	for (size_t i = 0; i < L->nconns; i++) {
		mir_conn *k = L->conns[i];
		bool done = k->inflight == 0 && (k->dead || (k->eof && k->out_len == 0) ||
						 (L->draining && k->out_len == 0));
		if (done)
			mir_conn_free(k);
		else
			L->conns[j++] = k;
	}
	L->nconns = j;
}

static bool drained(const loop *L)
{
	for (size_t i = 0; i < L->nconns; i++)
		if (L->conns[i]->inflight)
			return false;
	return true;
}

/* At the start of a drain: what the peers already sent (in the socket buffers) is read and
 * stored too, up to 1 MiB a connection, whatever the backpressure limits; then no more. */
static void read_pending(loop *L, mir_scrubber *s)
{
	for (size_t i = 0; i < L->nconns; i++) {
		mir_conn *k = L->conns[i];
		size_t budget = (1u << 20) / (L->cfg->max_line + 1) + 1;
		while (!k->eof && !k->dead && budget-- > 0 && mir_conn_read(k, L->cfg, s, L->w)) {
		}
	}
}

static void drain_wake(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

/* SIGHUP: the tenant map again from the config file (mir_config_reload); said on stderr. */
static void serve_reload(mir_config *c)
{
	char changed[256];
	exai_error e;

	if (mir_config_reload(c, changed, sizeof(changed), &e)) {
		fprintf(
		    stderr,
		    "exai-mirror serve: SIGHUP: nothing reloaded, the running config stays: %s\n",
		    e.msg);
		return;
	}
	fprintf(stderr, "exai-mirror serve: SIGHUP: reloaded the tenant map (%zu entries)%s%s\n",
		c->ntenants, changed[0] ? "; not reloaded (restart to apply): " : "", changed);
}

exai_status mir_ingest_run(mir_config *c, mir_scrubber *s, mir_writer *w, int listen_fd,
			   int wake_fd, int sig_fd, exai_error *e)
{
	static struct pollfd pf[3 + MIR_INGEST_CONNS];
	loop *L = calloc(1, sizeof(*L));
	int deadline = 0;

	if (!L)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	L->cfg = c;
	L->w = w;
	for (;;) {
		size_t np = 3;

		check_disk(L);

		pf[0] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
		pf[1] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		pf[2] = (struct pollfd){.fd = L->draining ? -1 : listen_fd, .events = POLLIN};
		for (size_t i = 0; i < L->nconns; i++) {
			mir_conn *k = L->conns[i];
			pf[np++] = (struct pollfd){.fd = k->dead ? -1 : k->fd,
						   .events = (short)((may_read(L, k) ? POLLIN : 0) |
								     (k->out_len ? POLLOUT : 0))};
		}
		/* While the writer's queue is full nothing is read: poll again soon. */
		if (poll(pf, np,
			 L->draining || L->disk_low || mir_writer_queued_bytes(w) >= c->queue_bytes
			     ? 50
			     : 200) < 0 &&
		    errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			(void)!read(sig_fd, &si, sizeof(si));
			if (si.ssi_signo == SIGHUP) {
				serve_reload(c);
			} else {
				L->draining = true;
				read_pending(L, s);
			}
		}
		if (pf[1].revents & POLLIN)
			drain_wake(wake_fd);
		settle_done(L);
		for (size_t i = 0; i < L->nconns; i++) {
			mir_conn *k = L->conns[i];
			short re = pf[3 + i].revents;
			if (re & POLLOUT || k->out_len)
				mir_conn_flush(k);
			if (re & POLLIN)
				mir_conn_read(k, c, s, w);
			else if (re & (POLLHUP | POLLERR) && !(re & POLLIN))
				k->eof = true;
			mir_conn_flush(k);
		}
		reap(L);
		if (!L->draining && (pf[2].revents & POLLIN))
			accept_one(L, listen_fd);
		if (L->draining && drained(L) && (L->nconns == 0 || ++deadline > 40))
			break;
	}
	for (size_t i = 0; i < L->nconns; i++)
		mir_conn_free(L->conns[i]);
	free(L);
	return EXAI_OK;
}
