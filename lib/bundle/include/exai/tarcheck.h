/*
 * tarcheck: the extraction rules of a tar component, and the one pass over a pushed tar
 * stream that applies them. `exai-update apply` extracts through it (it writes each accepted
 * entry); `exai-update verify` and `airgap-verifier bundle` run the same pass with no
 * callback, writing nothing, so all three reach the same verdict with the same limits.
 *
 * Rules, decided from the headers alone (each refusal names the entry):
 *   - the reader is tar (pax, ustar, GNU) after optional gzip or zstd, nothing else;
 *   - at most the manifest's `entries` entries;
 *   - paths relative, without '..', '.' or empty parts, each part at most 255 bytes, at most
 *     64 parts and EXAI_TAR_PATH_MAX bytes; "." itself (a directory) is skipped;
 *   - no entry passes through an earlier symlink or non-directory, and none appears twice
 *     (a directory may be declared again, or after a deeper entry made it implicitly);
 *   - symlink targets relative, with '..' only as a leading prefix that does not climb above
 *     the tree; hard links name an earlier regular file (or hard link) of the same archive;
 *   - no device nodes, FIFOs, sockets or unknown types;
 *   - setuid/setgid bits only with the manifest flag `setuid`; world-writable files (o+w) and
 *     world-writable directories without the sticky bit only with `world-writable`;
 *   - the declared sizes of regular files summed at most the manifest's `unpacked`, counted
 *     at the header, before any data is read: a sparse entry counts its full declared size
 *     and its holes are never expanded (data comes as the stored blocks only);
 *   - the data of an entry in increasing offsets, within its declared size;
 *   - the tar stream after decompression at most max_ratio times the bytes fed (plus 64 KiB
 *     of slack), checked after every header and every data block;
 *   - the manifest's own numbers: `unpacked` at most max_ratio times the stored `size`.
 *
 * The tree model behind the symlink, duplicate and hard-link rules is a trie of path parts,
 * so its memory grows with the header bytes read, never with what a header claims.
 */
#ifndef EXAI_TARCHECK_H
#define EXAI_TARCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/manifest.h"

struct archive;
struct archive_entry;

#define EXAI_TAR_PATH_MAX      4096
#define EXAI_TAR_DEFAULT_RATIO 1000 /* exai-update's default max_unpack_ratio */

typedef struct exai_tar_limits {
	uint64_t max_entries; /* the manifest's entries */
	uint64_t max_bytes;   /* the manifest's unpacked */
	uint64_t max_ratio;   /* decompressed bytes per byte fed; 0 means 1 */
	unsigned flags;	      /* the manifest's EXAI_CFLAG_SETUID | EXAI_CFLAG_WORLD_WRITABLE */
} exai_tar_limits;

typedef enum exai_tar_kind {
	EXAI_TAR_SKIP = 0, /* "." */
	EXAI_TAR_FILE,
	EXAI_TAR_DIR,
	EXAI_TAR_SYMLINK,
	EXAI_TAR_HARDLINK,
} exai_tar_kind;

/* An accepted entry, sanitized. */
typedef struct exai_tar_entry {
	exai_tar_kind kind;
	char path[EXAI_TAR_PATH_MAX]; /* cleaned: no "./" prefix, no trailing '/' */
	char link[EXAI_TAR_PATH_MAX]; /* symlink: the target; hard link: the source, cleaned */
	unsigned perm;		      /* 07777 */
	uint64_t size;		      /* files: the declared size (sparse: with its holes) */
	int64_t mtime;
	bool sparse; /* the header declares a sparse map */
} exai_tar_entry;

/* ---- the rules, entry by entry (tarcheck.c) ---- */

typedef struct exai_tarcheck exai_tarcheck;

exai_status exai_tarcheck_new(const exai_tar_limits *lim, exai_tarcheck **out,
			      exai_error *e) EXAI_WUR;
