/*
 * tarcheck: the extraction rules, entry by entry. See exai/tarcheck.h for the rules.
 *
 * The tree so far is a trie: node 0 is the root, every other node is one path part under its
 * parent, found through an open-addressing table keyed by (parent, part). A node is a
 * directory (declared, or made implicitly for a deeper entry), a file (a regular file or a
 * hard link to one: both are regular files on disk) or a symlink. Invariants: a node's parent
 * is a directory; names live in one arena; the table is at most half full. Every entry adds at
 * most its number of parts, each at most its own bytes, so memory follows the header bytes
 * read.
 */
#include "exai/tarcheck.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exai/grow.h"

#define MAX_DEPTH   64
#define MAX_PART    255
#define RATIO_SLACK (64u << 10)

enum nkind { N_DIR = 1, N_FILE, N_LINK };

typedef struct node {
	uint32_t parent;
	uint32_t name_off; /* into the arena */
	uint16_t name_len;
	uint8_t kind;
} node;

struct exai_tarcheck {
	exai_tar_limits lim;
	uint64_t entries, bytes;
	node *nodes;
	size_t n_nodes, cap_nodes;
	uint32_t *table;  /* node index + 1; 0 is empty */
	size_t table_cap; /* a power of two */
	char *arena;
	size_t arena_len, arena_cap;
};

/* ---- paths ---- */

bool exai_tar_path_clean(const char *in, char *out, size_t cap)
{
	size_t n, seg = 0, depth = 0;

	while (in[0] == '.' && in[1] == '/')
		in += 2;
	n = strlen(in);
	while (n > 0 && in[n - 1] == '/')
		n--;
	if (n == 0 || n >= cap || in[0] == '/')
		return false;
	memcpy(out, in, n);
	out[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (i < n && out[i] != '/') {
			seg++;
			continue;
		}
		if (seg == 0 || seg > MAX_PART || ++depth > MAX_DEPTH)
			return false;
		if ((seg == 1 && out[i - 1] == '.') ||
		    (seg == 2 && out[i - 1] == '.' && out[i - 2] == '.'))
			return false;
		seg = 0;
	}
	return true;
}

bool exai_tar_symlink_ok(const char *path, const char *target)
{
	long depth = 0;
	bool leading = true;
	size_t n = strlen(target);

	if (n == 0 || n >= EXAI_TAR_PATH_MAX || target[0] == '/')
		return false;
	for (const char *p = path; *p; p++)
		depth += *p == '/'; /* directories above the link */
	for (const char *p = target; *p;) {
		const char *end = strchr(p, '/');
		size_t seg = end ? (size_t)(end - p) : strlen(p);
		if (seg == 2 && p[0] == '.' && p[1] == '.') {
			/* '..' after a name could climb out through a symlinked name */
			if (!leading || --depth < 0)
				return false;
		} else if (!(seg == 0 || (seg == 1 && p[0] == '.'))) {
			leading = false;
		}
		p += seg + (end ? 1 : 0);
	}
	return true;
}

/* Why a path was not clean, for the message. */
static const char *path_problem(const char *raw)
{
	size_t seg = 0, depth = 0, n = strlen(raw);

	if (n >= EXAI_TAR_PATH_MAX)
		return "path over 4095 bytes";
	for (size_t i = 0; i <= n; i++) {
		if (i < n && raw[i] != '/') {
			if (++seg > MAX_PART)
				return "a path part over 255 bytes";
			continue;
		}
		if (seg && ++depth > MAX_DEPTH)
			return "path deeper than 64 parts";
		seg = 0;
	}
	return "path with '..', '.' or empty parts";
}

struct archive *exai_tar_reader_new(void)
{
	struct archive *a = archive_read_new();

	if (a && (archive_read_support_format_tar(a) != ARCHIVE_OK ||
		  archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
		  archive_read_support_filter_zstd(a) != ARCHIVE_OK)) {
		archive_read_free(a);
		a = NULL;
	}
	return a;
}

/* ---- the tree model ---- */

static uint64_t hash_key(uint32_t parent, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ parent;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 1099511628211ull;
	return h ^ (h >> 29);
}

static bool node_is(const exai_tarcheck *t, uint32_t i, uint32_t parent, const char *name,
		    size_t len)
{
	const node *n = &t->nodes[i];

	return n->parent == parent && n->name_len == len &&
	       !memcmp(t->arena + n->name_off, name, len);
}

