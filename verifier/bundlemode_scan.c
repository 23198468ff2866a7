/*
 * bundlemode_scan: the sink that scans a bundle's verified plaintext as it streams.
 *
 * exai_bundle_stream calls the sink from one thread, in payload order. For each component
 * begin() starts a scanning thread; data() hands it each buffer and waits until the thread
 * asks for the next one (a zero-copy handoff: libarchive may keep a read buffer until its
 * next read, and the stream's buffer is only valid during the call); end() (called only after
 * the component's plaintext hash matched) signals the end and joins the thread. A failed
 * stream aborts the thread (vf_bm_scanner_abort); its findings are then thrown away by the
 * caller with the rest of the report.
 *
 * The scanning thread reads a tar component (or a raw component that is an archive: an OCI or
 * docker-save image archive, a gzip'd chart) through libarchive, entry by entry; archives
 * inside (image layers) are read as nested streams. Each other entry is held in memory up to
 * max_entry_size and given to the scan engine (vf_scan_buffer), with its location
 * "MEDIA!type/name!entry"; larger binaries (model weights) go through the windowed binary
 * scan. YAML of chart/files/policy/software components and the manifests of images
 * components also go to the closure collector. Caps (entries, bytes, depth) are the rules'
 * max_archive_*; hitting one, or a damaged archive, is a scan.incomplete finding.
 *
 * A tar component also goes, buffer by buffer and before the scanner sees it, through the
 * extraction rules of exai-update apply (exai/tarcheck.h, the same pass, no bytes written,
 * the manifest's limits and max_unpack_ratio): a refusal stops the stream, and the caller
 * reports it as a verification failure naming the entry. Entry data is read as its stored
 * blocks (archive_read_data_block): sparse holes are never expanded to be scanned.
 */
#include <archive.h>
#include <archive_entry.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "exai/tarcheck.h"

#define PEEK  512
#define CHUNK (256u << 10)

/* The handoff between the stream (producer) and the scanning thread (consumer). */
enum hstate { H_EMPTY, H_OFFERED, H_TAKEN };

struct vf_bm_scanner {
	vf_scan *s;
	vf_closure *cl;
	char *media;
	uint64_t window;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *buf;
	size_t len;
	enum hstate st;
	bool eof, abort, done, running, failed;
	pthread_t tid;
	const exai_component *comp;
	uint64_t components;
	/* the extraction rules' pass over the tar component in progress */
	uint64_t max_ratio;
	exai_tarwalk *walk;
	bool refused;
	exai_error refusal;
	/* consumer side: the rest of the buffer last taken */
	const uint8_t *cur;
	size_t curlen;
};

typedef struct budget {
	uint64_t bytes, entries;
	bool exhausted, reported;
} budget;

typedef struct ctx {
	vf_bm_scanner *sc;
	vf_scan *s;
	const exai_component *comp;
	budget bud;
} ctx;

/* ---- the handoff ---- */

/* Consumer: the next buffer of the component; 0 at its end, -1 when aborted. */
static long pull(vf_bm_scanner *sc, const uint8_t **out)
{
	long r;

	pthread_mutex_lock(&sc->mu);
	if (sc->st == H_TAKEN) {
		sc->st = H_EMPTY;
		pthread_cond_broadcast(&sc->cv);
	}
	while (sc->st != H_OFFERED && !sc->eof && !sc->abort)
		pthread_cond_wait(&sc->cv, &sc->mu);
	if (sc->abort) {
		r = -1;
	} else if (sc->st == H_OFFERED) {
		sc->st = H_TAKEN;
		*out = sc->buf;
		r = (long)sc->len;
	} else {
		r = 0;
	}
	pthread_mutex_unlock(&sc->mu);
	return r;
}

/* Consumer: copies up to @cap bytes of the stream. */
static long stream_read(void *arg, uint8_t *dst, size_t cap)
{
	vf_bm_scanner *sc = arg;

	if (sc->curlen == 0) {
		long r = pull(sc, &sc->cur);
		if (r <= 0)
			return r;
		sc->curlen = (size_t)r;
	}
	if (cap > sc->curlen)
		cap = sc->curlen;
	memcpy(dst, sc->cur, cap);
	sc->cur += cap;
	sc->curlen -= cap;
	return (long)cap;
}

