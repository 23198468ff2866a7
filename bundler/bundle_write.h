/*
 * bundle_write: writing a new bundle, as a directory or an .exb, so that a failure at any point
 * leaves nothing that looks like a finished bundle.
 *
 * Everything is written under a temporary name next to the destination and renamed into
 * place at the very end (refusing to replace an existing bundle). For an .exb the entries are
 * written in their final order (index, roots, manifest, keys, chunks, payload) with the
 * index, manifest and chunk table as placeholders of their exact final length; they are
 * patched in place once the payload has been written and hashed.
 */
#ifndef EXB_BUNDLE_WRITE_H
#define EXB_BUNDLE_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"

typedef struct exb_blob {
	char name[32];
	const uint8_t *data; /* NULL: placeholder, filled by exb_output_finish */
	uint64_t len;
} exb_blob;

typedef struct exb_output exb_output;

/* Starts writing @path (.exb when @exb). @blobs are every entry but payload, in order;
 * placeholders (data NULL) are "index", "manifest" and "chunks". @mtime stamps tar entries. */
exai_status exb_output_begin(const char *path, bool exb, const exb_blob *blobs, size_t n_blobs,
			     uint64_t payload_len, uint64_t mtime, exb_output **out,
			     exai_error *e) EXAI_WUR;
/* Appends payload bytes (called by one thread, in order). */
exai_status exb_output_payload(exb_output *o, const void *buf, size_t len, exai_error *e) EXAI_WUR;
/* Writes the placeholders' final bytes (same lengths), syncs and renames into place. Frees @o
 * either way. */
exai_status exb_output_finish(exb_output *o, const exb_blob *fill, size_t n_fill,
			      exai_error *e) EXAI_WUR;
/* Removes everything written; frees @o. NULL-safe. Returns false (after a warning on stderr
 * naming the path) when something written could not be removed. */
bool exb_output_abort(exb_output *o);

/*
 * Interrupts. exb_output_catch_signals installs a handler for SIGINT, SIGTERM and SIGHUP that
 * only records the signal (and resets itself, so a second one kills the process at once);
 * the payload writer and the final rename check it, fail with "interrupted", and the caller's
 * usual abort path removes the temporary output. exb_output_signal returns the signal caught
 * (0: none).
 *
 * While it is being written, the temporary output (PATH.tmp.XXXXXX) is held under an
 * exclusive flock(2); exb_output_warn_stale lists, on stderr, the temporary outputs of
 * earlier create runs in the directory of @path that nobody holds any more (a run killed by
 * SIGKILL or a power cut), with their size and the command that removes them. It never
 * removes anything: a name that matches could still be someone else's. Returns how many.
 */
void exb_output_catch_signals(void);
int exb_output_signal(void);
unsigned exb_output_warn_stale(const char *path);

/* Appends entry @name with @data to an existing .exb (used by sign), in place and in an
 * order that leaves a readable bundle at every step: everything but the new entry's first
 * header block is written past the old end marker's first block (still zero, so readers stop
 * there), synced, then that header block, synced. On failure the old bytes are put back. */
exai_status exb_exb_append(const char *path, const char *name, const uint8_t *data, size_t len,
			   uint64_t mtime, exai_error *e) EXAI_WUR;
/* Rewrites an .exb's signatures: every sig/ entry after payload named @drop is left out and,
 * if @add_name is not NULL, entry @add_name with @add is appended. The new file is written
 * next to @path (everything up to the end of payload copied with copy_file_range), synced and
 * renamed over @path, so a failure or crash leaves the old bundle whole. *@dropped counts
 * the entries left out. A @drop entry before payload (not where exai-bundle puts them) is
 * refused. */
exai_status exb_exb_rewrite_sigs(const char *path, const char *drop, const char *add_name,
				 const uint8_t *add, size_t add_len, uint64_t mtime,
				 unsigned *dropped, exai_error *e) EXAI_WUR;

#endif
