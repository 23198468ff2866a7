/* Check suite for the nested-archive walker (verifier/scan/scan_walker.c): entry locations
 * joined with '!', the nesting depth, entry and byte caps each refusing with one scan.incomplete
 * finding, and a sparse entry read as its data only (never expanded). Archives are written in
 * memory with libarchive's write API. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "scan_walker.h"
#include "rules_fixture.h"
#include "testutil.h"

/* ---- archives in memory ---- */

typedef struct ent {
	const char *name;
	const void *p;
	size_t n;
} ent;

typedef struct mem {
	uint8_t *p;
	size_t n;
} mem;

static mem mktar(const ent *es, size_t n)
{
	size_t cap = 1 << 20, used = 0;
	struct archive *a = archive_write_new();
	mem m = {malloc(cap), 0};

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(m.p);
	ck_assert_int_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(a, m.p, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, es[i].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, (la_int64_t)es[i].n);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		ck_assert_int_eq(archive_write_data(a, es[i].p, es[i].n), (la_ssize_t)es[i].n);
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	m.n = used;
	return m;
}

/* ---- a walker that records what it is given ---- */

typedef struct rec {
	char path[16][256], archive[16][256], name[16][128], base[16][64];
	unsigned depth[16];
	uint64_t size[16], got[16];
	bool sparse[16];
	char data[16][64]; /* the first bytes of each entry's data */
	size_t n;
	size_t nested;
} rec;

static void rec_entry(void *arg, vf_walker *w, vf_walk_entry *e)
{
	rec *r = arg;
	size_t i = r->n++;
	uint8_t buf[65536];
	long k;

	(void)w;
	ck_assert_uint_lt(i, 16);
	snprintf(r->path[i], sizeof(r->path[i]), "%s", e->b->path);
	snprintf(r->archive[i], sizeof(r->archive[i]), "%s", e->archive);
	snprintf(r->name[i], sizeof(r->name[i]), "%s", e->name);
	snprintf(r->base[i], sizeof(r->base[i]), "%s", e->b->base);
	memcpy(r->data[i], e->head, e->hl < 63 ? e->hl : 63);
	r->depth[i] = e->b->depth;
	r->size[i] = e->size;
	r->sparse[i] = e->sparse;
	r->got[i] = e->hl;
	while ((k = vf_walk_read(e->src, buf, sizeof(buf))) > 0)
		r->got[i] += (uint64_t)k;
	ck_assert_int_eq(k, 0);
}

static void rec_nested(void *arg, vf_walker *w, const vf_walk_entry *e)
{
	(void)w;
	(void)e;
	((rec *)arg)->nested++;
}

typedef struct fx {
	vf_rules rules; /* a copy of the default rules with the caps under test */
	vf_report *r;
	vf_scan s;
	rec rec;
	vf_walk_ops ops;
	vf_walker w;
} fx;

static void fx_init(fx *f)
{
	exai_error e;

	memset(f, 0, sizeof(*f));
	f->rules = *load_default();
	f->r = vf_report_new("scan");
	ck_assert_ptr_nonnull(f->r);
	ck_assert_msg(vf_scan_init(&f->s, &f->rules, NULL, f->r, &e) == EXAI_OK, "%s", e.msg);
	f->ops = (vf_walk_ops){.entry = rec_entry, .nested = rec_nested, .arg = &f->rec};
	vf_walker_init(&f->w, &f->s, &f->ops);
}

static void fx_walk(fx *f, const mem *m)
{
	vf_buf b = {.path = "top.tar", .rel = "top.tar", .base = "top.tar", .p = m->p, .n = m->n};

	vf_walk_mem(&f->w, &b);
	ck_assert_int_eq(f->s.fatal, EXAI_OK);
}

static void fx_fini(fx *f)
{
	vf_scan_fini(&f->s);
	vf_report_free(f->r);
}

/* The scan.incomplete findings whose evidence (what was not scanned) contains @has (NULL:
 * all): how many, the last one's path and evidence in @path, @msg. */
static size_t incomplete_has(fx *f, const char *has, char *path, char *msg, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < vf_report_size(f->r); i++) {
		const vf_finding *x = vf_report_get(f->r, i);
		if (strcmp(x->rule_id, "scan.incomplete") != 0 ||
		    (has && !strstr(x->evidence ? x->evidence : "", has)))
			continue;
		k++;
		snprintf(path, cap, "%s", x->path ? x->path : "");
		snprintf(msg, cap, "%s", x->evidence ? x->evidence : "");
	}
	return k;
}

static size_t incomplete(fx *f, char *path, char *msg, size_t cap)
{
	return incomplete_has(f, NULL, path, msg, cap);
}

