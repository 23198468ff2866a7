/*
 * scan_dup: the duplicate cache (see scan_dup.h for what it promises).
 *
 * A tape is the list of what one file's scan gave the sink, in order (ops), with its strings
 * in one arena: a location is kept as what follows the file's own display and relative
 * paths (an archive entry's "!package/x.js", or "" for the file itself), a package root as 0
 * (the file's) or k (the k-th root handed out while scanning it). Recording checks that every
 * location does start with the file's paths and every root is one of those; anything else
 * taints the recording, and a tainted recording is thrown away.
 *
 * The table files tapes by name, size and a sample of the bytes; a copy is one with the same
 * name and every byte the same (compared with the kept bytes, or for files over
 * VF_DUP_KEEP_MAX by SHA-256). The same bytes may have a few tapes, one per set of kind-by-path
 * answers (the same README.html inside and outside a docs/ directory), so a copy finds one
 * that fits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "exai/hash.h"
#include "scan_dup.h"
#include "scan_k8s.h"
#include "scan_walk.h"

#define NONE	       UINT32_MAX
#define ROOTS_MAX      256 /* package roots one file's scan hands out (archives in it) */
#define VARIANTS_MAX   4   /* tapes one key holds */
#define TABLE_FIRST    1024
#define KIND_DOC       1
#define KIND_MANIFEST  2
#define KIND_CHANGELOG 4

enum op_kind { OP_EMIT, OP_HOLD, OP_MARKER, OP_ROOT, OP_NOTE_AT, OP_KIND, OP_NS };

/* One thing the scan gave the sink. Strings are arena offsets (NONE: NULL). */
typedef struct op {
	uint8_t kind;	     /* enum op_kind */
	uint8_t sev;	     /* OP_EMIT, OP_HOLD */
	uint8_t bits;	     /* OP_KIND: KIND_*; OP_NS: denied */
	uint32_t root;	     /* OP_HOLD, OP_MARKER: 0 the file's, k the k-th handed out */
	const vf_rule *rule; /* OP_EMIT, OP_HOLD */
	size_t rule_ix;	     /* OP_MARKER */
	uint64_t line, col, off;
	uint32_t path, rel;    /* what follows the file's own paths */
	uint32_t ev, msg, why; /* OP_NS: the namespace in msg */
	uint32_t base;	       /* OP_KIND: the buffer's name */
} op;

/* What a copy must have in common with a tape's file: name, size and bytes. @h only says
 * where to look: it mixes the name, the size and the first and last bytes, and two files with
 * the same @h are still compared byte for byte (small files, whose bytes a tape keeps) or by
 * SHA-256 (larger ones). */
typedef struct key {
	uint64_t h;
	size_t n;
	uint8_t sha[EXAI_SHA256_LEN]; /* over VF_DUP_KEEP_MAX bytes */
} key;

typedef struct tape {
	key k;
	uint8_t *bytes; /* the content, up to VF_DUP_KEEP_MAX bytes (else NULL) */
	char *name;	/* the file's name */
	op *ops;
	size_t nops;
	char *ar;
	size_t nar;
	uint64_t files, bytes_scanned, skipped, yaml_errors; /* the summary's counts */
} tape;

struct vf_dup {
	pthread_mutex_t lock;
	tape **slot; /* open addressing, a power of two, at most half full */
	size_t cap, n;
	size_t bytes;
	uint64_t replayed;
};

/* The recording of the file this thread is scanning. */
typedef struct rec {
	const char *path, *rel;
	size_t pl, rl;
	unsigned root;
	unsigned roots[ROOTS_MAX];
	size_t nroots;
	op *ops;
	size_t nops, capops;
	char *ar;
	size_t nar, capar;
	uint64_t files, bytes, skipped, yaml_errors;
	bool bad;
} rec;

static _Thread_local rec *cur;

/* ---- recording ---- */

void vf_dup_rec_taint(void)
{
	if (cur)
		cur->bad = true;
}

