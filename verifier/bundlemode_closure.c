/*
 * bundlemode_closure: every image a bundle's chart and manifests reference must be in the
 * bundle's images components, by digest.
 *
 * References: every mapping key `image` of the YAML in chart, files, policy and software
 * components (templates and values included), either a reference or a values-style map
 * {registry, repository, tag, digest}. YAML that does not parse (Helm templates) is read line
 * by line for `image:` keys instead. Values with template syntax ({{ }}) are counted, not
 * judged: the values they come from are.
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
 * Bounded: references, layout files and kept JSON bytes are capped; over a cap the check is
 * a scan.incomplete finding, never a silent pass. Not thread-safe: one scanning thread.
 */
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "exai/hash.h"
#include "exai/yaml.h"

#define MAX_REFS       65536
#define MAX_FILES      262144
#define MAX_JSON       (4u << 20)  /* one index.json / manifest / index blob kept */
#define MAX_JSON_TOTAL (64u << 20) /* all of them */
#define MAX_YAML_PARSE (4u << 20)  /* larger YAML: line by line only */
#define WALK_DEPTH     64
#define WALK_BUDGET    200000
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

static bool templated(const char *v)
{
	return strstr(v, "{{") || strchr(v, '$');
}

static void add_ref(vf_closure *c, vf_scan *s, const vf_buf *b, const char *ref, uint64_t line,
		    uint64_t col)
{
	img_ref *r;

	if (!*ref)
		return;
	if (templated(ref)) {
		c->templated++;
		return;
	}
	if (c->nrefs == MAX_REFS) {
		c->truncated = true;
		return;
	}
	if (c->nrefs == c->caprefs) {
		size_t nc = c->caprefs ? c->caprefs * 2 : 32;
		img_ref *nv = realloc(c->refs, nc * sizeof(*nv));
		if (!nv)
			return oom(s);
		c->refs = nv;
		c->caprefs = nc;
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

typedef struct ywalk {
	vf_closure *c;
	vf_scan *s;
	const vf_buf *b;
	size_t budget;
} ywalk;

static void ref_from_map(ywalk *w, exai_yaml *y, exai_ynode *m)
{
	exai_ynode *repo = exai_yaml_get(y, m, "repository");
	const char *reg = exai_yaml_scalar(exai_yaml_get(y, m, "registry"));
	const char *rp = exai_yaml_scalar(repo);
	const char *tag = exai_yaml_scalar(exai_yaml_get(y, m, "tag"));
	const char *dig = exai_yaml_scalar(exai_yaml_get(y, m, "digest"));
	char ref[1024];

	if (!rp || !*rp)
		return;
	snprintf(ref, sizeof(ref), "%s%s%s%s%s%s%s", reg && *reg ? reg : "", reg && *reg ? "/" : "",
		 rp, tag && *tag ? ":" : "", tag && *tag ? tag : "", dig && *dig ? "@" : "",
		 dig && *dig ? dig : "");
	add_ref(w->c, w->s, w->b, ref, exai_yaml_line(repo), exai_yaml_col(repo));
}

static void walk(ywalk *w, exai_yaml *y, exai_ynode *n, unsigned depth)
{
	if (!n || depth > WALK_DEPTH || w->budget == 0)
		return;
	w->budget--;
	if (exai_yaml_is_seq(n)) {
		for (size_t i = 0; i < exai_yaml_seq_len(n); i++)
			walk(w, y, exai_yaml_seq_at(y, n, i), depth + 1);
		return;
	}
	if (!exai_yaml_is_map(n))
		return;
	for (size_t i = 0; i < exai_yaml_map_len(n); i++) {
		const char *key = exai_yaml_scalar(exai_yaml_map_key(y, n, i));
		exai_ynode *v = exai_yaml_map_value(y, n, i);
		const char *sv = exai_yaml_scalar(v);
		if (key && !strcmp(key, "image") && sv)
			add_ref(w->c, w->s, w->b, sv, exai_yaml_line(v), exai_yaml_col(v));
		else if (key && !strcmp(key, "image") && exai_yaml_is_map(v))
			ref_from_map(w, y, v);
		walk(w, y, v, depth + 1);
	}
}

static exai_status on_doc(exai_yaml *y, void *arg, exai_error *e)
{
	(void)e;
	walk(arg, y, exai_yaml_root(y), 0);
	return EXAI_OK;
}

/* Trims spaces, a trailing comment and one pair of quotes in place. */
static char *plain_value(char *v)
{
	char *end, *hash;

	while (*v == ' ' || *v == '\t')
		v++;
	if ((*v == '"' || *v == '\'') && (end = strchr(v + 1, *v))) {
		*end = '\0';
		return v + 1;
	}
	if ((hash = strstr(v, " #")))
		*hash = '\0';
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return v;
}

/* Line by line: `image: REF` (also after "- "). For YAML libyaml cannot read (templates). */
static void refs_by_line(vf_closure *c, vf_scan *s, const vf_buf *b)
{
	const uint8_t *p = b->p, *end = b->p + b->n;
	char line[1024];
	uint64_t ln = 0;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *k;
		char *v;
		ln++;
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			k = line;
			while (*k == ' ' || *k == '\t' || (*k == '-' && k[1] == ' '))
				k++;
			if (!strncmp(k, "image:", 6) && (k[6] == ' ' || k[6] == '\t')) {
				v = plain_value((char *)k + 6);
				if (*v && (templated(v) ||
					   (*v != '{' && *v != '|' && *v != '>' && *v != '&')))
					add_ref(c, s, b, v, ln,
						(uint64_t)(v - line) + 1 -
						    (v[-1] == '"' || v[-1] == '\''));
			}
		}
		p = nl ? nl + 1 : end;
	}
}

