/* Check suite for the bundle mode's pieces that work without a bundle: image references in
 * YAML (parsed and line by line), image archives' manifests and the closure verdict (and its
 * caps), the windowed binary scan against a whole-buffer scan, and the text report's
 * locations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "scan.h"
#include "exai/hash.h"
#include "rules_fixture.h"
#include "testutil.h"

typedef struct fx {
	vf_report *r;
	vf_scan s;
	vf_closure *cl;
} fx;

static void fx_init(fx *f)
{
	exai_error e;

	f->r = vf_report_new("bundle");
	ck_assert_ptr_nonnull(f->r);
	ck_assert_msg(vf_scan_init(&f->s, load_default(), NULL, f->r, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_msg(vf_closure_new(&f->cl, &e) == EXAI_OK, "%s", e.msg);
}

static void fx_fini(fx *f)
{
	vf_closure_free(f->cl);
	vf_scan_fini(&f->s);
	vf_report_free(f->r);
}

static void yaml(fx *f, const char *path, const char *text)
{
	vf_buf b = {
	    .path = path, .rel = path, .base = path, .p = (const uint8_t *)text, .n = strlen(text)};

	vf_closure_yaml(f->cl, &f->s, &b);
}

static void check(fx *f)
{
	exai_error e;

	ck_assert_msg(vf_closure_check(f->cl, &f->s, &e) == EXAI_OK, "%s", e.msg);
	vf_report_sort(f->r);
}

/* "rule path:line:col" of finding @i. */
static const char *fnd(fx *f, size_t i)
{
	static char buf[512];
	const vf_finding *x = vf_report_get(f->r, i);

	ck_assert_ptr_nonnull(x);
	snprintf(buf, sizeof(buf), "%s %s:%llu:%llu", x->rule_id, x->path,
		 (unsigned long long)x->line, (unsigned long long)x->column);
	return buf;
}

static void digest_of(const char *text, char out[72])
{
	uint8_t md[EXAI_SHA256_LEN];
	exai_error e;

	ck_assert(exai_sha256_buf(text, strlen(text), md, &e) == EXAI_OK);
	strcpy(out, "sha256:");
	exai_hex_encode(md, sizeof(md), out + 7);
}

static void blob(fx *f, const char *archive, const char *dir, const char *text, char digest[72])
{
	char name[256];

	digest_of(text, digest);
	snprintf(name, sizeof(name), "%s%sblobs/sha256/%s", dir, *dir ? "/" : "", digest + 7);
	vf_closure_image_file(f->cl, &f->s, archive, name, (const uint8_t *)text, strlen(text));
}

/* An OCI layout in @archive (under @dir) with one image; its manifest digest in @md. */
static void layout(fx *f, const char *archive, const char *dir, bool with_layer, char md[72])
{
	char cfg[72], layer[72], man[1024], index[1024], name[256];

	snprintf(man, sizeof(man), "{\"os\": \"linux\", \"from\": \"%s/%s\"}", archive, dir);
	blob(f, archive, dir, man, cfg); /* a config of its own: a manifest of its own */
	digest_of("layer bytes", layer);
	snprintf(name, sizeof(name), "%s%sblobs/sha256/%s", dir, *dir ? "/" : "", layer + 7);
	if (with_layer)
		vf_closure_image_file(f->cl, &f->s, archive, name, NULL, 0); /* a streamed layer */
	snprintf(man, sizeof(man),
		 "{\"schemaVersion\": 2, \"config\": {\"digest\": \"%s\"}, \"layers\": "
		 "[{\"digest\": \"%s\"}]}",
		 cfg, layer);
	blob(f, archive, dir, man, md);
	snprintf(index, sizeof(index), "{\"manifests\": [{\"digest\": \"%s\"}]}", md);
	snprintf(name, sizeof(name), "%s%sindex.json", dir, *dir ? "/" : "");
	vf_closure_image_file(f->cl, &f->s, archive, name, (const uint8_t *)index, strlen(index));
}