static uint32_t put_str(rec *r, const char *s)
{
	size_t len, at = r->nar;

	if (!s || r->bad)
		return NONE;
	len = strlen(s) + 1;
	if (EXAI_GROW(&r->ar, &r->capar, r->nar, len, VF_DUP_TAPE_MAX, NULL)) {
		r->bad = true;
		return NONE;
	}
	memcpy(r->ar + at, s, len);
	r->nar += len;
	return (uint32_t)at;
}

/* What follows @top (@tl bytes) in @path. */
static uint32_t put_suffix(rec *r, const char *path, const char *top, size_t tl)
{
	if (!path || strncmp(path, top, tl) != 0) {
		r->bad = true;
		return NONE;
	}
	return put_str(r, path + tl);
}

static uint32_t root_ix(rec *r, unsigned root)
{
	if (root == r->root)
		return 0;
	for (size_t k = 0; k < r->nroots; k++)
		if (r->roots[k] == root)
			return (uint32_t)k + 1;
	r->bad = true; /* a package root from outside the file */
	return 0;
}

static op *put_op(rec *r, enum op_kind kind)
{
	op *o;

	if (r->bad ||
	    EXAI_GROW(&r->ops, &r->capops, r->nops, 1, VF_DUP_TAPE_MAX / sizeof(op), NULL)) {
		r->bad = true;
		return NULL;
	}
	o = &r->ops[r->nops++];
	*o = (op){.kind = (uint8_t)kind,
		  .path = NONE,
		  .rel = NONE,
		  .ev = NONE,
		  .msg = NONE,
		  .why = NONE,
		  .base = NONE};
	return o;
}

static void put_finding(rec *r, op *o, const vf_rule *rule, vf_severity sev, const char *path,
			const char *rel, uint64_t line, uint64_t col, uint64_t off,
			const char *evidence, const char *message, const char *inline_why)
{
	o->rule = rule;
	o->sev = (uint8_t)sev;
	o->line = line;
	o->col = col;
	o->off = off;
	o->path = put_suffix(r, path, r->path, r->pl);
	o->rel = put_suffix(r, rel, r->rel, r->rl);
	o->ev = put_str(r, evidence);
	o->msg = put_str(r, message);
	o->why = put_str(r, inline_why);
}

void vf_dup_rec_emit(const vf_rule *rule, vf_severity sev, const char *path, const char *rel,
		     uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		     const char *message, const char *inline_why)
{
	op *o;

	if (cur && (o = put_op(cur, OP_EMIT)))
		put_finding(cur, o, rule, sev, path, rel, line, col, off, evidence, message,
			    inline_why);
}

void vf_dup_rec_hold(const vf_rule *rule, vf_severity sev, const char *path, const char *rel,
		     unsigned root, uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		     const char *message, const char *inline_why)
{
	op *o;

	if (cur && (o = put_op(cur, OP_HOLD))) {
		put_finding(cur, o, rule, sev, path, rel, line, col, off, evidence, message,
			    inline_why);
		o->root = root_ix(cur, root);
	}
}

void vf_dup_rec_marker(size_t rule, unsigned root)
{
	op *o;

	if (cur && (o = put_op(cur, OP_MARKER))) {
		o->rule_ix = rule;
		o->root = root_ix(cur, root);
	}
}

void vf_dup_rec_root(unsigned root)
{
	if (!cur)
		return;
	if (cur->nroots == ROOTS_MAX || !put_op(cur, OP_ROOT))
		cur->bad = true;
	else
		cur->roots[cur->nroots++] = root;
}

void vf_dup_rec_note_at(const char *path, const char *what)
{
	op *o;

	if (cur && (o = put_op(cur, OP_NOTE_AT))) {
		o->path = put_suffix(cur, path, cur->path, cur->pl);
		o->msg = put_str(cur, what);
	}
}

void vf_dup_rec_count(uint64_t files, uint64_t bytes, uint64_t skipped, uint64_t yaml_errors)
{
	if (cur) {
		cur->files += files;
		cur->bytes += bytes;
		cur->skipped += skipped;
		cur->yaml_errors += yaml_errors;
	}
}

