/*
 * exai_bundle_open (lib/bundle/bundle_open.c): both forms, every entry cap, names outside the
 * format, repeats and order, file types other than regular files, hostile tar structure, and
 * inputs that are not bundles at all. Each refusal is asserted by its message. Caps are shown
 * to act before anything is read: the hostile entries declare sizes over the cap with no data
 * behind them, so a reader that read first would report a truncated archive instead.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bundle_builder.h"
#include "testutil.h"

static bb_keys K;
static exai_root *root1;
static char *dir;
static uint8_t comp_a[3000], comp_b[70000];

static void setup(void)
{
	bb_keys_init(&K);
	const exai_seckey *rk[] = {K.R[0]}, *rel[] = {K.K[0]};
	root1 = bb_root(1, 100, 0, rk, 1, 1, rel, 1, 1, rk, 1, NULL);
	dir = tu_tempdir();
	for (size_t i = 0; i < sizeof(comp_a); i++)
		comp_a[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(comp_b); i++)
		comp_b[i] = (uint8_t)(i * 13 + 1);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(root1);
	bb_keys_free(&K);
}

static bb_bundle *valid(bool encrypted)
{
	bb_spec s = {.encrypted = encrypted, .n_comps = 2, .n_signers = 1};

	s.comps[0] = (bb_comp){EXAI_C_SOFTWARE, "app", comp_a, sizeof(comp_a)};
	s.comps[1] = (bb_comp){EXAI_C_MODEL, "weights", comp_b, sizeof(comp_b)};
	s.signers[0] = K.K[0];
	return bb_build(&K, &s);
}

/* Opening @path fails with a message holding @want. */
static void refused(const char *path, const char *want)
{
	exai_bundle *b = NULL;
	exai_error e;

	ck_assert_int_ne(exai_bundle_open(path, &b, &e), EXAI_OK);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(e.msg, want), "wanted '%s', got: %s", want, e.msg);
}

static char *write_raw(const char *name, const void *data, size_t len)
{
	return tu_write(dir, name, data, len);
}

START_TEST(both_forms_open_and_verify)
{
	for (int enc = 0; enc < 2; enc++) {
		bb_bundle *bb = valid(enc);
		char n1[32], n2[32];
		snprintf(n1, sizeof(n1), "b%d.exb", enc);
		snprintf(n2, sizeof(n2), "d%d", enc);
		char *paths[2] = {bb_write_exb(bb, dir, n1), bb_write_dir(bb, dir, n2)};
		for (int form = 0; form < 2; form++) {
			exai_bundle *b = NULL;
			exai_status rc;
			exai_error e;
			b = bb_open_verify(paths[form], root1, 1500, &rc, &e);
			ck_assert_msg(rc == EXAI_OK, "%s: %s", paths[form], e.msg);
			ck_assert_int_eq(b->is_exb, form == 0);
			ck_assert(b->has_payload);
			ck_assert_uint_eq(b->payload_media_size, bb_find(bb, "payload")->len);
			/* index, manifest, chunks, one signature (+ keys when encrypted) */
			ck_assert_uint_eq(b->n_entries, enc ? 5 : 4);
			ck_assert_uint_eq(b->n_sig_entries, 1);
			ck_assert_uint_eq(b->index->payload_size, sizeof(comp_a) + sizeof(comp_b));
			ck_assert_mem_eq(exai_bundle_entry(b, "manifest")->data,
					 bb_find(bb, "manifest")->data,
					 bb_find(bb, "manifest")->len);
			ck_assert(b->verified);
			exai_bundle_free(b);
			free(paths[form]);
		}
		bb_free(bb);
	}
}
END_TEST

/* A tar holding one header for @name declaring @size, and no data. */
static char *exb_declaring(const char *file, const char *name, uint64_t size)
{
	uint8_t blk[512];

	bb_tar_header(blk, name, size, '0');
	return write_raw(file, blk, sizeof(blk));
}