/* The table slot for (parent, name): holding it, or the empty slot where it would go. */
static size_t slot_of(const exai_tarcheck *t, uint32_t parent, const char *name, size_t len)
{
	size_t mask = t->table_cap - 1, i = (size_t)hash_key(parent, name, len) & mask;

	while (t->table[i] && !node_is(t, t->table[i] - 1, parent, name, len))
		i = (i + 1) & mask;
	return i;
}

static exai_status grow_table(exai_tarcheck *t, exai_error *e)
{
	size_t cap = t->table_cap ? t->table_cap * 2 : 1024;
	uint32_t *old = t->table;
	size_t old_cap = t->table_cap;

	if (!(t->table = calloc(cap, sizeof(*t->table)))) {
		t->table = old;
		return exai_error_set(e, EXAI_ENOMEM, "tar check: out of memory");
	}
	t->table_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i]) {
			const node *n = &t->nodes[old[i] - 1];
			t->table[slot_of(t, n->parent, t->arena + n->name_off, n->name_len)] =
			    old[i];
		}
	free(old);
	return EXAI_OK;
}

/* Adds (parent, name) of @kind; the caller checked it is not there. */
static exai_status add_node(exai_tarcheck *t, uint32_t parent, const char *name, size_t len,
			    uint8_t kind, uint32_t *out, exai_error *e)
{
	exai_status rc;

	if (t->n_nodes >= UINT32_MAX - 1 || t->arena_len > UINT32_MAX - len)
		return exai_error_set(e, EXAI_ETOOBIG, "tar check: tree too large");
	if ((t->n_nodes + 1) * 2 > t->table_cap && (rc = grow_table(t, e)))
		return rc;
	if ((rc = EXAI_GROW(&t->nodes, &t->cap_nodes, t->n_nodes, 1, EXAI_GROW_NOCAP, e)) ||
	    (rc = EXAI_GROW(&t->arena, &t->arena_cap, t->arena_len, len, EXAI_GROW_NOCAP, e)))
		return exai_error_prefix(e, "tar check");
	memcpy(t->arena + t->arena_len, name, len);
	t->nodes[t->n_nodes] = (node){.parent = parent,
				      .name_off = (uint32_t)t->arena_len,
				      .name_len = (uint16_t)len,
				      .kind = kind};
	t->arena_len += len;
	*out = (uint32_t)t->n_nodes++;
	t->table[slot_of(t, parent, name, len)] = *out + 1;
	return EXAI_OK;
}

/* The node of @name under @parent, or -1. */
static long find(const exai_tarcheck *t, uint32_t parent, const char *name, size_t len)
{
	size_t s = slot_of(t, parent, name, len);

	return t->table[s] ? (long)t->table[s] - 1 : -1;
}

/*
 * Walks the parents of the cleaned @path: each must be a directory; with @create, missing
 * ones are made (implicit directories). *@parent is the last one's node, *@leaf the last part.
 * Refusals read as the extractor's own: "a parent is a symlink or not a directory".
 */
static exai_status walk_parents(exai_tarcheck *t, const char *path, bool create, uint32_t *parent,
				const char **leaf, exai_error *e)
{
	uint32_t cur = 0;
	const char *p = path, *slash;
	exai_status rc;

	while ((slash = strchr(p, '/'))) {
		size_t len = (size_t)(slash - p);
		long n = find(t, cur, p, len);
		if (n < 0 && !create)
			return exai_error_set(e, EXAI_ENOENT, "%s: no such directory", path);
		if (n < 0) {
			uint32_t made;
			if ((rc = add_node(t, cur, p, len, N_DIR, &made, e)))
				return rc;
			n = made;
		}
		if (t->nodes[n].kind != N_DIR)
			return exai_error_set(e, EXAI_EUNSAFE,
					      "%s: refused: a parent is a symlink or not a "
					      "directory",
					      path);
		cur = (uint32_t)n;
		p = slash + 1;
	}
	*parent = cur;
	*leaf = p;
	return EXAI_OK;
}

/* Records the leaf of @te in the tree: new, or a directory declared again. */
static exai_status place(exai_tarcheck *t, const exai_tar_entry *te, uint8_t kind, exai_error *e)
{
	uint32_t parent, made;
	const char *leaf;
	exai_status rc;
	long n;

	if ((rc = walk_parents(t, te->path, true, &parent, &leaf, e)))
		return rc;
	n = find(t, parent, leaf, strlen(leaf));
	if (n >= 0 && kind == N_DIR && t->nodes[n].kind == N_DIR)
		return EXAI_OK;
	if (n >= 0 && kind == N_DIR)
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: exists and is not a directory",
				      te->path);
	if (n >= 0)
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: entry appears twice",
				      te->path);
	return add_node(t, parent, leaf, strlen(leaf), kind, &made, e);
}

