/* Check suite for appliance/extract.c: one test per hardening rule, plus the streaming
 * hand-over with small and large pieces. Tars are built in memory with libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/hash.h"
#include "exai/manifest.h"
#include "extract.h"
#include "testutil.h"

/* @dir/@rel in a static buffer. */
static const char *tu_path(const char *dir, const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
	return buf;
}

typedef struct ent {
	const char *path;
	mode_t type;
	mode_t perm;
	const char *data; /* file content */
	const char *link; /* symlink target */
	const char *hard; /* hard link source */
} ent;

static size_t mk_tar(const ent *ents, size_t n, const char *filter, uint8_t **out)
{
	size_t cap = 8u << 20, used = 0;
	uint8_t *buf = malloc(cap);
	struct archive *a = archive_write_new();

	archive_write_set_format_pax_restricted(a);
	if (filter && !strcmp(filter, "gzip"))
		archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_filetype(e, ents[i].type);
		archive_entry_set_perm(e, ents[i].perm ? ents[i].perm : 0644);
		if (ents[i].link)
			archive_entry_set_symlink(e, ents[i].link);
		if (ents[i].hard) {
			archive_entry_set_hardlink(e, ents[i].hard);
			archive_entry_set_filetype(e, AE_IFREG);
		}
		if (ents[i].type == AE_IFREG && ents[i].data && !ents[i].hard)
			archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].data && !ents[i].hard)
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	*out = buf;
	return used;
}

static exai_status run(const char *dir, const uint8_t *tar, size_t len, size_t piece,
		       const upd_extract_limits *lim, exai_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	upd_extract *x;
	exai_status rc = upd_extract_start(fd, lim, &x, e);

	close(fd);
	if (rc)
		return rc;
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		if ((rc = upd_extract_feed(x, tar + off, n, e))) {
			upd_extract_abort(x);
			return rc;
		}
	}
	return upd_extract_finish(x, e);
}

static const upd_extract_limits lim_default = {1000, 1u << 20, 100, 0, NULL};

/* Extracts @ents into a fresh dir; returns the status, with the dir in *dir_out if wanted. */
static exai_status extract(const ent *ents, size_t n, const upd_extract_limits *lim, exai_error *e,
			   char **dir_out)
{
	char *dir = tu_tempdir();
	uint8_t *tar;
	size_t len = mk_tar(ents, n, NULL, &tar);
	exai_status rc = run(dir, tar, len, 4096, lim ? lim : &lim_default, e);

	free(tar);
	if (dir_out) {
		*dir_out = dir;
	} else {
		tu_rmtree(dir);
		free(dir);
	}
	return rc;
}

#define REFUSED(ents, what)                                                                      \
	do {                                                                                     \
		exai_error e_;                                                                   \
		ck_assert_int_eq(extract(ents, sizeof(ents) / sizeof(ents[0]), NULL, &e_, NULL), \
				 EXAI_EUNSAFE);                                                  \
		ck_assert_msg(strstr(e_.msg, what), "%s", e_.msg);                               \
	} while (0)

START_TEST(good_tree_extracts_in_small_and_large_pieces)
{
	static const ent ents[] = {
	    {"./bin", AE_IFDIR, 0755, NULL, NULL, NULL},
	    {"./bin/run", AE_IFREG, 0755, "#!/bin/sh\necho hi\n", NULL, NULL},
	    {"lib/libx.so.1", AE_IFREG, 0644, "ELF", NULL, NULL},
	    {"lib/libx.so", AE_IFLNK, 0777, NULL, "libx.so.1", NULL},
	    {"bin/lib", AE_IFLNK, 0777, NULL, "../lib", NULL},
	    {"bin/run2", AE_IFREG, 0755, NULL, NULL, "bin/run"},
	};
	uint8_t *tar;
	size_t len = mk_tar(ents, 6, NULL, &tar);
	size_t pieces[] = {1, 511, 4096, 1 << 20};

	for (size_t i = 0; i < 4; i++) {
		char *dir = tu_tempdir(), path[512], link[64];
		struct stat st;
		exai_error e;
		ck_assert_msg(run(dir, tar, len, pieces[i], &lim_default, &e) == EXAI_OK, "%s",
			      e.msg);
		snprintf(path, sizeof(path), "%s/bin/run", dir);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_mode & 07777, 0755);
		ck_assert_int_eq(st.st_nlink, 2);
		snprintf(path, sizeof(path), "%s/lib/libx.so", dir);
		ck_assert_int_eq(readlink(path, link, sizeof(link)), 9);
		tu_rmtree(dir);
		free(dir);
	}
	free(tar);
}
END_TEST