/* An archive three levels deep: top.tar { a.txt, dir/b.txt, inner.tar { c.txt, in2.tar {
 * d.txt } } }. */
static mem nested3(void)
{
	ent l3[] = {{"d.txt", "ddd", 3}};
	mem m3 = mktar(l3, 1);
	ent l2[] = {{"./c.txt", "cc", 2}, {"in2.tar", m3.p, m3.n}};
	mem m2 = mktar(l2, 2);
	ent l1[] = {{"./a.txt", "a", 1}, {"dir/b.txt", "bb", 2}, {"inner.tar", m2.p, m2.n}};
	mem m1 = mktar(l1, 3);

	free(m3.p);
	free(m2.p);
	return m1;
}

START_TEST(locations_join_with_bang)
{
	fx f;
	mem m = nested3();
	char path[512], msg[512];

	fx_init(&f);
	fx_walk(&f, &m);
	ck_assert_uint_eq(f.rec.n, 4);
	ck_assert_uint_eq(f.rec.nested, 2);
	ck_assert_str_eq(f.rec.path[0], "top.tar!a.txt"); /* "./" dropped */
	ck_assert_str_eq(f.rec.path[1], "top.tar!dir/b.txt");
	ck_assert_str_eq(f.rec.base[1], "b.txt");
	ck_assert_str_eq(f.rec.name[1], "dir/b.txt");
	ck_assert_str_eq(f.rec.archive[1], "top.tar");
	ck_assert_str_eq(f.rec.path[2], "top.tar!inner.tar!c.txt");
	ck_assert_str_eq(f.rec.archive[2], "top.tar!inner.tar");
	ck_assert_str_eq(f.rec.path[3], "top.tar!inner.tar!in2.tar!d.txt");
	ck_assert_str_eq(f.rec.data[3], "ddd");
	ck_assert_uint_eq(f.rec.depth[0], 1);
	ck_assert_uint_eq(f.rec.depth[2], 2);
	ck_assert_uint_eq(f.rec.depth[3], 3);
	ck_assert_uint_eq(f.rec.got[3], 3);
	ck_assert_uint_eq(f.rec.size[3], 3);
	ck_assert_uint_eq(incomplete(&f, path, msg, sizeof(path)), 0);
	ck_assert_uint_eq(f.s.files, 2); /* the two nested archives */
	fx_fini(&f);
	free(m.p);
}
END_TEST

START_TEST(depth_cap_refuses)
{
	fx f;
	mem m = nested3();
	char path[512], msg[512];

	fx_init(&f);
	f.rules.set.max_archive_depth = 2;
	fx_walk(&f, &m);
	ck_assert_uint_eq(f.rec.n, 3); /* d.txt, at depth 3, is never reached */
	ck_assert_str_eq(f.rec.path[2], "top.tar!inner.tar!c.txt");
	ck_assert_uint_eq(incomplete(&f, path, msg, sizeof(path)), 1);
	ck_assert_str_eq(path, "top.tar!inner.tar!in2.tar");
	ck_assert_str_eq(msg, "archive nested deeper than max_archive_depth");
	fx_fini(&f);
	free(m.p);
}
END_TEST

START_TEST(entry_cap_refuses)
{
	fx f;
	ent es[] = {{"1", "x", 1}, {"2", "x", 1}, {"3", "x", 1}, {"4", "x", 1}};
	mem m = mktar(es, 4);
	char path[512], msg[512];

	fx_init(&f);
	f.rules.set.max_archive_entries = 2;
	fx_walk(&f, &m);
	ck_assert_uint_eq(f.rec.n, 2);
	ck_assert_uint_eq(incomplete(&f, path, msg, sizeof(path)), 1);
	ck_assert_str_eq(path, "top.tar");
	ck_assert_ptr_nonnull(strstr(msg, "max_archive_entries"));
	fx_fini(&f);
	free(m.p);
}
END_TEST

START_TEST(byte_cap_refuses_once)
{
	fx f;
	static uint8_t big[3][100000];
	ent in[] = {{"p", big[0], sizeof(big[0])},
		    {"q", big[1], sizeof(big[1])},
		    {"r", big[2], sizeof(big[2])}};
	mem mi = mktar(in, 3);
	ent es[] = {{"layer.tar", mi.p, mi.n}, {"after.txt", "z", 1}};
	mem m = mktar(es, 2);
	char path[512], msg[512];

	fx_init(&f);
	f.rules.set.max_archive_bytes = 150000;
	fx_walk(&f, &m);
	ck_assert_uint_lt(f.rec.n, 3); /* r (and after.txt) never reached */
	for (size_t i = 0; i < f.rec.n; i++)
		ck_assert_str_ne(f.rec.path[i], "top.tar!after.txt");
	ck_assert(f.w.exhausted);
	/* The entry being read when the budget ran out says so; the cap is reported once, at
	 * the level that hit it, not again by the archive around it. */
	ck_assert_uint_eq(incomplete_has(&f, "not fully scanned", path, msg, sizeof(path)), 1);
	ck_assert_str_eq(path, "top.tar!layer.tar");
	ck_assert_ptr_nonnull(strstr(msg, "max_archive_bytes"));
	ck_assert_uint_eq(incomplete_has(&f, "top.tar!after", path, msg, sizeof(path)), 0);
	fx_fini(&f);
	free(mi.p);
	free(m.p);
}
END_TEST

