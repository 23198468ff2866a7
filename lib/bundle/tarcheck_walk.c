/*
 * tarcheck_walk: one pass over a tar component pushed as plaintext buffers, applying every
 * rule of exai/tarcheck.h, with an optional callback per accepted entry (the extractor's).
 *
 * The payload pipeline pushes (exai_sink data callbacks); libarchive pulls. The pass runs
 * libarchive on its own thread with read callbacks that hand it the producer's buffer itself
 * (no copy, nothing buffered beyond the chunk in flight): the producer waits until libarchive
 * asks for the next block, which is when it is done with the previous one.
 *
 * Invariants: every header is decided by exai_tarcheck_entry before the callback sees it;
 * every data block goes through the ratio and order checks before anyone sees it; data is
 * read as stored blocks (archive_read_data_block), so sparse holes are never expanded; a file
 * entry's data is always read to its end (by the callback or by the pass), so the ratio rule
 * sees every decompressed byte exactly as the extractor does.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "exai/tarcheck.h"

struct exai_tarwalk {
	exai_tarcheck *chk;
	exai_tarwalk_fn fn;
	void *arg;
	struct archive *a;
	exai_tar_entry te; /* the entry in progress */
	uint64_t pos;	   /* its data read so far */
	bool data_end;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *buf;
	size_t len;
	bool have;  /* a buffer is offered or in use */
	bool taken; /* ... and libarchive has it */
	bool eof, cancel, done;
	uint64_t fed;
	exai_status rc;
	exai_error err;
};

/* ---- producer/consumer hand-over ---- */

static la_ssize_t read_cb(struct archive *a, void *arg, const void **out)
{
	exai_tarwalk *w = arg;
	la_ssize_t n;

	pthread_mutex_lock(&w->mu);
	if (w->taken) { /* libarchive is done with the previous buffer */
		w->have = w->taken = false;
		pthread_cond_broadcast(&w->cv);
	}
	while (!w->have && !w->eof && !w->cancel)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->cancel) {
		pthread_mutex_unlock(&w->mu);
		if (a)
			archive_set_error(a, ECANCELED, "cancelled");
		return -1;
	}
	if (!w->have) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	w->taken = true;
	*out = w->buf;
	n = (la_ssize_t)w->len;
	w->fed += w->len;
	pthread_mutex_unlock(&w->mu);
	return n;
}

static uint64_t fed_so_far(exai_tarwalk *w)
{
	uint64_t fed;

	pthread_mutex_lock(&w->mu);
	fed = w->fed;
	pthread_mutex_unlock(&w->mu);
	return fed;
}

static uint64_t unpacked_so_far(exai_tarwalk *w)
{
	la_int64_t n = archive_filter_bytes(w->a, 0);

	return n > 0 ? (uint64_t)n : 0;
}

/* ---- data ---- */

exai_status exai_tarwalk_data(exai_tarwalk *w, const void **blk, size_t *n, uint64_t *off,
			      bool *end, exai_error *e)
{
	la_int64_t o;
	exai_status rc;
	int r;

	*n = 0;
	*end = true;
	if (w->data_end)
		return EXAI_OK;
	r = archive_read_data_block(w->a, blk, n, &o);
	if (r == ARCHIVE_EOF) {
		w->data_end = true;
		*n = 0;
		return EXAI_OK;
	}
	if (r != ARCHIVE_OK) {
		w->data_end = true;
		*n = 0;
		return exai_error_set(e, EXAI_EFORMAT, "%s: %s", w->te.path,
				      archive_error_string(w->a) ? archive_error_string(w->a)
								 : "bad tar data");
	}
	/* libarchive counts a block as read only once the next one is asked for: add this one,
	 * or a file's last block (up to a decompression buffer) would never be checked. */
	if ((rc = exai_tarcheck_ratio(w->chk, fed_so_far(w), unpacked_so_far(w) + *n, w->te.path,
				      e)) ||
	    (rc = exai_tarcheck_block(&w->te, &w->pos, o, *n, e))) {
		w->data_end = true;
		*n = 0;
		return rc;
	}
	*off = (uint64_t)o;
	*end = false;
	return EXAI_OK;
}

static exai_status drain_entry(exai_tarwalk *w, exai_error *e)
{
	const void *blk;
	size_t n;
	uint64_t off;
	bool end = false;
	exai_status rc = EXAI_OK;

	while (!rc && !end)
		rc = exai_tarwalk_data(w, &blk, &n, &off, &end, e);
	return rc;
}

