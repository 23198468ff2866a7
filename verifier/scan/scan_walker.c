/*
 * scan_walker: the nested-archive walk shared by scan mode and bundle mode (see scan_walker.h
 * for the contract).
 *
 * Invariants: every reader has only the formats and filters vf_archive_reader_new enables
 * (plus zip and 7z for archives in memory); entry data is only ever read as stored blocks
 * (archive_read_data_block), so a sparse entry costs its data, not its size; every byte read
 * out of any level counts against the one budget of the top-level archive, and the budget,
 * the entry count and the depth are checked before more is read.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan_walker.h"

#define CHUNK (256u << 10)

/* An entry's data as its stored blocks, in order. */
typedef struct blk_src {
	struct archive *a;
	vf_walker *w;
	const uint8_t *blk; /* the rest of the last block */
	size_t left;
	bool end;
} blk_src;

/* A nested archive's input: the peeked head, then the rest of the parent's entry. */
typedef struct nested_src {
	blk_src *parent;
	const uint8_t *head;
	size_t head_len;
	bool head_done;
	uint8_t *chunk;
} nested_src;

/* A top-level stream's input: the head, then what @pull yields. */
typedef struct top_src {
	const uint8_t *head;
	size_t head_len;
	bool head_done;
	vf_walk_pull pull;
	void *arg;
} top_src;

static void walk_reader(vf_walker *w, struct archive *a, const vf_buf *parent);

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
	/* A Debian package: an ar archive whose first member is debian-binary (then
	 * control.tar.* and data.tar.*, read as nested archives). Other ar archives (static
	 * libraries) are not opened. */
	if (n >= 68 && !memcmp(p, "!<arch>\ndebian-binary", 21))
		return true;
	return n >= 262 && memcmp(p + 257, "ustar", 5) == 0;
}

