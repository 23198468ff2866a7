/*
 * scan_archive: tar archives (ustar, pax, GNU), optionally gzip/zstd/xz compressed, single
 * compressed files, and zip and 7z archives, through libarchive with only those formats and
 * filters enabled.
 *
 * Zip and 7z need to seek (their directory is at the end), so they are read from memory: a
 * file as it is, an archive entry once held in memory (under max_entry_size), with the
 * enclosing archive's byte and entry budget. A sparse tar entry is read as its data blocks
 * only: its holes are never expanded (a 1 TiB sparse file with 4 KiB of data costs 4 KiB).
 *
 * OCI image layouts and `docker save` tarballs need nothing special: their layers are
 * archives inside the archive, recognised by content and read as a stream straight out of
 * the outer archive (no temporary files, no second copy). Nesting depth, the size of one
 * entry held in memory, the entry count and the bytes decompressed per top-level archive are
 * all capped; hitting a cap, or a damaged archive, is a scan.incomplete finding, never a
 * silent pass. Locations read "img.tar!blobs/sha256/ab..!usr/bin/x".
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define PEEK  512
#define CHUNK (256u << 10)

typedef struct budget {
	uint64_t bytes, entries;
	bool exhausted, reported;
} budget;

/* A nested archive's input: the peeked head, then the rest of the parent's entry. */
typedef struct nested_src {
	struct archive *parent;
	const uint8_t *head;
	size_t head_len;
	bool head_done;
	uint8_t *chunk;
	budget *bud;
	uint64_t max_bytes;
} nested_src;