static exai_status check_hardlink(exai_tarcheck *t, exai_tar_entry *te, const char *src,
				  exai_error *e)
{
	uint32_t parent;
	const char *leaf;
	exai_error ignored;
	long n = -1;

	if (!exai_tar_path_clean(src, te->link, sizeof(te->link)))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: hard link to '%.200s' leaves the tree",
				      te->path, src);
	if (!walk_parents(t, te->link, false, &parent, &leaf, &ignored))
		n = find(t, parent, leaf, strlen(leaf));
	if (n < 0 || t->nodes[n].kind != N_FILE)
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: hard link source '%.200s' is not an earlier "
				      "regular file of this archive",
				      te->path, te->link);
	return place(t, te, N_FILE, e);
}

/* ---- entries ---- */

exai_status exai_tarcheck_new(const exai_tar_limits *lim, exai_tarcheck **out, exai_error *e)
{
	exai_tarcheck *t = calloc(1, sizeof(*t));
	exai_status rc;
	uint32_t root;

	*out = NULL;
	if (!t)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	t->lim = *lim;
	if (t->lim.max_ratio == 0)
		t->lim.max_ratio = 1;
	t->arena_cap = 4096;
	if (!(t->arena = malloc(t->arena_cap))) {
		free(t);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	/* node 0: the root, a directory no path names */
	if ((rc = add_node(t, UINT32_MAX, "", 0, N_DIR, &root, e))) {
		exai_tarcheck_free(t);
		return rc;
	}
	*out = t;
	return EXAI_OK;
}

void exai_tarcheck_free(exai_tarcheck *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->table);
	free(t->arena);
	free(t);
}

static exai_status check_mode(const exai_tarcheck *t, const exai_tar_entry *te, exai_error *e)
{
	unsigned p = te->perm;

	if ((p & (S_ISUID | S_ISGID)) && !(t->lim.flags & EXAI_CFLAG_SETUID))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: setuid/setgid bit and the manifest does not "
				      "allow it",
				      te->path);
	if (t->lim.flags & EXAI_CFLAG_WORLD_WRITABLE)
		return EXAI_OK;
	if (te->kind == EXAI_TAR_FILE && (p & S_IWOTH))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: world-writable file (mode %04o) and the "
				      "manifest does not allow it",
				      te->path, p);
	if (te->kind == EXAI_TAR_DIR && (p & S_IWOTH) && !(p & S_ISVTX))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: world-writable directory without the sticky "
				      "bit (mode %04o) and the manifest does not allow it",
				      te->path, p);
	return EXAI_OK;
}

/* The entry's kind from its header; a refusal for types that are never extracted. */
static exai_status kind_of(struct archive_entry *ent, exai_tar_entry *te, exai_error *e)
{
	if (archive_entry_hardlink(ent)) {
		te->kind = EXAI_TAR_HARDLINK;
		return EXAI_OK;
	}
	switch (archive_entry_filetype(ent)) {
	case AE_IFREG:
		te->kind = EXAI_TAR_FILE;
		return EXAI_OK;
	case AE_IFDIR:
		te->kind = EXAI_TAR_DIR;
		return EXAI_OK;
	case AE_IFLNK:
		te->kind = EXAI_TAR_SYMLINK;
		return EXAI_OK;
	case AE_IFCHR:
	case AE_IFBLK:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: device node", te->path);
	case AE_IFIFO:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: FIFO", te->path);
	case AE_IFSOCK:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: socket", te->path);
	default:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: unknown entry type", te->path);
	}
}

