/*
 * bundle_stream: the payload pipeline. One reader thread reads chunks in order from the media
 * into a ring of slots; worker threads (exai_worker_count) take up to four ready chunks at a
 * time, hash them together (exai_sha256_multi), compare each hash with the signed chunk table
 * and only then decrypt the chunk; the calling thread takes finished chunks in order, hashes
 * the plaintext per component and hands it to the sink, directly or (own_thread) through a
 * queue to a sink thread, which gives each slot back once it has written it out.
 *
 * Format version 2 (exai/cdigest.h): a worker that has decrypted a chunk also hashes every
 * 16 KiB leaf of a component that lies wholly inside the chunk, four at a time, and keeps the
 * leaf hashes with the slot; the consumer appends them to the component's digest in order and
 * hashes only the leaf that straddles each chunk boundary (under 16 KiB per chunk). So the
 * plaintext is hashed on every core instead of as one stream on the calling thread, and the
 * caller needs no core of its own. Version 1 keeps its single stream, unchanged.
 *
 * Memory is bounded by the ring: workers * batch * 2 + 2 slots of (chunk size + tag) bytes
 * (chunks are decrypted in place; one more slot with a sink thread), at most RING_BUDGET
 * (192 MiB, but never fewer than 3 slots), whatever the payload size. Errors travel with their
 * chunk, so the one reported is always the first in payload order ("payload: chunk 17: hash
 * mismatch").
 */
#include "exai/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/aead.h"
#include "exai/cdigest.h"
#include "exai/file.h"
#include "exai/secmem.h"

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
	uint8_t (*leaves)[EXAI_SHA256_LEN]; /* v2: hashes of the leaves wholly in this chunk */
	size_t n_leaves;
	exai_status rc;
	exai_error err;
} slot;

