/*
 * bundle_stream: the payload pipeline. One reader thread reads chunks in order from the media
 * into a ring of slots; worker threads (exai_worker_count) take up to four ready chunks at a
 * time, hash them together (exai_sha256_multi), compare each hash with the signed chunk table
 * and only then decrypt the chunk; the calling thread takes finished chunks in order, hashes
 * the plaintext per component and hands it to the sink.
 *
 * Memory is bounded by the ring: workers * batch + 2 slots of (chunk size + tag) bytes
 * (twice that when decrypting), at most RING_BUDGET (192 MiB, but never fewer than 3 slots),
 * whatever the payload size. Errors travel with their chunk, so the one reported is always
 * the first in payload order ("payload: chunk 17: hash mismatch").
 */
#include "exai/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/aead.h"
#include "exai/file.h"

enum slot_state { SLOT_FREE, SLOT_FILLED, SLOT_BUSY, SLOT_DONE };

#define CONSUME_PIECE (256u << 10)
/* Most bytes the ring of chunk buffers may take (see exai_bundle_stream). */
#define RING_BUDGET ((size_t)192 << 20)

typedef struct slot {
	enum slot_state state;
	uint64_t idx;
	uint8_t *ct, *pt;
	size_t ct_len, pt_len;
	size_t pt_used; /* most plaintext bytes this slot ever held: what is wiped at the end */
	exai_status rc;
	exai_error err;
} slot;

typedef struct pipe_ctx {
	exai_bundle *b;
	const uint8_t *table;
	bool decrypt;
	size_t nslots;
	size_t batch; /* chunks a worker hashes at once */
	slot *slots;
	uint64_t next_work; /* next chunk a worker may take */
	uint64_t filled;    /* chunks read so far */
	/* Set only by the consumer (the calling thread), once it has stopped waiting for chunks:
	 * it waits for every chunk in order until one fails, so each chunk before the first
	 * failure must still be checked by a worker. A worker or the reader that fails marks its
	 * chunk DONE with the error and the consumer reports it in order. (A reader that aborted
	 * the pipeline itself once left the chunks before a failed read unchecked, and the
	 * consumer waiting.) */
	bool abort;
	/* When a worker may take less than a full batch (see batch_due) */
	bool reader_waiting;	 /* the reader waits for a free slot */
	bool reader_done;	 /* the reader has stopped (end of payload or a failed read) */
	uint64_t consumer_wants; /* chunk the consumer waits for, UINT64_MAX if it does not */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* reader state */
	struct archive *ar;
	int fd;
} pipe_ctx;

unsigned exai_worker_count(bool caller_hashes)
{
	const char *env = getenv("EXAI_WORKERS");
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (!*end && v >= 1)
			return v > 64 ? 64 : (unsigned)v;
	}
	if (caller_hashes && n > 1)
		n--;
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

static exai_status media_read(pipe_ctx *p, uint8_t *buf, size_t len, uint64_t chunk, exai_error *e)
{
	if (!p->ar) {
		exai_status rc = exai_read_full(p->fd, buf, len, "payload", e);
		return rc ? exai_error_prefix(e, "chunk %llu", (unsigned long long)chunk) : rc;
	}
	size_t done = 0;
	while (done < len) {
		la_ssize_t n = archive_read_data(p->ar, buf + done, len - done);
		if (n < 0)
			return exai_error_set(e, EXAI_EIO, "payload: chunk %llu: %s",
					      (unsigned long long)chunk,
					      archive_error_string(p->ar));
		if (n == 0)
			return exai_error_set(e, EXAI_ESHORT,
					      "payload: chunk %llu: media ended early",
					      (unsigned long long)chunk);
		done += (size_t)n;
	}
	return EXAI_OK;
}