/* A pax archive with one sparse entry: @logical bytes, @data of them stored at offset 0. */
static mem sparse_tar(uint64_t logical, const char *data)
{
	size_t cap = 1 << 20, used = 0, dl = strlen(data);
	static uint8_t zeros[1 << 20];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	mem m = {malloc(cap), 0};
	uint64_t left;

	ck_assert_ptr_nonnull(m.p);
	ck_assert_int_eq(archive_write_set_format_pax(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_memory(a, m.p, cap, &used), ARCHIVE_OK);
	archive_entry_set_pathname(e, "disk.img");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)logical);
	archive_entry_sparse_add_entry(e, 0, (la_int64_t)dl);
	archive_entry_sparse_add_entry(e, (la_int64_t)logical, 0);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	/* The writer takes the logical bytes and stores only the data blocks. */
	ck_assert_int_eq(archive_write_data(a, data, dl), (la_ssize_t)dl);
	for (left = logical - dl; left > 0;) {
		size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);
		ck_assert_int_eq(archive_write_data(a, zeros, k), (la_ssize_t)k);
		left -= k;
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
	m.n = used;
	return m;
}

START_TEST(sparse_entry_is_not_expanded)
{
	fx f;
	const char *data = "url = \"https://telemetry.vendor-sparse.zz/ingest\"\n";
	mem m = sparse_tar(64u << 20, data);
	char path[512], msg[512];
	vf_buf b = {.path = "sp.tar", .rel = "sp.tar", .base = "sp.tar", .p = m.p, .n = m.n};
	bool url = false;

	ck_assert_uint_lt(m.n, 64u << 10); /* the archive really is sparse */
	fx_init(&f);
	fx_walk(&f, &m);
	ck_assert_uint_eq(f.rec.n, 1);
	ck_assert(f.rec.sparse[0]);
	ck_assert_uint_eq(f.rec.size[0], 64u << 20);
	ck_assert_uint_eq(f.rec.got[0], strlen(data)); /* its data, not its 64 MiB */
	ck_assert_uint_eq(f.w.bytes, strlen(data));
	fx_fini(&f);

	/* Scan mode holds it whole under a 1 MiB max_entry_size and finds what is in it. */
	fx_init(&f);
	f.rules.set.max_entry_size = 1u << 20;
	vf_scan_archive_mem(&f.s, &b);
	ck_assert_uint_eq(incomplete(&f, path, msg, sizeof(path)), 0);
	for (size_t i = 0; i < vf_report_size(f.r); i++) {
		const vf_finding *x = vf_report_get(f.r, i);
		if (!strcmp(x->rule_id, "net.url.public") && !strcmp(x->path, "sp.tar!disk.img"))
			url = true;
	}
	ck_assert(url);
	fx_fini(&f);
	free(m.p);
}
END_TEST

START_TEST(damaged_archive_is_incomplete)
{
	fx f;
	ent es[] = {{"a.txt", "aaaa", 4}, {"b.txt", "bbbb", 4}};
	mem m = mktar(es, 2);
	char path[512], msg[512];

	memset(m.p + 512 + 512 + 100, 'X', 60); /* b.txt's header: mode, sizes, checksum */
	fx_init(&f);
	fx_walk(&f, &m);
	ck_assert_uint_eq(f.rec.n, 1);
	ck_assert_uint_eq(incomplete(&f, path, msg, sizeof(path)), 1);
	ck_assert_str_eq(path, "top.tar");
	ck_assert_ptr_nonnull(strstr(msg, "archive damaged: "));
	fx_fini(&f);
	free(m.p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_walker");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, locations_join_with_bang);
	tcase_add_test(tc, depth_cap_refuses);
	tcase_add_test(tc, entry_cap_refuses);
	tcase_add_test(tc, byte_cap_refuses_once);
	tcase_add_test(tc, sparse_entry_is_not_expanded);
	tcase_add_test(tc, damaged_archive_is_incomplete);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
