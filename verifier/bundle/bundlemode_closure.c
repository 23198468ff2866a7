/*
 * bundlemode_closure: every image a bundle's chart and manifests reference must be in the
 * bundle's images components, by digest.
 *
 * References: every mapping key `image` of the YAML in chart, files, policy and software
 * components (templates and values included), either a reference or a values-style map
 * {registry, repository, tag, digest}. YAML that does not parse (Helm templates) is read line
 * by line for `image:` keys instead. Both come from the image-reference extractor
 * (scan_imageref.c); a walk it cut short is a scan.incomplete finding. Values with template syntax
 * ({{ }}) are counted, not judged: the values they come from are.
 *
 * Images: in images components, at any archive depth, an OCI layout (index.json and
 * blobs/sha256/, at the archive's root or in a directory of it) or a `docker save` archive
 * (manifest.json; recent docker writes an OCI index.json too). An image is present by digest
 * when a layout's index.json lists the digest (directly, or through a nested image index
 * blob), the blob with that name is in the same layout and hashes to it, and every blob its
 * manifest names (config and layers) is there too. Layers are checked for presence, not
 * re-hashed: the bundle's signature already covers their bytes. `docker save` RepoTags (and
 * OCI ref-name annotations) are only names: they can satisfy nothing by digest.
 *
 * Findings: bundle.closure.missing-image for a digest no image archive holds (completely);
 * bundle.closure.unpinned-image for a reference with no digest (closure cannot be proven).
 * Bounded: references, layout files, image names and kept JSON bytes are capped; over a cap
 * the check is a scan.incomplete finding, never a silent pass. Not thread-safe: one scanning
 * thread.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "exai/grow.h"
#include "exai/hash.h"
#include "exai/yaml.h"
#include "scan_imageref.h"

#define MAX_REFS       65536
#define MAX_FILES      262144
#define MAX_NAMES      65536	   /* image names (RepoTags, ref-name annotations) */
#define MAX_JSON       (4u << 20)  /* one index.json / manifest / index blob kept */
#define MAX_JSON_TOTAL (64u << 20) /* all of them */
#define MAX_YAML_PARSE (4u << 20)  /* larger YAML: line by line only */
#define INDEX_DEPTH    4

typedef struct img_ref {
	char *ref, *path, *rel;
	uint64_t line, col;
} img_ref;

enum lkind { L_INDEX, L_DOCKER, L_BLOB };

typedef struct lfile {
	enum lkind kind;
	char *archive, *dir; /* display path of the archive; layout root inside it */
	char hex[EXAI_SHA256_HEX];
	bool hashed, verified;
	char *json; /* index.json, manifest.json, small JSON blobs */
	size_t jlen;
} lfile;

struct vf_closure {
	img_ref *refs;
	size_t nrefs, caprefs;
	lfile *files;
	size_t nfiles, capfiles;
	uint64_t json_total, templated;
	bool truncated;
};

/* An image found by digest in some layout. */
typedef struct img {
	char hex[EXAI_SHA256_HEX];
	const lfile *at;
	char problem[256]; /* empty: complete */
} img;

typedef struct imgs {
	img *v;
	size_t n, cap;
	bool oom;
} imgs;