static const struct {
	const char *name;
	uint64_t cap;
} caps[] = {
    {"index", 65536},	{"manifest", (4u << 20) + 16},
    {"keys", 256 * 88}, {"chunks", 64ull << 20},
    {"roots/2", 65536}, {"sig/0123456789ABCDEF.minisig", 16384},
};

START_TEST(every_cap_refuses_before_reading)
{
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char want[160], sub[600];
		char *p;

		snprintf(want, sizeof(want), "entry '%s' is %llu bytes, over its limit of %llu",
			 caps[i].name, (unsigned long long)caps[i].cap + 1,
			 (unsigned long long)caps[i].cap);
		/* .exb: the header alone; reading first would hit the end of the archive. */
		p = exb_declaring("cap.exb", caps[i].name, caps[i].cap + 1);
		refused(p, want);
		free(p);
		/* Far over (base-256 size field): still the cap, never an allocation. */
		p = exb_declaring("cap.exb", caps[i].name, 1ull << 50);
		refused(p, "over its limit");
		free(p);
		/* Directory: a sparse file one byte over. */
		p = exai_path_join(dir, "capdir");
		ck_assert_int_eq(mkdir(p, 0755), 0);
		if (strchr(caps[i].name, '/')) {
			snprintf(sub, sizeof(sub), "%s/%.*s", p,
				 (int)(strchr(caps[i].name, '/') - caps[i].name), caps[i].name);
			ck_assert_int_eq(mkdir(sub, 0755), 0);
		}
		{
			char *f = tu_write(p, caps[i].name, "", 0);
			ck_assert_int_eq(truncate(f, (off_t)caps[i].cap + 1), 0);
			free(f);
		}
		/* An index there, so the directory reads as a bundle and the cap is what speaks. */
		if (strcmp(caps[i].name, "index"))
			free(tu_write(p, "index", "", 0));
		refused(p, want);
		tu_rmtree(p);
		free(p);
	}
}
END_TEST

START_TEST(entry_and_signature_counts)
{
	bb_bundle *bb = valid(false);
	char *p;

	/* 160 entries at most: roots/<N> names are all part of the format. */
	for (int i = 0; bb->n <= EXAI_BUNDLE_MAX_ENTRIES; i++) { /* 160 + payload */
		char name[32];
		snprintf(name, sizeof(name), "roots/%d", 100 + i);
		bb_add(bb, 1, name, "x", 1);
	}
	p = bb_write_exb(bb, dir, "ok160.exb");
	{
		exai_bundle *b = NULL;
		exai_error e;
		ck_assert_msg(exai_bundle_open(p, &b, &e) == EXAI_OK, "%s", e.msg);
		ck_assert_uint_eq(b->n_entries, EXAI_BUNDLE_MAX_ENTRIES);
		exai_bundle_free(b);
	}
	free(p);
	bb_add(bb, 1, "roots/99", "x", 1);
	p = bb_write_exb(bb, dir, "many.exb");
	refused(p, "more than 160 entries");
	free(p);
	p = bb_write_dir(bb, dir, "many");
	refused(p, "more than 160 entries");
	free(p);
	bb_free(bb);

	/* 65 signature entries, refused at open in both forms. */
	bb = valid(false);
	for (int i = 0; i < EXAI_BUNDLE_MAX_SIGS; i++) {
		char name[48];
		snprintf(name, sizeof(name), "sig/%016X.minisig", 0x1000 + i);
		bb_add(bb, SIZE_MAX, name, "junk\n", 5);
	}
	p = bb_write_exb(bb, dir, "sigs.exb");
	refused(p, "more than 64 signature entries (refused before any is checked)");
	free(p);
	p = bb_write_dir(bb, dir, "sigs");
	refused(p, "more than 64 signature entries (refused before any is checked)");
	free(p);
	bb_free(bb);
}
END_TEST

