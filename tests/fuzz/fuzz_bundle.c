/*
 * fuzz_bundle: structure-aware libFuzzer harness of the bundle container, what `exai-update
 * verify` and `apply` read from hostile media (lib/bundle/bundle_open.c, bundle_verify.c,
 * bundle_stream.c): exai_bundle_open, exai_bundle_verify against a test root (root chain
 * walk, signature count, entry checks), exai_bundle_unlock with a test site key, and
 * exai_bundle_stream (the chunk pipeline) into a sink that hashes the plaintext and runs the
 * tar check over tar components, as verify does.
 *
 * The input is a recipe, not a bundle (random bytes mostly fail tar header checksums and never
 * reach the signature code). fuzz_bundle_make.c builds a valid, signed, encrypted bundle once
 * (fuzz_bundle.h); the recipe says what to write from it:
 *   byte 0: flags  bit 0 .exb (else the directory form); bit 1 the sink on its own thread;
 *                  bits 2-3 the verifier's time: 0, 1500 (valid), 3000 (the bundle expired),
 *                  6000 (root v1 expired too); bits 4-5 the site key: S1, S9 (not a
 *                  recipient), none, S2; bit 6 trust root v2 instead of v1; bit 7 the
 *                  inspect path (exai_bundle_check_entries, unlock; no verify, no stream).
 *   then entries, each: a name byte, then (for names) a type byte and its parameters:
 *     name byte 0xFF: patch the written .exb: u24 offset (mod its size), u8 xor;
 *               0xFE: truncate the written .exb at u24 (mod its size + 1);
 *               0xFC: u8 n: the sink fails its n-th call (begin, data or end);
 *               0xFD: u8 n: n more signature entries sig/<counter id> holding K1's signature
 *                     (a key id mismatch each: reaches the signature-count bounds);
 *               else: a name from NAMES (byte % NNAMES): the valid entries, names of the
 *                     format's set the bundle does not use, names outside it, and the last
 *                     two read from the input (u8 length, bytes).
 *     type byte: bits 0-1 regular, directory (a FIFO when bits 5-7 are 7), symlink (target
 *                from LINKS by bits 2-4), hard link (to the latest regular entry);
 *                bits 2-4 the content of a regular entry, from valid entry "src" (the
 *                name's own entry, or bits 5-7 for other names): 0 as is, 1 with up to 8
 *                byte flips (u8 count; u24 offset, u8 xor each), 2 truncated (u24), 3 input
 *                bytes (u16 length), 4 empty, 5 entry bits 5-7's bytes whatever the name, 6
 *                with input bytes appended (u8 length), 7 with input bytes inserted (u24
 *                offset, u8 length).
 * Order, repeats, sizes and types follow the recipe. The .exb is written with libarchive (pax,
 * as exai-bundle writes it), the directory with openat/mkdirat/symlinkat/linkat/mkfifoat.
 *
 * Contract (a broken one aborts):
 *   - the valid bundle written unchanged (every valid entry once, regular, unmodified, in the
 *     format's order for an .exb) opens, verifies exactly when the time is 0 or 1500,
 *     unlocks exactly with S1 or S2, and streams; the sink gets the whole plaintext (its hash)
 *     and the tar check passes. So a harness that never reaches verification fails at once;
 *   - whatever the recipe: a bundle that verifies has effective root 2, 2 valid signatures,
 *     a time of 0 or 1500, and every entry but sig/ byte-identical to the valid bundle's;
 *     unlocking it works exactly with S1 or S2; a stream that succeeds with a data key gave
 *     the sink exactly the valid plaintext, and without one never called it; a sink that
 *     fails fails the stream, and no callback runs after it failed;
 *   - no crash, leak, hang or sanitizer report anywhere.
 * Files live under a per-process temp dir in /dev/shm (else $TMPDIR or /tmp), removed after
 * each input and at exit.
 */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/bundle.h"
#include "exai/hash.h"
#include "exai/tarcheck.h"
#include "fuzz_bundle.h"
#include "fuzz_recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 200
#define MAX_PATCHES 16
#define NNAMES	    32

enum { T_REG, T_DIR, T_LINK, T_HARD, T_FIFO };

typedef struct rentry {
	char name[128];
	int type;
	uint8_t *data;
	size_t len;
	char link[32];
	bool written;
} rentry;