exai_status vf_closure_new(vf_closure **out, exai_error *e)
{
	if (!(*out = calloc(1, sizeof(**out))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

void vf_closure_free(vf_closure *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrefs; i++) {
		free(c->refs[i].ref);
		free(c->refs[i].path);
		free(c->refs[i].rel);
	}
	for (size_t i = 0; i < c->nfiles; i++) {
		free(c->files[i].archive);
		free(c->files[i].dir);
		free(c->files[i].json);
	}
	free(c->refs);
	free(c->files);
	free(c);
}

static void oom(vf_scan *s)
{
	exai_error e;

	exai_error_set(&e, EXAI_ENOMEM, "out of memory");
	vf_scan_fail(s, &e);
}

/* ---- references ---- */

static void add_ref(vf_closure *c, vf_scan *s, const vf_buf *b, const char *ref, uint64_t line,
		    uint64_t col)
{
	img_ref *r;
	exai_error e;

	if (!*ref)
		return;
	if (vf_imageref_templated(ref)) {
		c->templated++;
		return;
	}
	if (c->nrefs == MAX_REFS) {
		c->truncated = true;
		return;
	}
	if (EXAI_GROW(&c->refs, &c->caprefs, c->nrefs, 1, MAX_REFS, &e)) {
		exai_error_prefix(&e, "image references");
		return vf_scan_fail(s, &e);
	}
	r = &c->refs[c->nrefs];
	r->ref = strdup(ref);
	r->path = strdup(b->path);
	r->rel = strdup(b->rel);
	r->line = line;
	r->col = col;
	if (!r->ref || !r->path || !r->rel) {
		free(r->ref);
		free(r->path);
		free(r->rel);
		return oom(s);
	}
	c->nrefs++;
}

/* The extractor's callback (scan_imageref.c): `image: REF`, `image: {repository: ...}` (also
 * one whose repository is a URL) and `image:` lines count; other values-style maps are scan
 * mode's business. */
typedef struct ywalk {
	vf_closure *c;
	vf_scan *s;
	const vf_buf *b;
	vf_iref_walk w;
} ywalk;

static void on_ref(void *arg, const vf_iref *r)
{
	ywalk *yw = arg;

	if (r->kind != VF_IREF_VALUES_MAP)
		add_ref(yw->c, yw->s, yw->b, r->ref, r->line, r->col);
}

static exai_status on_doc(exai_yaml *y, void *arg, exai_error *e)
{
	ywalk *yw = arg;

	(void)e;
	vf_imageref_walk(&yw->w, y, exai_yaml_root(y));
	return EXAI_OK;
}

void vf_closure_yaml(vf_closure *c, vf_scan *s, const vf_buf *b)
{
	size_t before = c->nrefs;
	uint64_t tbefore = c->templated;
	ywalk yw = {.c = c, .s = s, .b = b};
	exai_error e;

	if (!memmem(b->p, b->n, "image", 5))
		return;
	vf_imageref_init(&yw.w, on_ref, &yw);
	if (b->n <= MAX_YAML_PARSE &&
	    exai_yaml_each_doc(b->path, b->p, b->n, on_doc, &yw, &e) == 0) {
		if (yw.w.incomplete)
			vf_scan_incomplete(
			    s, b, 0,
			    "image references not all read: the YAML nests too deep or "
			    "has too many nodes (aliases); closure is not proven");
		return;
	}
	/* Did not parse (or too large): start again for this file, line by line. */
	for (size_t i = before; i < c->nrefs; i++) {
		free(c->refs[i].ref);
		free(c->refs[i].path);
		free(c->refs[i].rel);
	}
	c->nrefs = before;
	c->templated = tbefore;
	vf_imageref_lines(&yw.w, b->p, b->n);
}

/* ---- image archives ---- */

static bool is_hex64(const char *h)
{
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)h[i]) || isupper((unsigned char)h[i]))
			return false;
	return h[64] == '\0';
}

/* Splits "DIR/blobs/sha256/HEX", "DIR/index.json", "DIR/manifest.json" (DIR may be empty). */
static bool classify(const char *name, enum lkind *kind, size_t *dirlen, const char **hex)
{
	const char *sl = strrchr(name, '/'), *base = sl ? sl + 1 : name;
	size_t bl = (size_t)(base - name);

	*dirlen = bl ? bl - 1 : 0;
	if (!strcmp(base, "index.json") || !strcmp(base, "manifest.json")) {
		*kind = base[0] == 'i' ? L_INDEX : L_DOCKER;
		return true;
	}
	if (!is_hex64(base) || bl < 13 || memcmp(base - 13, "blobs/sha256/", 13) != 0)
		return false;
	*kind = L_BLOB;
	*hex = base;
	*dirlen = bl - 13 ? bl - 14 : 0;
	return true;
}

bool vf_closure_wants(const char *name)
{
	enum lkind k;
	size_t dl;
	const char *hex;

	return classify(name, &k, &dl, &hex);
}

static bool looks_like_index_or_manifest(const uint8_t *p, size_t n)
{
	return n && n <= MAX_JSON && p[0] == '{' &&
	       (memmem(p, n, "\"manifests\"", 11) || memmem(p, n, "\"layers\"", 8));
}