START_TEST(names_outside_the_format)
{
	static const char *const bad[] = {"extra",
					  "Index",
					  "roots/0",
					  "roots/01",
					  "roots/x",
					  "sig/0123456789abcdef.minisig",
					  "sig/0123456789ABCDEF.sig",
					  "sig/0123456789ABCDE.minisig",
					  "payload.old"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bb_bundle *bb = valid(false);
		char want[128], n[32], *p;
		snprintf(want, sizeof(want), "entry '%s' is not part of the format", bad[i]);
		bb_add(bb, 1, bad[i], "x", 1);
		p = bb_write_exb(bb, dir, "bad.exb");
		refused(p, want);
		free(p);
		snprintf(n, sizeof(n), "bad%zu", i);
		p = bb_write_dir(bb, dir, n);
		refused(p, strchr(bad[i], '/') ? "not part of the format" : want);
		free(p);
		bb_free(bb);
	}
}
END_TEST

START_TEST(repeated_and_out_of_order_entries)
{
	static const char *const twice[] = {"index", "manifest", "chunks", "payload"};
	bb_bundle *bb;
	char *p;

	for (size_t i = 0; i < 4; i++) {
		char want[96];
		bb = valid(false);
		bb_add(bb, (size_t)(bb_find(bb, twice[i]) - bb->ent) + 1, twice[i], "x", 1);
		p = bb_write_exb(bb, dir, "twice.exb");
		/* A second payload is already out of order: only signatures follow it. */
		snprintf(want, sizeof(want),
			 i == 3 ? "entry 'payload' after payload"
				: "entry '%s' appears twice (refused)",
			 twice[i]);
		refused(p, want);
		free(p);
		bb_free(bb);
	}
	/* The index after the manifest. */
	bb = valid(false);
	{
		bb_entry t = bb->ent[0];
		bb->ent[0] = bb->ent[1];
		bb->ent[1] = t;
	}
	ck_assert_str_eq(bb->ent[1].name, "index");
	p = bb_write_exb(bb, dir, "order.exb");
	refused(p, "entry 'index' after 'manifest' (the format fixes the order");
	free(p);
	bb_free(bb);
	/* keys before manifest (encrypted) */
	bb = valid(true);
	{
		bb_entry *m = bb_find(bb, "manifest"), *k = bb_find(bb, "keys"), t = *m;
		*m = *k;
		*k = t;
	}
	p = bb_write_exb(bb, dir, "order2.exb");
	refused(p, "entry 'manifest' after 'keys'");
	free(p);
	bb_free(bb);
	/* A root after the manifest. */
	bb = valid(false);
	bb_add(bb, 2, "roots/1", "x", 1);
	p = bb_write_exb(bb, dir, "order3.exb");
	refused(p, "entry 'roots/1' after 'manifest'");
	free(p);
	bb_free(bb);
	/* Only signatures may follow the payload. */
	bb = valid(false);
	{
		bb_entry *c = bb_find(bb, "chunks"), *pl = bb_find(bb, "payload"), t = *c;
		*c = *pl;
		*pl = t;
	}
	p = bb_write_exb(bb, dir, "order4.exb");
	refused(p, "entry 'chunks' after payload (only signatures may follow it)");
	free(p);
	bb_free(bb);
	/* A signature before the payload is out of order too. */
	bb = valid(false);
	{
		bb_entry sig = bb->ent[bb->n - 1];
		memmove(&bb->ent[2], &bb->ent[1], (bb->n - 2) * sizeof(bb->ent[0]));
		bb->ent[1] = sig;
	}
	p = bb_write_exb(bb, dir, "order5.exb");
	refused(p, "entry 'manifest' after 'sig/");
	free(p);
	bb_free(bb);
}
END_TEST