/* ---- the pass ---- */

static exai_status one_entry(exai_tarwalk *w, struct archive_entry *ent, exai_error *e)
{
	const char *raw = archive_entry_pathname(ent);
	exai_status rc;

	if ((rc = exai_tarcheck_ratio(w->chk, fed_so_far(w), unpacked_so_far(w), raw ? raw : "?",
				      e)) ||
	    (rc = exai_tarcheck_entry(w->chk, ent, &w->te, e)))
		return rc;
	if (w->te.kind == EXAI_TAR_SKIP)
		return EXAI_OK;
	w->pos = 0;
	w->data_end = w->te.kind != EXAI_TAR_FILE;
	if (w->fn && (rc = w->fn(w->arg, w, &w->te, e)))
		return rc;
	return drain_entry(w, e);
}

static exai_status walk_all(exai_tarwalk *w, exai_error *e)
{
	struct archive_entry *ent;
	exai_status rc = EXAI_OK;
	const void *dummy;
	int r;

	if (!(w->a = exai_tar_reader_new()))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (archive_read_open(w->a, w, NULL, read_cb, NULL) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EFORMAT, "not a tar stream: %s",
				    archive_error_string(w->a) ? archive_error_string(w->a) : "?");
		goto out;
	}
	while ((r = archive_read_next_header(w->a, &ent)) == ARCHIVE_OK)
		if ((rc = one_entry(w, ent, e)))
			goto out;
	if (r != ARCHIVE_EOF) {
		rc = exai_error_set(e, EXAI_EFORMAT, "bad tar data: %s",
				    archive_error_string(w->a) ? archive_error_string(w->a) : "?");
		goto out;
	}
	/* Drain what follows the end-of-archive blocks so the producer is never left waiting. */
	while (read_cb(NULL, w, &dummy) > 0)
		;
out:
	archive_read_free(w->a);
	w->a = NULL;
	return rc;
}

static void *thread_main(void *arg)
{
	exai_tarwalk *w = arg;
	exai_error err;

	exai_error_clear(&err);
	exai_status rc = walk_all(w, &err);
	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->err = err;
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

exai_status exai_tarwalk_start(const exai_tar_limits *lim, exai_tarwalk_fn fn, void *arg,
			       exai_tarwalk **out, exai_error *e)
{
	exai_tarwalk *w = calloc(1, sizeof(*w));
	exai_status rc;

	*out = NULL;
	if (!w)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = exai_tarcheck_new(lim, &w->chk, e))) {
		free(w);
		return rc;
	}
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pthread_create(&w->thread, NULL, thread_main, w) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		exai_tarcheck_free(w->chk);
		free(w);
		return exai_error_set(e, EXAI_ENOMEM, "cannot start the tar thread");
	}
	*out = w;
	return EXAI_OK;
}

exai_status exai_tarwalk_feed(exai_tarwalk *w, const uint8_t *buf, size_t len, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (len == 0)
		return EXAI_OK;
	pthread_mutex_lock(&w->mu);
	if (!w->done) {
		w->buf = buf;
		w->len = len;
		w->have = true;
		pthread_cond_broadcast(&w->cv);
		while (w->have && !w->done)
			pthread_cond_wait(&w->cv, &w->mu);
	}
	if (w->done) {
		rc = w->rc ? w->rc : EXAI_EFORMAT;
		if (w->rc)
			*e = w->err;
		else
			exai_error_set(e, rc, "tar: data after the end of the archive");
	}
	w->have = w->taken = false; /* the buffer goes back to the caller either way */
	pthread_mutex_unlock(&w->mu);
	return rc;
}

static void destroy(exai_tarwalk *w)
{
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	exai_tarcheck_free(w->chk);
	free(w);
}

exai_status exai_tarwalk_finish(exai_tarwalk *w, exai_error *e)
{
	exai_status rc;

	pthread_mutex_lock(&w->mu);
	w->eof = true;
	pthread_cond_broadcast(&w->cv);
	while (!w->done)
		pthread_cond_wait(&w->cv, &w->mu);
	rc = w->rc;
	if (rc)
		*e = w->err;
	pthread_mutex_unlock(&w->mu);
	destroy(w);
	return rc;
}

void exai_tarwalk_abort(exai_tarwalk *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->cancel = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	destroy(w);
}