void vf_dup_rec_ns(const char *path, const char *rel, const char *ns, uint64_t line, uint64_t col,
		   bool denied)
{
	op *o;

	if (cur && (o = put_op(cur, OP_NS))) {
		o->path = put_suffix(cur, path, cur->path, cur->pl);
		o->rel = put_suffix(cur, rel, cur->rel, cur->rl);
		o->msg = put_str(cur, ns);
		o->line = line;
		o->col = col;
		o->bits = denied;
	}
}

static uint8_t kind_bits(const vf_ftype *ft)
{
	return (uint8_t)((ft->doc ? KIND_DOC : 0) | (ft->manifest ? KIND_MANIFEST : 0) |
			 (ft->changelog ? KIND_CHANGELOG : 0));
}

void vf_dup_rec_kind(const char *path, const char *base, const vf_ftype *ft)
{
	op *o;

	if (cur && (o = put_op(cur, OP_KIND))) {
		o->bits = kind_bits(ft);
		o->path = put_suffix(cur, path, cur->path, cur->pl);
		o->base = put_str(cur, base);
	}
}

/* ---- replaying ---- */

/* A path of the copy: @top followed by the tape's suffix @suf, in *@buf (grown as needed).
 * NULL when out of memory. */
static const char *at_copy(char **buf, size_t *cap, const char *top, size_t tl, const char *suf)
{
	size_t sl = strlen(suf);

	if (tl + sl + 1 > *cap) {
		size_t nc = tl + sl + 1 > 2 * *cap ? tl + sl + 1 : 2 * *cap;
		char *nb = realloc(*buf, nc);
		if (!nb)
			return NULL;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf, top, tl);
	memcpy(*buf + tl, suf, sl + 1);
	return *buf;
}

static const char *str(const tape *t, uint32_t at)
{
	return at == NONE ? NULL : t->ar + at;
}

/* Whether every buffer the tape scanned has the same kind by path at @b's location; false
 * also when out of memory (the copy is then scanned afresh). */
static bool fits(const tape *t, const vf_buf *b)
{
	size_t tl = strlen(b->path), cap = 0;
	char *buf = NULL;
	bool ok = true;

	for (size_t i = 0; ok && i < t->nops; i++) {
		const op *o = &t->ops[i];
		const char *p;
		vf_ftype ft;
		if (o->kind != OP_KIND)
			continue;
		if (!(p = at_copy(&buf, &cap, b->path, tl, str(t, o->path)))) {
			ok = false;
			break;
		}
		vf_ftype_path(str(t, o->base), p, &ft);
		ok = kind_bits(&ft) == o->bits;
	}
	free(buf);
	return ok;
}

static void replay(vf_scan *s, const tape *t, const vf_buf *b)
{
	size_t pl = strlen(b->path), rl = strlen(b->rel), pcap = 0, rcap = 0, nr = 0;
	unsigned roots[ROOTS_MAX + 1] = {b->root};
	char *pbuf = NULL, *rbuf = NULL;
	exai_error e;

	for (size_t i = 0; i < t->nops && !s->fatal; i++) {
		const op *o = &t->ops[i];
		const char *p = NULL, *r = NULL;
		if (o->path != NONE && !(p = at_copy(&pbuf, &pcap, b->path, pl, str(t, o->path))))
			goto oom;
		if (o->rel != NONE && !(r = at_copy(&rbuf, &rcap, b->rel, rl, str(t, o->rel))))
			goto oom;
		switch ((enum op_kind)o->kind) {
		case OP_EMIT:
			vf_scan_emit_at(s, o->rule, (vf_severity)o->sev, p, r, o->line, o->col,
					o->off, str(t, o->ev), str(t, o->msg), str(t, o->why));
			break;
		case OP_HOLD:
			vf_scan_hold_at(s, o->rule, (vf_severity)o->sev, p, r, roots[o->root],
					o->line, o->col, o->off, str(t, o->ev), str(t, o->msg),
					str(t, o->why));
			break;
		case OP_MARKER:
			vf_scan_marker_set(s, o->rule_ix, roots[o->root]);
			break;
		case OP_ROOT:
			roots[++nr] = vf_scan_new_root(s);
			break;
		case OP_NOTE_AT:
			vf_scan_note_at(s, p, str(t, o->msg));
			break;
		case OP_KIND:
			break;
		case OP_NS:
			vf_k8s_ns_mark(s, &(vf_buf){.path = p, .rel = r, .base = t->name},
				       str(t, o->msg), o->line, o->col, o->bits);
			break;
		}
	}
	vf_scan_count(s, t->files, t->bytes_scanned);
	__atomic_add_fetch(&s->skipped, t->skipped, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->yaml_errors, t->yaml_errors, __ATOMIC_RELAXED);
	goto out;
oom:
	exai_error_set(&e, EXAI_ENOMEM, "%s: out of memory", b->path);
	vf_scan_fail(s, &e);
out:
	free(pbuf);
	free(rbuf);
}