/* NULL-safe. */
void exai_tarcheck_free(exai_tarcheck *t);
/* Decides the next entry of the archive: EXAI_OK with *out filled, or a refusal naming the
 * entry (EXAI_EUNSAFE for a rule, EXAI_ETOOBIG for a limit, EXAI_EFORMAT for a header without
 * a path, EXAI_ENOMEM). After a refusal the checker must not be used again. */
exai_status exai_tarcheck_entry(exai_tarcheck *t, struct archive_entry *ent, exai_tar_entry *out,
				exai_error *e) EXAI_WUR;
/* The ratio rule: @unpacked bytes of tar came out of @fed bytes. @path names the entry being
 * read (NULL between entries). */
exai_status exai_tarcheck_ratio(const exai_tarcheck *t, uint64_t fed, uint64_t unpacked,
				const char *path, exai_error *e) EXAI_WUR;
/* A data block of @te at @off, @n bytes, after *@pos bytes of it (then moved past it). */
exai_status exai_tarcheck_block(const exai_tar_entry *te, uint64_t *pos, int64_t off, size_t n,
				exai_error *e) EXAI_WUR;
/* The manifest's own numbers of a tar component against @max_ratio (0 means the default);
 * raw components always pass. The refusal reads "TYPE/NAME: unpacks to ... over the ratio
 * limit of N". */
exai_status exai_tarcheck_component(const exai_component *c, uint64_t max_ratio,
				    exai_error *e) EXAI_WUR;
/* The limits a tar component's manifest line sets, with @max_ratio (0: the default). */
exai_tar_limits exai_tar_limits_of(const exai_component *c, uint64_t max_ratio);

/* Cleans a tar path (strips "./" prefixes and trailing '/'); false if it is absolute, empty,
 * too long, or has '..', '.' or empty parts. */
bool exai_tar_path_clean(const char *in, char *out, size_t cap);
/* Whether symlink @target, placed at the cleaned @path, stays inside the tree. */
bool exai_tar_symlink_ok(const char *path, const char *target);
/* A libarchive reader for tar components: tar after optional gzip or zstd, nothing else. */
struct archive *exai_tar_reader_new(void);

/* ---- the pass over a pushed stream (tarcheck_walk.c) ---- */

typedef struct exai_tarwalk exai_tarwalk;

/* Called on the walker's thread for every accepted entry (not for EXAI_TAR_SKIP). For a
 * file, the callback may read its data with exai_tarwalk_data(); what it leaves unread is
 * read (and checked) by the walker. A non-OK return stops the pass with that error. */
typedef exai_status (*exai_tarwalk_fn)(void *arg, exai_tarwalk *w, const exai_tar_entry *te,
				       exai_error *e);

/* Starts a pass with its own thread. @fn NULL: check only, nothing is kept. The stream's
 * plaintext is pushed with exai_tarwalk_feed(); the buffer is handed to libarchive itself
 * (no copy) and is the caller's again when feed returns. */
exai_status exai_tarwalk_start(const exai_tar_limits *lim, exai_tarwalk_fn fn, void *arg,
			       exai_tarwalk **out, exai_error *e) EXAI_WUR;
/* Hands @len bytes to the pass; returns once it has consumed them, or its refusal. */
exai_status exai_tarwalk_feed(exai_tarwalk *w, const uint8_t *buf, size_t len,
			      exai_error *e) EXAI_WUR;
/* End of input: waits for the pass and frees @w, whatever the outcome. */
exai_status exai_tarwalk_finish(exai_tarwalk *w, exai_error *e) EXAI_WUR;
/* Stops the pass and frees @w. NULL-safe. */
void exai_tarwalk_abort(exai_tarwalk *w);
/* From the callback: the next stored data block of the current file (holes are skipped,
 * never filled). *@end at the end of the entry (then *@n is 0). */
exai_status exai_tarwalk_data(exai_tarwalk *w, const void **blk, size_t *n, uint64_t *off,
			      bool *end, exai_error *e) EXAI_WUR;

#endif
