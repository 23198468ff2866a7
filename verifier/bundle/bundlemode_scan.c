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
 * docker-save image archive, a gzip'd chart) with the archive walker (scan_walker.h), entry
 * by entry; archives inside (image layers) are read as nested streams. Each other entry is held in
 * memory up to max_entry_size and given to the scan engine (vf_scan_buffer), with its location
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "exai/tarcheck.h"
#include "scan_walker.h"
#include "scan_walk.h"

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

typedef struct ctx {
	vf_bm_scanner *sc;
	vf_scan *s;
	const exai_component *comp;
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

/* The walker's callbacks: an entry that is not a stream archive, and one that is. */
static void on_entry(void *arg, vf_walker *w, vf_walk_entry *e)
{
	vf_bm_src src = {.read = vf_walk_read, .arg = e->src};

	(void)w;
	scan_blob(arg, e->b, e->head, e->hl, &src, e->size, e->archive, e->name);
}

static void on_nested(void *arg, vf_walker *w, const vf_walk_entry *e)
{
	ctx *c = arg;

	(void)w;
	if (c->comp->type == EXAI_C_IMAGES && vf_closure_wants(e->name))
		vf_closure_image_file(c->sc->cl, c->s, e->archive, e->name, NULL, 0); /* a layer */
}

/* ---- one component, on the scanning thread ---- */

/* The walker's top-level input: what the head did not use of the last buffer, then the
 * stream. */
static long top_pull(void *arg, const uint8_t **buf)
{
	vf_bm_scanner *sc = arg;
	long r;

	if (sc->curlen) {
		*buf = sc->cur;
		r = (long)sc->curlen;
		sc->curlen = 0;
		return r;
	}
	return pull(sc, buf);
}

static void scan_component(vf_bm_scanner *sc, const exai_component *comp)
{
	ctx c = {.sc = sc, .s = sc->s, .comp = comp};
	vf_walk_ops ops = {.entry = on_entry, .nested = on_nested, .arg = &c};
	char rel[EXAI_NAME_MAX + 32], *path;
	const char *base =
	    strrchr(comp->target, '/') ? strrchr(comp->target, '/') + 1 : comp->target;
	uint8_t head[VF_WALK_PEEK];
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
		vf_walker w;
		vf_walker_init(&w, sc->s, &ops);
		vf_walk_stream(&w, &b, head, (size_t)hl, top_pull, sc);
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