typedef struct recipe {
	uint8_t flags;
	size_t n;
	rentry e[MAX_ENTRIES];
	size_t n_patch;
	uint32_t patch_off[MAX_PATCHES];
	uint8_t patch_xor[MAX_PATCHES];
	bool truncate;
	uint32_t trunc_at;
	unsigned sig_counter;
	unsigned sink_fail_at; /* the sink fails its n-th call (0: never) */
} recipe;

static const fb_valid *V;
static recipe R;
static char base[256];
static char names[NNAMES][80];
static const char *const LINKS[8] = {"index", "payload", "../index", "/dev/null",
				     "sig",   "roots/2", "manifest", "."};

static bool trace; /* FUZZ_BUNDLE_TRACE set: each step's outcome on stderr */

static void step(const char *what, exai_status rc, const exai_error *e)
{
	if (trace)
		fprintf(stderr, "fuzz_bundle: %s: %s\n", what, rc ? e->msg : "ok");
}

static void expect(bool ok, const char *what, const exai_error *e)
{
	if (ok)
		return;
	fprintf(stderr, "fuzz_bundle: contract broken: %s%s%s\n", what, e ? ": " : "",
		e ? e->msg : "");
	abort();
}

/* ---- the recipe ---- */

static unsigned g24(rd *r)
{
	unsigned hi = g16(r);
	return hi << 8 | g8(r);
}

static int slot_of(const char *name)
{
	for (int i = 0; i < FB_NSLOTS; i++)
		if (!strcmp(name, V->slot[i].name))
			return i;
	return -1;
}

static void init_names(void)
{
	static const char *const fixed[] = {
	    "roots/1",
	    "roots/3",
	    NULL, /* K3 */
	    NULL, /* R1 */
	    "sig/0000000000000000.minisig",
	    "sig/abcdef0123456789.minisig",
	    "sig",
	    "roots",
	    "sig/",
	    "roots/",
	    "roots/02",
	    "roots/0",
	    "roots/18446744073709551616",
	    "index.old",
	    "payload.part",
	    "./index",
	    "",
	    "manifest/keys",
	    NULL, /* K1's name with a suffix */
	    "a-name-much-longer-than-the-48-bytes-an-entry-name-may-have",
	    "roots/9223372036854775808",
	    "sig/sig/x"};
	size_t n = 0;

	for (; n < FB_NSLOTS; n++)
		snprintf(names[n], sizeof(names[n]), "%s", V->slot[n].name);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]) && n < NNAMES - 2; i++, n++) {
		if (fixed[i])
			snprintf(names[n], sizeof(names[n]), "%s", fixed[i]);
		else if (i == 2)
			snprintf(names[n], sizeof(names[n]), "%s", V->sig_k3);
		else if (i == 3)
			snprintf(names[n], sizeof(names[n]), "%s", V->sig_r1);
		else
			snprintf(names[n], sizeof(names[n]), "%s.bak", V->slot[FB_SIG1].name);
	}
}

/* A copy of @len bytes with @extra bytes of room (never NULL for len 0). */
static uint8_t *dup_room(const uint8_t *src, size_t len, size_t extra)
{
	uint8_t *p = malloc(len + extra + 1);

	expect(p != NULL, "out of memory", NULL);
	if (len)
		memcpy(p, src, len);
	return p;
}

