/*
 * encpipe: parallel chunk encryption and hashing with ordered output. Workers take up to four
 * filled chunks at a time, seal each in place (the ciphertext and its tag replace the plaintext
 * in the slot's one buffer), then hash the sealed chunks together (exai_sha256_multi); a writer
 * thread writes them out in order.
 */
#include "encpipe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exai/aead.h"
#include "exai/bundle.h"
#include "exai/hash.h"
#include "exai/secmem.h"

enum { S_FREE, S_FILLED, S_BUSY, S_DONE };

/* Most bytes the ring of chunk buffers may take. */
#define RING_BUDGET ((size_t)192 << 20)

typedef struct eslot {
	int state;
	uint64_t idx;
	uint8_t *buf; /* the plaintext, then (sealed in place) the ciphertext and its tag */
	size_t len;   /* plaintext length */
	size_t used;  /* most plaintext bytes this slot may have held: what is wiped at the end */
	exai_status rc;
	exai_error err;
} eslot;

struct exb_encpipe {
	exb_output *out;
	const uint8_t *key;
	uint8_t bundle_id[32];
	uint64_t chunk_size, chunk_count;
	uint8_t *table;
	exai_progress *progress;
	size_t nslots;
	size_t batch; /* chunks a worker seals and hashes at once */
	eslot *slots;
	uint8_t *ring; /* every slot's buffers, one exai_bigbuf_alloc */
	unsigned nworkers;
	pthread_t workers[64], writer;
	bool writer_started;
	unsigned started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t produced; /* chunks handed over */
	uint64_t next_work;
	uint64_t inflight; /* slots taken by a worker and not yet freed by the writer */
	/* When a worker may take less than a full batch (see batch_due) */
	bool producer_waiting; /* the producer waits for a free slot */
	bool producer_done;    /* no more chunks will be handed over */
	bool abort;
	exai_status rc; /* first failure (worker or writer) */
	exai_error err;
	/* producer's current chunk */
	eslot *cur;
	uint64_t cur_idx;
};

static void fail(exb_encpipe *p, exai_status rc, const exai_error *e)
{
	if (!p->rc) {
		p->rc = rc;
		memcpy(&p->err, e, sizeof(*e));
	}
	p->abort = true;
	pthread_cond_broadcast(&p->cv);
}

static bool work_ready(const exb_encpipe *p)
{
	return p->next_work < p->produced && p->slots[p->next_work % p->nslots].state == S_FILLED;
}

/* A worker waits for a full batch (four chunks hash together at almost twice the speed of
 * one) unless the producer cannot hand over more: it is done, or it waits for a slot that
 * nothing else will free (no slot is being sealed or waits for the writer). While the writer
 * is behind, the producer waiting is not a reason: the writer frees a slot, the producer fills
 * it and the batch grows (taking partial batches then had a format-2 create of 2 GiB hash 33
 * of its 512 chunks one at a time). The writer waiting does not count: it only writes. */
static bool batch_due(const exb_encpipe *p)
{
	return work_ready(p) && (p->produced - p->next_work >= p->batch || p->producer_done ||
				 (p->producer_waiting && p->inflight == 0));
}

/* Seals each chunk of a batch in place (OpenSSL's GCM takes the same buffer in and out), then
 * hashes the results together (exai_sha256_multi) into the chunk table; without a key the
 * plaintext chunks are hashed. */
static void process(exb_encpipe *p, eslot **batch, size_t n)
{
	uint8_t md[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];
	const uint8_t *data[EXAI_SHA256_MULTI_MAX] = {0};
	size_t len[EXAI_SHA256_MULTI_MAX] = {0};
	exai_error err;

	for (size_t i = 0; i < n; i++) {
		eslot *s = batch[i];
		s->rc = EXAI_OK;
		if (p->key)
			s->rc = exai_chunk_seal(p->key, p->bundle_id, s->idx, p->chunk_count,
						s->buf, s->len, s->buf, &s->err);
		data[i] = s->buf;
		len[i] = s->len + (p->key ? EXAI_TAG_LEN : 0);
	}
	exai_status rc = exai_sha256_multi(n, data, len, md, &err);
	for (size_t i = 0; i < n; i++) {
		eslot *s = batch[i];
		if (!s->rc && rc) {
			s->rc = rc;
			memcpy(&s->err, &err, sizeof(err));
		}
		if (!s->rc)
			memcpy(p->table + s->idx * EXAI_SHA256_LEN, md[i], EXAI_SHA256_LEN);
	}
}

