/*
 * writer: the ingest queue and the single writer thread (group commit). See writer.h.
 *
 * Invariant: a batch is put on the done list only after the COMMIT holding its records
 * returned (or with the error that kept them out); batches are stored and come back in the
 * order they were submitted, so a connection's acks come in line order.
 */
#include "writer.h"

#include "exai/file.h"

#include "retention.h"
#include "walck.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Records per transaction at most: bounds the time one commit holds the write lock. */
#define GROUP_MAX 8192

const char *const mir_refusal_names[MIR_REF_N] = {
    "format", "unknown_class", "tenant_key", "too_long", "unmapped_peer", "busy", "scrub_failed"};

struct mir_writer {
	const mir_config *cfg;
	mir_store *store;
	mir_logkey *key;
	mir_walck *walck; /* SQLite's WAL checkpoints beside the commits (NULL: in them) */
	int64_t last_cp_ms;
	int64_t next_retention_ms; /* 0: at once */
	bool cp_broken; /* signing stopped: the tree did not extend the last checkpoint */
	int wake_fd;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	mir_batch *head, *tail;	     /* queued */
	mir_batch *done, *done_tail; /* done, not yet taken */
	size_t queued_bytes;
	bool stopping;
};

mir_batch *mir_batch_new(uint64_t conn_id, const char *tenant)
{
	mir_batch *b = calloc(1, sizeof(*b));

	if (b) {
		b->conn_id = conn_id;
		b->tenant = tenant;
	}
	return b;
}

exai_status mir_batch_add(mir_batch *b, mir_record *r, exai_error *e)
{
	if (b->nrecs == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		mir_record *n = reallocarray(b->recs, cap, sizeof(*n));
		if (!n)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		b->recs = n;
		b->cap = cap;
	}
	for (size_t i = 0; i < MIR_SCRUB_KINDS; i++)
		b->scrubbed[i] += r->scrubbed[i];
	b->recs[b->nrecs++] = *r;
	b->bytes += r->payload_len;
	memset(r, 0, sizeof(*r));
	return EXAI_OK;
}

void mir_batch_free(mir_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nrecs; i++)
		mir_record_clear(&b->recs[i]);
	free(b->recs);
	free(b);
}

/* The counters of @b, inside the open transaction. */
static exai_status count_batch(mir_writer *w, const mir_batch *b, exai_error *e)
{
	char name[MIR_NAME_MAX + 16];
	exai_status rc;

	for (int i = 0; i < MIR_REF_N; i++)
		if (b->refused[i]) {
			snprintf(name, sizeof(name), "refused:%s", mir_refusal_names[i]);
			if ((rc = mir_store_count(w->store, name, (int64_t)b->refused[i], e)))
				return rc;
		}
	for (size_t i = 0; b->scrub && i < mir_scrubber_kinds(b->scrub); i++)
		if (b->scrubbed[i]) {
			snprintf(name, sizeof(name), "scrubbed:%s", mir_scrubber_kind(b->scrub, i));
			if ((rc = mir_store_count(w->store, name, (int64_t)b->scrubbed[i], e)))
				return rc;
		}
	if (b->disk_waits &&
	    (rc = mir_store_count(w->store, "backpressure:disk", (int64_t)b->disk_waits, e)))
		return rc;
	for (size_t i = 0; i < w->cfg->nclasses; i++)
		if (b->dropped[i]) {
			snprintf(name, sizeof(name), "dropped:%s", w->cfg->classes[i].name);
			if ((rc = mir_store_count(w->store, name, (int64_t)b->dropped[i], e)))
				return rc;
		}
	return EXAI_OK;
}

static exai_status store_batch(mir_writer *w, mir_batch *b, exai_error *e)
{
	uint64_t idx;
	exai_status rc;

	for (size_t i = 0; i < b->nrecs; i++) {
		if ((rc = mir_store_append(w->store, &b->recs[i], b->tenant, &idx, e)))
			return rc;
		if (i == 0)
			b->first_index = idx;
	}
	return count_batch(w, b, e);
}

/* Queue depth for stats: the bytes still queued behind @list, recorded with its commit. */
static exai_status record_waiting(mir_writer *w, const mir_batch *list, exai_error *e)
{
	size_t mine = 0, queued;

	for (const mir_batch *b = list; b; b = b->next)
		mine += b->bytes;
	queued = mir_writer_queued_bytes(w);
	return mir_store_gauge(w->store, "queue:waiting_bytes",
			       (int64_t)(queued > mine ? queued - mine : 0), e);
}