static void *reader_main(void *arg)
{
	pipe_ctx *p = arg;
	const exai_index *ix = p->b->index;

	for (uint64_t i = 0; i < ix->chunk_count; i++) {
		slot *s = &p->slots[i % p->nslots];
		size_t plen = (size_t)exai_index_chunk_plain_len(ix, i);
		size_t clen = plen + (ix->encryption == EXAI_ENC_AES256GCM ? EXAI_AEAD_TAG : 0);

		pthread_mutex_lock(&p->mu);
		if (s->state != SLOT_FREE && !p->abort) {
			p->reader_waiting = true;
			pthread_cond_broadcast(&p->cv); /* a worker may stop waiting for a batch */
			while (s->state != SLOT_FREE && !p->abort)
				pthread_cond_wait(&p->cv, &p->mu);
			p->reader_waiting = false;
		}
		bool stop = p->abort;
		pthread_mutex_unlock(&p->mu);
		if (stop)
			break;
		s->idx = i;
		s->ct_len = clen;
		s->pt_len = plen;
		if (plen > s->pt_used)
			s->pt_used = plen;
		s->rc = media_read(p, s->ct, clen, i, &s->err);
		pthread_mutex_lock(&p->mu);
		/* A failed read goes straight to the consumer, which reports it in order. */
		s->state = s->rc ? SLOT_DONE : SLOT_FILLED;
		p->filled = i + 1;
		/* No abort here: the chunks before this one must still be checked and consumed,
		 * and the consumer aborts when it reaches this one. */
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (s->rc)
			break;
	}
	pthread_mutex_lock(&p->mu);
	p->reader_done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* After its hash matched the table: decrypt (or copy) one chunk. */
static void open_chunk(pipe_ctx *p, slot *s)
{
	exai_bundle *b = p->b;

	if (!p->decrypt)
		return;
	if (b->index->encryption == EXAI_ENC_NONE) {
		memcpy(s->pt, s->ct, s->pt_len);
		return;
	}
	s->rc = exai_chunk_open(b->data_key, b->index->bundle_id, s->idx, b->index->chunk_count,
				s->ct, s->ct_len, s->pt, &s->err);
	if (s->rc)
		exai_error_prefix(&s->err, "payload: chunk %llu", (unsigned long long)s->idx);
}

/* A batch of consecutive chunks: hash them together (exai_sha256_multi), compare each with
 * the signed table, and only then decrypt it. */
static void process(pipe_ctx *p, slot **batch, size_t n)
{
	uint8_t md[EXAI_SHA256_MULTI_MAX][EXAI_SHA256_LEN];
	const uint8_t *data[EXAI_SHA256_MULTI_MAX] = {0};
	size_t len[EXAI_SHA256_MULTI_MAX] = {0};
	exai_error err;

	for (size_t i = 0; i < n; i++) {
		data[i] = batch[i]->ct;
		len[i] = batch[i]->ct_len;
	}
	exai_status rc = exai_sha256_multi(n, data, len, md, &err);
	for (size_t i = 0; i < n; i++) {
		slot *s = batch[i];
		if (rc) {
			s->rc = rc;
			memcpy(&s->err, &err, sizeof(err));
		} else if (!exai_memeq(md[i], p->table + s->idx * EXAI_SHA256_LEN,
				       EXAI_SHA256_LEN)) {
			s->rc = exai_error_set(&s->err, EXAI_EVERIFY,
					       "payload: chunk %llu: hash mismatch",
					       (unsigned long long)s->idx);
		} else {
			open_chunk(p, s);
		}
	}
}

static bool work_ready(const pipe_ctx *p)
{
	return p->next_work < p->filled && p->slots[p->next_work % p->nslots].state == SLOT_FILLED;
}

/*
 * Whether a worker should take the ready chunks now. A full batch is always due; fewer only
 * when waiting could not fill it or would stall the pipeline: the reader has stopped or waits
 * for a slot, or the consumer waits for one of them. Otherwise (the consumer busy with earlier
 * chunks) waiting lets four chunks be hashed together, which costs less CPU than one by one.
 */
static bool batch_due(const pipe_ctx *p)
{
	if (!work_ready(p))
		return false;
	uint64_t ready = p->filled - p->next_work;
	for (uint64_t k = 0; k < ready && k < p->batch; k++)
		if (p->slots[(p->next_work + k) % p->nslots].state != SLOT_FILLED)
			return true; /* a failed read ends the run of ready chunks */
	return ready >= p->batch || p->reader_done || p->reader_waiting ||
	       (p->consumer_wants != UINT64_MAX && p->consumer_wants >= p->next_work);
}

static void *worker_main(void *arg)
{
	pipe_ctx *p = arg;
	slot *batch[EXAI_SHA256_MULTI_MAX];

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->abort && p->next_work < p->b->index->chunk_count && !batch_due(p))
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->abort || p->next_work >= p->b->index->chunk_count)
			break;
		/* Every consecutive chunk that is ready, up to the batch size. */
		size_t n = 0;
		while (n < p->batch && work_ready(p)) {
			batch[n] = &p->slots[p->next_work % p->nslots];
			batch[n++]->state = SLOT_BUSY;
			p->next_work++;
		}
		pthread_mutex_unlock(&p->mu);
		process(p, batch, n);
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < n; i++)
			batch[i]->state = SLOT_DONE;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Per-component state of the consumer. */
typedef struct consumer {
	const exai_manifest *m;
	const exai_sink *sink;
	size_t comp;  /* current component */
	uint64_t pos; /* payload offset reached */
	bool in_comp; /* begin() called, hash running */
	exai_sha256 h;
} consumer;