static long stream_read_full(vf_bm_scanner *sc, uint8_t *dst, size_t want)
{
	size_t got = 0;

	while (got < want) {
		long r = stream_read(sc, dst + got, want - got);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (long)got;
}

/* ---- entries ---- */

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

static bool is_yaml(const char *base)
{
	size_t l = strlen(base);

	return (l > 5 && !strcmp(base + l - 5, ".yaml")) ||
	       (l > 4 && !strcmp(base + l - 4, ".yml"));
}

static bool wants_yaml(const exai_component *c)
{
	return c->type == EXAI_C_CHART || c->type == EXAI_C_FILES || c->type == EXAI_C_POLICY ||
	       c->type == EXAI_C_SOFTWARE;
}

/* An entry's data as its stored blocks, in order: holes of a sparse entry are skipped, never
 * filled with the zeros they would read back as. */
typedef struct arc_src {
	struct archive *a;
	budget *bud;
	const uint8_t *blk; /* the rest of the last block */
	size_t left;
	bool end;
} arc_src;

static long arc_read(void *arg, uint8_t *dst, size_t cap)
{
	arc_src *as = arg;
	size_t k;

	while (as->left == 0) {
		const void *b;
		size_t n;
		la_int64_t off;
		int r;
		if (as->end)
			return 0;
		r = archive_read_data_block(as->a, &b, &n, &off);
		if (r == ARCHIVE_EOF) {
			as->end = true;
			return 0;
		}
		if (r < ARCHIVE_WARN)
			return -1;
		as->blk = b;
		as->left = n;
	}
	k = cap < as->left ? cap : as->left;
	memcpy(dst, as->blk, k);
	as->blk += k;
	as->left -= k;
	as->bud->bytes += k;
	return (long)k;
}

/* A blob held whole (at most max_entry_size): closure hooks, then the engine. @archive and
 * @name locate it for the closure of images components (NULL for a raw component). */
static void scan_held(ctx *c, vf_buf *b, const char *archive, const char *name)
{
	if (wants_yaml(c->comp) && is_yaml(b->base) && !memchr(b->p, '\0', b->n))
		vf_closure_yaml(c->sc->cl, c->s, b);
	if (c->comp->type == EXAI_C_IMAGES && archive && vf_closure_wants(name))
		vf_closure_image_file(c->sc->cl, c->s, archive, name, b->p, b->n);
	vf_scan_buffer(c->s, b);
}

/* Reads a blob of @size bytes (@head first) from @src and scans it. */
static void scan_blob(ctx *c, vf_buf *b, const uint8_t *head, size_t hl, const vf_bm_src *src,
		      uint64_t size, const char *archive, const char *name)
{
	const vf_settings *set = &c->s->rules->set;
	uint8_t *buf = NULL;
	size_t len = hl, cap;

	if (size > set->max_entry_size) {
		vf_bm_scan_windows(c->s, b, head, hl, src, size, c->sc->window);
		return;
	}
	cap = (size_t)size + 1 > hl + 1 ? (size_t)size + 1 : hl + 1;
	if (!(buf = malloc(cap)))
		return fail_oom(c->s);
	memcpy(buf, head, hl);
	for (;;) {
		long r;
		if (len == cap) { /* longer than announced: hostile or damaged */
			vf_scan_incomplete(c->s, b, len, "entry longer than its header says");
			goto out;
		}
		if ((r = src->read(src->arg, buf + len, cap - len)) < 0) {
			vf_scan_incomplete(c->s, b, len, "entry not read to its end");
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	b->p = buf;
	b->n = len;
	scan_held(c, b, archive, name);
out:
	free(buf);
}

static void scan_archive(ctx *c, struct archive *a, const vf_buf *parent);

typedef struct nested_src {
	arc_src *parent; /* the entry holding this archive */
	const uint8_t *head;
	size_t head_len;
	bool head_done;
	uint8_t *chunk;
	budget *bud;
	uint64_t max_bytes;
} nested_src;

static la_ssize_t nested_read(struct archive *a, void *client, const void **buf)
{
	nested_src *ns = client;
	la_ssize_t got;

	if (!ns->head_done) {
		ns->head_done = true;
		*buf = ns->head;
		return (la_ssize_t)ns->head_len;
	}
	got = arc_read(ns->parent, ns->chunk, CHUNK);
	if (got > 0 && ns->bud->bytes > ns->max_bytes) {
		ns->bud->exhausted = true;
		archive_set_error(a, -1, "over max_archive_bytes");
		return -1;
	}
	*buf = ns->chunk;
	return got;
}

static void scan_nested(ctx *c, arc_src *parent, const vf_buf *eb, const uint8_t *head, size_t hl)
{
	nested_src ns = {.parent = parent,
			 .head = head,
			 .head_len = hl,
			 .bud = &c->bud,
			 .max_bytes = c->s->rules->set.max_archive_bytes};
	struct archive *a = vf_archive_reader_new();
	char what[512];

	ns.chunk = malloc(CHUNK);
	if (!a || !ns.chunk) {
		fail_oom(c->s);
	} else if (archive_read_open(a, &ns, NULL, nested_read, NULL) != ARCHIVE_OK) {
		snprintf(what, sizeof(what), "archive not read: %.400s", archive_error_string(a));
		vf_scan_incomplete(c->s, eb, 0, what);
	} else {
		__atomic_add_fetch(&c->s->files, 1, __ATOMIC_RELAXED);
		scan_archive(c, a, eb);
	}
	if (a)
		archive_read_free(a);
	free(ns.chunk);
}

static void scan_entry(ctx *c, struct archive *a, struct archive_entry *ent, const vf_buf *parent)
{
	const vf_settings *set = &c->s->rules->set;
	const char *name = archive_entry_pathname(ent);
	vf_buf eb = {.depth = parent->depth + 1};
	arc_src as = {.a = a, .bud = &c->bud};
	vf_bm_src src = {.read = arc_read, .arg = &as};
	uint8_t head[PEEK];
	size_t hl = 0;
	char *path, *rel;

	if (!name || !*name)
		name = "?";
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	path = join_bang(parent->path, name);
	rel = join_bang(parent->rel, name);
	if (!path || !rel) {
		fail_oom(c->s);
		goto out;
	}
	eb.path = path;
	eb.rel = rel;
	eb.base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	while (hl < sizeof(head)) {
		long r = arc_read(&as, head + hl, sizeof(head) - hl);
		if (r < 0) {
			char what[512];
			snprintf(what, sizeof(what), "entry not read: %.400s",
				 archive_error_string(a));
			vf_scan_incomplete(c->s, &eb, 0, what);
			goto out;
		}
		if (r == 0)
			break;
		hl += (size_t)r;
	}
	if (c->comp->type == EXAI_C_IMAGES && vf_closure_wants(name) && vf_is_archive(head, hl))
		vf_closure_image_file(c->sc->cl, c->s, parent->path, name, NULL, 0); /* a layer */
	if (vf_is_archive(head, hl)) {
		if (eb.depth >= set->max_archive_depth)
			vf_scan_incomplete(c->s, &eb, 0,
					   "archive nested deeper than max_archive_depth");
		else
			scan_nested(c, &as, &eb, head, hl);
		goto out;
	}
	scan_blob(c, &eb, head, hl, &src,
		  archive_entry_size_is_set(ent) ? (uint64_t)archive_entry_size(ent) : hl,
		  parent->path, name);
out:
	free(path);
	free(rel);
}

static void scan_archive(ctx *c, struct archive *a, const vf_buf *parent)
{
	const vf_settings *set = &c->s->rules->set;
	struct archive_entry *ent;
	char what[512];
	int r;

	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (c->s->fatal || c->bud.exhausted)
			break;
		if (++c->bud.entries > set->max_archive_entries) {
			c->bud.exhausted = true;
			break;
		}
		if (archive_entry_filetype(ent) != AE_IFREG || archive_entry_hardlink(ent))
			continue;
		scan_entry(c, a, ent, parent);
	}
	if (c->bud.exhausted) {
		if (!c->bud.reported)
			vf_scan_incomplete(c->s, parent, 0,
					   "archive not fully scanned: over max_archive_bytes or "
					   "max_archive_entries");
		c->bud.reported = true;
	} else if (r != ARCHIVE_EOF && !c->s->fatal) {
		snprintf(what, sizeof(what), "archive damaged: %.400s", archive_error_string(a));
		vf_scan_incomplete(c->s, parent, 0, what);
	}
}

/* ---- one component, on the scanning thread ---- */

typedef struct top_src {
	vf_bm_scanner *sc;
	const uint8_t *head;
	size_t head_len;
	bool head_done;
} top_src;

static la_ssize_t top_read(struct archive *a, void *client, const void **buf)
{
	top_src *ts = client;
	vf_bm_scanner *sc = ts->sc;
	long r;

	if (!ts->head_done) {
		ts->head_done = true;
		*buf = ts->head;
		return (la_ssize_t)ts->head_len;
	}
	if (sc->curlen) { /* what the head did not use of the last buffer */
		*buf = sc->cur;
		r = (long)sc->curlen;
		sc->curlen = 0;
		return r;
	}
	if ((r = pull(sc, (const uint8_t **)buf)) < 0) {
		archive_set_error(a, -1, "stream aborted");
		return -1;
	}
	return r;
}

static void scan_component(vf_bm_scanner *sc, const exai_component *comp)
{
	ctx c = {.sc = sc, .s = sc->s, .comp = comp};
	char rel[EXAI_NAME_MAX + 32], *path;
	const char *base =
	    strrchr(comp->target, '/') ? strrchr(comp->target, '/') + 1 : comp->target;
	uint8_t head[PEEK];
	long hl;
	vf_buf b = {0};

	snprintf(rel, sizeof(rel), "%s/%s", exai_ctype_name(comp->type), comp->name);
	if (!(path = join_bang(sc->media, rel)))
		return fail_oom(sc->s);
	b.path = path;
	b.rel = rel;
	b.base = base;
	if ((hl = stream_read_full(sc, head, sizeof(head))) < 0)
		goto out;
	if (comp->encoding == EXAI_CENC_TAR || vf_is_archive(head, (size_t)hl)) {
		top_src ts = {.sc = sc, .head = head, .head_len = (size_t)hl};
		struct archive *a = vf_archive_reader_new();
		char what[512];
		if (!a) {
			fail_oom(sc->s);
			goto out;
		}
		if (archive_read_open(a, &ts, NULL, top_read, NULL) != ARCHIVE_OK) {
			snprintf(what, sizeof(what), "archive not read: %.400s",
				 archive_error_string(a));
			vf_scan_incomplete(sc->s, &b, 0, what);
		} else {
			__atomic_add_fetch(&sc->s->files, 1, __ATOMIC_RELAXED);
			scan_archive(&c, a, &b);
		}
		archive_read_free(a);
	} else {
		vf_bm_src src = {.read = stream_read, .arg = sc};
		scan_blob(&c, &b, head, (size_t)hl, &src, comp->size, NULL, NULL);
	}
out:
	free(path);
}

static void *scan_main(void *arg)
{
	vf_bm_scanner *sc = arg;

	scan_component(sc, sc->comp);
	pthread_mutex_lock(&sc->mu);
	sc->done = true;
	sc->st = H_EMPTY;
	pthread_cond_broadcast(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
	return NULL;
}

/* ---- the sink (stream side) ---- */

/* A refusal of the extraction rules: kept for the report, and the stream's error. */
static exai_status refuse(vf_bm_scanner *sc, const exai_component *c, exai_error *e)
{
	exai_error_prefix(e, "%s/%s", exai_ctype_name(c->type), c->name);
	sc->refused = true;
	sc->refusal = *e;
	return e->code;
}

static exai_status sink_begin(void *arg, const exai_component *c, exai_error *e)
{
	vf_bm_scanner *sc = arg;

	sc->comp = c;
	sc->st = H_EMPTY;
	sc->eof = sc->abort = sc->done = false;
	sc->cur = NULL;
	sc->curlen = 0;
	if (c->encoding == EXAI_CENC_TAR) {
		exai_tar_limits lim = exai_tar_limits_of(c, sc->max_ratio);
		if (exai_tarwalk_start(&lim, NULL, NULL, &sc->walk, e)) {
			sc->failed = true;
			return e->code;
		}
	}
	if (pthread_create(&sc->tid, NULL, scan_main, sc) != 0) {
		sc->failed = true;
		return exai_error_set(e, EXAI_ENOMEM, "cannot start the scanning thread");
	}
	sc->running = true;
	return EXAI_OK;
}

static exai_status sink_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			     exai_error *e)
{
	vf_bm_scanner *sc = arg;

	/* The rules see the bytes first: the scanner never reads past a refused entry. */
	if (sc->walk && exai_tarwalk_feed(sc->walk, buf, len, e))
		return refuse(sc, c, e);
	pthread_mutex_lock(&sc->mu);
	if (!sc->done) {
		sc->buf = buf;
		sc->len = len;
		sc->st = H_OFFERED;
		pthread_cond_broadcast(&sc->cv);
		while (sc->st != H_EMPTY && !sc->done)
			pthread_cond_wait(&sc->cv, &sc->mu);
	}
	pthread_mutex_unlock(&sc->mu);
	return EXAI_OK;
}

static void stop(vf_bm_scanner *sc, bool abort)
{
	if (abort) {
		exai_tarwalk_abort(sc->walk);
		sc->walk = NULL;
	}
	if (!sc->running)
		return;
	pthread_mutex_lock(&sc->mu);
	if (abort)
		sc->abort = true;
	sc->eof = true;
	pthread_cond_broadcast(&sc->cv);
	pthread_mutex_unlock(&sc->mu);
	pthread_join(sc->tid, NULL);
	sc->running = false;
}

static exai_status sink_end(void *arg, const exai_component *c, exai_error *e)
{
	vf_bm_scanner *sc = arg;
	exai_tarwalk *w = sc->walk;

	sc->walk = NULL;
	if (w && exai_tarwalk_finish(w, e)) {
		stop(sc, true);
		return refuse(sc, c, e);
	}
	stop(sc, false);
	sc->components++;
	if (sc->s->fatal) {
		sc->failed = true;
		return exai_error_set(e, sc->s->fatal, "scan: %s", sc->s->fatal_err.msg);
	}
	return EXAI_OK;
}

exai_status vf_bm_scanner_new(vf_scan *s, vf_closure *cl, const char *media, uint64_t window,
			      uint64_t max_ratio, vf_bm_scanner **out, exai_error *e)
{
	vf_bm_scanner *sc = calloc(1, sizeof(*sc));

	if (!sc || !(sc->media = strdup(media))) {
		free(sc);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	sc->s = s;
	sc->cl = cl;
	sc->window = window;
	sc->max_ratio = max_ratio;
	pthread_mutex_init(&sc->mu, NULL);
	pthread_cond_init(&sc->cv, NULL);
	*out = sc;
	return EXAI_OK;
}

void vf_bm_scanner_sink(vf_bm_scanner *sc, exai_sink *out)
{
	/* Every field set (own_thread false: the scanner hands data to its own thread already). */
	*out = (exai_sink){.begin = sink_begin, .data = sink_data, .end = sink_end, .arg = sc};
}

void vf_bm_scanner_abort(vf_bm_scanner *sc)
{
	if (sc)
		stop(sc, true);
}

bool vf_bm_scanner_failed(const vf_bm_scanner *sc)
{
	return sc->failed;
}

const exai_error *vf_bm_scanner_refusal(const vf_bm_scanner *sc)
{
	return sc->refused ? &sc->refusal : NULL;
}

uint64_t vf_bm_scanner_components(const vf_bm_scanner *sc)
{
	return sc->components;
}

void vf_bm_scanner_free(vf_bm_scanner *sc)
{
	if (!sc)
		return;
	stop(sc, true);
	pthread_mutex_destroy(&sc->mu);
	pthread_cond_destroy(&sc->cv);
	free(sc->media);
	free(sc);
}
