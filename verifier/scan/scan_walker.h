/*
 * scan_walker: the one nested-archive walker of the verifier, used by scan mode (archives on
 * disk and in memory, scan_archive.c) and bundle mode (a component's streamed plaintext,
 * bundlemode_scan.c).
 *
 * A walker reads one top-level archive with a libarchive reader that has exactly the formats
 * and filters the verifier allows (vf_archive_reader_new; zip and 7z only from memory), entry
 * by entry. Each regular entry's data is read as its stored blocks: the holes of a sparse
 * entry are never expanded. An entry whose first bytes are a stream archive (an image layer,
 * a gzip'd tarball) is walked as a nested archive read straight out of the parent entry; any
 * other entry goes to the caller's entry callback, which decides what to do with it (hold it
 * and scan it, scan it in windows, ...). Locations are joined with '!':
 * "img.tar!blobs/sha256/ab..!usr/bin/x".
 *
 * Caps, from the rules' settings: nesting depth (max_archive_depth), entries
 * (max_archive_entries) and bytes decompressed (max_archive_bytes), both per top-level
 * archive. Reaching one, or a damaged archive, is a scan.incomplete finding (once, at the level
 * that hit the cap), never a silent pass. Out of memory is vf_scan_fail.
 */
#ifndef VF_SCAN_WALKER_H
#define VF_SCAN_WALKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan_sink.h"

/* The first bytes of an entry the walker reads to recognise a nested archive. */
#define VF_WALK_PEEK 512

struct archive;

/* A stream archive: tar family, gzip / zstd / xz compressed, a Debian package (.deb). */
bool vf_is_archive(const uint8_t *p, size_t n);
/* zip, 7z: read from memory only. */
bool vf_is_seek_archive(const uint8_t *p, size_t n);
/* A libarchive reader with exactly the stream formats and filters the verifier reads (tar
 * family, ar for .deb, raw; gzip, zstd, xz): never archive_read_support_format_all. NULL on
 * OOM. */
struct archive *vf_archive_reader_new(void);

typedef struct vf_walker vf_walker;

/* One regular entry, handed to the entry callback. */
typedef struct vf_walk_entry {
	vf_buf *b;	     /* its location (path, rel, base, depth, root); p and n unset */
	const char *archive; /* the display path of the archive holding it */
	const char *name;    /* its path inside that archive (leading "./" dropped) */
	const uint8_t *head; /* its first bytes, already read: @hl of them (< VF_WALK_PEEK
			      * only when the entry is that short) */
	size_t hl;
	bool size_set; /* the header gave a size: @size */
	uint64_t size;
	bool sparse; /* stored as data blocks with holes (the holes are never read) */
	void *src;   /* the rest of the data, for vf_walk_read */
} vf_walk_entry;

typedef struct vf_walk_ops {
	/* A regular entry that is not a stream archive (required). */
	void (*entry)(void *arg, vf_walker *w, vf_walk_entry *e);
	/* A regular entry that is a stream archive, before it is walked (NULL: none). */
	void (*nested)(void *arg, vf_walker *w, const vf_walk_entry *e);
	void *arg;
} vf_walk_ops;

struct vf_walker {
	vf_scan *s;
	const vf_walk_ops *ops;
	/* the budget of the top-level archive */
	uint64_t bytes, entries;
	bool exhausted, reported;
};

/* Pulls the next buffer of a top-level stream (zero-copy: valid until the next call): its
 * length, 0 at the end, -1 when the stream failed. */
typedef long (*vf_walk_pull)(void *arg, const uint8_t **buf);

void vf_walker_init(vf_walker *w, vf_scan *s, const vf_walk_ops *ops);
/* Walks the archive (stream formats, zip, 7z) held in memory at b->p, b->n. */
void vf_walk_mem(vf_walker *w, const vf_buf *b);
/* Walks the stream archive whose first @hl bytes are @head and whose rest @pull yields. */
void vf_walk_stream(vf_walker *w, const vf_buf *b, const uint8_t *head, size_t hl,
		    vf_walk_pull pull, void *arg);

/* Reads up to @cap more bytes of entry @src (a vf_walk_entry's src) into @dst, counted in the
 * walker's byte budget: the count, 0 at the entry's end, -1 when it cannot be read (the
 * reason: vf_walk_error). The shape of vf_bm_src.read. */
long vf_walk_read(void *src, uint8_t *dst, size_t cap);
/* libarchive's message for the last error of @e's archive (never NULL). */
const char *vf_walk_error(const vf_walk_entry *e);
/* The byte budget (max_archive_bytes) is spent: marks the walker exhausted (the walk stops
 * and says so once) and returns true. For entry callbacks, after holding an entry. */
bool vf_walk_over_bytes(vf_walker *w);

#endif