void vf_closure_image_file(vf_closure *c, vf_scan *s, const char *archive, const char *name,
			   const uint8_t *p, size_t n)
{
	enum lkind kind;
	size_t dl;
	const char *hex = NULL;
	lfile *f;
	bool keep;
	exai_error e;

	if (!classify(name, &kind, &dl, &hex))
		return;
	if (c->nfiles == MAX_FILES) {
		c->truncated = true;
		return;
	}
	if (EXAI_GROW(&c->files, &c->capfiles, c->nfiles, 1, MAX_FILES, &e)) {
		exai_error_prefix(&e, "image archive files");
		return vf_scan_fail(s, &e);
	}
	f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	if (hex)
		memcpy(f->hex, hex, 65);
	if (kind == L_BLOB && p) {
		uint8_t md[EXAI_SHA256_LEN];
		char mh[EXAI_SHA256_HEX];
		if (exai_sha256_buf(p, n, md, &e))
			return vf_scan_fail(s, &e);
		exai_hex_encode(md, sizeof(md), mh);
		f->hashed = true;
		f->verified = !strcmp(mh, hex);
	}
	keep = p && (kind != L_BLOB || looks_like_index_or_manifest(p, n));
	if (keep && (n > MAX_JSON || c->json_total + n > MAX_JSON_TOTAL)) {
		c->truncated = true;
		keep = false;
	}
	f->archive = strdup(archive);
	f->dir = strndup(name, dl);
	if (keep && (f->json = malloc(n + 1))) {
		memcpy(f->json, p, n);
		f->json[n] = '\0';
		f->jlen = n;
		c->json_total += n;
	}
	if (!f->archive || !f->dir || (keep && !f->json)) {
		free(f->archive);
		free(f->dir);
		free(f->json);
		return oom(s);
	}
	c->nfiles++;
}

/* ---- resolution ----
 *
 * Done once, after the stream: kept JSON is parsed once; blobs, images and names are sorted
 * and looked up by binary search; the walk through image indexes has a step budget (an index
 * may list the same index a thousand times). Over the budget: a scan.incomplete finding.
 */

#define RESOLVE_BUDGET 50000

typedef struct name_ent {
	char *name;
	const lfile *at;
} name_ent;

typedef struct resolver {
	const vf_closure *c;
	json_t **docs;	     /* per file: its JSON, parsed, or NULL */
	const lfile **blobs; /* by hex, archive, dir */
	size_t nblobs;
	const lfile **roots; /* distinct layouts (archive, dir) with index.json or manifest.json */
	size_t nroots;
	name_ent *names; /* by name */
	size_t nnames, capnames;
	imgs is; /* by hex after resolve_all */
	size_t budget;
	bool oom, truncated;
} resolver;

static int loc_cmp(const lfile *a, const lfile *b)
{
	int c = strcmp(a->archive, b->archive);

	return c ? c : strcmp(a->dir, b->dir);
}

static int blob_cmp(const void *x, const void *y)
{
	const lfile *a = *(const lfile *const *)x, *b = *(const lfile *const *)y;
	int c = strcmp(a->hex, b->hex);

	return c ? c : loc_cmp(a, b);
}

static int root_cmp(const void *x, const void *y)
{
	return loc_cmp(*(const lfile *const *)x, *(const lfile *const *)y);
}

static int name_cmp(const void *x, const void *y)
{
	return strcmp(((const name_ent *)x)->name, ((const name_ent *)y)->name);
}

static int img_cmp(const void *x, const void *y)
{
	const img *a = x, *b = y;
	int c = strcmp(a->hex, b->hex);

	return c ? c : (a->problem[0] != 0) - (b->problem[0] != 0); /* complete first */
}

static const lfile *find_blob(const resolver *rv, const lfile *layout, const char *hex)
{
	lfile key = {.archive = layout->archive, .dir = layout->dir};
	const lfile *kp = &key, **hit;

	memcpy(key.hex, hex, 65);
	hit = bsearch(&kp, rv->blobs, rv->nblobs, sizeof(*rv->blobs), blob_cmp);
	return hit ? *hit : NULL;
}

static json_t *doc_of(const resolver *rv, const lfile *f)
{
	return rv->docs[f - rv->c->files];
}

/* "sha256:HEX" -> HEX, or NULL. */
static const char *digest_hex(const char *d)
{
	return d && !strncmp(d, "sha256:", 7) && is_hex64(d + 7) ? d + 7 : NULL;
}

static void add_name(resolver *rv, json_t *v, const lfile *at)
{
	if (!json_is_string(v))
		return;
	/* Over the cap a name could be missed (the unpinned-image message would say no archive
	 * names it): the check is then incomplete, and says so. */
	if (rv->nnames == MAX_NAMES) {
		rv->truncated = true;
		return;
	}
	if (EXAI_GROW(&rv->names, &rv->capnames, rv->nnames, 1, MAX_NAMES, NULL)) {
		rv->oom = true;
		return;
	}
	if (!(rv->names[rv->nnames].name = strdup(json_string_value(v)))) {
		rv->oom = true;
		return;
	}
	rv->names[rv->nnames++].at = at;
}

