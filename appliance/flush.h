/*
 * flush: a background fdatasync() for a file being streamed to disk.
 *
 * Writing a large file and syncing it at the end makes the caller wait for the whole file's
 * flush (in a VM, the host writing out everything the guest sent). A flusher thread syncs
 * the file now and then while it is still being written, so the flush overlaps with the
 * work that produces the data and the final sync has only the tail left.
 *
 * upd_flusher_kick() never blocks; a kick while a sync runs is folded into the next one.
 * upd_flusher_stop() joins the thread and reports the first sync that failed; the caller
 * still makes its own final fsync/syncfs, which is what durability rests on.
 */
#ifndef UPD_FLUSH_H
#define UPD_FLUSH_H

#include "exai/error.h"

typedef struct upd_flusher upd_flusher;

/* Starts a flusher for @fd (not owned; it must stay open until upd_flusher_stop). @what
 * names the file in errors. */
exai_status upd_flusher_start(int fd, const char *what, upd_flusher **out, exai_error *e);
/* Asks for one more fdatasync of the file. */
void upd_flusher_kick(upd_flusher *f);
/* Stops and frees @f (NULL is a no-op). Returns the first background sync's failure. */
exai_status upd_flusher_stop(upd_flusher *f, exai_error *e);

#endif