bool vf_is_seek_archive(const uint8_t *p, size_t n)
{
	if (n >= 4 && (!memcmp(p, "PK\x03\x04", 4) || !memcmp(p, "PK\x05\x06", 4)))
		return true; /* zip (jar, wheel, ...); an empty one is only its end record */
	return n >= 6 && !memcmp(p, "7z\xbc\xaf\x27\x1c", 6);
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
	archive_read_support_format_ar(a); /* only for .deb: vf_is_archive */
	archive_read_support_format_raw(a);
	return a;
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

/* libarchive's message for the last error, never NULL (printf of NULL is "(null)"). */
static const char *aerr(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m ? m : "no detail from libarchive";
}

static void fail_oom(vf_scan *s)
{
	exai_error e;

	exai_error_set(&e, EXAI_ENOMEM, "out of memory");
	vf_scan_fail(s, &e);
}

static char *join_bang(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '!';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

void vf_walker_init(vf_walker *w, vf_scan *s, const vf_walk_ops *ops)
{
	*w = (vf_walker){.s = s, .ops = ops};
}

long vf_walk_read(void *src, uint8_t *dst, size_t cap)
{
	blk_src *bs = src;
	size_t k;

	while (bs->left == 0) {
		const void *b;
		size_t n;
		la_int64_t off;
		int r;
		if (bs->end)
			return 0;
		r = archive_read_data_block(bs->a, &b, &n, &off);
		if (r == ARCHIVE_EOF) {
			bs->end = true;
			return 0;
		}
		if (r < ARCHIVE_WARN)
			return -1;
		bs->blk = b;
		bs->left = n;
	}
	k = cap < bs->left ? cap : bs->left;
	memcpy(dst, bs->blk, k);
	bs->blk += k;
	bs->left -= k;
	bs->w->bytes += k;
	return (long)k;
}

const char *vf_walk_error(const vf_walk_entry *e)
{
	return aerr(((const blk_src *)e->src)->a);
}

bool vf_walk_over_bytes(vf_walker *w)
{
	if (w->bytes <= w->s->rules->set.max_archive_bytes)
		return false;
	w->exhausted = true;
	return true;
}

static la_ssize_t nested_read(struct archive *a, void *client, const void **buf)
{
	nested_src *ns = client;
	long got;

	if (!ns->head_done) {
		ns->head_done = true;
		*buf = ns->head;
		return (la_ssize_t)ns->head_len;
	}
	got = vf_walk_read(ns->parent, ns->chunk, CHUNK);
	if (got > 0 && vf_walk_over_bytes(ns->parent->w)) {
		archive_set_error(a, -1, "over max_archive_bytes");
		return -1;
	}
	*buf = ns->chunk;
	return got;
}

static la_ssize_t top_read(struct archive *a, void *client, const void **buf)
{
	top_src *ts = client;
	long r;

	if (!ts->head_done) {
		ts->head_done = true;
		*buf = ts->head;
		return (la_ssize_t)ts->head_len;
	}
	if ((r = ts->pull(ts->arg, (const uint8_t **)buf)) < 0) {
		archive_set_error(a, -1, "stream aborted");
		return -1;
	}
	return r;
}

/* Opens @a over @client's @read and walks it; @b is the archive's location. */
static void walk_open(vf_walker *w, struct archive *a, const vf_buf *b, void *client,
		      archive_read_callback *read)
{
	char what[512];

	if (!a) {
		fail_oom(w->s);
	} else if (archive_read_open(a, client, NULL, read, NULL) != ARCHIVE_OK) {
		snprintf(what, sizeof(what), "archive not read: %.400s", aerr(a));
		vf_scan_incomplete(w->s, b, 0, what);
	} else {
		vf_scan_count(w->s, 1, 0);
		walk_reader(w, a, b);
	}
	if (a)
		archive_read_free(a);
}

static void walk_nested(vf_walker *w, blk_src *parent, const vf_buf *eb, const uint8_t *head,
			size_t hl)
{
	nested_src ns = {.parent = parent, .head = head, .head_len = hl};

	if (!(ns.chunk = malloc(CHUNK)))
		return fail_oom(w->s);
	walk_open(w, vf_archive_reader_new(), eb, &ns, nested_read);
	free(ns.chunk);
}

/* Reads the first bytes of the entry; false (reported) when it cannot be read. */
static bool read_head(vf_walker *w, blk_src *bs, const vf_buf *eb, uint8_t *head, size_t *hl)
{
	char what[512];

	*hl = 0;
	while (*hl < VF_WALK_PEEK) {
		long r = vf_walk_read(bs, head + *hl, VF_WALK_PEEK - *hl);
		if (r < 0) {
			snprintf(what, sizeof(what), "entry not read: %.400s", aerr(bs->a));
			vf_scan_incomplete(w->s, eb, 0, what);
			return false;
		}
		if (r == 0)
			break;
		*hl += (size_t)r;
	}
	return true;
}

static void walk_entry(vf_walker *w, struct archive *a, struct archive_entry *ent,
		       const vf_buf *parent)
{
	const char *name = archive_entry_pathname(ent);
	vf_buf eb = {.depth = parent->depth + 1, .root = parent->root};
	blk_src bs = {.a = a, .w = w};
	vf_walk_entry we = {.b = &eb, .archive = parent->path, .src = &bs};
	uint8_t head[VF_WALK_PEEK];
	char *path, *rel;

	if (!name || !*name)
		name = "?";
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	path = join_bang(parent->path, name);
	rel = join_bang(parent->rel, name);
	if (!path || !rel) {
		fail_oom(w->s);
		goto out;
	}
	eb.path = path;
	eb.rel = rel;
	eb.base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	we.name = name;
	we.sparse = archive_entry_sparse_count(ent) > 0;
	we.size_set = archive_entry_size_is_set(ent) && archive_entry_size(ent) >= 0;
	we.size = we.size_set ? (uint64_t)archive_entry_size(ent) : 0;
	if (!read_head(w, &bs, &eb, head, &we.hl))
		goto out;
	we.head = head;
	if (!we.size_set)
		we.size = we.hl;
	if (!vf_is_archive(head, we.hl)) {
		w->ops->entry(w->ops->arg, w, &we);
		goto out;
	}
	if (w->ops->nested)
		w->ops->nested(w->ops->arg, w, &we);
	if (eb.depth >= w->s->rules->set.max_archive_depth)
		vf_scan_incomplete(w->s, &eb, 0, "archive nested deeper than max_archive_depth");
	else
		walk_nested(w, &bs, &eb, head, we.hl);
out:
	free(path);
	free(rel);
}

static void walk_reader(vf_walker *w, struct archive *a, const vf_buf *parent)
{
	const vf_settings *set = &w->s->rules->set;
	struct archive_entry *ent;
	char what[512];
	int r;

	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (w->s->fatal || w->exhausted)
			break;
		if (++w->entries > set->max_archive_entries) {
			w->exhausted = true;
			break;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
			continue;
		walk_entry(w, a, ent, parent);
	}
	if (w->exhausted) {
		if (!w->reported)
			vf_scan_incomplete(w->s, parent, 0,
					   "archive not fully scanned: over max_archive_bytes or "
					   "max_archive_entries");
		w->reported = true; /* once, at the level that hit the cap */
	} else if (r != ARCHIVE_EOF && !w->s->fatal) {
		snprintf(what, sizeof(what), "archive damaged: %.400s", aerr(a));
		vf_scan_incomplete(w->s, parent, 0, what);
	}
}

void vf_walk_mem(vf_walker *w, const vf_buf *b)
{
	struct archive *a = mem_reader_new();
	char what[512];

	if (!a)
		return fail_oom(w->s);
	if (archive_read_open_memory(a, b->p, b->n) != ARCHIVE_OK) {
		snprintf(what, sizeof(what), "archive not read: %.400s", aerr(a));
		vf_scan_incomplete(w->s, b, 0, what);
	} else {
		walk_reader(w, a, b);
	}
	archive_read_free(a);
}

void vf_walk_stream(vf_walker *w, const vf_buf *b, const uint8_t *head, size_t hl,
		    vf_walk_pull pull, void *arg)
{
	top_src ts = {.head = head, .head_len = hl, .pull = pull, .arg = arg};

	walk_open(w, vf_archive_reader_new(), b, &ts, top_read);
}