static exai_status finish_component(consumer *c, exai_error *e)
{
	const exai_component *comp = &c->m->c[c->comp];
	uint8_t md[EXAI_SHA256_LEN];

	exai_sha256_final(&c->h, md);
	c->in_comp = false;
	if (!exai_memeq(md, comp->sha256, EXAI_SHA256_LEN))
		return exai_error_set(e, EXAI_EVERIFY, "component %s/%s: plaintext hash mismatch",
				      exai_ctype_name(comp->type), comp->name);
	if (c->sink && c->sink->end) {
		exai_status rc = c->sink->end(c->sink->arg, comp, e);
		if (rc)
			return exai_error_prefix(e, "component %s/%s", exai_ctype_name(comp->type),
						 comp->name);
	}
	c->comp++;
	return EXAI_OK;
}

static exai_status start_component(consumer *c, exai_error *e)
{
	const exai_component *comp = &c->m->c[c->comp];
	exai_status rc = exai_sha256_init(&c->h, e);

	if (rc)
		return rc;
	c->in_comp = true;
	if (c->sink && c->sink->begin && (rc = c->sink->begin(c->sink->arg, comp, e)))
		return exai_error_prefix(e, "component %s/%s", exai_ctype_name(comp->type),
					 comp->name);
	return EXAI_OK;
}

/* Feeds one verified plaintext chunk through the component boundaries it spans. */
static exai_status consume(consumer *c, const uint8_t *pt, size_t len, exai_error *e)
{
	exai_status rc;

	while (len > 0 || (c->comp < c->m->n && !c->in_comp && c->m->c[c->comp].size == 0)) {
		const exai_component *comp;
		uint64_t left;
		size_t take;

		if (c->comp >= c->m->n)
			return exai_error_set(e, EXAI_EINTERNAL, "payload longer than manifest");
		comp = &c->m->c[c->comp];
		if (!c->in_comp && (rc = start_component(c, e)))
			return rc;
		left = comp->offset + comp->size - c->pos;
		take = len < left ? len : (size_t)left;
		/* Hash and hand out in pieces that stay in cache between the two passes. */
		for (size_t off = 0; off < take; off += CONSUME_PIECE) {
			size_t n = take - off < CONSUME_PIECE ? take - off : CONSUME_PIECE;
			exai_sha256_update(&c->h, pt + off, n);
			if (c->sink && c->sink->data &&
			    (rc = c->sink->data(c->sink->arg, comp, pt + off, n, e)))
				return exai_error_prefix(e, "component %s/%s",
							 exai_ctype_name(comp->type), comp->name);
		}
		pt += take;
		len -= take;
		c->pos += take;
		if (c->pos == comp->offset + comp->size && (rc = finish_component(c, e)))
			return rc;
	}
	return EXAI_OK;
}