void vf_closure_yaml(vf_closure *c, vf_scan *s, const vf_buf *b)
{
	size_t before = c->nrefs;
	uint64_t tbefore = c->templated;
	ywalk w = {.c = c, .s = s, .b = b, .budget = WALK_BUDGET};
	exai_error e;

	if (!memmem(b->p, b->n, "image", 5))
		return;
	if (b->n <= MAX_YAML_PARSE && exai_yaml_each_doc(b->path, b->p, b->n, on_doc, &w, &e) == 0)
		return;
	/* Did not parse (or too large): start again for this file, line by line. */
	for (size_t i = before; i < c->nrefs; i++) {
		free(c->refs[i].ref);
		free(c->refs[i].path);
		free(c->refs[i].rel);
	}
	c->nrefs = before;
	c->templated = tbefore;
	refs_by_line(c, s, b);
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

	if (!classify(name, &kind, &dl, &hex))
		return;
	if (c->nfiles == MAX_FILES) {
		c->truncated = true;
		return;
	}
	if (c->nfiles == c->capfiles) {
		size_t nc = c->capfiles ? c->capfiles * 2 : 64;
		lfile *nv = realloc(c->files, nc * sizeof(*nv));
		if (!nv)
			return oom(s);
		c->files = nv;
		c->capfiles = nc;
	}
	f = &c->files[c->nfiles];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	if (hex)
		memcpy(f->hex, hex, 65);
	if (kind == L_BLOB && p) {
		uint8_t md[EXAI_SHA256_LEN];
		char mh[EXAI_SHA256_HEX];
		exai_error e;
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

/* ---- resolution ---- */

static const lfile *find_blob(const vf_closure *c, const lfile *layout, const char *hex)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		const lfile *f = &c->files[i];
		if (f->kind == L_BLOB && !strcmp(f->hex, hex) &&
		    !strcmp(f->archive, layout->archive) && !strcmp(f->dir, layout->dir))
			return f;
	}
	return NULL;
}

/* "sha256:HEX" -> HEX, or NULL. */
static const char *digest_hex(const char *d)
{
	return d && !strncmp(d, "sha256:", 7) && is_hex64(d + 7) ? d + 7 : NULL;
}

static img *imgs_add(imgs *is, const char *hex, const lfile *at)
{
	if (is->n == is->cap) {
		size_t nc = is->cap ? is->cap * 2 : 16;
		img *nv = realloc(is->v, nc * sizeof(*nv));
		if (!nv) {
			is->oom = true;
			return NULL;
		}
		is->v = nv;
		is->cap = nc;
	}
	memset(&is->v[is->n], 0, sizeof(*is->v));
	memcpy(is->v[is->n].hex, hex, 65);
	is->v[is->n].at = at;
	return &is->v[is->n++];
}

/* Checks that every blob a manifest names is in the layout; "" when complete. */
static void check_manifest(const vf_closure *c, const lfile *layout, json_t *m, char *problem,
			   size_t cap)
{
	json_t *layers = json_object_get(m, "layers"), *l;
	const char *ch =
	    digest_hex(json_string_value(json_object_get(json_object_get(m, "config"), "digest")));
	size_t i;

	if (!ch || !json_is_array(layers)) {
		snprintf(problem, cap, "its manifest has no config digest or no layers");
		return;
	}
	if (!find_blob(c, layout, ch)) {
		snprintf(problem, cap, "config blob sha256:%.12s… is missing", ch);
		return;
	}
	json_array_foreach(layers, i, l)
	{
		const char *lh = digest_hex(json_string_value(json_object_get(l, "digest")));
		if (!lh || !find_blob(c, layout, lh)) {
			snprintf(problem, cap, "layer %zu (%.80s) is missing", i,
				 lh ? lh : "bad digest");
			return;
		}
	}
}

