/*
 * fuzz_extract: libFuzzer harness of the tar extraction exai-update runs as root
 * (appliance/extract.c writing what lib/bundle/tarcheck.c and tarcheck_walk.c accept), with its
 * invariants checked on disk after every input, whether the extraction succeeded or not
 * (fuzz_extract.h): nothing created or changed outside the staging dir, no device, FIFO or
 * socket, no setuid/setgid or world-writable bit unless the manifest flags allow it, no
 * symlink resolving above the staging dir, no hard link to a file outside. A broken
 * invariant aborts, naming it.
 *
 * Input:
 *   byte 0: bits 0-1 the form: tar, tar.gz, tar.zst built from the entries below, or 3: the
 *           rest of the input fed as it is; bit 2 the manifest flag setuid; bit 3
 *           world-writable; bits 4-7 the feed size (FEEDS, never more than 512 feeds).
 *   byte 1: bits 0-1 max entries, 2-3 max unpacked bytes, 4-5 max ratio (the limit tables
 *           below); bits 6-7 the tar writer: pax restricted, GNU, ustar, pax.
 *   then entries, each: u8 kind (bits 0-2 regular, dir, symlink, hard link, char device,
 *   block device, FIFO, socket; bits 3-7 the path from PATHS, or 28-31 read from the input:
 *   u8 length, bytes mapped onto "abl./" so they are never absolute), u16 mode (bits 0-11
 *   the permissions, 12-13 zero padding past the data: 0, 1, 511 or 70000 bytes), then a
 *   symlink's or hard link's target (u8: LINKS, or from the input) or a file's data (u16
 *   length, bytes).
 * Absolute entry paths are only ever under FX_ABS_CANARY (a path the check requires not to
 * exist): the harness runs as root in CI, and a broken extractor must not write elsewhere.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "exai/hash.h"
#include "exai/manifest.h"
#include "exai/secmem.h"
#include "extract.h"
#include "files.h"
#include "fuzz_extract.h"
#include "fuzz_recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 256
#define TAR_CAP	    (8u << 20)

static const size_t FEEDS[16] = {1,    2,     7,     100,     511, 512,	 513,	4096,
				 8191, 10000, 65536, 1 << 20, 3,   1024, 32768, SIZE_MAX};
static const uint64_t MAX_N[4] = {1000, 2, 16, 64};
static const uint64_t MAX_B[4] = {1u << 20, 100, 4096, 1u << 16};
static const uint64_t RATIO[4] = {1000, 1, 10, 100};
static const size_t PADS[4] = {0, 1, 511, 70000};

static const char *const PATHS[28] = {"a",
				      "a/b",
				      "a/b/c",
				      "b",
				      "./a",
				      "../x",
				      "../../../../x",
				      FX_ABS_CANARY "/x",
				      "a/../b",
				      "l",
				      "l/x",
				      "a/l",
				      "a/l/x",
				      ".",
				      "a/",
				      "..",
				      "c/d/e/f",
				      "a//b",
				      "./",
				      "a/./b",
				      "f",
				      "f/x",
				      "h",
				      "d",
				      "d/e",
				      "../../../canary",
				      "a/b/c/d/e/f/g/h",
				      NULL /* a part over 255 bytes */};
static const char *const LINKS[24] = {"a",
				      "../a",
				      "..",
				      "../../../../",
				      "/etc",
				      "b/../..",
				      "a/b",
				      "l",
				      ".",
				      "x/../../y",
				      "../../../canary",
				      "f",
				      "a/b/c",
				      "../l",
				      FX_ABS_CANARY,
				      "",
				      "l/x",
				      "./../..",
				      "../../o3/stage",
				      "h",
				      "d/e/../../..",
				      "../../../outside",
				      "a/l",
				      "../a/b/../../.."};

static char base[256], stage[512], *before;
static bool trace; /* FUZZ_EXTRACT_TRACE set: each extraction's outcome on stderr */

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_extract: invariant broken: %s\n", what);
	abort();
}

/* A name from the input, on an alphabet that makes '..', '.', '//' and links likely. */
static void input_name(rd *r, char *out, size_t cap)
{
	static const char abc[] = "abl./";
	size_t n = g8(r) % 64;

	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = abc[g8(r) % 5];
	out[n] = '\0';
	if (out[0] == '/')
		out[0] = 'a';
}

