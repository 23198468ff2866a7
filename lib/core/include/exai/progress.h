/*
 * progress: a one-line terminal progress bar (bytes, rate, ETA) for long work.
 *
 * Silent unless stderr is a terminal (or a test forces an output stream), so logs and pipes
 * never fill with carriage returns. exai_progress_add() may be called from many threads; the
 * line is redrawn at most every 100 ms by whichever thread gets there first.
 */
#ifndef EXAI_PROGRESS_H
#define EXAI_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct exai_progress {
	char label[48];
	uint64_t total; /* 0 = unknown */
	uint64_t done;	/* updated atomically */
	uint64_t start_ns;
	uint64_t last_draw_ns;
	FILE *out; /* NULL = silent */
	pthread_mutex_t lock;
} exai_progress;

/* Starts a bar on stderr if it is a tty and EXAI_NO_PROGRESS is unset. */
void exai_progress_start(exai_progress *p, const char *label, uint64_t total);
/* Same, drawing to @out unconditionally (tests); @out NULL = silent. */
void exai_progress_start_to(exai_progress *p, const char *label, uint64_t total, FILE *out);
void exai_progress_add(exai_progress *p, uint64_t n);
/* Draws the final line and a newline; releases the lock. */
void exai_progress_finish(exai_progress *p);

/* Formats one bar line (no CR/newline) into @buf; exposed for tests. */
void exai_progress_format(char *buf, size_t cap, const char *label, uint64_t done, uint64_t total,
			  uint64_t elapsed_ns);
/* "1.5 GiB", "512 B"... into @buf. */
void exai_format_bytes(char *buf, size_t cap, double bytes);

uint64_t exai_now_ns(void);

#endif