exai_status exai_tarcheck_entry(exai_tarcheck *t, struct archive_entry *ent, exai_tar_entry *te,
				exai_error *e)
{
	const char *raw = archive_entry_pathname(ent);
	int64_t size = archive_entry_size(ent);
	exai_status rc;

	te->kind = EXAI_TAR_SKIP;
	te->path[0] = te->link[0] = '\0';
	te->perm = 0;
	te->size = 0;
	te->mtime = 0;
	te->sparse = false;
	if (++t->entries > t->lim.max_entries)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%.200s: more than the manifest's %llu entries",
				      raw ? raw : "?", (unsigned long long)t->lim.max_entries);
	if (!raw)
		return exai_error_set(e, EXAI_EFORMAT, "entry %llu: no path",
				      (unsigned long long)t->entries);
	if (raw[0] == '/')
		return exai_error_set(e, EXAI_EUNSAFE, "%.200s: refused: absolute path", raw);
	if (!exai_tar_path_clean(raw, te->path, sizeof(te->path))) {
		if (archive_entry_filetype(ent) == AE_IFDIR && !archive_entry_hardlink(ent) &&
		    (!strcmp(raw, ".") || !strcmp(raw, "./"))) {
			te->kind = EXAI_TAR_SKIP;
			snprintf(te->path, sizeof(te->path), ".");
			return EXAI_OK;
		}
		return exai_error_set(e, EXAI_EUNSAFE, "%.200s: refused: %s", raw,
				      path_problem(raw));
	}
	te->perm = archive_entry_perm(ent) & 07777;
	te->mtime = archive_entry_mtime(ent);
	if ((rc = kind_of(ent, te, e)) || (rc = check_mode(t, te, e)))
		return rc;
	switch (te->kind) {
	case EXAI_TAR_HARDLINK:
		return check_hardlink(t, te, archive_entry_hardlink(ent), e);
	case EXAI_TAR_SYMLINK: {
		const char *target = archive_entry_symlink(ent);
		if (!target || !exai_tar_symlink_ok(te->path, target))
			return exai_error_set(
			    e, EXAI_EUNSAFE, "%s: refused: symlink target '%.200s' leaves the tree",
			    te->path, target ? target : "");
		snprintf(te->link, sizeof(te->link), "%s", target);
		return place(t, te, N_LINK, e);
	}
	case EXAI_TAR_DIR:
		return place(t, te, N_DIR, e);
	default:
		break;
	}
	/* A regular file: its declared size counts before any of its data is read. */
	if (size < 0 || (uint64_t)size > t->lim.max_bytes - t->bytes)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%s: file content over the manifest's %llu unpacked bytes "
				      "(declares %lld)",
				      te->path, (unsigned long long)t->lim.max_bytes,
				      (long long)size);
	te->size = (uint64_t)size;
	te->sparse = archive_entry_sparse_count(ent) > 0;
	if ((rc = place(t, te, N_FILE, e)))
		return rc;
	t->bytes += te->size;
	return EXAI_OK;
}

exai_status exai_tarcheck_ratio(const exai_tarcheck *t, uint64_t fed, uint64_t unpacked,
				const char *path, exai_error *e)
{
	uint64_t in = fed + RATIO_SLACK;

	if (in > UINT64_MAX / t->lim.max_ratio || unpacked <= t->lim.max_ratio * in)
		return EXAI_OK;
	return exai_error_set(e, EXAI_ETOOBIG, "%s%sdecompression ratio over %llu: refused",
			      path ? path : "", path ? ": " : "",
			      (unsigned long long)t->lim.max_ratio);
}

exai_status exai_tarcheck_block(const exai_tar_entry *te, uint64_t *pos, int64_t off, size_t n,
				exai_error *e)
{
	if (off < 0 || (uint64_t)off < *pos || (uint64_t)off > te->size ||
	    n > te->size - (uint64_t)off)
		return exai_error_set(e, EXAI_EFORMAT, "%s: tar data out of order or past its size",
				      te->path);
	*pos = (uint64_t)off + n;
	return EXAI_OK;
}

exai_tar_limits exai_tar_limits_of(const exai_component *c, uint64_t max_ratio)
{
	return (exai_tar_limits){.max_entries = c->entries,
				 .max_bytes = c->unpacked,
				 .max_ratio = max_ratio ? max_ratio : EXAI_TAR_DEFAULT_RATIO,
				 .flags = c->flags};
}

exai_status exai_tarcheck_component(const exai_component *c, uint64_t max_ratio, exai_error *e)
{
	if (!max_ratio)
		max_ratio = EXAI_TAR_DEFAULT_RATIO;
	if (c->encoding != EXAI_CENC_TAR || c->unpacked / max_ratio <= c->size)
		return EXAI_OK;
	return exai_error_set(
	    e, EXAI_EREFUSED,
	    "%s/%s: unpacks to %llu bytes from %llu, over the ratio limit of %llu",
	    exai_ctype_name(c->type), c->name, (unsigned long long)c->unpacked,
	    (unsigned long long)c->size, (unsigned long long)max_ratio);
}