static void build_content(rd *r, rentry *ent, unsigned mode, int src)
{
	const fb_slot *s = &V->slot[src];
	unsigned k, off, n;

	switch (mode) {
	default:
	case 0:
	case 5:
		ent->data = dup_room(s->data, s->len, 0);
		ent->len = s->len;
		break;
	case 1:
		ent->data = dup_room(s->data, s->len, 0);
		ent->len = s->len;
		k = g8(r) % 9;
		for (unsigned i = 0; i < k; i++) {
			off = g24(r);
			n = g8(r);
			if (ent->len)
				ent->data[off % ent->len] ^= (uint8_t)n;
		}
		break;
	case 2:
		ent->len = g24(r) % (s->len + 1);
		ent->data = dup_room(s->data, ent->len, 0);
		break;
	case 3:
		n = g16(r);
		ent->len = n < r->n ? n : r->n;
		ent->data = dup_room(r->p, ent->len, 0);
		r->p += ent->len;
		r->n -= ent->len;
		break;
	case 4:
		ent->data = dup_room(NULL, 0, 0);
		ent->len = 0;
		break;
	case 6:
		n = g8(r);
		n = n < r->n ? n : (unsigned)r->n;
		ent->data = dup_room(s->data, s->len, n);
		memcpy(ent->data + s->len, r->p, n);
		ent->len = s->len + n;
		r->p += n;
		r->n -= n;
		break;
	case 7:
		off = g24(r) % (unsigned)(s->len + 1);
		n = g8(r);
		n = n < r->n ? n : (unsigned)r->n;
		ent->data = dup_room(s->data, s->len, n);
		memmove(ent->data + off + n, ent->data + off, s->len - off);
		memcpy(ent->data + off, r->p, n);
		ent->len = s->len + n;
		r->p += n;
		r->n -= n;
		break;
	}
}

static const char *latest_regular(const recipe *rc)
{
	for (size_t i = rc->n; i > 0; i--)
		if (rc->e[i - 1].type == T_REG)
			return rc->e[i - 1].name;
	return "index";
}

static void add_named(rd *r, unsigned op)
{
	rentry *ent = &R.e[R.n];
	unsigned idx = op % NNAMES, t, src;

	memset(ent, 0, sizeof(*ent));
	if (idx >= NNAMES - 2) {
		unsigned n = g8(r) % (sizeof(ent->name) - 1);
		n = n < r->n ? n : (unsigned)r->n;
		memcpy(ent->name, r->p, n);
		ent->name[n] = '\0';
		r->p += n;
		r->n -= n;
	} else {
		snprintf(ent->name, sizeof(ent->name), "%s", names[idx]);
	}
	t = g8(r);
	src = slot_of(ent->name) >= 0 && ((t >> 2) & 7) != 5 ? (unsigned)slot_of(ent->name)
							     : (t >> 5) & 7;
	switch (t & 3) {
	case 0:
		ent->type = T_REG;
		build_content(r, ent, (t >> 2) & 7, (int)src);
		break;
	case 1:
		ent->type = (t >> 5) == 7 ? T_FIFO : T_DIR;
		break;
	case 2:
		ent->type = T_LINK;
		snprintf(ent->link, sizeof(ent->link), "%s", LINKS[(t >> 2) & 7]);
		break;
	default:
		ent->type = T_HARD;
		snprintf(ent->link, sizeof(ent->link), "%.31s", latest_regular(&R));
		break;
	}
	R.n++;
}

static void parse_recipe(const uint8_t *data, size_t size)
{
	rd r = {data, size};

	R.flags = (uint8_t)g8(&r);
	while (r.n && R.n < MAX_ENTRIES) {
		unsigned op = g8(&r);
		if (op == 0xFF) {
			unsigned off = g24(&r), x = g8(&r);
			if (R.n_patch < MAX_PATCHES) {
				R.patch_off[R.n_patch] = off;
				R.patch_xor[R.n_patch++] = (uint8_t)x;
			}
		} else if (op == 0xFE) {
			R.truncate = true;
			R.trunc_at = g24(&r);
		} else if (op == 0xFC) {
			R.sink_fail_at = g8(&r);
		} else if (op == 0xFD) {
			unsigned k = g8(&r);
			for (unsigned i = 0; i < k && R.n < MAX_ENTRIES; i++) {
				rentry *ent = &R.e[R.n++];
				memset(ent, 0, sizeof(*ent));
				snprintf(ent->name, sizeof(ent->name), "sig/%016X.minisig",
					 0x1000u + R.sig_counter++);
				ent->type = T_REG;
				build_content(&r, ent, 0, FB_SIG1);
			}
		} else {
			add_named(&r, op);
		}
	}
}

static void free_recipe(void)
{
	for (size_t i = 0; i < R.n; i++)
		free(R.e[i].data);
	memset(&R, 0, sizeof(R));
}

/* The valid bundle unchanged: each valid entry once, regular, unmodified, nothing else, and
 * for an .exb in the format's order (the two signatures in either). */