START_TEST(absolute_path_refused)
{
	static const ent ents[] = {{"/tmp/evil", AE_IFREG, 0644, "x", NULL, NULL}};
	REFUSED(ents, "absolute path");
}
END_TEST

START_TEST(dotdot_refused)
{
	static const ent ents[] = {{"a/../../evil", AE_IFREG, 0644, "x", NULL, NULL}};
	REFUSED(ents, "'..'");
}
END_TEST

START_TEST(symlink_leaving_tree_refused)
{
	static const ent abs[] = {{"etc", AE_IFLNK, 0777, NULL, "/etc", NULL}};
	static const ent up[] = {{"d/x", AE_IFLNK, 0777, NULL, "../../x", NULL}};
	REFUSED(abs, "leaves the tree");
	REFUSED(up, "leaves the tree");
}
END_TEST

START_TEST(write_through_symlink_refused)
{
	/* an in-tree symlink to a dir, then a file "through" it */
	static const ent ents[] = {
	    {"sub", AE_IFDIR, 0755, NULL, NULL, NULL},
	    {"l", AE_IFLNK, 0777, NULL, "sub", NULL},
	    {"l/f", AE_IFREG, 0644, "x", NULL, NULL},
	};
	REFUSED(ents, "symlink or not a directory");
}
END_TEST

START_TEST(replacing_an_entry_refused)
{
	static const ent ents[] = {
	    {"f", AE_IFLNK, 0777, NULL, "g", NULL},
	    {"f", AE_IFREG, 0644, "x", NULL, NULL},
	};
	REFUSED(ents, "appears twice");
}
END_TEST

START_TEST(hardlink_leaving_tree_refused)
{
	static const ent out[] = {{"h", AE_IFREG, 0644, NULL, NULL, "../../etc/passwd"}};
	static const ent abs[] = {{"h", AE_IFREG, 0644, NULL, NULL, "/etc/passwd"}};
	static const ent missing[] = {{"h", AE_IFREG, 0644, NULL, NULL, "nothere"}};
	REFUSED(out, "hard link");
	REFUSED(abs, "hard link");
	REFUSED(missing, "not an earlier regular file");
}
END_TEST

START_TEST(devices_fifos_refused)
{
	static const ent chr[] = {{"null", AE_IFCHR, 0666, NULL, NULL, NULL}};
	static const ent blk[] = {{"sda", AE_IFBLK, 0660, NULL, NULL, NULL}};
	static const ent fifo[] = {{"p", AE_IFIFO, 0644, NULL, NULL, NULL}};
	REFUSED(chr, "device node");
	REFUSED(blk, "device node");
	REFUSED(fifo, "FIFO");
}
END_TEST

START_TEST(setuid_needs_the_manifest_flag)
{
	static const ent ents[] = {{"su", AE_IFREG, 04755, "x", NULL, NULL}};
	static const ent sgid[] = {{"sg", AE_IFREG, 02755, "x", NULL, NULL}};
	upd_extract_limits lim = lim_default;
	char *dir, path[512];
	struct stat st;
	exai_error e;

	REFUSED(ents, "setuid");
	REFUSED(sgid, "setuid");
	lim.flags = EXAI_CFLAG_SETUID;
	ck_assert_int_eq(extract(ents, 1, &lim, &e, &dir), EXAI_OK);
	snprintf(path, sizeof(path), "%s/su", dir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 04755);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(world_writable_needs_the_manifest_flag)
{
	static const ent file[] = {{"w", AE_IFREG, 0666, "x", NULL, NULL}};
	static const ent dir[] = {{"d", AE_IFDIR, 0777, NULL, NULL, NULL}};
	static const ent sticky[] = {{"t", AE_IFDIR, 01777, NULL, NULL, NULL}};
	upd_extract_limits lim = lim_default;
	char *d, path[512];
	struct stat st;
	exai_error e;

	REFUSED(file, "w: refused: world-writable file (mode 0666)");
	REFUSED(dir, "d: refused: world-writable directory without the sticky bit (mode 0777)");
	ck_assert_int_eq(extract(sticky, 1, NULL, &e, NULL), EXAI_OK);
	lim.flags = EXAI_CFLAG_WORLD_WRITABLE;
	ck_assert_int_eq(extract(file, 1, &lim, &e, &d), EXAI_OK);
	snprintf(path, sizeof(path), "%s/w", d);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0666);
	tu_rmtree(d);
	free(d);
}
END_TEST

