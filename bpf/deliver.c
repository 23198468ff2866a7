/*
 * deliver.c: the delivery thread of exai-egress serve (deliver.h). The thread owns its spool
 * connection; the daemon's thread only wakes it. Invariant: an event leaves the
 * spool only in egress_spool_remove after an ack covered it and the mirror did not refuse it.
 */
#include "deliver.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/mirror_send.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS	 10000
#define IDLE_MS		 1000

struct egress_deliver {
	pthread_t thread;
	egress_spool *spool;
	char *mirror;
	char *journal;
	int journal_fd;
	int wake_fd;
	atomic_bool stop;
	char last_error[256]; /* the thread's own */
};

char *egress_record_line(const egress_spool_item *it)
{
	char *line = NULL;

	if (asprintf(&line,
		     "{\"class\":\"audit\",\"time\":%" PRId64 ",\"body\":%s,\"attributes\":{"
		     "\"source\":\"exai-egress\",\"spool_seq\":%" PRId64 "}}",
		     it->time < 0 ? 0 : it->time, it->body, it->id) < 0)
		return NULL;
	return line;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int egress_journal_send(int fd, const char *path, const char *text)
{
	static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int pri = 3 << 3 | (strncmp(text, "deny ", 5) == 0 ? 4 : 5); /* daemon.warning/notice */
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char msg[2048];
	time_t t = time(NULL);
	struct tm tm;
	int n;

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	localtime_r(&t, &tm);
	n = snprintf(msg, sizeof(msg), "<%d>%s %2d %02d:%02d:%02d exai-egress[%d]: %s", pri,
		     mon[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid(),
		     text);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	return sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa)) == n
		   ? 0
		   : -1;
}

/* Writes every spooled event not yet in the journal to it. */
static exai_status journal_pending(egress_deliver *d, exai_error *e)
{
	egress_spool_stats st;
	egress_spool_item *items = NULL;
	size_t n = 0;
	exai_status rc;

	if ((rc = egress_spool_stats_get(d->spool, &st, e)))
		return rc;
	for (;;) {
		uint64_t failed = 0;

		if ((rc = egress_spool_take(d->spool, (int64_t)st.journaled, 256, &items, &n, e)) ||
		    n == 0)
			break;
		for (size_t i = 0; i < n; i++)
			failed +=
			    egress_journal_send(d->journal_fd, d->journal, items[i].text) != 0;
		st.journaled = (uint64_t)items[n - 1].id;
		egress_spool_items_free(items, n);
		items = NULL;
		if ((rc = egress_spool_begin(d->spool, e)))
			break;
		if ((rc = egress_spool_set(d->spool, "journaled", (int64_t)st.journaled, e)) ||
		    (rc = egress_spool_count(d->spool, "journal_failed", (int64_t)failed, e)) ||
		    (rc = egress_spool_commit(d->spool, e))) {
			egress_spool_rollback(d->spool);
			break;
		}
	}
	return rc;
}

/* Sends one batch; removes what the ack covers and the mirror did not refuse. */
static exai_status send_batch(egress_deliver *d, exai_mirror_conn *c, egress_spool_item *items,
			      size_t n, exai_error *e)
{
	char *lines[EXAI_MIRROR_BATCH_MAX] = {NULL};
	int64_t ids[EXAI_MIRROR_BATCH_MAX];
	exai_mirror_batch *b = calloc(1, sizeof(*b));
	size_t k = 0;
	exai_status rc = EXAI_OK, drc;
	exai_error de;

	if (!b)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++)
		if (!(lines[i] = egress_record_line(&items[i])))
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (!rc)
		rc = exai_mirror_send(c, (const char *const *)lines, n, b, e);
	for (size_t i = 0; i < b->settled; i++)
		if (!b->refused[i])
			ids[k++] = items[i].id;
	/* what the ack covered leaves the spool even when the rest of the batch failed */
	if (k && exai_fault("serve.remove")) /* acknowledged, not yet removed */
		drc = exai_error_set(&de, EXAI_EIO, "injected fault");
	else
		drc = egress_spool_remove(d->spool, ids, k, &de);
	if (drc && !rc) {
		rc = drc;
		*e = de;
	}
	if (!rc && b->n_refused)
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "the mirror refused %zu event(s), kept in the spool: spool "
				    "event %" PRId64 ": %s",
				    b->n_refused, items[b->first_refused].id, b->why);
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(b);
	return rc;
}