static bool canonical(bool exb)
{
	bool seen[FB_NSLOTS] = {false};
	int last = 0;
	size_t count = 0;

	if (R.n_patch || R.truncate)
		return false;
	for (size_t i = 0; i < R.n; i++) {
		const rentry *ent = &R.e[i];
		int s = slot_of(ent->name), rank = s >= FB_SIG1 ? FB_SIG1 : s;
		if (!ent->written || s < 0 || ent->type != T_REG || seen[s] ||
		    ent->len != V->slot[s].len || memcmp(ent->data, V->slot[s].data, ent->len))
			return false;
		if (exb && rank < last)
			return false;
		last = rank;
		seen[s] = true;
		count++;
	}
	return count == FB_NSLOTS;
}

/* ---- writing it ---- */

static void write_exb(const char *path)
{
	struct archive *a = archive_write_new();
	int fd;

	expect(a != NULL, "out of memory", NULL);
	archive_write_set_format_pax_restricted(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		archive_write_free(a);
		return;
	}
	for (size_t i = 0; i < R.n; i++) {
		rentry *ent = &R.e[i];
		struct archive_entry *ae = archive_entry_new();
		int r;

		expect(ae != NULL, "out of memory", NULL);
		archive_entry_set_pathname(ae, ent->name);
		archive_entry_set_mtime(ae, 1000, 0);
		switch (ent->type) {
		case T_REG:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_size(ae, (la_int64_t)ent->len);
			break;
		case T_DIR:
			archive_entry_set_filetype(ae, AE_IFDIR);
			archive_entry_set_perm(ae, 0755);
			break;
		case T_FIFO:
			archive_entry_set_filetype(ae, AE_IFIFO);
			archive_entry_set_perm(ae, 0644);
			break;
		case T_LINK:
			archive_entry_set_filetype(ae, AE_IFLNK);
			archive_entry_set_perm(ae, 0777);
			archive_entry_set_symlink(ae, ent->link);
			break;
		default:
			archive_entry_set_filetype(ae, AE_IFREG);
			archive_entry_set_perm(ae, 0644);
			archive_entry_set_hardlink(ae, ent->link);
			archive_entry_set_size(ae, 0);
			break;
		}
		r = archive_write_header(a, ae);
		archive_entry_free(ae);
		if (r == ARCHIVE_FATAL)
			break;
		if (r != ARCHIVE_OK)
			continue;
		if (ent->type == T_REG && ent->len &&
		    archive_write_data(a, ent->data, ent->len) != (la_ssize_t)ent->len)
			break;
		ent->written = true;
	}
	archive_write_close(a);
	archive_write_free(a);
	if ((!R.n_patch && !R.truncate) || (fd = open(path, O_RDWR)) < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		for (size_t i = 0; i < R.n_patch; i++) {
			uint8_t b;
			off_t off = (off_t)(R.patch_off[i] % (uint64_t)st.st_size);
			if (pread(fd, &b, 1, off) == 1) {
				b ^= R.patch_xor[i];
				expect(pwrite(fd, &b, 1, off) == 1, "patch the .exb", NULL);
			}
		}
		if (R.truncate)
			expect(ftruncate(fd, (off_t)(R.trunc_at % ((uint64_t)st.st_size + 1))) == 0,
			       "truncate the .exb", NULL);
	}
	close(fd);
}

