/*
 * wb: streaming writeback for a large file written front to back.
 *
 * Left alone, the kernel keeps every written page dirty until the final fsync, which then
 * waits for the whole file; in a VM each write also lands in a fresh page, and copying into
 * fresh pages costs several times more CPU than into pages just used. So every WB_STEP
 * (32 MiB) written, exai_wb starts writeback of that step; once more than EXAI_WB_WINDOW steps
 * are under way it waits for the oldest to reach the disk and drops it from the page cache
 * (the next writes reuse those pages); and every fourth step a background thread runs
 * fdatasync() so the device's own flush overlaps the work that produces the data. At most
 * EXAI_WB_WINDOW + 1 steps stay cached, and the final fsync has no more than that left.
 *
 * Everything here is a hint except the background fdatasync's result: exai_wb_finish()
 * reports a failed one (fault point "flush"). The caller still makes its own final fsync.
 * On tmpfs the calls do nothing (there is no writeback and shmem pages cannot be dropped).
 */
#ifndef EXAI_WB_H
#define EXAI_WB_H

#include <stdint.h>

#include "exai/error.h"

#define EXAI_WB_STEP (32u << 20)
/* Steps that may be on their way to the disk before the writer waits for the oldest. Two
 * measured 5% faster than one (2 GiB apply, 2.53-2.65 s against 2.68-2.73 s): a slow moment
 * of the disk then less often stalls the pipeline; four were no faster. */
#define EXAI_WB_WINDOW 2

typedef struct exai_flusher exai_flusher;

typedef struct exai_wb {
	int fd;
	uint64_t written; /* bytes written so far (file offset of the next byte) */
	uint64_t flushed; /* writeback started up to here */
	/* Steps whose writeback was started and not yet waited for: ring of start offsets, the
	 * oldest at pending_head; each ends where the next begins (the last at flushed). */
	uint64_t pending[EXAI_WB_WINDOW + 1];
	unsigned pending_head, pending_n;
	unsigned steps;
	exai_flusher *flusher; /* started at the first background flush */
	char what[256];	       /* names the file in errors */
} exai_wb;

/* Starts tracking @fd (not owned), whose next sequential write lands at offset @pos. */
void exai_wb_init(exai_wb *w, int fd, uint64_t pos, const char *what);
/* Records @len more bytes written sequentially; runs a step when one is due. */
void exai_wb_wrote(exai_wb *w, uint64_t len);
/* Stops the background flush; reports its first failure. Idempotent. */
exai_status exai_wb_finish(exai_wb *w, exai_error *e);

#endif
