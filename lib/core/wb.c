/*
 * wb: streaming writeback. See exai/wb.h.
 */
#include "exai/wb.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "exai/file.h"

/* A background fdatasync every this many steps. */
#define FLUSH_EVERY 4

struct exai_flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	bool want, stop;
	int err; /* errno of the first failed sync, 0 if none */
};

static void *flusher_main(void *arg)
{
	exai_flusher *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->want && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->want)
			break; /* stopped, nothing asked for since the last sync */
		f->want = false;
		pthread_mutex_unlock(&f->mu);
		int rc = exai_fault("flush") ? -1 : fdatasync(f->fd);
		int err = rc != 0 ? errno : 0;
		pthread_mutex_lock(&f->mu);
		if (err && !f->err)
			f->err = err;
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static exai_flusher *flusher_start(int fd)
{
	exai_flusher *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = fd;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return NULL;
	}
	return f;
}

static void flusher_kick(exai_flusher *f)
{
	pthread_mutex_lock(&f->mu);
	f->want = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Joins and frees @f; returns the errno of its first failed sync (0 if none). */
static int flusher_stop(exai_flusher *f)
{
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	int err = f->err;
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return err;
}

void exai_wb_init(exai_wb *w, int fd, uint64_t pos, const char *what)
{
	w->fd = fd;
	w->written = w->flushed = pos;
	w->pending_head = w->pending_n = 0;
	w->steps = 0;
	w->flusher = NULL;
	snprintf(w->what, sizeof(w->what), "%s", what);
}

/* Waits for the oldest pending step to reach the disk and drops it from the page cache. */
static void retire_oldest(exai_wb *w)
{
	uint64_t start = w->pending[w->pending_head];
	unsigned next = (w->pending_head + 1) % (EXAI_WB_WINDOW + 1);
	uint64_t end = w->pending_n > 1 ? w->pending[next] : w->flushed;

	(void)sync_file_range(w->fd, (off_t)start, (off_t)(end - start),
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				  SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(w->fd, (off_t)start, (off_t)(end - start), POSIX_FADV_DONTNEED);
	w->pending_head = next;
	w->pending_n--;
}

static void step(exai_wb *w)
{
	(void)sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->written - w->flushed),
			      SYNC_FILE_RANGE_WRITE);
	w->pending[(w->pending_head + w->pending_n) % (EXAI_WB_WINDOW + 1)] = w->flushed;
	w->pending_n++;
	w->flushed = w->written;
	while (w->pending_n > EXAI_WB_WINDOW)
		retire_oldest(w);
	if (++w->steps % FLUSH_EVERY == 0) {
		/* Without the thread the caller's final sync does all the flushing. */
		if (!w->flusher)
			w->flusher = flusher_start(w->fd);
		if (w->flusher)
			flusher_kick(w->flusher);
	}
}

void exai_wb_wrote(exai_wb *w, uint64_t len)
{
	w->written += len;
	if (w->written - w->flushed >= EXAI_WB_STEP)
		step(w);
}

exai_status exai_wb_finish(exai_wb *w, exai_error *e)
{
	if (!w->flusher)
		return EXAI_OK;
	int err = flusher_stop(w->flusher);
	w->flusher = NULL;
	if (!err)
		return EXAI_OK;
	errno = err;
	return exai_error_sys(e, EXAI_EIO, "%s: fdatasync", w->what);
}
