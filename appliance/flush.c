/*
 * flush: background fdatasync for a streamed file. See flush.h.
 */
#include "flush.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "exai/file.h"

struct upd_flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int fd;
	bool want, stop;
	int err; /* errno of the first failed sync, 0 if none */
	char what[256];
};

static void *flusher_main(void *arg)
{
	upd_flusher *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (!f->want && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		if (!f->want)
			break; /* stopped, nothing asked for since the last sync */
		f->want = false;
		pthread_mutex_unlock(&f->mu);
		int rc = exai_fault("stage.flush") ? (errno = EIO, -1) : fdatasync(f->fd);
		int err = rc != 0 ? errno : 0;
		pthread_mutex_lock(&f->mu);
		if (err && !f->err)
			f->err = err;
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

exai_status upd_flusher_start(int fd, const char *what, upd_flusher **out, exai_error *e)
{
	upd_flusher *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	f->fd = fd;
	snprintf(f->what, sizeof(f->what), "%s", what);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
		pthread_cond_destroy(&f->cv);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return exai_error_set(e, EXAI_ENOMEM, "%s: cannot start the flush thread", what);
	}
	*out = f;
	return EXAI_OK;
}

void upd_flusher_kick(upd_flusher *f)
{
	pthread_mutex_lock(&f->mu);
	f->want = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

exai_status upd_flusher_stop(upd_flusher *f, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (!f)
		return EXAI_OK;
	pthread_mutex_lock(&f->mu);
	f->stop = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	if (f->err) {
		errno = f->err;
		rc = exai_error_sys(e, EXAI_EIO, "%s: fdatasync", f->what);
	}
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
	return rc;
}