START_TEST(references_from_yaml)
{
	fx f;
	char text[2048], md[72];

	fx_init(&f);
	layout(&f, "B!images/x", "", true, md);
	snprintf(text, sizeof(text),
		 "kind: Pod\nspec:\n  containers:\n    - name: a\n      image: r.internal/a@%s\n"
		 "---\nimage:\n  registry: r.internal\n  repository: b\n  tag: \"1\"\n"
		 "  digest: sha256:%064d\n---\nlist: [{image: 'r.internal/c:2'}]\n",
		 md, 0);
	yaml(&f, "B!chart/c!values.yaml", text);
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 2);
	ck_assert_str_eq(fnd(&f, 0), "bundle.closure.missing-image B!chart/c!values.yaml:9:15");
	ck_assert_str_eq(fnd(&f, 1), "bundle.closure.unpinned-image B!chart/c!values.yaml:13:16");
	ck_assert_str_eq(vf_report_get(f.r, 0)->evidence, "r.internal/b:1@sha256:"
							  "00000000000000000000000000000000"
							  "00000000000000000000000000000000");
	fx_fini(&f);
}
END_TEST

START_TEST(templates_read_line_by_line)
{
	fx f;

	fx_init(&f);
	/* Not YAML (a template): read line by line; templated values are not judged. */
	yaml(&f, "B!chart/c!templates/d.yaml",
	     "metadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n"
	     "    - image: \"{{ .Values.image }}\"\n"
	     "    - name: b\n      image: \"r.internal/b:3\"  # pinned later\n"
	     "    - image: r.internal/c:4\n");
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 2);
	ck_assert_str_eq(fnd(&f, 0),
			 "bundle.closure.unpinned-image B!chart/c!templates/d.yaml:7:14");
	ck_assert_str_eq(vf_report_get(f.r, 0)->evidence, "r.internal/b:3");
	ck_assert_str_eq(fnd(&f, 1),
			 "bundle.closure.unpinned-image B!chart/c!templates/d.yaml:8:14");
	fx_fini(&f);
}
END_TEST

START_TEST(closure_needs_every_blob)
{
	fx f;
	char md_ok[72], md_nolayer[72], text[1024];
	const vf_finding *x;

	fx_init(&f);
	layout(&f, "B!images/a", "", true, md_ok);
	layout(&f, "B!images/b", "sub/dir", false, md_nolayer); /* manifest, config, no layer */
	snprintf(text, sizeof(text), "a:\n  image: r.internal/a@%s\nb:\n  image: r.internal/b@%s\n",
		 md_ok, md_nolayer);
	yaml(&f, "B!files/m!k.yaml", text);
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 1);
	x = vf_report_get(f.r, 0);
	ck_assert_str_eq(fnd(&f, 0), "bundle.closure.missing-image B!files/m!k.yaml:4:10");
	ck_assert_msg(strstr(x->message, "is not complete in the bundle") &&
			  strstr(x->message, "B!images/b!sub/dir") && strstr(x->message, "layer 0"),
		      "%s", x->message);
	fx_fini(&f);
}
END_TEST

START_TEST(closure_refuses_blobs_that_do_not_hash)
{
	fx f;
	char md[72], text[512], name[256];
	const char *fake = "{\"manifests\": []}";

	fx_init(&f);
	/* index.json lists a digest whose blob holds other bytes */
	digest_of("something else", md);
	snprintf(name, sizeof(name), "blobs/sha256/%s", md + 7);
	vf_closure_image_file(f.cl, &f.s, "B!images/a", name, (const uint8_t *)fake, strlen(fake));
	snprintf(text, sizeof(text), "{\"manifests\": [{\"digest\": \"%s\"}]}", md);
	vf_closure_image_file(f.cl, &f.s, "B!images/a", "index.json", (const uint8_t *)text,
			      strlen(text));
	snprintf(text, sizeof(text),
		 "image: r.internal/a@%s\nx:\n  image: r.internal/a@sha256:AB\n", md);
	yaml(&f, "B!files/m!k.yaml", text);
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 2);
	ck_assert_msg(strstr(vf_report_get(f.r, 0)->message, "does not hash to its name"), "%s",
		      vf_report_get(f.r, 0)->message);
	ck_assert_msg(strstr(vf_report_get(f.r, 1)->message, "not sha256:<64 lower-case hex>"),
		      "%s", vf_report_get(f.r, 1)->message);
	fx_fini(&f);
}
END_TEST