bool vf_is_archive(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return true; /* gzip */
	if (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return true; /* zstd */
	if (n >= 6 && memcmp(p,
			     "\xfd"
			     "7zXZ\0",
			     6) == 0)
		return true; /* xz */
	return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

bool vf_is_seek_archive(const uint8_t *p, size_t n)
{
	if (n >= 4 && (!memcmp(p, "PK\x03\x04", 4) || !memcmp(p, "PK\x05\x06", 4)))
		return true; /* zip (jar, wheel, ...); an empty one is only its end record */
	return n >= 6 && !memcmp(p, "7z\xbc\xaf\x27\x1c", 6);
}

/* The reader of in-memory archives: the stream formats plus zip and 7z. */
static struct archive *mem_reader_new(void)
{
	struct archive *a = vf_archive_reader_new();

	if (a) {
		archive_read_support_format_zip(a);
		archive_read_support_format_7zip(a);
	}
	return a;
}

struct archive *vf_archive_reader_new(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_raw(a);
	return a;
}

static la_ssize_t nested_read(struct archive *a, void *client, const void **buf)
{
	nested_src *ns = client;
	la_ssize_t got;

	(void)a;
	if (!ns->head_done) {
		ns->head_done = true;
		*buf = ns->head;
		return (la_ssize_t)ns->head_len;
	}
	got = archive_read_data(ns->parent, ns->chunk, CHUNK);
	if (got > 0) {
		ns->bud->bytes += (uint64_t)got;
		if (ns->bud->bytes > ns->max_bytes) {
			ns->bud->exhausted = true;
			archive_set_error(a, -1, "over max_archive_bytes");
			return -1;
		}
	}
	*buf = ns->chunk;
	return got;
}

/* libarchive's message for the last error, never NULL (printf of NULL is "(null)"). */
static const char *aerr(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m ? m : "no detail from libarchive";
}

static char *join3(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 2);

	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '!';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

static void scan_reader(vf_scan *s, struct archive *a, const vf_buf *parent, budget *bud);
static void scan_mem(vf_scan *s, const vf_buf *b, budget *bud);

/* Reads up to @want bytes of the current entry into @dst; returns the count or -1. */
static la_ssize_t read_some(struct archive *a, uint8_t *dst, size_t want)
{
	size_t got = 0;

	while (got < want) {
		la_ssize_t r = archive_read_data(a, dst + got, want - got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (la_ssize_t)got;
}

static void scan_nested(vf_scan *s, struct archive *parent, const vf_buf *eb, budget *bud,
			const uint8_t *head, size_t head_len)
{
	nested_src ns = {.parent = parent,
			 .head = head,
			 .head_len = head_len,
			 .bud = bud,
			 .max_bytes = s->rules->set.max_archive_bytes};
	struct archive *a = vf_archive_reader_new();
	char what[512];

	ns.chunk = malloc(CHUNK);
	if (!a || !ns.chunk) {
		exai_error e;
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		vf_scan_fail(s, &e);
	} else if (archive_read_open(a, &ns, NULL, nested_read, NULL) != ARCHIVE_OK) {
		snprintf(what, sizeof(what), "archive not read: %.400s", aerr(a));
		vf_scan_incomplete(s, eb, 0, what);
	} else {
		__atomic_add_fetch(&s->files, 1, __ATOMIC_RELAXED);
		scan_reader(s, a, eb, bud);
	}
	if (a)
		archive_read_free(a);
	free(ns.chunk);
}

/* A sparse entry: its data blocks only, concatenated (the holes, never stored, are not
 * expanded), at most max_entry_size bytes of data. */
static void scan_sparse(vf_scan *s, struct archive *a, vf_buf *eb, budget *bud)
{
	const vf_settings *set = &s->rules->set;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, bl;
	const void *blk;
	la_int64_t off;
	char what[512];
	int r;

	while ((r = archive_read_data_block(a, &blk, &bl, &off)) == ARCHIVE_OK) {
		if (bl > set->max_entry_size - len) {
			vf_scan_incomplete(s, eb, 0,
					   "not scanned: sparse entry's data over max_entry_size");
			goto out;
		}
		if (len + bl > cap) {
			size_t nc = cap * 2 > len + bl ? cap * 2 : len + bl + CHUNK;
			uint8_t *nb = realloc(buf, nc);
			if (!nb) {
				exai_error e;
				exai_error_set(&e, EXAI_ENOMEM, "out of memory");
				vf_scan_fail(s, &e);
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		memcpy(buf + len, blk, bl);
		len += bl;
		bud->bytes += bl;
	}
	if (r != ARCHIVE_EOF) {
		snprintf(what, sizeof(what), "entry not read: %.400s", aerr(a));
		vf_scan_incomplete(s, eb, 0, what);
		goto out;
	}
	if (bud->bytes > set->max_archive_bytes) {
		bud->exhausted = true;
		goto out;
	}
	eb->p = buf ? buf : (const uint8_t *)"";
	eb->n = len;
	vf_scan_buffer(s, eb);
out:
	free(buf);
}

static void scan_entry(vf_scan *s, struct archive *a, struct archive_entry *ent,
		       const vf_buf *parent, budget *bud)
{
	const vf_settings *set = &s->rules->set;
	const char *name = archive_entry_pathname(ent);
	vf_buf eb = {.depth = parent->depth + 1, .root = parent->root};
	uint8_t head[PEEK], *buf = NULL;
	la_ssize_t hl;
	char what[512];
	char *path, *rel;

	if (!name || !*name)
		name = "?";
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	path = join3(parent->path, name);
	rel = join3(parent->rel, name);
	if (!path || !rel)
		goto oom;
	eb.path = path;
	eb.rel = rel;
	eb.base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	if (archive_entry_sparse_count(ent) > 0) {
		scan_sparse(s, a, &eb, bud);
		goto out;
	}
	if ((hl = read_some(a, head, sizeof(head))) < 0)
		goto damaged;
	bud->bytes += (uint64_t)hl;
	if (vf_is_archive(head, (size_t)hl)) {
		if (eb.depth >= set->max_archive_depth)
			vf_scan_incomplete(s, &eb, 0,
					   "archive nested deeper than max_archive_depth");
		else
			scan_nested(s, a, &eb, bud, head, (size_t)hl);
		goto out;
	}
	if (archive_entry_size_is_set(ent) &&
	    (uint64_t)archive_entry_size(ent) > set->max_entry_size) {
		snprintf(what, sizeof(what), "not scanned: %lld bytes, over max_entry_size",
			 (long long)archive_entry_size(ent));
		vf_scan_incomplete(s, &eb, 0, what);
		goto out;
	}
	{
		size_t cap = archive_entry_size_is_set(ent) ? (size_t)archive_entry_size(ent) + 1
							    : (size_t)hl + CHUNK;
		size_t len = (size_t)hl;
		if (cap < (size_t)hl + 1)
			cap = (size_t)hl + 1;
		if (!(buf = malloc(cap)))
			goto oom;
		memcpy(buf, head, len);
		for (;;) {
			la_ssize_t r;
			if (len == cap) {
				uint8_t *nb;
				if (cap > set->max_entry_size) {
					vf_scan_incomplete(s, &eb, 0,
							   "not scanned: over max_entry_size");
					goto out;
				}
				if (!(nb = realloc(buf, cap * 2)))
					goto oom;
				buf = nb;
				cap *= 2;
			}
			r = archive_read_data(a, buf + len, cap - len);
			if (r < 0)
				goto damaged;
			if (r == 0)
				break;
			len += (size_t)r;
			bud->bytes += (uint64_t)r;
		}
		if (bud->bytes > set->max_archive_bytes) {
			bud->exhausted = true;
			goto out;
		}
		eb.p = buf;
		eb.n = len;
		if (vf_is_seek_archive(buf, len)) {
			/* zip / 7z inside an archive: read from memory, under this budget */
			__atomic_add_fetch(&s->files, 1, __ATOMIC_RELAXED);
			if (eb.depth >= set->max_archive_depth)
				vf_scan_incomplete(s, &eb, 0,
						   "archive nested deeper than max_archive_depth");
			else
				scan_mem(s, &eb, bud);
		} else {
			vf_scan_buffer(s, &eb);
		}
	}
	goto out;
damaged:
	snprintf(what, sizeof(what), "entry not read: %.400s", aerr(a));
	vf_scan_incomplete(s, &eb, 0, what);
	goto out;
oom : {
	exai_error e;
	exai_error_set(&e, EXAI_ENOMEM, "out of memory");
	vf_scan_fail(s, &e);
}
out:
	free(buf);
	free(path);
	free(rel);
}

static void scan_reader(vf_scan *s, struct archive *a, const vf_buf *parent, budget *bud)
{
	const vf_settings *set = &s->rules->set;
	struct archive_entry *ent;
	char what[512];
	int r;

	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (s->fatal || bud->exhausted)
			break;
		if (++bud->entries > set->max_archive_entries) {
			bud->exhausted = true;
			break;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
			continue;
		scan_entry(s, a, ent, parent, bud);
	}
	if (bud->exhausted) {
		if (!bud->reported)
			vf_scan_incomplete(s, parent, 0,
					   "archive not fully scanned: over max_archive_bytes or "
					   "max_archive_entries");
		bud->reported = true; /* once, at the level that hit the cap */
	} else if (r != ARCHIVE_EOF && !s->fatal) {
		snprintf(what, sizeof(what), "archive damaged: %.400s", aerr(a));
		vf_scan_incomplete(s, parent, 0, what);
	}
}

static void scan_mem(vf_scan *s, const vf_buf *b, budget *bud)
{
	struct archive *a = mem_reader_new();
	char what[512];

	if (!a) {
		exai_error e;
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		vf_scan_fail(s, &e);
		return;
	}
	if (archive_read_open_memory(a, b->p, b->n) != ARCHIVE_OK) {
		snprintf(what, sizeof(what), "archive not read: %.400s", aerr(a));
		vf_scan_incomplete(s, b, 0, what);
	} else {
		scan_reader(s, a, b, bud);
	}
	archive_read_free(a);
}

void vf_scan_archive_mem(vf_scan *s, const vf_buf *b)
{
	budget bud = {0};

	scan_mem(s, b, &bud);
}