/* The directory form: every entry must be a regular file opened without following links. */
START_TEST(directory_special_files)
{
	static const char *const victims[] = {"index", "manifest", "chunks", "payload"};
	bb_bundle *bb = valid(false);

	for (size_t i = 0; i < 4; i++) {
		for (int kind = 0; kind < 4; kind++) {
			char n[32], *p, *f, want[96];
			snprintf(n, sizeof(n), "sp%zu_%d", i, kind);
			p = bb_write_dir(bb, dir, n);
			f = exai_path_join(p, victims[i]);
			ck_assert_int_eq(unlink(f), 0);
			if (kind == 0) { /* a symlink to a perfectly good copy */
				char *copy = tu_write(dir, "copy", bb_find(bb, victims[i])->data,
						      bb_find(bb, victims[i])->len);
				ck_assert_int_eq(symlink(copy, f), 0);
				free(copy);
			} else if (kind == 1) {
				ck_assert_int_eq(mkfifo(f, 0644), 0);
			} else if (kind == 2) {
				ck_assert_int_eq(mknod(f, S_IFCHR | 0644, makedev(1, 3)), 0);
			} else {
				ck_assert_int_eq(mkdir(f, 0755), 0);
			}
			if (kind == 0 && strcmp(victims[i], "payload"))
				snprintf(want, sizeof(want), "%s: open: ", victims[i]);
			else
				snprintf(want, sizeof(want), "%s: not a regular file", victims[i]);
			refused(p, want);
			free(f);
			free(p);
		}
	}
	/* sig/ as a symlink to a directory, and a symlink inside sig/. */
	{
		char *p = bb_write_dir(bb, dir, "sigln"), *s = exai_path_join(p, "sig");
		char *real = exai_path_join(dir, "realsig");
		ck_assert_int_eq(rename(s, real), 0);
		ck_assert_int_eq(symlink(real, s), 0);
		refused(p, "sig/: open directory");
		free(s);
		free(real);
		free(p);
		p = bb_write_dir(bb, dir, "sigln2");
		char name[80], *f;
		snprintf(name, sizeof(name), "%s", bb->ent[bb->n - 1].name);
		f = exai_path_join(p, name);
		ck_assert_int_eq(unlink(f), 0);
		ck_assert_int_eq(symlink("/etc/hostname", f), 0);
		snprintf(name, sizeof(name), "%s: open: ", bb->ent[bb->n - 1].name);
		refused(p, name);
		free(f);
		free(p);
	}
	/* The bundle path itself: a symlink, a FIFO. */
	{
		char *p = bb_write_dir(bb, dir, "target"), *l = exai_path_join(dir, "link");
		ck_assert_int_eq(symlink(p, l), 0);
		refused(l, "open bundle");
		ck_assert_int_eq(unlink(l), 0);
		ck_assert_int_eq(mkfifo(l, 0644), 0);
		refused(l, "not a bundle file or directory");
		free(l);
		free(p);
	}
	bb_free(bb);
}
END_TEST