/* Directory-form names stay inside the bundle directory. */
static bool dir_name_ok(const char *name)
{
	const char *p = name;

	if (!*name || *name == '/')
		return false;
	while (*p) {
		size_t seg = strcspn(p, "/");
		if (seg == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += seg + (p[seg] == '/');
	}
	return true;
}

static void write_dir(const char *path)
{
	int dfd;

	if (mkdir(path, 0755) != 0 || (dfd = open(path, O_RDONLY | O_DIRECTORY)) < 0)
		return;
	for (size_t i = 0; i < R.n; i++) {
		rentry *ent = &R.e[i];
		char parent[sizeof(ent->name)];
		int fd;

		if (!dir_name_ok(ent->name))
			continue;
		for (char *s = strchr(ent->name, '/'); s; s = strchr(s + 1, '/')) {
			snprintf(parent, sizeof(parent), "%.*s", (int)(s - ent->name), ent->name);
			(void)mkdirat(dfd, parent, 0755);
		}
		switch (ent->type) {
		case T_REG:
			fd = openat(dfd, ent->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
			if (fd < 0)
				continue;
			ent->written = write(fd, ent->data, ent->len) == (ssize_t)ent->len;
			close(fd);
			break;
		case T_DIR:
			ent->written = mkdirat(dfd, ent->name, 0755) == 0;
			break;
		case T_FIFO:
			ent->written = mkfifoat(dfd, ent->name, 0644) == 0;
			break;
		case T_LINK:
			ent->written = symlinkat(ent->link, dfd, ent->name) == 0;
			break;
		default:
			ent->written = linkat(dfd, ent->link, dfd, ent->name, 0) == 0;
			break;
		}
	}
	close(dfd);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_tree(const char *p)
{
	(void)nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void rm_base(void)
{
	if (base[0])
		rm_tree(base);
}

/* ---- the sink: plaintext hash, and the tar check of tar components ---- */

typedef struct fsink {
	exai_sha256 h;
	bool h_init;
	unsigned begins, ends, datas;
	exai_tarwalk *w;
	unsigned calls, fail_at; /* fail_at: the call that fails (0: none) */
	bool failed, called_after;
} fsink;

/* Counts a callback; true when this one is to fail (and records calls after a failure). */
static bool sk_fails(fsink *s, exai_error *e)
{
	if (s->failed)
		s->called_after = true;
	if (++s->calls != s->fail_at)
		return false;
	s->failed = true;
	exai_error_set(e, EXAI_EIO, "sink: injected failure at call %u", s->calls);
	return true;
}

static exai_status sk_begin(void *arg, const exai_component *c, exai_error *e)
{
	fsink *s = arg;
	exai_status rc;

	if (sk_fails(s, e))
		return EXAI_EIO;
	if (!s->h_init) {
		if ((rc = exai_sha256_init(&s->h, e)))
			return rc;
		s->h_init = true;
	}
	s->begins++;
	if (c->encoding == EXAI_CENC_TAR) {
		exai_tar_limits lim = exai_tar_limits_of(c, 0);
		return exai_tarwalk_start(&lim, NULL, NULL, &s->w, e);
	}
	return EXAI_OK;
}

static exai_status sk_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			   exai_error *e)
{
	fsink *s = arg;
	exai_status rc;

	(void)c;
	if (sk_fails(s, e))
		return EXAI_EIO;
	s->datas++;
	exai_sha256_update(&s->h, buf, len);
	if (s->w && (rc = exai_tarwalk_feed(s->w, buf, len, e))) {
		exai_tarwalk_abort(s->w);
		s->w = NULL;
		return rc;
	}
	return EXAI_OK;
}

static exai_status sk_end(void *arg, const exai_component *c, exai_error *e)
{
	fsink *s = arg;
	exai_tarwalk *w = s->w;

	(void)c;
	if (sk_fails(s, e))
		return EXAI_EIO;
	s->ends++;
	s->w = NULL;
	return w ? exai_tarwalk_finish(w, e) : EXAI_OK;
}

/* ---- the run ---- */

static void check_verified(const exai_bundle *b, uint64_t now)
{
	expect(b->verified && b->root && b->root->version == 2, "verified: effective root 2", NULL);
	expect(b->valid_signatures == 2, "verified: exactly K1 and K2 count", NULL);
	expect(now == 0 || now == 1500, "verified although the bundle had expired", NULL);
	expect(b->has_payload && b->payload_media_size == V->slot[FB_PAYLOAD].len,
	       "verified: payload size", NULL);
	for (size_t i = 0; i < b->n_entries; i++) {
		const exai_bentry *ent = &b->entries[i];
		int s = slot_of(ent->name);
		if (!strncmp(ent->name, "sig/", 4))
			continue;
		expect(s >= 0 && s != FB_PAYLOAD && ent->size == V->slot[s].len &&
			   !memcmp(ent->data, V->slot[s].data, ent->size),
		       "verified, yet an entry differs from the signed bundle's", NULL);
	}
}

static void run(const char *path, bool canon)
{
	static const uint64_t nows[4] = {0, 1500, 3000, 6000};
	const exai_site_key *keys[4] = {&V->site[0], &V->site[2], NULL, &V->site[1]};
	unsigned ksel = (R.flags >> 4) & 3;
	const exai_site_key *key = keys[ksel];
	bool key_ok = ksel == 0 || ksel == 3;
	exai_verify_opts o = {.now = nows[(R.flags >> 2) & 3]};
	const exai_root *trusted = R.flags & 0x40 ? V->root2 : V->root1;
	fsink fs = {.fail_at = R.sink_fail_at};
	exai_sink sink = {sk_begin, sk_data, sk_end, &fs, (R.flags & 2) != 0};
	exai_bundle *b = NULL;
	exai_error e;
	exai_status rc;

	exai_error_clear(&e);
	rc = exai_bundle_open(path, &b, &e);
	step(canon ? "open (the valid bundle)" : "open", rc, &e);
	if (canon)
		expect(rc == EXAI_OK, "the valid bundle does not open", &e);
	if (rc)
		return;
	if (R.flags & 0x80) { /* inspect: entries against the (untrusted) index, unlock */
		rc = exai_bundle_check_entries(b, &e);
		step("check entries", rc, &e);
		if (canon)
			expect(rc == EXAI_OK, "the valid bundle's entries do not check", &e);
		if (!rc) {
			rc = exai_bundle_unlock(b, key, &e);
			step("unlock", rc, &e);
			if (canon)
				expect((rc == EXAI_OK) == key_ok, "inspect: unlock outcome", &e);
		}
		exai_bundle_free(b);
		return;
	}
	rc = exai_bundle_verify(b, trusted, &o, &e);
	step("verify", rc, &e);
	if (canon)
		expect((rc == EXAI_OK) == (o.now == 0 || o.now == 1500),
		       "the valid bundle: verify outcome", &e);
	if (rc) {
		exai_bundle_free(b);
		return;
	}
	check_verified(b, o.now);
	rc = exai_bundle_unlock(b, key, &e);
	step("unlock", rc, &e);
	expect((rc == EXAI_OK) == key_ok, "a verified bundle: unlock outcome", &e);
	expect(rc || (b->manifest && b->manifest->n == V->n_components),
	       "a verified bundle: its manifest", NULL);
	bool unlocked = rc == EXAI_OK;
	rc = exai_bundle_stream(b, &sink, NULL, &e);
	step("stream", rc, &e);
	if (canon && !fs.failed)
		expect(rc == EXAI_OK, "the valid bundle does not stream", &e);
	expect(!fs.failed || rc != EXAI_OK, "the sink failed, yet the stream succeeded", NULL);
	expect(!fs.called_after, "a sink callback ran after the sink had failed", NULL);
	if (fs.w) /* the stream stopped inside a tar component */
		exai_tarwalk_abort(fs.w);
	if (fs.h_init) {
		uint8_t md[EXAI_SHA256_LEN];
		exai_sha256_final(&fs.h, md);
		if (!rc)
			expect(!memcmp(md, V->plain_sha, sizeof(md)),
			       "streamed, but the sink got other plaintext", NULL);
	}
	if (!rc && unlocked && !fs.failed)
		expect(fs.begins == V->n_components && fs.ends == V->n_components,
		       "streamed, but not every component ended", NULL);
	if (!rc && !unlocked)
		expect(fs.begins == 0 && fs.datas == 0, "streamed without a key, yet the sink ran",
		       NULL);
	exai_bundle_free(b);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	trace = getenv("FUZZ_BUNDLE_TRACE") != NULL;
	V = fb_valid_get();
	init_names();
	setenv("EXAI_WORKERS", "2", 0);
	snprintf(base, sizeof(base), "/dev/shm/fuzz_bundle.XXXXXX");
	if (!mkdtemp(base)) {
		snprintf(base, sizeof(base), "%s/fuzz_bundle.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		expect(mkdtemp(base) != NULL, "temp dir", NULL);
	}
	atexit(rm_base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300];
	bool exb;

	if (!V)
		setup();
	if (size < 1)
		return 0;
	parse_recipe(data, size);
	exb = R.flags & 1;
	snprintf(path, sizeof(path), "%s/%s", base, exb ? "b.exb" : "b");
	if (exb)
		write_exb(path);
	else
		write_dir(path);
	run(path, canonical(exb));
	rm_tree(path);
	free_recipe();
	return 0;
}