static void *worker(void *arg)
{
	exb_encpipe *p = arg;
	eslot *batch[EXAI_SHA256_MULTI_MAX];

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->abort && !batch_due(p))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->abort)
			break;
		/* Every consecutive chunk that is ready, up to the batch size. */
		size_t n = 0;
		while (n < p->batch && work_ready(p)) {
			batch[n] = &p->slots[p->next_work % p->nslots];
			batch[n++]->state = S_BUSY;
			p->next_work++;
			p->inflight++;
		}
		pthread_mutex_unlock(&p->mu);
		process(p, batch, n);
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < n; i++)
			batch[i]->state = S_DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *writer(void *arg)
{
	exb_encpipe *p = arg;

	for (uint64_t i = 0; i < p->chunk_count; i++) {
		eslot *s = &p->slots[i % p->nslots];
		exai_error e;
		exai_status rc;

		pthread_mutex_lock(&p->mu);
		while (!p->abort && !(s->state == S_DONE && s->idx == i))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->abort) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		pthread_mutex_unlock(&p->mu);
		rc = s->rc;
		if (rc)
			memcpy(&e, &s->err, sizeof(e));
		else
			rc = exb_output_payload(p->out, s->buf,
						s->len + (p->key ? EXAI_TAG_LEN : 0), &e);
		pthread_mutex_lock(&p->mu);
		if (rc) {
			exai_error_prefix(&e, "chunk %llu", (unsigned long long)i);
			fail(p, rc, &e);
			pthread_mutex_unlock(&p->mu);
			break;
		}
		s->state = S_FREE;
		p->inflight--;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static void stop(exb_encpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->abort = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->workers[i], NULL);
	if (p->writer_started)
		pthread_join(p->writer, NULL);
	p->started = 0;
	p->writer_started = false;
}