typedef struct pipe_ctx {
	exai_bundle *b;
	const uint8_t *table;
	bool decrypt;
	bool tree; /* format 2: workers hash the plaintext leaves (cdigest) */
	size_t nslots;
	size_t batch; /* chunks a worker hashes at once */
	slot *slots;
	uint8_t *ring;			    /* every slot's buffers, one exai_bigbuf_alloc */
	uint8_t (*leaves)[EXAI_SHA256_LEN]; /* every slot's leaf hashes (format 2) */
	uint64_t next_work;		    /* next chunk a worker may take */
	uint64_t filled;		    /* chunks read so far */
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
	/* .exb: the payload entry's data read straight from the file at its offset (pread into
	 * the ring: one copy, not the kernel's into libarchive's buffer and libarchive's into
	 * the ring), -1 when libarchive reads it (see direct_payload) */
	int pfd;
	uint64_t ppos, pend;
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
	if (p->pfd >= 0) {
		size_t done = 0;
		if (len > p->pend - p->ppos)
			return exai_error_set(
			    e, EXAI_ESHORT,
			    "payload: chunk %llu: past the end of the payload entry",
			    (unsigned long long)chunk);
		while (done < len) {
			ssize_t n = pread(p->pfd, buf + done, len - done, (off_t)(p->ppos + done));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return exai_error_sys(e, EXAI_EIO, "payload: chunk %llu: read",
						      (unsigned long long)chunk);
			if (n == 0)
				return exai_error_set(e, EXAI_ESHORT,
						      "payload: chunk %llu: media ended early",
						      (unsigned long long)chunk);
			done += (size_t)n;
		}
		p->ppos += len;
		return EXAI_OK;
	}
	if (!p->ar) {
		char what[48];
		snprintf(what, sizeof(what), "payload: chunk %llu", (unsigned long long)chunk);
		return exai_read_full(p->fd, buf, len, what, e);
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

/* After its hash matched the table: decrypt one chunk, in place (pt is ct: nothing reads the
 * ciphertext once its hash matched, and a failed tag wipes what was decrypted). A plain
 * chunk is its own plaintext. */
static void open_chunk(pipe_ctx *p, slot *s)
{
	exai_bundle *b = p->b;

	if (!p->decrypt || b->index->encryption == EXAI_ENC_NONE)
		return;
	s->rc = exai_chunk_open(b->data_key, b->index->bundle_id, s->idx, b->index->chunk_count,
				s->ct, s->ct_len, s->pt, &s->err);
	if (s->rc)
		exai_error_prefix(&s->err, "payload: chunk %llu", (unsigned long long)s->idx);
}

/* First component (in manifest order) that ends after payload offset @at, or m->n. */
static size_t first_comp_after(const exai_manifest *m, uint64_t at)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->c[mid].offset + m->c[mid].size > at)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Format 2, after decryption: the hashes of every component leaf wholly inside this chunk, in
 * payload order (what the consumer's take_tree expects, leaf for leaf). */
static void hash_leaves(pipe_ctx *p, slot *s)
{
	const exai_manifest *m = p->b->manifest;
	uint64_t start = s->idx * p->b->index->chunk_size, end = start + s->pt_len;

	s->n_leaves = 0;
	for (size_t i = first_comp_after(m, start); i < m->n && m->c[i].offset < end; i++) {
		const exai_component *c = &m->c[i];
		uint64_t a = (start > c->offset ? start : c->offset) - c->offset;
		uint64_t b = (end < c->offset + c->size ? end : c->offset + c->size) - c->offset;
		size_t k;

		if (a >= b)
			continue;
		s->rc = exai_cdigest_span(c->size, a, b, s->pt + (c->offset + a - start),
					  s->leaves + s->n_leaves, &k, &s->err);
		if (s->rc)
			return;
		s->n_leaves += k;
	}
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
			if (!s->rc && p->tree && p->decrypt)
				hash_leaves(p, s);
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

/*
 * A sink with own_thread: the consumer posts its calls as events, in order, and the sink
 * thread makes them. A chunk's slot goes back to the reader only when the sink thread reaches
 * the chunk's RELEASE event, since data() reads the plaintext in place.
 */
enum sink_ev_kind { SEV_BEGIN, SEV_DATA, SEV_END, SEV_RELEASE, SEV_STOP };

typedef struct sink_ev {
	enum sink_ev_kind kind;
	const exai_component *comp;
	const uint8_t *buf;
	size_t len;
	slot *s;
} sink_ev;

#define SINK_QUEUE 256

typedef struct sink_thread {
	pipe_ctx *p;
	const exai_sink *sink;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sink_ev q[SINK_QUEUE];
	size_t head, count;
	bool cancel;	/* the stream failed: no more callbacks */
	exai_status rc; /* the sink's first failure */
	exai_error err;
} sink_thread;

/* Makes one sink call; errors name the component. */
static exai_status call_sink(const exai_sink *sink, const sink_ev *ev, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (ev->kind == SEV_BEGIN && sink->begin)
		rc = sink->begin(sink->arg, ev->comp, e);
	else if (ev->kind == SEV_DATA && sink->data)
		rc = sink->data(sink->arg, ev->comp, ev->buf, ev->len, e);
	else if (ev->kind == SEV_END && sink->end)
		rc = sink->end(sink->arg, ev->comp, e);
	if (rc)
		exai_error_prefix(e, "component %s/%s", exai_ctype_name(ev->comp->type),
				  ev->comp->name);
	return rc;
}

static void *sink_main(void *arg)
{
	sink_thread *t = arg;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		while (!t->count)
			pthread_cond_wait(&t->cv, &t->mu);
		sink_ev ev = t->q[t->head];
		t->head = (t->head + 1) % SINK_QUEUE;
		t->count--;
		bool skip = t->cancel || t->rc;
		pthread_cond_broadcast(&t->cv); /* room in the queue */
		pthread_mutex_unlock(&t->mu);
		if (ev.kind == SEV_STOP)
			break;
		if (ev.kind == SEV_RELEASE) {
			pthread_mutex_lock(&t->p->mu);
			ev.s->state = SLOT_FREE;
			pthread_cond_broadcast(&t->p->cv);
			pthread_mutex_unlock(&t->p->mu);
			continue;
		}
		if (skip)
			continue;
		exai_error err;
		exai_status rc = call_sink(t->sink, &ev, &err);
		if (rc) {
			pthread_mutex_lock(&t->mu);
			t->rc = rc;
			memcpy(&t->err, &err, sizeof(err));
			pthread_mutex_unlock(&t->mu);
		}
	}
	return NULL;
}

/* Queues one event, whatever has failed (RELEASE and STOP must always arrive). */
static void sink_push(sink_thread *t, sink_ev ev)
{
	pthread_mutex_lock(&t->mu);
	while (t->count == SINK_QUEUE)
		pthread_cond_wait(&t->cv, &t->mu);
	t->q[(t->head + t->count) % SINK_QUEUE] = ev;
	t->count++;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

/* Queues one sink call; once the sink has failed, returns its error instead. */
static exai_status sink_post(sink_thread *t, sink_ev ev, exai_error *e)
{
	pthread_mutex_lock(&t->mu);
	exai_status rc = t->rc;
	if (rc)
		memcpy(e, &t->err, sizeof(*e));
	pthread_mutex_unlock(&t->mu);
	if (!rc)
		sink_push(t, ev);
	return rc;
}

/* Per-component state of the consumer. */
typedef struct consumer {
	const exai_manifest *m;
	const exai_sink *sink;
	sink_thread *async; /* the sink's own thread, if it asked for one */
	size_t comp;	    /* current component */
	uint64_t pos;	    /* payload offset reached */
	bool in_comp;	    /* begin() called, hash running */
	bool tree;	    /* format 2: d, not h */
	exai_sha256 h;
	exai_cdigest d;
} consumer;

/* Hands one call to the sink, directly or through its thread. */
static exai_status to_sink(consumer *c, enum sink_ev_kind kind, const exai_component *comp,
			   const uint8_t *buf, size_t len, exai_error *e)
{
	sink_ev ev = {.kind = kind, .comp = comp, .buf = buf, .len = len};

	if (!c->sink)
		return EXAI_OK;
	if (c->async)
		return sink_post(c->async, ev, e);
	return call_sink(c->sink, &ev, e);
}

static exai_status finish_component(consumer *c, exai_error *e)
{
	const exai_component *comp = &c->m->c[c->comp];
	uint8_t md[EXAI_SHA256_LEN];

	c->in_comp = false;
	if (c->tree) {
		exai_status rc = exai_cdigest_final(&c->d, md, e);
		if (rc)
			return rc;
	} else {
		exai_sha256_final(&c->h, md);
	}
	if (!exai_memeq(md, comp->sha256, EXAI_SHA256_LEN))
		return exai_error_set(e, EXAI_EVERIFY, "component %s/%s: plaintext hash mismatch",
				      exai_ctype_name(comp->type), comp->name);
	exai_status rc = to_sink(c, SEV_END, comp, NULL, 0, e);
	if (rc)
		return rc;
	c->comp++;
	return EXAI_OK;
}

static exai_status start_component(consumer *c, exai_error *e)
{
	const exai_component *comp = &c->m->c[c->comp];
	exai_status rc =
	    c->tree ? exai_cdigest_init(&c->d, comp->size, e) : exai_sha256_init(&c->h, e);

	if (rc)
		return rc;
	c->in_comp = true;
	return to_sink(c, SEV_BEGIN, comp, NULL, 0, e);
}

/* Format 2: the component's bytes [a, a + len) of this chunk (at @pt) into its digest: the
 * leaves wholly inside were hashed by the worker (*leaf onwards, in the same order), the at
 * most two that straddle the chunk's ends are hashed here. */
static exai_status take_tree(consumer *c, const exai_component *comp, const uint8_t *pt, size_t len,
			     const slot *s, size_t *leaf, exai_error *e)
{
	uint64_t a = c->pos - comp->offset, end = a + len, at = a;
	exai_status rc;

	while (at < end) {
		uint64_t j = at / EXAI_CDIGEST_LEAF;
		uint64_t lend = j * EXAI_CDIGEST_LEAF + exai_cdigest_leaf_len(comp->size, j);

		if (exai_cdigest_leaf_inside(comp->size, j, a, end)) {
			if (*leaf >= s->n_leaves)
				return exai_error_set(e, EXAI_EINTERNAL,
						      "payload: chunk %llu: leaf hashes missing",
						      (unsigned long long)s->idx);
			rc = exai_cdigest_add_leaf(&c->d, s->leaves[(*leaf)++], e);
			at = lend;
		} else {
			uint64_t n = (lend < end ? lend : end) - at;
			rc = exai_cdigest_update(&c->d, pt + (at - a), (size_t)n, e);
			at += n;
		}
		if (rc)
			return rc;
	}
	return EXAI_OK;
}

/* Feeds one verified plaintext chunk (of slot @s; NULL at the end) through the component
 * boundaries it spans. */
static exai_status consume(consumer *c, const slot *s, const uint8_t *pt, size_t len, exai_error *e)
{
	size_t leaf = 0;
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
		if (c->tree && take && (rc = take_tree(c, comp, pt, take, s, &leaf, e)))
			return rc;
		/* In pieces that stay in cache between hashing and the sink, unless the sink runs
		 * later on its own thread anyway. */
		size_t piece = c->async || c->tree ? take : CONSUME_PIECE;
		for (size_t off = 0; off < take; off += piece) {
			size_t n = take - off < piece ? take - off : piece;
			if (!c->tree)
				exai_sha256_update(&c->h, pt + off, n);
			if ((rc = to_sink(c, SEV_DATA, comp, pt + off, n, e)))
				return rc;
		}
		pt += take;
		len -= take;
		c->pos += take;
		if (c->pos == comp->offset + comp->size && (rc = finish_component(c, e)))
			return rc;
	}
	if (s && leaf != s->n_leaves)
		return exai_error_set(e, EXAI_EINTERNAL,
				      "payload: chunk %llu: %zu leaf hashes unused",
				      (unsigned long long)s->idx, s->n_leaves - leaf);
	return EXAI_OK;
}

/* The directory form's payload is opened again by name: it must still be the regular file of
 * the size exai_bundle_open saw, and the same inode. O_NONBLOCK keeps a FIFO or device swapped
 * in meanwhile from blocking the open; it is cleared once the file is known to be regular. */
static exai_status reopen_dir_payload(pipe_ctx *p, exai_error *e)
{
	exai_bundle *b = p->b;
	struct stat st;
	int fl;

	(void)exai_fault("payload.reopen"); /* tests: "stop" here to swap the file */
	p->fd = openat(b->fd, "payload", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (p->fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: payload: open", b->path);
	if (fstat(p->fd, &st) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: payload: fstat", b->path);
	if (!S_ISREG(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: payload: not a regular file any more (replaced after "
				      "the bundle was opened)",
				      b->path);
	if ((uint64_t)st.st_size != b->payload_media_size ||
	    (b->payload_ino &&
	     ((uint64_t)st.st_dev != b->payload_dev || (uint64_t)st.st_ino != b->payload_ino)))
		return exai_error_set(e, EXAI_EVERIFY,
				      "%s: payload: replaced after the bundle was opened (another "
				      "file or another size)",
				      b->path);
	if ((fl = fcntl(p->fd, F_GETFL)) < 0 || fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: payload: fcntl", b->path);
	return EXAI_OK;
}

/*
 * Where the payload entry's data starts in the .exb, once libarchive has read its header:
 * the bytes the format reader has consumed (archive_filter_bytes of the last filter; the
 * .exb is plain tar, no compression filter, so that is the file offset). Taken only when it
 * is plausible: a tar data block starts on a 512-byte boundary, and the entry ends inside the
 * regular file. Otherwise libarchive goes on reading the data. Nothing here needs to be
 * trusted: every byte read is checked against the signed chunk table before it is used, so a
 * wrong offset can only make the bundle fail its chunk hashes (refused), never pass.
 */
static void direct_payload(pipe_ctx *p)
{
	const exai_bundle *b = p->b;
	la_int64_t off = archive_filter_bytes(p->ar, 0);
	struct stat st;

	if (off <= 0 || off % 512 || fstat(b->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)off > UINT64_MAX - b->payload_media_size ||
	    (uint64_t)off + b->payload_media_size > (uint64_t)st.st_size)
		return;
	p->pfd = b->fd;
	p->ppos = (uint64_t)off;
	p->pend = (uint64_t)off + b->payload_media_size;
}

static exai_status open_payload(pipe_ctx *p, exai_error *e)
{
	exai_bundle *b = p->b;
	struct archive_entry *ent;
	size_t ordinal = 0;

	p->fd = -1;
	if (!b->is_exb) {
		return reopen_dir_payload(p, e);
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
		direct_payload(p);
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

	if (c->async && pthread_create(&c->async->thread, NULL, sink_main, c->async) != 0) {
		c->async = NULL;
		return exai_error_set(e, EXAI_ENOMEM, "cannot start the sink thread");
	}
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
			rc = consume(c, s, s->pt, s->pt_len, e);
		}
		if (progress)
			exai_progress_add(progress, s->ct_len);
		/* With a sink thread, it frees the slot once it is done with the plaintext. */
		if (c->async)
			sink_push(c->async, (sink_ev){.kind = SEV_RELEASE, .s = s});
		pthread_mutex_lock(&p->mu);
		if (!c->async)
			s->state = SLOT_FREE;
		if (rc)
			p->abort = true;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	if (!rc && p->decrypt)
		rc = consume(c, NULL, NULL, 0, e); /* trailing empty components */
	if (!rc && p->decrypt && c->comp != c->m->n)
		rc = exai_error_set(e, EXAI_EVERIFY, "payload ended inside component %zu",
				    c->comp + 1);
out:
	if (c->async) {
		sink_thread *t = c->async;
		pthread_mutex_lock(&t->mu);
		t->cancel = rc != EXAI_OK;
		pthread_mutex_unlock(&t->mu);
		sink_push(t, (sink_ev){.kind = SEV_STOP});
		pthread_join(t->thread, NULL);
		/* The sink's failure concerns bytes before any the consumer was at. */
		if (t->rc) {
			rc = t->rc;
			memcpy(e, &t->err, sizeof(*e));
		}
	}
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
	p.fd = -1; /* until open_payload: a failure before it must not close descriptor 0 */
	p.pfd = -1;
	p.b = b;
	p.table = table->data;
	p.consumer_wants = UINT64_MAX;
	p.decrypt = b->manifest && (b->index->encryption == EXAI_ENC_NONE || b->data_key);
	p.tree = exai_index_version(b->index) >= EXAI_FORMAT_V2;
	/* Format 1 with the manifest: this thread hashes every plaintext byte per component. In
	 * format 2 the workers do, and this thread only combines leaf hashes. */
	unsigned nw = exai_worker_count(p.decrypt && !p.tree);
	/* Ring: two batches per worker (one being hashed while the next fills, so workers mostly
	 * find four chunks ready) and two more (reader, consumer), within RING_BUDGET (never
	 * fewer than 3 slots). With one batch per worker, perf showed workers hashing one or two
	 * chunks at a time; on huge pages (exai_bigbuf_alloc) two batches made verify of 2 GiB
	 * 1.62-1.83 s against 1.81-2.09 s, and apply about 7% faster. (On 4 KiB pages a larger
	 * ring had measured slower.) Chunks are decrypted in place: a slot is one buffer, so the
	 * ring is half the memory to fault in (in this VM first touch of a page, clear_page,
	 * was a third of verify's samples with separate plaintext buffers). */
	size_t slot_bytes = (size_t)b->index->chunk_size + EXAI_AEAD_TAG;
	size_t cap = RING_BUDGET / slot_bytes < 3 ? 3 : RING_BUDGET / slot_bytes;
	p.batch = exai_sha256_multi_width();
	p.nslots = (size_t)nw * p.batch * 2 + 2;
	if (p.nslots > cap)
		p.nslots = cap;
	c.m = b->manifest;
	c.sink = sink;
	c.tree = p.tree;
	sink_thread *st = NULL;
	if (sink && sink->own_thread && p.decrypt) {
		if (!(st = calloc(1, sizeof(*st))))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		st->p = &p;
		st->sink = sink;
		pthread_mutex_init(&st->mu, NULL);
		pthread_cond_init(&st->cv, NULL);
		c.async = st;
		p.nslots++; /* the one the sink thread is writing out */
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	/* One buffer for the ring: each slot's chunk, page-aligned. */
	size_t stride = ((size_t)b->index->chunk_size + EXAI_AEAD_TAG + 4095) / 4096 * 4096;
	/* Format 2: each slot keeps the hashes of the leaves wholly inside its chunk, at most one
	 * per 16 KiB and one more per component the chunk reaches. */
	size_t max_leaves =
	    p.tree && p.decrypt ? exai_cdigest_span_max(b->index->chunk_size) + b->manifest->n : 0;
	p.slots = calloc(p.nslots, sizeof(*p.slots));
	p.ring = exai_bigbuf_alloc(p.nslots * stride);
	p.leaves = max_leaves ? calloc(p.nslots * max_leaves, EXAI_SHA256_LEN) : NULL;
	if (!p.slots || !p.ring || (max_leaves && !p.leaves)) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory for chunk buffers");
		goto out;
	}
	for (size_t i = 0; i < p.nslots; i++) {
		p.slots[i].ct = p.ring + i * stride;
		p.slots[i].pt = p.decrypt ? p.slots[i].ct : NULL;
		p.slots[i].leaves = p.leaves ? p.leaves + i * max_leaves : NULL;
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
	if (c.in_comp && c.tree)
		exai_cdigest_free(&c.d);
	else if (c.in_comp)
		exai_sha256_free(&c.h);
	if (p.ar)
		archive_read_free(p.ar);
	if (p.fd >= 0)
		close(p.fd);
	for (size_t i = 0; p.slots && p.ring && i < p.nslots; i++)
		if (p.slots[i].pt)
			memset(p.slots[i].pt, 0,
			       p.slots[i].pt_used); /* pages never used stay untouched */
	free(p.ring);
	free(p.leaves);
	free(p.slots);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	if (st) {
		pthread_mutex_destroy(&st->mu);
		pthread_cond_destroy(&st->cv);
		free(st);
	}
	return rc;
}