static void rm_tree(const char *p);

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	if (S_ISDIR(st->st_mode))
		(void)chmod(p, 0700);
	return remove(p);
}

static void rm_tree(const char *p)
{
	(void)nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void rm_base(void)
{
	if (base[0])
		rm_tree(base);
	free(before);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	exai_error e;

	if (exai_init(&e) != EXAI_OK)
		fail(e.msg);
	trace = getenv("FUZZ_EXTRACT_TRACE") != NULL;
	snprintf(base, sizeof(base), "/dev/shm/fuzz_extract.XXXXXX");
	if (!mkdtemp(base)) {
		snprintf(base, sizeof(base), "%s/fuzz_extract.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(base))
			fail("cannot make a temp dir");
	}
	atexit(rm_base);
	if (!fx_layout(base, stage, sizeof(stage)))
		fail("cannot lay out the work dir");
	if (mkdir(stage, 0755) != 0 || !(before = fx_listing(base, stage)))
		fail("cannot list the work dir");
	rmdir(stage);
}

/* One entry of the recipe into the archive; false once the writer has failed for good. */
static bool add_entry(struct archive *a, rd *r)
{
	static char longpart[300];
	unsigned k = g8(r), mode = g16(r), sel = k >> 3, type = k & 7;
	char path[70], link[70];
	struct archive_entry *ae = archive_entry_new();
	const uint8_t *data = NULL;
	size_t len = 0, pad = PADS[(mode >> 12) & 3];
	int rc;

	if (!ae)
		fail("out of memory");
	if (!longpart[0])
		memset(longpart, 'p', sizeof(longpart) - 1);
	if (sel < 27)
		archive_entry_set_pathname(ae, PATHS[sel]);
	else if (sel == 27)
		archive_entry_set_pathname(ae, longpart);
	else {
		input_name(r, path, sizeof(path));
		archive_entry_set_pathname(ae, path);
	}
	archive_entry_set_perm(ae, mode & 07777);
	archive_entry_set_mtime(ae, 1000, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	if (type == 2 || type == 3) {
		unsigned j = g8(r);
		if (j % 32 < 24)
			snprintf(link, sizeof(link), "%s", LINKS[j % 32]);
		else
			input_name(r, link, sizeof(link));
	}
	switch (type) {
	case 0: {
		unsigned n = g16(r);
		len = n < r->n ? n : r->n;
		data = r->p;
		r->p += len;
		r->n -= len;
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)(len + pad));
		break;
	}
	case 1:
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case 2:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, link);
		break;
	case 3:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, link);
		break;
	case 4:
		archive_entry_set_filetype(ae, AE_IFCHR);
		archive_entry_set_rdev(ae, makedev(1, 3));
		break;
	case 5:
		archive_entry_set_filetype(ae, AE_IFBLK);
		archive_entry_set_rdev(ae, makedev(7, 0));
		break;
	case 6:
		archive_entry_set_filetype(ae, AE_IFIFO);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFSOCK);
		break;
	}
	rc = archive_write_header(a, ae);
	archive_entry_free(ae);
	if (rc == ARCHIVE_FATAL)
		return false;
	if (rc == ARCHIVE_OK && len && archive_write_data(a, data, len) != (la_ssize_t)len)
		return false;
	return true;
}

/* The tar (gzip, zstd) the recipe describes, into @buf (TAR_CAP bytes); its length. */
static size_t build(rd *r, unsigned form, unsigned writer, uint8_t *buf)
{
	struct archive *a = archive_write_new();
	size_t used = 0;

	if (!a)
		fail("out of memory");
	switch (writer) {
	case 0:
		archive_write_set_format_pax_restricted(a);
		break;
	case 1:
		archive_write_set_format_gnutar(a);
		break;
	case 2:
		archive_write_set_format_ustar(a);
		break;
	default:
		archive_write_set_format_pax(a);
		break;
	}
	if (form == 1)
		archive_write_add_filter_gzip(a);
	else if (form == 2)
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_memory(a, buf, TAR_CAP, &used) != ARCHIVE_OK) {
		archive_write_free(a);
		return 0;
	}
	for (unsigned i = 0; r->n && i < MAX_ENTRIES; i++)
		if (!add_entry(a, r))
			break;
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

/* After a successful extraction: the file list (what the state database keeps and
 * airgap-verifier host re-hashes) describes the disk exactly. */