/* An .exb with @name written as an entry of libarchive type @type (link target @link). */
static char *exb_with_typed(const bb_bundle *bb, const char *name, unsigned type, const char *link,
			    bool hard)
{
	char *path = exai_path_join(dir, "typed.exb");
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < bb->n; i++) {
		struct archive_entry *ent = archive_entry_new();
		bool victim = !strcmp(bb->ent[i].name, name);
		archive_entry_set_pathname(ent,
					   victim && type == AE_IFDIR ? "weird/" : bb->ent[i].name);
		archive_entry_set_filetype(ent, victim ? type : AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		if (victim && link) {
			if (hard)
				archive_entry_set_hardlink(ent, link);
			else
				archive_entry_set_symlink(ent, link);
		}
		size_t len = victim ? 0 : bb->ent[i].len;
		archive_entry_set_size(ent, (la_int64_t)len);
		ck_assert_int_eq(archive_write_header(a, ent), ARCHIVE_OK);
		if (len)
			ck_assert_int_eq(archive_write_data(a, bb->ent[i].data, len),
					 (la_ssize_t)len);
		archive_entry_free(ent);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

START_TEST(exb_links_and_special_types)
{
	bb_bundle *bb = valid(false);
	char *p;

	p = exb_with_typed(bb, "manifest", AE_IFLNK, "index", false);
	refused(p, "entry 2: links are refused");
	free(p);
	p = exb_with_typed(bb, "chunks", AE_IFREG, "index", true);
	refused(p, "entry 3: links are refused");
	free(p);
	p = exb_with_typed(bb, "manifest", AE_IFIFO, NULL, false);
	refused(p, "entry 'manifest' is not a regular file");
	free(p);
	p = exb_with_typed(bb, "chunks", AE_IFCHR, NULL, false);
	refused(p, "entry 'chunks' is not a regular file");
	free(p);
	p = exb_with_typed(bb, "manifest", AE_IFDIR, NULL, false);
	refused(p, "directory 'weird/' is not part of the format");
	free(p);
	bb_free(bb);
}
END_TEST

/* The directories sig/ and roots/ may appear, each once: no name appears twice in an .exb,
 * and a run of directory entries is not a way around the entry cap. */
START_TEST(exb_directory_entries)
{
	bb_bundle *bb = valid(false);
	char *good = bb_write_exb(bb, dir, "dirs0.exb"), *p;
	size_t len;
	uint8_t *raw = tu_read(good, &len), blk[512];
	static const char *const names[] = {"sig/", "roots/", "sig"};

	/* The directory entries go after the first entry, the index (an .exb starts with it:
	 * otherwise it is not taken for a bundle at all). */
	size_t first = 512 + (strtoull((const char *)raw + 124, NULL, 8) + 511) / 512 * 512;
	ck_assert_uint_lt(first, len);
	for (int variant = 0; variant < 4; variant++) {
		size_t ndirs = variant == 3 ? 1000 : 2, n = first;
		uint8_t *t = malloc(ndirs * 512 + len);
		memcpy(t, raw, first);
		for (size_t i = 0; i < ndirs; i++) {
			/* variant 2: "sig" then "sig/", one directory under two spellings */
			const char *nm = variant == 2 ? names[2 - 2 * (i % 2)] : names[variant % 2];
			bb_tar_header(blk, nm, 0, '5');
			memcpy(t + n, blk, 512);
			n += 512;
		}
		memcpy(t + n, raw + first, len - first);
		p = write_raw("dirs.exb", t, n + len - first);
		refused(p, variant % 2 ? "directory 'roots/' appears twice (refused)"
				       : "directory 'sig/' appears twice (refused)");
		free(p);
		free(t);
	}
	/* Each once, in any position before payload: fine. */
	{
		uint8_t *t = malloc(1024 + len);
		bb_tar_header(t, "roots/", 0, '5');
		bb_tar_header(t + 512, "sig", 0, '5');
		memcpy(t + 1024, raw, len);
		p = write_raw("dirs1.exb", t, 1024 + len);
		exai_bundle *b = NULL;
		exai_error e;
		ck_assert_msg(exai_bundle_open(p, &b, &e) == EXAI_OK, "%s", e.msg);
		exai_bundle_free(b);
		free(p);
		free(t);
	}
	free(raw);
	free(good);
	bb_free(bb);
}
END_TEST

START_TEST(hostile_tar_structure)
{
	bb_bundle *bb = valid(false);
	char *p = bb_write_exb(bb, dir, "good.exb");
	size_t len;
	uint8_t *good = tu_read(p, &len), blk[1024];

	free(p);
	/* Cut inside the index's data, inside the payload, and before the end blocks. */
	p = write_raw("cut1.exb", good, 512 + 100);
	refused(p, "cut1.exb: Truncated tar archive");
	free(p);
	{
		/* the payload is the last entry before the signature: cut a few bytes into it */
		size_t cut = len - 1024 - 512 - bb->ent[bb->n - 1].len - 200;
		p = write_raw("cut2.exb", good, cut);
		refused(p, "cut2.exb: Truncated tar archive");
		free(p);
	}
	/* Bytes after the end-of-archive marker are never read as entries: an entry hidden there
	 * (after both zero blocks, or after the first one, which is what an interrupted
	 * `exai-bundle sign` append leaves) is not seen, so the bundle reads as before. They are
	 * not refused, because that interrupted append must leave a bundle that still opens. */
	for (int first_only = 0; first_only < 2; first_only++) {
		uint8_t hidden[1024];
		size_t keep = len - (first_only ? 512 : 0);
		uint8_t *g = malloc(keep + sizeof(hidden));
		exai_bundle *b = NULL;
		exai_error e;

		bb_tar_header(hidden, "extra", 1, '0');
		memset(hidden + 512, 'x', 512);
		memcpy(g, good, keep);
		memcpy(g + keep, hidden, sizeof(hidden));
		p = write_raw("hidden.exb", g, keep + sizeof(hidden));
		ck_assert_msg(exai_bundle_open(p, &b, &e) == EXAI_OK, "%s", e.msg);
		ck_assert_uint_eq(b->n_entries, 4);
		ck_assert_ptr_null(exai_bundle_entry(b, "extra"));
		exai_bundle_free(b);
		free(p);
		free(g);
	}
	/* A pax header whose size record is absurd, on the index. */
	{
		static const char *const vals[] = {"18446744073709551615", "1099511627776", "-17",
						   "99999999999999999999999", "65537"};
		static const char *const want[] = {
		    "pax.exb: Tar size attribute overflow",
		    "pax.exb: entry 'index' is 1099511627776 bytes, over its limit of 65536",
		    "pax.exb: Tar size attribute is negative",
		    "pax.exb: Tar size attribute overflow",
		    "pax.exb: entry 'index' is 65537 bytes, over its limit of 65536"};
		for (size_t i = 0; i < 5; i++) {
			char recs[1][64];
			size_t body = strlen(" size=") + strlen(vals[i]) + 1, n = body + 2;
			if (n >= 100)
				n++;
			snprintf(recs[0], sizeof(recs[0]), "%zu size=%s\n", n, vals[i]);
			ck_assert_uint_eq(strlen(recs[0]), n);
			size_t rl = strlen(recs[0]);
			memset(blk, 0, sizeof(blk));
			bb_tar_header(blk, "PaxHeader/index", rl, 'x');
			memcpy(blk + 512, recs[0], rl);
			uint8_t *t = malloc(1024 + len);
			memcpy(t, blk, 1024);
			memcpy(t + 1024, good, len);
			p = write_raw("pax.exb", t, 1024 + len);
			refused(p, want[i]);
			free(p);
			free(t);
		}
	}
	free(good);
	bb_free(bb);
}
END_TEST

START_TEST(not_a_bundle)
{
	char *p = exai_path_join(dir, "empty");

	ck_assert_int_eq(mkdir(p, 0755), 0);
	refused(p, "empty: not an exai bundle (a bundle directory holds an 'index' file");
	free(p);
	p = write_raw("text.exb", "hello, this is not a tar archive\n", 33);
	refused(p, "text.exb: not an exai bundle (not a tar archive");
	free(p);
	p = write_raw("zero.exb", "", 0);
	refused(p, "zero.exb: not an exai bundle (an empty file)");
	free(p);
	p = exai_path_join(dir, "missing");
	refused(p, "missing: open bundle");
	free(p);
	{
		/* A well-formed tar of entries that are not ours. */
		bb_bundle *bb = valid(false);
		bb_remove(bb, "index");
		p = bb_write_exb(bb, dir, "noindex.exb");
		refused(p, "noindex.exb: no index (is this a bundle?)"); /* its entries are ours */
		free(p);
		/* An index that is not an exai index. */
		bb_add(bb, 0, "index", "exai-bundle-index 3\n", 20);
		p = bb_write_exb(bb, dir, "badindex.exb");
		refused(p, "badindex.exb: index: line 1");
		free(p);
		p = bb_write_dir(bb, dir, "badindex");
		refused(p, "badindex: index: line 1");
		free(p);
		bb_free(bb);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundle_open");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, both_forms_open_and_verify);
	tcase_add_test(tc, every_cap_refuses_before_reading);
	tcase_add_test(tc, entry_and_signature_counts);
	tcase_add_test(tc, names_outside_the_format);
	tcase_add_test(tc, repeated_and_out_of_order_entries);
	tcase_add_test(tc, directory_special_files);
	tcase_add_test(tc, exb_links_and_special_types);
	tcase_add_test(tc, exb_directory_entries);
	tcase_add_test(tc, hostile_tar_structure);
	tcase_add_test(tc, not_a_bundle);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