/* Adds the image @hex of @layout, and what an image index lists under it. */
static void resolve(const vf_closure *c, const lfile *layout, const char *hex, imgs *is,
		    unsigned depth)
{
	const lfile *blob = find_blob(c, layout, hex);
	size_t at = is->n, ok = 0, n = 0, i;
	json_t *j = NULL, *list, *m;
	char problem[256] = "";

	if (!imgs_add(is, hex, layout))
		return;
	if (!blob)
		snprintf(problem, sizeof(problem), "an index lists it but its blob is missing");
	else if (blob->hashed && !blob->verified)
		snprintf(problem, sizeof(problem), "its blob does not hash to its name");
	else if (!blob->json || !(j = json_loadb(blob->json, blob->jlen, 0, NULL)))
		snprintf(problem, sizeof(problem), "its blob is not a manifest");
	if (problem[0] || !j)
		goto out;
	list = json_object_get(j, "manifests");
	if (!json_is_array(list)) {
		check_manifest(c, layout, j, problem, sizeof(problem));
		goto out;
	}
	/* An image index: present when at least one image it lists is complete. */
	json_array_foreach(list, i, m)
	{
		const char *ch = digest_hex(json_string_value(json_object_get(m, "digest")));
		size_t before = is->n;
		if (!ch || depth >= INDEX_DEPTH)
			continue;
		n++;
		resolve(c, layout, ch, is, depth + 1);
		if (is->n > before && !is->v[before].problem[0])
			ok++;
	}
	if (ok == 0)
		snprintf(problem, sizeof(problem),
			 "none of the %zu images its index lists is complete", n);
out:
	json_decref(j);
	memcpy(is->v[at].problem, problem, sizeof(problem));
}

static void resolve_all(const vf_closure *c, imgs *is)
{
	for (size_t i = 0; i < c->nfiles; i++) {
		const lfile *f = &c->files[i];
		json_t *j, *list, *m;
		size_t k;
		if (f->kind != L_INDEX || !f->json || !(j = json_loadb(f->json, f->jlen, 0, NULL)))
			continue;
		list = json_object_get(j, "manifests");
		json_array_foreach(list, k, m)
		{
			const char *h = digest_hex(json_string_value(json_object_get(m, "digest")));
			if (h)
				resolve(c, f, h, is, 0);
		}
		json_decref(j);
	}
}

/* Whether some image archive names @ref (docker RepoTags, OCI ref-name annotations). */
static const lfile *named(const vf_closure *c, const char *ref)
{
	static const char *const keys[] = {"io.containerd.image.name",
					   "org.opencontainers.image.ref.name"};

	for (size_t i = 0; i < c->nfiles; i++) {
		const lfile *f = &c->files[i];
		json_t *j, *v, *x;
		size_t k, t;
		bool hit = false;
		if (f->kind == L_BLOB || !f->json || !(j = json_loadb(f->json, f->jlen, 0, NULL)))
			continue;
		if (f->kind == L_DOCKER) {
			json_array_foreach(j, k, v)
			{
				json_array_foreach(json_object_get(v, "RepoTags"), t, x)
				{
					hit = hit || (json_is_string(x) &&
						      !strcmp(json_string_value(x), ref));
				}
			}
		} else {
			json_array_foreach(json_object_get(j, "manifests"), k, v)
			{
				for (t = 0; t < 2; t++) {
					x = json_object_get(json_object_get(v, "annotations"),
							    keys[t]);
					hit = hit || (json_is_string(x) &&
						      !strcmp(json_string_value(x), ref));
				}
			}
		}
		json_decref(j);
		if (hit)
			return f;
	}
	return NULL;
}