static void check_records(upd_filelist *fl)
{
	exai_error e;

	if (upd_filelist_finish(fl, &e) != EXAI_OK)
		fail(e.msg);
	for (size_t i = 0; i < fl->n; i++) {
		const upd_file *f = &fl->v[i];
		char p[4700], t[4200];
		struct stat st;
		uint8_t md[EXAI_SHA256_LEN];
		uint64_t sz = 0;
		ssize_t n;

		snprintf(p, sizeof(p), "%s/%s", stage, f->path);
		if (lstat(p, &st) != 0)
			fail("a recorded path does not exist");
		switch (f->kind) {
		case UPD_F_FILE:
			if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) != f->mode ||
			    (uint64_t)st.st_size != f->size)
				fail("a recorded file differs from the disk");
			/* (a normal user cannot read back a file extracted without read access) */
			if (exai_sha256_file(p, UINT64_MAX, md, &sz, NULL, &e) != EXAI_OK) {
				if (geteuid() == 0)
					fail(e.msg);
			} else if (memcmp(md, f->sha256, sizeof(md))) {
				fail("a recorded file's hash differs from the disk");
			}
			break;
		case UPD_F_DIR:
			if (!S_ISDIR(st.st_mode) || (st.st_mode & 07777) != f->mode)
				fail("a recorded directory differs from the disk");
			break;
		case UPD_F_LINK:
			n = readlink(p, t, sizeof(t) - 1);
			if (!S_ISLNK(st.st_mode) || n < 0 || (t[n] = '\0', strcmp(t, f->target)))
				fail("a recorded symlink differs from the disk");
			break;
		default:
			fail("an unexpected record kind");
		}
	}
}

/* Extracts @in into the stage, @feed bytes at a time (at most 512 feeds). */
static void extract(const uint8_t *in, size_t len, size_t feed, upd_extract_limits *lim)
{
	upd_filelist fl = {0};
	upd_extract *x = NULL;
	exai_error e;
	int fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		fail("cannot open the staging dir");
	lim->files = &fl;
	if (upd_extract_start(fd, lim, &x, &e) != EXAI_OK) {
		close(fd);
		if (trace)
			fprintf(stderr, "fuzz_extract: start: %s\n", e.msg);
		return;
	}
	close(fd);
	if (feed < len / 512)
		feed = len / 512;
	for (size_t off = 0; off < len; off += feed) {
		size_t n = len - off < feed ? len - off : feed;
		if (upd_extract_feed(x, in + off, n, &e) != EXAI_OK) {
			if (trace)
				fprintf(stderr, "fuzz_extract: %zu bytes: refused at %zu: %s\n",
					len, off, e.msg);
			upd_extract_abort(x);
			upd_filelist_clear(&fl);
			return;
		}
	}
	exai_status rc = upd_extract_finish(x, &e);
	if (trace)
		fprintf(stderr, "fuzz_extract: %zu bytes: %s (%zu records)\n", len,
			rc ? e.msg : "extracted", fl.n);
	if (rc == EXAI_OK)
		check_records(&fl);
	upd_filelist_clear(&fl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	rd r = {data, size};
	unsigned f, l;
	upd_extract_limits lim;
	const char *why;

	if (!base[0])
		setup();
	if (!buf && !(buf = malloc(TAR_CAP)))
		fail("out of memory");
	if (size < 2)
		return 0;
	f = g8(&r);
	l = g8(&r);
	lim = (upd_extract_limits){.max_entries = MAX_N[l & 3],
				   .max_bytes = MAX_B[(l >> 2) & 3],
				   .max_ratio = RATIO[(l >> 4) & 3],
				   .flags = (f & 4 ? EXAI_CFLAG_SETUID : 0) |
					    (f & 8 ? EXAI_CFLAG_WORLD_WRITABLE : 0),
				   .files = NULL};
	if (mkdir(stage, 0755) != 0)
		fail("cannot make the staging dir");
	if ((f & 3) == 3) {
		extract(r.p, r.n, FEEDS[f >> 4], &lim);
	} else {
		size_t len = build(&r, f & 3, l >> 6, buf);
		extract(buf, len, FEEDS[f >> 4], &lim);
	}
	if ((why = fx_check(base, stage, before, lim.flags)))
		fail(why);
	rm_tree(stage);
	return 0;
}