/* Sends the whole spool. *@sent: whether anything was there to send. */
static exai_status round_mirror(egress_deliver *d, bool *sent, exai_error *e)
{
	exai_mirror_conn *c = NULL;
	egress_spool_item *items = NULL;
	size_t n = 0;
	exai_status rc;

	*sent = false;
	while (!(rc = egress_spool_take(d->spool, 0, EXAI_MIRROR_BATCH_MAX, &items, &n, e)) &&
	       n > 0) {
		*sent = true;
		if (!c && (rc = exai_mirror_connect(d->mirror, &c, e)))
			break;
		rc = send_batch(d, c, items, n, e);
		egress_spool_items_free(items, n);
		items = NULL;
		if (rc)
			break;
	}
	egress_spool_items_free(items, n);
	exai_mirror_close(c);
	return rc;
}

/* Records the outcome of a round for status (only when it changed). */
static void note(egress_deliver *d, const char *why)
{
	exai_error ignored;

	if (strcmp(d->last_error, why) == 0)
		return;
	snprintf(d->last_error, sizeof(d->last_error), "%s", why);
	if (why[0])
		fprintf(stderr, "exai-egress serve: mirror: events stay in the spool: %s\n", why);
	else
		fprintf(stderr, "exai-egress serve: mirror: delivering again\n");
	if (egress_spool_set_error(d->spool, why, &ignored) != EXAI_OK)
		fprintf(stderr, "exai-egress serve: spool: %s\n", ignored.msg);
}

/* One round; returns whether it failed (so the next one backs off). */
static bool one_round(egress_deliver *d)
{
	exai_error e = {0}, je = {0};
	bool sent = false, failed = false;

	if (d->mirror) {
		if (round_mirror(d, &sent, &e) != EXAI_OK) {
			failed = true;
			note(d, e.msg);
		} else if (sent) {
			note(d, "");
		}
	}
	if ((!d->mirror || failed) && journal_pending(d, &je) != EXAI_OK)
		fprintf(stderr, "exai-egress serve: journal: %s\n", je.msg);
	return failed;
}

/* Waits until @deadline (monotonic ms), or a wake when @wakeable; false when told to stop. */
static bool wait_until(egress_deliver *d, int64_t deadline, bool wakeable)
{
	uint64_t v;

	for (;;) {
		struct pollfd p = {.fd = d->wake_fd, .events = POLLIN};
		int64_t left = deadline - now_ms();

		if (atomic_load(&d->stop))
			return false;
		if (left <= 0)
			return true;
		if (poll(&p, 1, (int)left) > 0 && read(d->wake_fd, &v, sizeof(v)) > 0 && wakeable)
			return !atomic_load(&d->stop);
	}
}

static void *run(void *arg)
{
	egress_deliver *d = arg;
	int backoff = 0;

	for (;;) {
		bool go = backoff ? wait_until(d, now_ms() + backoff, false)
				  : wait_until(d, now_ms() + IDLE_MS, true);

		if (one_round(d))
			backoff =
			    backoff ? (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2)
				    : BACKOFF_FIRST_MS;
		else
			backoff = 0;
		if (!go)
			break; /* stopping: that was the last round */
	}
	return NULL;
}

exai_status egress_deliver_start(const char *spool_dir, const char *mirror_socket,
				 const char *journal_socket, egress_deliver **out, exai_error *e)
{
	egress_deliver *d = calloc(1, sizeof(*d));
	egress_spool_stats st;
	exai_status rc;

	*out = NULL;
	if (!d)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	d->journal_fd = d->wake_fd = -1;
	if (!(d->journal = strdup(journal_socket))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = egress_spool_open(spool_dir, false, &d->spool, NULL, e)) ||
	    (rc = egress_spool_stats_get(d->spool, &st, e)))
		goto fail;
	/* what the last serve said about the mirror, so that a success now clears it */
	snprintf(d->last_error, sizeof(d->last_error), "%s", st.mirror_error);
	if (mirror_socket && !(d->mirror = strdup(mirror_socket))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	d->journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if ((d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "eventfd");
		goto fail;
	}
	if ((errno = pthread_create(&d->thread, NULL, run, d)) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "start the delivery thread");
		goto fail;
	}
	*out = d;
	return EXAI_OK;
fail:
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	if (d->journal_fd >= 0)
		close(d->journal_fd);
	egress_spool_close(d->spool);
	free(d->mirror);
	free(d->journal);
	free(d);
	return rc;
}

void egress_deliver_wake(egress_deliver *d)
{
	uint64_t one = 1;

	if (d && write(d->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: a wake is pending anyway */
	}
}

void egress_deliver_stop(egress_deliver *d)
{
	if (!d)
		return;
	atomic_store(&d->stop, true);
	egress_deliver_wake(d);
	pthread_join(d->thread, NULL);
	close(d->wake_fd);
	if (d->journal_fd >= 0)
		close(d->journal_fd);
	egress_spool_close(d->spool);
	free(d->mirror);
	free(d->journal);
	free(d);
}