/* Names images carry: docker RepoTags, OCI ref-name annotations of index.json. */
static void collect_names(resolver *rv, const lfile *f, json_t *j)
{
	json_t *v, *x;
	size_t k, t;

	if (f->kind == L_DOCKER) {
		json_array_foreach(j, k, v)
		{
			json_array_foreach(json_object_get(v, "RepoTags"), t, x) add_name(rv, x, f);
		}
		return;
	}
	json_array_foreach(json_object_get(j, "manifests"), k, v)
	{
		json_t *ann = json_object_get(v, "annotations");
		add_name(rv, json_object_get(ann, "io.containerd.image.name"), f);
		add_name(rv, json_object_get(ann, "org.opencontainers.image.ref.name"), f);
	}
}

static exai_status resolver_init(resolver *rv, const vf_closure *c, exai_error *e)
{
	size_t n = c->nfiles ? c->nfiles : 1;

	memset(rv, 0, sizeof(*rv));
	rv->c = c;
	rv->budget = RESOLVE_BUDGET;
	rv->docs = calloc(n, sizeof(*rv->docs));
	rv->blobs = calloc(n, sizeof(*rv->blobs));
	rv->roots = calloc(n, sizeof(*rv->roots));
	if (!rv->docs || !rv->blobs || !rv->roots)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nfiles && !rv->oom; i++) {
		const lfile *f = &c->files[i];
		if (f->json)
			rv->docs[i] = json_loadb(f->json, f->jlen, 0, NULL);
		if (f->kind == L_BLOB)
			rv->blobs[rv->nblobs++] = f;
		else
			rv->roots[rv->nroots++] = f;
		if (f->kind != L_BLOB && rv->docs[i])
			collect_names(rv, f, rv->docs[i]);
	}
	if (rv->oom)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	qsort(rv->blobs, rv->nblobs, sizeof(*rv->blobs), blob_cmp);
	qsort(rv->roots, rv->nroots, sizeof(*rv->roots), root_cmp);
	if (rv->nnames)
		qsort(rv->names, rv->nnames, sizeof(*rv->names), name_cmp);
	return EXAI_OK;
}

static void resolver_fini(resolver *rv)
{
	for (size_t i = 0; rv->docs && i < rv->c->nfiles; i++)
		json_decref(rv->docs[i]);
	for (size_t i = 0; i < rv->nnames; i++)
		free(rv->names[i].name);
	free(rv->docs);
	free(rv->blobs);
	free(rv->roots);
	free(rv->names);
	free(rv->is.v);
}

/* No cap of its own: resolve() spends a step of its RESOLVE_BUDGET before every add, so
 * there are never more than RESOLVE_BUDGET images. */
static img *imgs_add(imgs *is, const char *hex, const lfile *at)
{
	if (EXAI_GROW(&is->v, &is->cap, is->n, 1, EXAI_GROW_NOCAP, NULL)) {
		is->oom = true;
		return NULL;
	}
	memset(&is->v[is->n], 0, sizeof(*is->v));
	memcpy(is->v[is->n].hex, hex, 65);
	is->v[is->n].at = at;
	return &is->v[is->n++];
}

static bool spend(resolver *rv)
{
	if (rv->budget == 0) {
		rv->truncated = true;
		return false;
	}
	rv->budget--;
	return true;
}