static void destroy(exb_encpipe *p)
{
	for (size_t i = 0; i < p->nslots && p->slots && p->ring; i++)
		memset(p->slots[i].buf, 0, p->slots[i].used); /* untouched pages stay so */
	free(p->ring);
	free(p->slots);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void exb_encpipe_abort(exb_encpipe *p)
{
	if (!p)
		return;
	stop(p);
	destroy(p);
}

exai_status exb_encpipe_start(exb_output *out, const uint8_t *key, const uint8_t bundle_id[32],
			      uint64_t chunk_size, uint64_t chunk_count, uint8_t *table,
			      exai_progress *progress, exb_encpipe **pp, exai_error *e)
{
	exb_encpipe *p = calloc(1, sizeof(*p));

	*pp = NULL;
	if (!p)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	p->out = out;
	p->key = key;
	memcpy(p->bundle_id, bundle_id, 32);
	p->chunk_size = chunk_size;
	p->chunk_count = chunk_count;
	p->table = table;
	p->progress = progress;
	p->nworkers = exai_worker_count(true); /* the reader hashes the plaintext */
	/* Ring: two batches per worker (one being sealed, one filling, so a worker finds a full
	 * batch waiting) and two more (producer, writer), within RING_BUDGET (never fewer than 3
	 * slots). With one batch per worker, create took 2.15-2.29 s for 2 GiB; with two,
	 * 1.98-2.15 s; three were no faster. */
	size_t slot_bytes = (size_t)chunk_size + EXAI_TAG_LEN;
	size_t cap = RING_BUDGET / slot_bytes < 3 ? 3 : RING_BUDGET / slot_bytes;
	p->batch = exai_sha256_multi_width();
	p->nslots = (size_t)p->nworkers * p->batch * 2 + 2;
	if (p->nslots > cap)
		p->nslots = cap;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	/* One buffer for the ring: each slot a chunk and a tag, page-aligned. Sealing in place
	 * halves the ring (it had a plaintext and a ciphertext buffer per slot). */
	size_t room = ((size_t)chunk_size + EXAI_TAG_LEN + 4095) / 4096 * 4096;
	p->slots = calloc(p->nslots, sizeof(*p->slots));
	p->ring = exai_bigbuf_alloc(p->nslots * room);
	if (!p->slots || !p->ring)
		goto oom;
	for (size_t i = 0; i < p->nslots; i++)
		p->slots[i].buf = p->ring + i * room;
	for (; p->started < p->nworkers; p->started++)
		if (pthread_create(&p->workers[p->started], NULL, worker, p) != 0)
			goto threads;
	if (pthread_create(&p->writer, NULL, writer, p) != 0)
		goto threads;
	p->writer_started = true;
	*pp = p;
	return EXAI_OK;
threads:
	exb_encpipe_abort(p);
	return exai_error_set(e, EXAI_ENOMEM, "cannot start threads");
oom:
	exb_encpipe_abort(p);
	return exai_error_set(e, EXAI_ENOMEM, "out of memory for chunk buffers");
}

/* Waits for the slot of the next chunk and makes it current. */
static exai_status take_slot(exb_encpipe *p, exai_error *e)
{
	eslot *s = &p->slots[p->cur_idx % p->nslots];

	if (p->cur_idx >= p->chunk_count)
		return exai_error_set(e, EXAI_EIO,
				      "source changed while being read (more data than planned)");
	pthread_mutex_lock(&p->mu);
	while (!p->abort && s->state != S_FREE) {
		p->producer_waiting = true;
		pthread_cond_broadcast(&p->cv);
		pthread_cond_wait(&p->cv, &p->mu);
	}
	p->producer_waiting = false;
	if (p->abort) {
		exai_status rc = p->rc ? p->rc : EXAI_EINTERNAL;
		memcpy(e, &p->err, sizeof(*e));
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	pthread_mutex_unlock(&p->mu);
	s->idx = p->cur_idx;
	s->len = 0;
	p->cur = s;
	return EXAI_OK;
}

static void submit(exb_encpipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->cur->state = S_FILLED;
	p->produced = p->cur_idx + 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->progress)
		exai_progress_add(p->progress, p->cur->len);
	p->cur = NULL;
	p->cur_idx++;
}

exai_status exb_encpipe_reserve(exb_encpipe *p, uint8_t **buf, size_t *room, exai_error *e)
{
	exai_status rc;

	if (!p->cur && (rc = take_slot(p, e)))
		return rc;
	*buf = p->cur->buf + p->cur->len;
	*room = (size_t)p->chunk_size - p->cur->len;
	p->cur->used = (size_t)p->chunk_size; /* the producer may read into all of it */
	return EXAI_OK;
}

exai_status exb_encpipe_write(exb_encpipe *p, const void *buf, size_t len, exai_error *e)
{
	const uint8_t *in = buf;
	exai_status rc;

	/* Bytes already read into the reserved space: no copy. */
	if (p->cur && in == p->cur->buf + p->cur->len && len <= p->chunk_size - p->cur->len) {
		p->cur->len += len;
		if (p->cur->len == p->chunk_size)
			submit(p);
		return EXAI_OK;
	}

	while (len) {
		size_t room, n;
		if (!p->cur && (rc = take_slot(p, e)))
			return rc;
		room = (size_t)p->chunk_size - p->cur->len;
		n = len < room ? len : room;
		memcpy(p->cur->buf + p->cur->len, in, n);
		p->cur->len += n;
		if (p->cur->len > p->cur->used)
			p->cur->used = p->cur->len;
		in += n;
		len -= n;
		if (p->cur->len == p->chunk_size)
			submit(p);
	}
	return EXAI_OK;
}

exai_status exb_encpipe_finish(exb_encpipe *p, exai_error *e)
{
	exai_status rc;

	if (p->cur && p->cur->len)
		submit(p);
	pthread_mutex_lock(&p->mu);
	p->producer_done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (p->cur_idx != p->chunk_count) {
		exb_encpipe_abort(p);
		return exai_error_set(e, EXAI_EIO,
				      "source changed while being read (less data than planned)");
	}
	pthread_join(p->writer, NULL);
	p->writer_started = false;
	pthread_mutex_lock(&p->mu);
	rc = p->rc;
	if (rc)
		memcpy(e, &p->err, sizeof(*e));
	pthread_mutex_unlock(&p->mu);
	exb_encpipe_abort(p);
	return rc;
}