/* "N image archive(s): A, B, C (+M more)" into @buf. */
static void where_list(const vf_closure *c, char *buf, size_t cap)
{
	size_t n = 0, used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->nfiles; i++) {
		const lfile *f = &c->files[i];
		bool seen = false;
		if (f->kind == L_BLOB)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = c->files[k].kind != L_BLOB &&
			       !strcmp(c->files[k].archive, f->archive) &&
			       !strcmp(c->files[k].dir, f->dir);
		if (seen)
			continue;
		if (++n <= 3 && used < cap)
			used +=
			    (size_t)snprintf(buf + used, cap - used, "%s%s%s%s", n > 1 ? ", " : "",
					     f->archive, f->dir[0] ? "!" : "", f->dir);
	}
	if (n > 3 && used < cap)
		snprintf(buf + used, cap - used, " (+%zu more)", n - 3);
	if (n == 0)
		snprintf(buf, cap, "the bundle has no image archive (OCI layout or docker save)");
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

static void check_ref(const vf_closure *c, vf_scan *s, const imgs *is, const img_ref *r,
		      const char *where, exai_status *rc, exai_error *e)
{
	const char *at = strrchr(r->ref, '@'), *hex = at ? digest_hex(at + 1) : NULL;
	const img *partial = NULL;
	char msg[2048], name[600];
	const lfile *nf;

	if (!at) {
		if ((nf = named(c, r->ref)))
			snprintf(name, sizeof(name), "an image archive names it: %.300s%s%.200s",
				 nf->archive, nf->dir[0] ? "!" : "", nf->dir);
		else
			snprintf(name, sizeof(name), "no image archive names it");
		snprintf(
		    msg, sizeof(msg),
		    "image referenced without a digest: the bundle's closure cannot be checked "
		    "for it (%s)",
		    name);
		add(s, r, VF_BM_RULE_UNPINNED, VF_SEV_MEDIUM, msg,
		    "reference the image by digest (name@sha256:...), as its manifest digest in "
		    "the "
		    "bundle's image archive",
		    rc, e);
		return;
	}
	if (!hex) {
		snprintf(msg, sizeof(msg),
			 "image digest is not sha256:<64 lower-case hex>: cannot be found in the "
			 "bundle");
		add(s, r, VF_BM_RULE_MISSING, VF_SEV_HIGH, msg,
		    "fix the reference: name@sha256:<the manifest digest in the image archive>", rc,
		    e);
		return;
	}
	for (size_t i = 0; i < is->n; i++) {
		if (strcmp(is->v[i].hex, hex) != 0)
			continue;
		if (!is->v[i].problem[0])
			return; /* present, complete */
		partial = &is->v[i];
	}
	snprintf(name, sizeof(name), "%.*s", (int)(at - r->ref), r->ref);
	if (partial)
		snprintf(msg, sizeof(msg),
			 "image %.300s is not complete in the bundle: manifest sha256:%s is in "
			 "%.300s%s%.200s, "
			 "but %s",
			 name, hex, partial->at->archive, partial->at->dir[0] ? "!" : "",
			 partial->at->dir, partial->problem);
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

exai_status vf_closure_check(vf_closure *c, vf_scan *s, exai_error *e)
{
	imgs is = {0};
	char where[1024], note[1400];
	size_t pinned = 0, complete = 0;
	exai_status rc = EXAI_OK;

	resolve_all(c, &is);
	if (is.oom) {
		free(is.v);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	where_list(c, where, sizeof(where));
	for (size_t i = 0; i < c->nrefs && !rc; i++) {
		pinned += strchr(c->refs[i].ref, '@') != NULL;
		check_ref(c, s, &is, &c->refs[i], where, &rc, e);
	}
	for (size_t i = 0; i < is.n; i++)
		complete += !is.v[i].problem[0];
	snprintf(note, sizeof(note),
		 "closure: %zu image reference(s) (%zu by digest); %zu complete image(s) by digest "
		 "in %s",
		 c->nrefs, pinned, complete, where);
	if (!rc)
		rc = vf_report_note(s->report, note, e);
	if (!rc && c->templated) {
		snprintf(
		    note, sizeof(note),
		    "closure: %llu templated image reference(s) ({{ }}) not judged; the values "
		    "they come from are",
		    (unsigned long long)c->templated);
		rc = vf_report_note(s->report, note, e);
	}
	if (!rc && c->truncated) {
		const vf_rule *inc = vf_rules_for(s->rules, VF_CHK_INCOMPLETE);
		vf_finding f = {.rule_id = inc ? inc->id : "scan.incomplete",
				.severity = inc ? inc->sev : VF_SEV_MEDIUM,
				.evidence = "closure: over the caps on image references or image "
					    "archive files",
				.message = "the closure check is not complete",
				.hint = "split the bundle"};
		rc = vf_report_add(s->report, &f, e);
	}
	free(is.v);
	return rc;
}