/* With no root fd the same pass runs and writes nothing: the same verdicts, same messages. */
START_TEST(check_only_writes_nothing)
{
	static const ent good[] = {
	    {"bin/run", AE_IFREG, 0755, "#!/bin/sh\n", NULL, NULL},
	    {"bin/lib", AE_IFLNK, 0777, NULL, "../lib", NULL},
	    {"bin/run2", AE_IFREG, 0755, NULL, NULL, "bin/run"},
	};
	static const ent bad[] = {
	    {"sub", AE_IFDIR, 0755, NULL, NULL, NULL},
	    {"l", AE_IFLNK, 0777, NULL, "sub", NULL},
	    {"l/f", AE_IFREG, 0644, "x", NULL, NULL},
	};
	char *dir = tu_tempdir(), *old = getcwd(NULL, 0);
	uint8_t *tar;
	size_t len;
	upd_extract *x;
	exai_error e, e2;

	ck_assert_int_eq(chdir(dir), 0);
	len = mk_tar(good, 3, NULL, &tar);
	ck_assert_int_eq(upd_extract_start(-1, &lim_default, &x, &e), EXAI_OK);
	ck_assert_int_eq(upd_extract_feed(x, tar, len, &e), EXAI_OK);
	ck_assert_msg(upd_extract_finish(x, &e) == EXAI_OK, "%s", e.msg);
	free(tar);
	len = mk_tar(bad, 3, NULL, &tar);
	ck_assert_int_eq(upd_extract_start(-1, &lim_default, &x, &e), EXAI_OK);
	if (upd_extract_feed(x, tar, len, &e) == EXAI_OK)
		ck_assert_int_eq(upd_extract_finish(x, &e), EXAI_EUNSAFE);
	else
		upd_extract_abort(x);
	ck_assert_int_eq(extract(bad, 3, NULL, &e2, NULL), EXAI_EUNSAFE);
	ck_assert_str_eq(e.msg, e2.msg);
	ck_assert_int_eq(tu_count_entries(dir), 0);
	ck_assert_int_eq(chdir(old), 0);
	free(tar);
	free(old);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(entry_and_size_caps)
{
	static const ent ents[] = {
	    {"a", AE_IFREG, 0644, "12345", NULL, NULL},
	    {"b", AE_IFREG, 0644, "12345", NULL, NULL},
	};
	upd_extract_limits lim = lim_default;
	exai_error e;

	lim.max_entries = 1;
	ck_assert_int_eq(extract(ents, 2, &lim, &e, NULL), EXAI_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than the manifest's 1 entries"));
	lim = lim_default;
	lim.max_bytes = 9;
	ck_assert_int_eq(extract(ents, 2, &lim, &e, NULL), EXAI_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "b: file content over the manifest's 9"));
	lim.max_bytes = 10;
	ck_assert_int_eq(extract(ents, 2, &lim, &e, NULL), EXAI_OK);
}
END_TEST

START_TEST(decompression_ratio_capped)
{
	char *zeros = calloc(1, 4u << 20);
	memset(zeros, '0', (4u << 20) - 1);
	ent ents[] = {{"bomb", AE_IFREG, 0644, zeros, NULL, NULL}};
	upd_extract_limits lim = {10, 8u << 20, 4, 0, NULL};
	char *dir = tu_tempdir();
	uint8_t *tar;
	size_t len = mk_tar(ents, 1, "gzip", &tar);
	exai_error e;

	ck_assert_uint_lt(len, 64u << 10);
	ck_assert_int_eq(run(dir, tar, len, 4096, &lim, &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "decompression ratio over 4"), "%s", e.msg);
	lim.max_ratio = 1000;
	tu_rmtree(dir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_msg(run(dir, tar, len, 4096, &lim, &e) == EXAI_OK, "%s", e.msg);
	tu_rmtree(dir);
	free(dir);
	free(tar);
	free(zeros);
}
END_TEST

START_TEST(garbage_and_trailing_data)
{
	char *dir = tu_tempdir();
	uint8_t junk[2048];
	exai_error e;

	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(run(dir, junk, sizeof(junk), 512, &lim_default, &e), EXAI_EFORMAT);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

static void sha_hex(const char *data, char out[EXAI_SHA256_HEX])
{
	uint8_t md[EXAI_SHA256_LEN];
	exai_error e;

	ck_assert_int_eq(exai_sha256_buf(data, strlen(data), md, &e), EXAI_OK);
	exai_hex_encode(md, sizeof(md), out);
}

/* With lim.files, every entry is recorded as written: file hashes computed while writing,
 * explicit dir modes (with the owner bits the extractor adds), implicit dirs as 0755 (the
 * mode they really get, whatever the umask), symlink targets, hard links as their source's
 * content, and the same dir declared after an implicit creation wins. */
START_TEST(records_what_it_writes)
{
	static const ent ents[] = {
	    {"a/b/file", AE_IFREG, 0640, "hello\n", NULL, NULL},
	    {"a", AE_IFDIR, 0550, NULL, NULL, NULL},
	    {"a/link", AE_IFLNK, 0777, NULL, "b/file", NULL},
	    {"a/hard", AE_IFREG, 0, NULL, NULL, "a/b/file"},
	    {"empty", AE_IFREG, 0600, "", NULL, NULL},
	};
	upd_filelist l = {0};
	upd_extract_limits lim = lim_default;
	const upd_file *f;
	char *dir, want[EXAI_SHA256_HEX], got[EXAI_SHA256_HEX];
	struct stat st;
	exai_error e;
	mode_t old = umask(077);

	lim.files = &l;
	ck_assert_msg(extract(ents, 5, &lim, &e, &dir) == EXAI_OK, "%s", e.msg);
	umask(old);
	ck_assert_int_eq(upd_filelist_finish(&l, &e), EXAI_OK);
	ck_assert_uint_eq(l.n, 6); /* a, a/b, a/b/file, a/hard, a/link, empty */
	ck_assert_str_eq(l.v[0].path, "a");
	ck_assert_int_eq(l.v[0].kind, UPD_F_DIR);
	ck_assert_uint_eq(l.v[0].mode, 0750);
	ck_assert_ptr_nonnull(f = upd_filelist_find(&l, "a/b"));
	ck_assert_uint_eq(f->mode, 0755);
	ck_assert_int_eq(stat(tu_path(dir, "a/b"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_ptr_nonnull(f = upd_filelist_find(&l, "a/b/file"));
	sha_hex("hello\n", want);
	exai_hex_encode(f->sha256, EXAI_SHA256_LEN, got);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(f->size, 6);
	ck_assert_uint_eq(f->mode, 0640);
	ck_assert_ptr_nonnull(f = upd_filelist_find(&l, "a/hard"));
	ck_assert_int_eq(f->kind, UPD_F_FILE);
	exai_hex_encode(f->sha256, EXAI_SHA256_LEN, got);
	ck_assert_str_eq(got, want);
	ck_assert_ptr_nonnull(f = upd_filelist_find(&l, "a/link"));
	ck_assert_int_eq(f->kind, UPD_F_LINK);
	ck_assert_str_eq(f->target, "b/file");
	ck_assert_ptr_nonnull(f = upd_filelist_find(&l, "empty"));
	sha_hex("", want);
	exai_hex_encode(f->sha256, EXAI_SHA256_LEN, got);
	ck_assert_str_eq(got, want);
	upd_filelist_clear(&l);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* The check-only pass (no root fd) with lim.files records what the writing pass records of
 * the same stream, record for record: implicit and explicit dirs, files, links, hard links. */
START_TEST(check_only_records_what_writing_records)
{
	static const ent ents[] = {
	    {"a/b/file", AE_IFREG, 0640, "hello\n", NULL, NULL},
	    {"a", AE_IFDIR, 0550, NULL, NULL, NULL},
	    {"a/link", AE_IFLNK, 0777, NULL, "b/file", NULL},
	    {"a/hard", AE_IFREG, 0, NULL, NULL, "a/b/file"},
	    {"c", AE_IFDIR, 0700, NULL, NULL, NULL},
	    {"c/d/e", AE_IFREG, 0600, "", NULL, NULL},
	    {"top", AE_IFREG, 0644, "top file\n", NULL, NULL},
	};
	upd_filelist w = {0}, k = {0};
	upd_extract_limits lim = lim_default;
	upd_extract *x;
	uint8_t *tar;
	size_t len;
	char *dir;
	exai_error e;

	lim.files = &w;
	ck_assert_msg(extract(ents, 7, &lim, &e, &dir) == EXAI_OK, "%s", e.msg);
	ck_assert_int_eq(upd_filelist_finish(&w, &e), EXAI_OK);
	len = mk_tar(ents, 7, NULL, &tar);
	lim.files = &k;
	ck_assert_int_eq(upd_extract_start(-1, &lim, &x, &e), EXAI_OK);
	for (size_t off = 0; off < len; off += 512)
		ck_assert_int_eq(
		    upd_extract_feed(x, tar + off, len - off < 512 ? len - off : 512, &e), EXAI_OK);
	ck_assert_msg(upd_extract_finish(x, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_int_eq(upd_filelist_finish(&k, &e), EXAI_OK);
	ck_assert_uint_eq(w.n, 9);
	ck_assert_uint_eq(k.n, w.n);
	for (size_t i = 0; i < w.n; i++) {
		ck_assert_str_eq(k.v[i].path, w.v[i].path);
		ck_assert_int_eq(k.v[i].kind, w.v[i].kind);
		ck_assert_uint_eq(k.v[i].mode, w.v[i].mode);
		ck_assert_uint_eq(k.v[i].size, w.v[i].size);
		ck_assert_mem_eq(k.v[i].sha256, w.v[i].sha256, EXAI_SHA256_LEN);
		ck_assert_str_eq(k.v[i].target ? k.v[i].target : "",
				 w.v[i].target ? w.v[i].target : "");
	}
	ck_assert_int_eq(tu_count_entries(dir) > 0, 1);
	free(tar);
	upd_filelist_clear(&w);
	upd_filelist_clear(&k);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* A refused extraction leaves records only of what was created before the refusal; the
 * caller discards them with the staging tree. */
START_TEST(hardlink_records_need_a_recorded_source)
{
	upd_filelist l = {0};
	exai_error e;

	ck_assert_int_eq(upd_filelist_add(&l, "x", UPD_F_HARD, 0, 0, NULL, "nope", &e), EXAI_OK);
	ck_assert_int_eq(upd_filelist_finish(&l, &e), EXAI_EINTERNAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "hard link source 'nope'"));
	upd_filelist_clear(&l);
	ck_assert_uint_eq(l.n, 0);
	upd_filelist_clear(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("update_extract");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, good_tree_extracts_in_small_and_large_pieces);
	tcase_add_test(tc, absolute_path_refused);
	tcase_add_test(tc, dotdot_refused);
	tcase_add_test(tc, symlink_leaving_tree_refused);
	tcase_add_test(tc, write_through_symlink_refused);
	tcase_add_test(tc, replacing_an_entry_refused);
	tcase_add_test(tc, hardlink_leaving_tree_refused);
	tcase_add_test(tc, devices_fifos_refused);
	tcase_add_test(tc, setuid_needs_the_manifest_flag);
	tcase_add_test(tc, world_writable_needs_the_manifest_flag);
	tcase_add_test(tc, check_only_writes_nothing);
	tcase_add_test(tc, entry_and_size_caps);
	tcase_add_test(tc, decompression_ratio_capped);
	tcase_add_test(tc, garbage_and_trailing_data);
	tcase_add_test(tc, records_what_it_writes);
	tcase_add_test(tc, hardlink_records_need_a_recorded_source);
	tcase_add_test(tc, check_only_records_what_writing_records);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