/* Checks that every blob a manifest names is in the layout; "" when complete. */
static void check_manifest(resolver *rv, const lfile *layout, json_t *m, char *problem, size_t cap)
{
	json_t *layers = json_object_get(m, "layers"), *l;
	const char *ch =
	    digest_hex(json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
	size_t i;

	if (!ch || !json_is_array(layers)) {
		snprintf(problem, cap, "its manifest has no config digest or no layers");
		return;
	}
	if (!find_blob(rv, layout, ch)) {
		snprintf(problem, cap, "config blob sha256:%.12s… is missing", ch);
		return;
	}
	json_array_foreach(layers, i, l)
	{
		const char *lh = digest_hex(json_string_value(json_object_get(l, "digest")));
		if (!spend(rv))
			return;
		if (!lh || !find_blob(rv, layout, lh)) {
			snprintf(problem, cap, "layer %zu (%.80s) is missing", i,
				 lh ? lh : "bad digest");
			return;
		}
	}
}

/* Adds the image @hex of @layout, and what an image index lists under it. */
static void resolve(resolver *rv, const lfile *layout, const char *hex, unsigned depth)
{
	const lfile *blob = find_blob(rv, layout, hex);
	size_t at = rv->is.n, ok = 0, n = 0, i;
	json_t *j = blob ? doc_of(rv, blob) : NULL, *list, *m;
	char problem[256] = "";

	if (!spend(rv) || !imgs_add(&rv->is, hex, layout))
		return;
	if (!blob)
		snprintf(problem, sizeof(problem), "an index lists it but its blob is missing");
	else if (blob->hashed && !blob->verified)
		snprintf(problem, sizeof(problem), "its blob does not hash to its name");
	else if (!j)
		snprintf(problem, sizeof(problem), "its blob is not a manifest");
	if (problem[0])
		goto out;
	list = json_object_get(j, "manifests");
	if (!json_is_array(list)) {
		check_manifest(rv, layout, j, problem, sizeof(problem));
		goto out;
	}
	/* An image index: present when at least one image it lists is complete. */
	json_array_foreach(list, i, m)
	{
		const char *ch = digest_hex(json_string_value(json_object_get(m, "digest")));
		size_t before = rv->is.n;
		if (!ch || depth >= INDEX_DEPTH)
			continue;
		n++;
		resolve(rv, layout, ch, depth + 1);
		if (rv->is.n > before && !rv->is.v[before].problem[0])
			ok++;
	}
	if (ok == 0)
		snprintf(problem, sizeof(problem),
			 "none of the %zu images its index lists is complete", n);
out:
	memcpy(rv->is.v[at].problem, problem, sizeof(problem));
}

static void resolve_all(resolver *rv)
{
	for (size_t i = 0; i < rv->c->nfiles; i++) {
		const lfile *f = &rv->c->files[i];
		json_t *m;
		size_t k;
		if (f->kind != L_INDEX || !rv->docs[i])
			continue;
		json_array_foreach(json_object_get(rv->docs[i], "manifests"), k, m)
		{
			const char *h = digest_hex(json_string_value(json_object_get(m, "digest")));
			if (h)
				resolve(rv, f, h, 0);
		}
	}
	if (rv->is.n)
		qsort(rv->is.v, rv->is.n, sizeof(*rv->is.v), img_cmp);
}

/* The first image with digest @hex (a complete one if any), or NULL. */
static const img *find_img(const resolver *rv, const char *hex)
{
	size_t lo = 0, hi = rv->is.n;

	while (lo < hi) { /* lower bound */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(rv->is.v[mid].hex, hex) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rv->is.n && !strcmp(rv->is.v[lo].hex, hex) ? &rv->is.v[lo] : NULL;
}

static const lfile *named(const resolver *rv, const char *ref)
{
	name_ent key = {.name = (char *)ref}, *hit;

	hit = rv->nnames ? bsearch(&key, rv->names, rv->nnames, sizeof(key), name_cmp) : NULL;
	return hit ? hit->at : NULL;
}

/* "A, B, C (+M more)": the distinct image archives, into @buf. */
static void where_list(const resolver *rv, char *buf, size_t cap)
{
	size_t n = 0, used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rv->nroots; i++) {
		const lfile *f = rv->roots[i];
		if (i && !loc_cmp(rv->roots[i - 1], f))
			continue;
		if (++n <= 3 && used < cap)
			used +=
			    (size_t)snprintf(buf + used, cap - used, "%s%s%s%s", n > 1 ? ", " : "",
					     f->archive, f->dir[0] ? "!" : "", f->dir);
	}
	if (n > 3 && used < cap)
		snprintf(buf + used, cap - used, " (+%zu more)", n - 3);
	if (n == 0)
		snprintf(buf, cap,
			 "the bundle, which has no image archive (OCI layout or docker "
			 "save)");
}

static void add(vf_scan *s, const img_ref *r, const char *rule, vf_severity sev,
		const char *message, const char *hint, exai_status *rc, exai_error *e)
{
	vf_finding f = {.rule_id = rule,
			.severity = sev,
			.path = r->path,
			.line = r->line,
			.column = r->col,
			.evidence = r->ref,
			.message = message,
			.hint = hint};
	vf_suppression *sup = s->allow ? vf_scan_allow_match(s->allow, &f, r->rel) : NULL;

	if (sup) {
		f.suppressed = true;
		f.suppress_reason = sup->justification;
	}
	if (!*rc)
		*rc = vf_report_add(s->report, &f, e);
}

static void check_ref(const resolver *rv, vf_scan *s, const img_ref *r, const char *where,
		      exai_status *rc, exai_error *e)
{
	const char *at = strrchr(r->ref, '@'), *hex = at ? digest_hex(at + 1) : NULL;
	const img *im;
	char msg[2048], name[600];
	const lfile *nf;

	if (!at) {
		if ((nf = named(rv, r->ref)))
			snprintf(name, sizeof(name), "an image archive names it: %.300s%s%.200s",
				 nf->archive, nf->dir[0] ? "!" : "", nf->dir);
		else
			snprintf(name, sizeof(name), "no image archive names it");
		snprintf(msg, sizeof(msg),
			 "image referenced without a digest: the bundle's closure cannot be "
			 "checked for it (%s)",
			 name);
		add(s, r, VF_BM_RULE_UNPINNED, VF_SEV_MEDIUM, msg,
		    "reference the image by digest (name@sha256:...), as its manifest digest in "
		    "the bundle's image archive",
		    rc, e);
		return;
	}
	if (!hex) {
		add(s, r, VF_BM_RULE_MISSING, VF_SEV_HIGH,
		    "image digest is not sha256:<64 lower-case hex>: cannot be found in the bundle",
		    "fix the reference: name@sha256:<the manifest digest in the image archive>", rc,
		    e);
		return;
	}
	if ((im = find_img(rv, hex)) && !im->problem[0])
		return; /* present, complete */
	snprintf(name, sizeof(name), "%.*s", (int)(at - r->ref), r->ref);
	if (im)
		snprintf(msg, sizeof(msg),
			 "image %.300s is not complete in the bundle: manifest sha256:%s is in "
			 "%.300s%s%.200s, but %s",
			 name, hex, im->at->archive, im->at->dir[0] ? "!" : "", im->at->dir,
			 im->problem);
	else
		snprintf(
		    msg, sizeof(msg),
		    "image %.300s is not in the bundle: looked for manifest sha256:%s in %.600s",
		    name, hex, where);
	add(s, r, VF_BM_RULE_MISSING, VF_SEV_HIGH, msg,
	    "add the image (an OCI layout or docker save archive holding this manifest digest) to "
	    "an images component of the bundle, or reference an image it holds",
	    rc, e);
}

static exai_status notes(const vf_closure *c, const resolver *rv, vf_scan *s, const char *where,
			 exai_error *e)
{
	char note[1400];
	size_t pinned = 0, complete = 0;
	exai_status rc;

	for (size_t i = 0; i < c->nrefs; i++)
		pinned += strchr(c->refs[i].ref, '@') != NULL;
	for (size_t i = 0; i < rv->is.n; i++)
		complete += !rv->is.v[i].problem[0];
	snprintf(note, sizeof(note),
		 "closure: %zu image reference(s) (%zu by digest); %zu complete image(s) by digest "
		 "in %s",
		 c->nrefs, pinned, complete, where);
	if ((rc = vf_report_note(s->report, note, e)) || !c->templated)
		return rc;
	snprintf(note, sizeof(note),
		 "closure: %llu templated image reference(s) ({{ }}) not judged; the values they "
		 "come from are",
		 (unsigned long long)c->templated);
	return vf_report_note(s->report, note, e);
}

exai_status vf_closure_check(vf_closure *c, vf_scan *s, exai_error *e)
{
	resolver rv;
	char where[1024];
	exai_status rc;

	if ((rc = resolver_init(&rv, c, e)))
		goto out;
	resolve_all(&rv);
	if (rv.is.oom) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	where_list(&rv, where, sizeof(where));
	for (size_t i = 0; i < c->nrefs && !rc; i++)
		check_ref(&rv, s, &c->refs[i], where, &rc, e);
	if (!rc)
		rc = notes(c, &rv, s, where, e);
	if (!rc && (c->truncated || rv.truncated)) {
		const vf_rule *inc = vf_rules_for(s->rules, VF_CHK_INCOMPLETE);
		vf_finding f = {.rule_id = inc ? inc->id : "scan.incomplete",
				.severity = inc ? inc->sev : VF_SEV_MEDIUM,
				.evidence = "closure: over the caps on image references, image "
					    "archive files, image names or image index entries",
				.message = "the image closure check is not complete",
				.hint = "split the bundle, or flatten its image indexes"};
		rc = vf_report_add(s->report, &f, e);
	}
out:
	resolver_fini(&rv);
	return rc;
}