static exai_status open_payload(pipe_ctx *p, exai_error *e)
{
	exai_bundle *b = p->b;
	struct archive_entry *ent;
	size_t ordinal = 0;

	p->fd = -1;
	if (!b->is_exb) {
		p->fd = openat(b->fd, "payload", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (p->fd < 0)
			return exai_error_sys(e, EXAI_EIO, "payload: open");
		return EXAI_OK;
	}
	if (lseek(b->fd, 0, SEEK_SET) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: seek", b->path);
	p->ar = archive_read_new();
	if (!p->ar)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	archive_read_support_format_tar(p->ar);
	if (archive_read_open_fd(p->ar, b->fd, 1 << 20) != ARCHIVE_OK)
		return exai_error_set(e, EXAI_EIO, "%s: %s", b->path, archive_error_string(p->ar));
	while (archive_read_next_header(p->ar, &ent) == ARCHIVE_OK) {
		if (++ordinal != b->payload_ordinal) {
			if (archive_read_data_skip(p->ar) != ARCHIVE_OK)
				break;
			continue;
		}
		if (strcmp(archive_entry_pathname(ent), "payload") ||
		    (uint64_t)archive_entry_size(ent) != b->payload_media_size)
			return exai_error_set(e, EXAI_EVERIFY,
					      "%s: the archive changed while being read", b->path);
		return EXAI_OK;
	}
	return exai_error_set(e, EXAI_EIO, "%s: payload entry not found again", b->path);
}

static exai_status run_pipeline(pipe_ctx *p, consumer *c, exai_progress *progress, unsigned nw,
				exai_error *e)
{
	const exai_index *ix = p->b->index;
	pthread_t reader, workers[64];
	unsigned started = 0;
	bool reader_started = false;
	exai_status rc = EXAI_OK;

	if (pthread_create(&reader, NULL, reader_main, p) != 0) {
		rc = exai_error_set(e, EXAI_ENOMEM, "cannot start the reader thread");
		goto out;
	}
	reader_started = true;
	for (; started < nw; started++)
		if (pthread_create(&workers[started], NULL, worker_main, p) != 0) {
			rc = exai_error_set(e, EXAI_ENOMEM, "cannot start worker threads");
			goto out;
		}
	for (uint64_t i = 0; i < ix->chunk_count && !rc; i++) {
		slot *s = &p->slots[i % p->nslots];

		pthread_mutex_lock(&p->mu);
		if (!(s->state == SLOT_DONE && s->idx == i)) {
			p->consumer_wants = i;
			pthread_cond_broadcast(&p->cv); /* a worker may stop waiting for a batch */
			while (!(s->state == SLOT_DONE && s->idx == i))
				pthread_cond_wait(&p->cv, &p->mu);
			p->consumer_wants = UINT64_MAX;
		}
		pthread_mutex_unlock(&p->mu);
		if (s->rc) {
			rc = s->rc;
			memcpy(e, &s->err, sizeof(*e));
		} else if (p->decrypt) {
			rc = consume(c, s->pt, s->pt_len, e);
		}
		if (progress)
			exai_progress_add(progress, s->ct_len);
		pthread_mutex_lock(&p->mu);
		s->state = SLOT_FREE;
		if (rc)
			p->abort = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	if (!rc && p->decrypt)
		rc = consume(c, NULL, 0, e); /* trailing empty components */
	if (!rc && p->decrypt && c->comp != c->m->n)
		rc = exai_error_set(e, EXAI_EVERIFY, "payload ended inside component %zu",
				    c->comp + 1);
out:
	pthread_mutex_lock(&p->mu);
	p->abort = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (reader_started)
		pthread_join(reader, NULL);
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i], NULL);
	return rc;
}

exai_status exai_bundle_stream(exai_bundle *b, const exai_sink *sink, exai_progress *progress,
			       exai_error *e)
{
	const exai_bentry *table = exai_bundle_entry(b, "chunks");
	pipe_ctx p = {0};
	consumer c = {0};
	exai_status rc;

	if (!b->verified || !table)
		return exai_error_set(e, EXAI_EINTERNAL, "stream before verify");
	p.b = b;
	p.table = table->data;
	p.consumer_wants = UINT64_MAX;
	p.decrypt = b->manifest && (b->index->encryption == EXAI_ENC_NONE || b->data_key);
	/* With the manifest, this thread hashes every plaintext byte per component. */
	unsigned nw = exai_worker_count(p.decrypt);
	/* Ring: one batch per worker and two more (reader, consumer), within RING_BUDGET (never
	 * fewer than 3 slots). A larger ring measured slower (verify 2.05-2.14 s with three
	 * batches per worker against 1.71-1.79 s): the plaintext is then less often still in
	 * cache when the consumer hashes it. */
	size_t slot_bytes = ((size_t)b->index->chunk_size + EXAI_AEAD_TAG) * (p.decrypt ? 2 : 1);
	size_t cap = RING_BUDGET / slot_bytes < 3 ? 3 : RING_BUDGET / slot_bytes;
	p.batch = exai_sha256_multi_width();
	p.nslots = (size_t)nw * p.batch + 2;
	if (p.nslots > cap)
		p.nslots = cap;
	c.m = b->manifest;
	c.sink = sink;
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	p.slots = calloc(p.nslots, sizeof(*p.slots));
	if (!p.slots) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p.nslots; i++) {
		size_t n = (size_t)b->index->chunk_size + EXAI_AEAD_TAG;
		p.slots[i].ct = malloc(n);
		p.slots[i].pt = p.decrypt ? malloc(n) : NULL;
		if (!p.slots[i].ct || (p.decrypt && !p.slots[i].pt)) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory for chunk buffers");
			goto out;
		}
	}
	if ((rc = open_payload(&p, e)))
		goto out;
	rc = run_pipeline(&p, &c, progress, nw, e);
	if (!rc && !p.ar) {
		/* The payload file must end exactly where the index says. */
		uint8_t extra;
		ssize_t n = read(p.fd, &extra, 1);
		if (n != 0)
			rc = n < 0 ? exai_error_sys(e, EXAI_EIO, "payload: read")
				   : exai_error_set(e, EXAI_EVERIFY,
						    "payload: longer than the signed index says");
	}
out:
	if (c.in_comp)
		exai_sha256_free(&c.h);
	if (p.ar)
		archive_read_free(p.ar);
	if (p.fd >= 0)
		close(p.fd);
	for (size_t i = 0; p.slots && i < p.nslots; i++) {
		if (p.slots[i].pt)
			memset(p.slots[i].pt, 0,
			       p.slots[i].pt_used); /* pages never used stay untouched */
		free(p.slots[i].ct);
		free(p.slots[i].pt);
	}
	free(p.slots);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	return rc;
}