/* One group: every batch in @list in one transaction. On failure every batch of the group
 * gets the error (none of them is stored: the transaction is rolled back whole). */
static void commit_group(mir_writer *w, mir_batch *list)
{
	exai_error e;
	exai_status rc = mir_store_begin(w->store, &e);

	for (mir_batch *b = list; !rc && b; b = b->next)
		rc = store_batch(w, b, &e);
	if (!rc)
		rc = record_waiting(w, list, &e);
	if (!rc)
		rc = mir_store_commit(w->store, &e);
	if (rc)
		mir_store_rollback(w->store);
	for (mir_batch *b = list; b; b = b->next) {
		b->rc = rc;
		if (rc)
			snprintf(b->err, sizeof(b->err), "%s", e.msg);
	}
}

/* Takes queued batches up to GROUP_MAX records (at least one batch). Called locked. */
static mir_batch *take_group(mir_writer *w)
{
	mir_batch *list = w->head, *last = w->head;
	size_t n = last->nrecs;

	while (last->next && n + last->next->nrecs <= GROUP_MAX) {
		last = last->next;
		n += last->nrecs;
	}
	w->head = last->next;
	if (!w->head)
		w->tail = NULL;
	last->next = NULL;
	return list;
}

static void hand_back(mir_writer *w, mir_batch *list)
{
	uint64_t one = 1;
	size_t bytes = 0;

	for (mir_batch *b = list; b; b = b->next)
		bytes += b->bytes;
	pthread_mutex_lock(&w->mu);
	w->queued_bytes -= bytes;
	if (w->done_tail)
		w->done_tail->next = list;
	else
		w->done = list;
	for (w->done_tail = list; w->done_tail->next;)
		w->done_tail = w->done_tail->next;
	pthread_mutex_unlock(&w->mu);
	if (write(w->wake_fd, &one, sizeof(one)) < 0) {
		/* The eventfd counter cannot overflow at this rate; the main loop also polls. */
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static exai_status write_cp_record(mir_writer *w, const char *note, exai_error *e)
{
	char *path = mir_config_cp_path(w->cfg);
	exai_status rc;

	if (!path)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = exai_file_write_atomic(path, note, strlen(note), 0640, e);
	free(path);
	return rc ? exai_error_prefix(e, "checkpoint record") : EXAI_OK;
}

/* Signs and stores a checkpoint of everything stored, if there is anything new. */
static void checkpoint(mir_writer *w)
{
	mir_store *s = w->store;
	mir_hash root, old;
	char *note = NULL;
	exai_error e;
	exai_status rc;

	if (w->cp_broken || s->size == s->cp_size)
		return;
	w->last_cp_ms = now_ms();
	if ((rc = mir_tree_root(&s->tree, s->size, root, &e)))
		goto fail;
	if (s->cp_size && (rc = mir_tree_root(&s->tree, s->cp_size, old, &e)))
		goto fail;
	if (s->cp_size && memcmp(old, s->cp_root, 32)) {
		rc = exai_error_set(&e, EXAI_EVERIFY,
				    "the stored tree no longer has the root of the last checkpoint "
				    "(size %llu): signing stopped",
				    (unsigned long long)s->cp_size);
		w->cp_broken = true;
		goto fail;
	}
	if ((rc = mir_checkpoint_sign(w->key, s->size, root, &note, &e)) ||
	    (rc = mir_store_put_checkpoint(s, s->size, root, w->last_cp_ms, note, &e)))
		goto fail;
	/* After the database has it: the record only ever lags, and serve reads it only to refuse
	 * starting a new log when the database is gone (cmd_serve.c). */
	if ((rc = write_cp_record(w, note, &e)))
		goto fail;
	free(note);
	return;
fail:
	/* Not signed (or not stored, so never shown): the next round tries again. */
	fprintf(stderr, "exai-mirror serve: checkpoint: %s\n", e.msg);
	free(note);
}

/* Whether a checkpoint is due now; otherwise *wait_ms is how long until one is (-1: none). */
static bool checkpoint_due(mir_writer *w, int64_t *wait_ms)
{
	int64_t left;

	*wait_ms = -1;
	if (w->cp_broken || w->store->size == w->store->cp_size)
		return false;
	left = w->last_cp_ms + (int64_t)w->cfg->checkpoint_ms - now_ms();
	if (left <= 0)
		return true;
	*wait_ms = left;
	return false;
}

/* The clock the pruning run compares ingest times with. Test builds can move it forward
 * (EXAI_MIRROR_RETENTION_SKEW_DAYS) so a test sees a 30-day retention expire. */
static int64_t retention_now(void)
{
	int64_t now = now_ms();
#ifdef EXAI_TESTING
	const char *skew = getenv("EXAI_MIRROR_RETENTION_SKEW_DAYS");
	if (skew)
		now += strtoll(skew, NULL, 10) * 86400000;
#endif
	return now;
}

static void retention(mir_writer *w)
{
	uint64_t pruned = 0;
	exai_error e;

	w->next_retention_ms = now_ms() + (int64_t)w->cfg->retention_check_s * 1000;
	if (mir_retention_run(w->store, w->cfg, retention_now(), &pruned, &e))
		fprintf(stderr, "exai-mirror serve: retention: %s\n", e.msg);
	else if (pruned)
		fprintf(stderr, "exai-mirror serve: retention: %llu payloads pruned\n",
			(unsigned long long)pruned);
}

static bool retention_due(const mir_writer *w, int64_t *wait_ms)
{
	int64_t left = w->next_retention_ms - now_ms();

	if (left <= 0)
		return true;
	if (*wait_ms < 0 || left < *wait_ms)
		*wait_ms = left;
	return false;
}

static void wait_work(mir_writer *w)
{
	int64_t wait_ms;

	while (!w->head && !w->stopping && !checkpoint_due(w, &wait_ms) &&
	       !retention_due(w, &wait_ms)) {
		if (wait_ms < 0) {
			pthread_cond_wait(&w->cv, &w->mu);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += wait_ms / 1000;
			ts.tv_nsec += (wait_ms % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&w->cv, &w->mu, &ts);
		}
	}
}

static void *writer_main(void *arg)
{
	mir_writer *w = arg;
	int64_t ignored;

	for (;;) {
		mir_batch *list = NULL;
		bool stop;

		pthread_mutex_lock(&w->mu);
		wait_work(w);
		if (w->head)
			list = take_group(w);
		stop = !w->head && w->stopping && !list;
		pthread_mutex_unlock(&w->mu);
		if (list) {
			commit_group(w, list);
			hand_back(w, list);
		}
		if (stop) {
			checkpoint(w);
			break;
		}
		ignored = -1;
		if (retention_due(w, &ignored))
			retention(w);
		if (checkpoint_due(w, &ignored))
			checkpoint(w);
	}
	return NULL;
}

exai_status mir_writer_start(const mir_config *c, mir_store *store, mir_logkey *key, int wake_fd,
			     mir_writer **out, exai_error *e)
{
	mir_writer *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w) {
		mir_store_close(store);
		mir_key_free(key);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	w->cfg = c;
	w->store = store;
	w->key = key;
	w->wake_fd = wake_fd;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	{
		exai_error we;
		/* Without the thread, SQLite checkpoints inside the commits as before: slower
		 * acks at times, nothing else changes. */
		if (mir_walck_start(store->path, store->db, &w->walck, &we))
			fprintf(stderr,
				"exai-mirror serve: WAL checkpoints stay in the commits: %s\n",
				we.msg);
	}
	if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
		mir_writer_free(w);
		return exai_error_set(e, EXAI_EIO, "cannot start the writer thread");
	}
	w->started = true;
	*out = w;
	return EXAI_OK;
}

void mir_writer_submit(mir_writer *w, mir_batch *b)
{
	b->next = NULL;
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	w->queued_bytes += b->bytes;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

mir_batch *mir_writer_take_done(mir_writer *w)
{
	mir_batch *list;

	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	return list;
}

size_t mir_writer_queued_bytes(mir_writer *w)
{
	size_t n;

	pthread_mutex_lock(&w->mu);
	n = w->queued_bytes;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void mir_writer_stop(mir_writer *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->started = false;
	mir_walck_stop(w->walck);
	w->walck = NULL;
	mir_store_close(w->store);
	w->store = NULL;
}

void mir_writer_free(mir_writer *w)
{
	if (!w)
		return;
	mir_writer_stop(w);
	mir_walck_stop(w->walck);
	mir_store_close(w->store);
	mir_key_free(w->key);
	for (mir_batch *b = mir_writer_take_done(w), *n; b; b = n) {
		n = b->next;
		mir_batch_free(b);
	}
	for (mir_batch *b = w->head, *n; b; b = n) {
		n = b->next;
		mir_batch_free(b);
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