/* ---- the table ---- */

vf_dup *vf_dup_new(void)
{
	vf_dup *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (!(d->slot = calloc(TABLE_FIRST, sizeof(*d->slot))) ||
	    pthread_mutex_init(&d->lock, NULL) != 0) {
		free(d->slot);
		free(d);
		return NULL;
	}
	d->cap = TABLE_FIRST;
	return d;
}

static void tape_free(tape *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->bytes);
	free(t->ops);
	free(t->ar);
	free(t);
}

void vf_dup_free(vf_dup *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cap; i++)
		tape_free(d->slot[i]);
	free(d->slot);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

void vf_dup_stats(const vf_dup *d, uint64_t *replayed, uint64_t *kept)
{
	*replayed = d ? d->replayed : 0;
	*kept = d ? d->n : 0;
}

static size_t home(const vf_dup *d, uint64_t h)
{
	return (size_t)h & (d->cap - 1);
}

/* FNV-1a over the name, the size and up to 64 bytes at either end, finalised like
 * splitmix64: a bucket, not a proof of anything. */
static uint64_t sample_hash(const vf_buf *b)
{
	uint64_t h = 14695981039346656037ull, n = b->n;
	size_t head = b->n < 64 ? b->n : 64, tail = b->n - head < 64 ? b->n - head : 64;

	for (const char *c = b->base; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ull;
	for (int i = 0; i < 8; i++, n >>= 8)
		h = (h ^ (n & 255)) * 1099511628211ull;
	for (size_t i = 0; i < head; i++)
		h = (h ^ b->p[i]) * 1099511628211ull;
	for (size_t i = b->n - tail; i < b->n; i++)
		h = (h ^ b->p[i]) * 1099511628211ull;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

/* @b's key; false when the digest a large file needs cannot be made. */
static bool key_of(const vf_buf *b, key *k)
{
	exai_error e;

	k->h = sample_hash(b);
	k->n = b->n;
	return b->n <= VF_DUP_KEEP_MAX || exai_sha256_buf(b->p, b->n, k->sha, &e) == EXAI_OK;
}

/* The tapes filed where @k's would be with the same name and size (at most VARIANTS_MAX),
 * into @c; their count. Under the lock: a tape, once filed, never changes, so the caller
 * compares the bytes after it. */
static size_t candidates(const vf_dup *d, const key *k, const char *name,
			 const tape *c[VARIANTS_MAX])
{
	size_t n = 0;

	for (size_t i = home(d, k->h); d->slot[i] && n < VARIANTS_MAX; i = (i + 1) & (d->cap - 1)) {
		const tape *t = d->slot[i];
		if (t->k.h == k->h && t->k.n == k->n && !strcmp(t->name, name))
			c[n++] = t;
	}
	return n;
}

static bool same_bytes(const tape *t, const key *k, const vf_buf *b)
{
	if (k->n <= VF_DUP_KEEP_MAX)
		return !memcmp(t->bytes, b->p, k->n);
	return !memcmp(t->k.sha, k->sha, EXAI_SHA256_LEN);
}

/* Of the candidates, one with @b's bytes that fits its location, or NULL. */
static const tape *pick(const tape *const *c, size_t n, const key *k, const vf_buf *b)
{
	for (size_t i = 0; i < n; i++)
		if (same_bytes(c[i], k, b) && fits(c[i], b))
			return c[i];
	return NULL;
}

/* Doubles the table; false when out of memory (the table is unchanged). Under the lock. */
static bool grow_table(vf_dup *d)
{
	size_t nc = d->cap * 2;
	tape **ns = calloc(nc, sizeof(*ns));
	tape **old = d->slot;
	size_t oc = d->cap;

	if (!ns)
		return false;
	d->slot = ns;
	d->cap = nc;
	for (size_t i = 0; i < oc; i++)
		if (old[i]) {
			size_t k = home(d, old[i]->k.h);
			while (ns[k])
				k = (k + 1) & (nc - 1);
			ns[k] = old[i];
		}
	free(old);
	return true;
}

/* Makes a tape of the recording (which gives up its arrays) and files it under @k, unless the
 * cache is at a bound or already holds one for these bytes that fits @b. */
static void keep(vf_dup *d, rec *r, const key *k, const vf_buf *b)
{
	tape *t = calloc(1, sizeof(*t));
	const tape *c[VARIANTS_MAX];
	size_t n, size;

	if (!t || !(t->name = strdup(b->base)) ||
	    (k->n <= VF_DUP_KEEP_MAX && !(t->bytes = malloc(k->n ? k->n : 1)))) {
		tape_free(t);
		return;
	}
	t->k = *k;
	if (t->bytes)
		memcpy(t->bytes, b->p, k->n);
	t->ops = r->ops;
	t->nops = r->nops;
	t->ar = r->ar;
	t->nar = r->nar;
	t->files = r->files;
	t->bytes_scanned = r->bytes;
	t->skipped = r->skipped;
	t->yaml_errors = r->yaml_errors;
	r->ops = NULL;
	r->ar = NULL;
	size = sizeof(*t) + strlen(t->name) + 1 + r->capops * sizeof(op) + r->capar +
	       (t->bytes ? k->n : 0);
	pthread_mutex_lock(&d->lock);
	n = candidates(d, k, b->base, c);
	pthread_mutex_unlock(&d->lock);
	if (n == VARIANTS_MAX || pick(c, n, k, b)) {
		tape_free(t);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (d->bytes + size > VF_DUP_CACHE_MAX || d->n >= VF_DUP_FILES_MAX ||
	    ((d->n + 1) * 2 > d->cap && !grow_table(d))) {
		pthread_mutex_unlock(&d->lock);
		tape_free(t);
		return;
	}
	{
		size_t i = home(d, k->h);
		while (d->slot[i])
			i = (i + 1) & (d->cap - 1);
		d->slot[i] = t;
	}
	d->n++;
	d->bytes += size;
	pthread_mutex_unlock(&d->lock);
}

void vf_dup_scan(vf_scan *s, const vf_buf *b)
{
	vf_dup *d = s->dup;
	const tape *c[VARIANTS_MAX], *t;
	size_t n;
	key k;
	rec r;

	if (!d || !key_of(b, &k)) {
		vf_scan_buffer(s, b);
		return;
	}
	pthread_mutex_lock(&d->lock);
	n = candidates(d, &k, b->base, c);
	pthread_mutex_unlock(&d->lock);
	if ((t = pick(c, n, &k, b))) {
		__atomic_add_fetch(&d->replayed, 1, __ATOMIC_RELAXED);
		replay(s, t, b);
		return;
	}
	r = (rec){.path = b->path,
		  .rel = b->rel,
		  .pl = strlen(b->path),
		  .rl = strlen(b->rel),
		  .root = b->root};
	cur = &r;
	vf_scan_buffer(s, b);
	cur = NULL;
	if (!r.bad && !__atomic_load_n(&s->fatal, __ATOMIC_RELAXED))
		keep(d, &r, &k, b);
	free(r.ops);
	free(r.ar);
}