START_TEST(image_index_resolves_children)
{
	fx f;
	char md[72], idx[72], text[1024];

	fx_init(&f);
	layout(&f, "B!images/a", "", true, md);
	snprintf(text, sizeof(text), "{\"manifests\": [{\"digest\": \"%s\"}]}", md);
	blob(&f, "B!images/a", "", text, idx); /* a multi-platform index blob over it */
	snprintf(text, sizeof(text), "{\"manifests\": [{\"digest\": \"%s\"}]}", idx);
	vf_closure_image_file(f.cl, &f.s, "B!images/a", "index.json", (const uint8_t *)text,
			      strlen(text));
	snprintf(text, sizeof(text), "image: r.internal/a@%s\n", idx);
	yaml(&f, "B!files/m!k.yaml", text);
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 0);
	ck_assert(
	    vf_closure_wants("x/blobs/sha256/" /* 64 */
			     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	ck_assert(!vf_closure_wants("blobs/sha256/0123"));
	ck_assert(!vf_closure_wants("blobs/sha256/0123456789ABCDEF0123456789abcdef0123456789abcd"
				    "ef0123456789abcdef"));
	ck_assert(vf_closure_wants("manifest.json") && vf_closure_wants("a/index.json"));
	fx_fini(&f);
}
END_TEST

START_TEST(image_index_fan_out_is_bounded)
{
	fx f;
	char md[72], b[72], a[72], text[512];
	char *big = malloc(100000);
	size_t used;

	ck_assert_ptr_nonnull(big);
	fx_init(&f);
	layout(&f, "B!images/a", "", true, md);
	/* index B lists the manifest 1000 times, index A lists B 1000 times: a million steps */
	for (int level = 0; level < 2; level++) {
		used = (size_t)snprintf(big, 100000, "{\"manifests\": [");
		for (int i = 0; i < 1000; i++)
			used +=
			    (size_t)snprintf(big + used, 100000 - used, "%s{\"digest\": \"%s\"}",
					     i ? ", " : "", level ? b : md);
		snprintf(big + used, 100000 - used, "]}");
		blob(&f, "B!images/a", "", big, level ? a : b);
	}
	snprintf(text, sizeof(text), "{\"manifests\": [{\"digest\": \"%s\"}]}", a);
	vf_closure_image_file(f.cl, &f.s, "B!images/a", "index.json", (const uint8_t *)text,
			      strlen(text));
	snprintf(text, sizeof(text), "image: r.internal/a@%s\n", md);
	yaml(&f, "B!files/m!k.yaml", text);
	check(&f);
	ck_assert_uint_eq(vf_report_size(f.r), 1);
	ck_assert_str_eq(vf_report_get(f.r, 0)->rule_id, "scan.incomplete");
	fx_fini(&f);
	free(big);
}
END_TEST

/* A `docker save` manifest.json naming @n images "r.internal/nI:1"; closure over one unpinned
 * reference to the first. The names are capped at 65536 (bundlemode_closure.c): over it the
 * check says it is incomplete rather than maybe miss a name. */
static void many_names(fx *f, unsigned n)
{
	size_t cap = 64 + (size_t)n * 24, used;
	char *m = malloc(cap);

	ck_assert_ptr_nonnull(m);
	used = (size_t)snprintf(m, cap, "[{\"Config\": \"c.json\", \"RepoTags\": [");
	for (unsigned i = 0; i < n; i++)
		used += (size_t)snprintf(m + used, cap - used, "%s\"r.internal/n%u:1\"",
					 i ? ", " : "", i);
	snprintf(m + used, cap - used, "], \"Layers\": []}]");
	vf_closure_image_file(f->cl, &f->s, "B!images/d", "manifest.json", (const uint8_t *)m,
			      strlen(m));
	free(m);
	yaml(f, "B!files/m!k.yaml", "image: r.internal/n0:1\n");
	check(f);
}

START_TEST(image_names_are_bounded)
{
	fx f;

	fx_init(&f);
	many_names(&f, 65536);
	ck_assert_uint_eq(vf_report_size(f.r), 1);
	ck_assert_str_eq(vf_report_get(f.r, 0)->rule_id, "bundle.closure.unpinned-image");
	ck_assert_msg(strstr(vf_report_get(f.r, 0)->message, "an image archive names it"), "%s",
		      vf_report_get(f.r, 0)->message);
	fx_fini(&f);
	fx_init(&f);
	many_names(&f, 65537);
	ck_assert_uint_eq(vf_report_size(f.r), 2); /* sorted: scan.incomplete has no path */
	ck_assert_str_eq(vf_report_get(f.r, 0)->rule_id, "scan.incomplete");
	ck_assert_msg(strstr(vf_report_get(f.r, 0)->evidence, "image names"), "%s",
		      vf_report_get(f.r, 0)->evidence);
	ck_assert_str_eq(vf_report_get(f.r, 1)->rule_id, "bundle.closure.unpinned-image");
	fx_fini(&f);
}
END_TEST

typedef struct memsrc {
	const uint8_t *p;
	size_t n, off, step;
} memsrc;

static long mem_read(void *arg, uint8_t *dst, size_t cap)
{
	memsrc *m = arg;
	size_t k = m->n - m->off;

	if (k > cap)
		k = cap;
	if (k > m->step)
		k = m->step; /* short reads, as a stream gives them */
	memcpy(dst, m->p + m->off, k);
	m->off += k;
	return (long)k;
}

START_TEST(windows_find_what_a_whole_scan_finds)
{
	static const size_t offs[] = {100, 8190, 8192 * 3 - 5, 200000, 299900};
	const size_t n = 300000;
	uint8_t *p = malloc(n);
	fx f, g;
	vf_buf b = {.path = "B!model/m", .rel = "model/m", .base = "m.safetensors"};
	memsrc ms = {.n = n, .step = 1000};
	vf_bm_src src = {.read = mem_read, .arg = &ms};
	uint32_t x = 12345;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++) { /* noise without long printable runs */
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)((x >> 16) & 0x7f) | 0x80;
	}
	for (size_t i = 0; i < sizeof(offs) / sizeof(*offs); i++) {
		const char *u = "http://beacon.vendor.zz/q";
		p[offs[i] - 1] = 0;
		memcpy(p + offs[i], u, strlen(u));
		p[offs[i] + strlen(u)] = 0;
	}
	fx_init(&f);
	fx_init(&g);
	ms.p = p;
	ms.off = 512;
	vf_bm_scan_windows(&f.s, &b, p, 512, &src, n, 8192);
	b.p = p;
	b.n = n;
	vf_scan_text(&g.s, &b, true);
	vf_report_sort(f.r);
	vf_report_sort(g.r);
	ck_assert_uint_eq(vf_report_size(f.r), sizeof(offs) / sizeof(*offs));
	ck_assert_uint_eq(vf_report_size(g.r), vf_report_size(f.r));
	for (size_t i = 0; i < vf_report_size(f.r); i++) {
		ck_assert_str_eq(vf_report_get(f.r, i)->rule_id, "net.url.public");
		ck_assert_uint_eq(vf_report_get(f.r, i)->offset, offs[i]);
		ck_assert_uint_eq(vf_report_get(g.r, i)->offset, offs[i]);
	}
	fx_fini(&f);
	fx_fini(&g);
	free(p);
}
END_TEST

