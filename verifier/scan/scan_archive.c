/*
 * scan_archive: scan mode's use of the archive walker (scan_walker.c): tar archives (ustar,
 * pax, GNU), optionally gzip/zstd/xz compressed, single compressed files, and zip and 7z
 * archives.
 *
 * Zip and 7z need to seek (their directory is at the end), so they are read from memory: a
 * file as it is, an archive entry once held in memory (under max_entry_size), with the
 * enclosing archive's byte and entry budget. A sparse tar entry is read as its data blocks
 * only: its holes are never expanded (a 1 TiB sparse file with 4 KiB of data costs 4 KiB).
 *
 * OCI image layouts and `docker save` tarballs need nothing special: their layers are
 * archives inside the archive, recognised by content and read as a stream straight out of
 * the outer archive by the walker (no temporary files, no second copy). Every other entry is
 * held in memory, at most max_entry_size bytes, and given to vf_scan_buffer; an entry over
 * that is a scan.incomplete finding, as is every cap of the walker. Locations read
 * "img.tar!blobs/sha256/ab..!usr/bin/x".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_archive.h"
#include "scan_walk.h"
#include "scan_walker.h"

#define CHUNK (256u << 10)

enum hold_res { HOLD_OK, HOLD_OVER, HOLD_ERR, HOLD_OOM };

/* Reads the whole entry (at most max_entry_size bytes of data) into *out (malloc'ed). */
static enum hold_res hold(const vf_settings *set, vf_walk_entry *e, uint8_t **out, size_t *len)
{
	size_t cap = e->size_set && !e->sparse ? (size_t)e->size + 1 : e->hl + CHUNK;
	uint8_t *buf;

	if (cap < e->hl + 1)
		cap = e->hl + 1;
	if (!(buf = malloc(cap)))
		return HOLD_OOM;
	memcpy(buf, e->head, e->hl);
	*len = e->hl;
	*out = buf;
	for (;;) {
		long r;
		/* A byte buffer capped by max_entry_size, not an array: no exai_grow. */
		if (*len == cap) {
			uint8_t *nb;
			if (cap > set->max_entry_size)
				return HOLD_OVER;
			if (!(nb = realloc(buf, cap * 2)))
				return HOLD_OOM;
			*out = buf = nb;
			cap *= 2;
		}
		if ((r = vf_walk_read(e->src, buf + *len, cap - *len)) < 0)
			return HOLD_ERR;
		if (r == 0)
			break;
		*len += (size_t)r;
		if (e->sparse && *len > set->max_entry_size)
			return HOLD_OVER;
	}
	return HOLD_OK;
}

/* One entry that is not a stream archive: held, then scanned (zip / 7z walked from memory). */
static void on_entry(void *arg, vf_walker *w, vf_walk_entry *e)
{
	vf_scan *s = w->s;
	const vf_settings *set = &s->rules->set;
	uint8_t *buf = NULL;
	size_t len = 0;
	char what[512];

	(void)arg;
	if (!e->sparse && e->size_set && e->size > set->max_entry_size) {
		snprintf(what, sizeof(what), "not scanned: %llu bytes, over max_entry_size",
			 (unsigned long long)e->size);
		vf_scan_incomplete(s, e->b, 0, what);
		return;
	}
	switch (hold(set, e, &buf, &len)) {
	case HOLD_OK:
		break;
	case HOLD_OVER:
		vf_scan_incomplete(s, e->b, 0,
				   e->sparse
				       ? "not scanned: sparse entry's data over max_entry_size"
				       : "not scanned: over max_entry_size");
		goto out;
	case HOLD_ERR:
		snprintf(what, sizeof(what), "entry not read: %.400s", vf_walk_error(e));
		vf_scan_incomplete(s, e->b, 0, what);
		goto out;
	case HOLD_OOM: {
		exai_error err;
		exai_error_set(&err, EXAI_ENOMEM, "out of memory");
		vf_scan_fail(s, &err);
		goto out;
	}
	}
	if (vf_walk_over_bytes(w))
		goto out;
	e->b->p = buf;
	e->b->n = len;
	if (!vf_is_seek_archive(buf, len)) {
		vf_scan_buffer(s, e->b);
	} else {
		/* zip / 7z inside an archive: read from memory, under this budget */
		vf_scan_count(s, 1, 0);
		if (e->b->depth >= set->max_archive_depth)
			vf_scan_incomplete(s, e->b, 0,
					   "archive nested deeper than max_archive_depth");
		else
			vf_walk_mem(w, e->b);
	}
out:
	free(buf);
}

static const vf_walk_ops scan_ops = {.entry = on_entry};

void vf_scan_archive_mem(vf_scan *s, const vf_buf *b)
{
	vf_walker w;

	vf_walker_init(&w, s, &scan_ops);
	vf_walk_mem(&w, b);
}