START_TEST(text_location_offset_only_when_meaningful)
{
	vf_report *r = vf_report_new("bundle");
	vf_finding a = {.rule_id = "bundle.verify",
			.severity = VF_SEV_CRITICAL,
			.path = "b.exb",
			.message = "m"};
	vf_finding b = {.rule_id = "net.url.public",
			.severity = VF_SEV_MEDIUM,
			.path = "b.exb!model/m",
			.offset = 4096,
			.message = "m"};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	exai_error e;

	ck_assert(vf_report_add(r, &a, &e) == EXAI_OK && vf_report_add(r, &b, &e) == EXAI_OK);
	ck_assert(vf_report_write(r, VF_FMT_TEXT, f, &e) == EXAI_OK);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(out, "\nb.exb: critical [bundle.verify] m\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "\nb.exb!model/m (offset 4096): medium [net.url.public]"));
	free(out);
	vf_report_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundlemode");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, references_from_yaml);
	tcase_add_test(tc, templates_read_line_by_line);
	tcase_add_test(tc, closure_needs_every_blob);
	tcase_add_test(tc, closure_refuses_blobs_that_do_not_hash);
	tcase_add_test(tc, image_index_resolves_children);
	tcase_add_test(tc, image_index_fan_out_is_bounded);
	tcase_add_test(tc, image_names_are_bounded);
	tcase_add_test(tc, windows_find_what_a_whole_scan_finds);
	tcase_add_test(tc, text_location_offset_only_when_meaningful);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
