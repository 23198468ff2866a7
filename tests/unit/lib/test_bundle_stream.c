/*
 * exai_bundle_stream (lib/bundle/bundle_stream.c): what a sink receives, compared byte for byte
 * with the plaintext the bundle was built from, including every component boundary (empty
 * components at the start, middle and end; components crossing chunk boundaries; a payload
 * of three chunks and one byte at chunk size 65536), plain and encrypted, both forms, with
 * the sink on the calling thread and on its own, and with 1 and 4 workers (identical output).
 * Failures: a flipped byte in chunk k is "payload: chunk k: hash mismatch" and the sink never
 * saw plaintext of chunk k or later; a wrong GCM tag needs a rewritten table, which the index
 * hash refuses, and only a re-signed index gets as far as the tag; a failing sink stops the
 * stream with its own error and no callback runs after it; a payload replaced after open.
 * Every test of what the sink receives runs on format 1 (one SHA-256 per component on the
 * calling thread) and format 2 (leaf hashes by the workers, exai/cdigest.h), and a manifest
 * whose digest of one component is false (chunks and tags right: what only the plaintext pass
 * catches) is refused at that component's end in both.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_builder.h"
#include "testutil.h"

#define CHUNK	  65536u
#define PAYLOAD	  (3u * CHUNK + 1)
#define N_COMPS	  6
#define MAX_EVENT 2048

static bb_keys K;
static exai_root *root1;
static char *dir;
static uint8_t *src;

/* Sizes: empty, crossing 0->1, empty, 1->2->3 less 5, 5 bytes crossing 2->3, empty. */
static const size_t comp_size[N_COMPS] = {0, 70000, 0, PAYLOAD - 70000 - 5, 5, 0};
static const char *const comp_name[N_COMPS] = {"first", "alpha", "middle", "beta", "gamma", "last"};

static void setup(void)
{
	bb_keys_init(&K);
	const exai_seckey *r0[] = {K.R[0]}, *rel[] = {K.K[0]};
	root1 = bb_root(1, 100, 0, r0, 1, 1, rel, 1, 1, r0, 1, NULL);
	dir = tu_tempdir();
	src = malloc(PAYLOAD);
	ck_assert_ptr_nonnull(src);
	for (size_t i = 0; i < PAYLOAD; i++)
		src[i] = (uint8_t)((i * 2654435761u) >> 13);
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
	free(src);
	free(root1);
	bb_keys_free(&K);
}

static unsigned format = 1; /* of what build() makes */

static bb_bundle *build_lying(bool encrypted, size_t lie_comp)
{
	bb_spec s = {.encrypted = encrypted,
		     .chunk_size = CHUNK,
		     .n_comps = N_COMPS,
		     .n_signers = 1,
		     .format_version = format,
		     .lie_comp = lie_comp};
	size_t off = 0;

	s.signers[0] = K.K[0];
	for (size_t i = 0; i < N_COMPS; i++) {
		s.comps[i] = (bb_comp){i % 2 ? EXAI_C_MODEL : EXAI_C_FILES, comp_name[i], src + off,
				       comp_size[i]};
		off += comp_size[i];
	}
	ck_assert_uint_eq(off, PAYLOAD);
	return bb_build(&K, &s);
}

static bb_bundle *build(bool encrypted)
{
	return build_lying(encrypted, 0);
}

/* A sink that records every byte and every component boundary (with its payload offset). */
typedef struct rec {
	uint8_t *bytes;
	size_t len;
	char events[MAX_EVENT];
	size_t elen;
	size_t calls;
	int fail_comp; /* component index whose callback fails, -1: none */
	char fail_at;  /* 'B', 'D' or 'E' */
	size_t calls_after_fail;
	bool failed;
	pthread_t main;
	bool other_thread; /* some callback ran on another thread */
	const exai_manifest *m;
} rec;

static void rec_init(rec *r)
{
	memset(r, 0, sizeof(*r));
	r->bytes = malloc(PAYLOAD);
	ck_assert_ptr_nonnull(r->bytes);
	r->fail_comp = -1;
	r->main = pthread_self();
}

static int comp_index(const rec *r, const exai_component *c)
{
	return (int)(c - r->m->c);
}

static exai_status rec_event(rec *r, char kind, const exai_component *c, exai_error *e)
{
	r->calls++;
	if (r->failed)
		r->calls_after_fail++;
	if (!pthread_equal(pthread_self(), r->main))
		r->other_thread = true;
	if (kind != 'D')
		r->elen += (size_t)snprintf(r->events + r->elen, MAX_EVENT - r->elen,
					    "%c %s @%zu\n", kind, c->name, r->len);
	ck_assert_uint_lt(r->elen, MAX_EVENT);
	if (comp_index(r, c) == r->fail_comp && kind == r->fail_at) {
		r->failed = true;
		return exai_error_set(e, EXAI_EIO, "disk full (test sink)");
	}
	return EXAI_OK;
}

static exai_status rec_begin(void *arg, const exai_component *c, exai_error *e)
{
	return rec_event(arg, 'B', c, e);
}

static exai_status rec_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			    exai_error *e)
{
	rec *r = arg;
	exai_status rc = rec_event(r, 'D', c, e);

	ck_assert_uint_le(r->len + len, PAYLOAD);
	memcpy(r->bytes + r->len, buf, len);
	r->len += len;
	return rc;
}

static exai_status rec_end(void *arg, const exai_component *c, exai_error *e)
{
	return rec_event(arg, 'E', c, e);
}

/* What the recorder must hold after a complete stream. */
static void expected_events(char *out, size_t cap)
{
	size_t off = 0, n = 0;

	for (size_t i = 0; i < N_COMPS; i++) {
		n += (size_t)snprintf(out + n, cap - n, "B %s @%zu\n", comp_name[i], off);
		off += comp_size[i];
		n += (size_t)snprintf(out + n, cap - n, "E %s @%zu\n", comp_name[i], off);
	}
}

static char *write_form(const bb_bundle *bb, int form)
{
	static int seq;
	char name[32];

	snprintf(name, sizeof(name), "s%d%s", seq++, form ? "" : ".exb");
	return form ? bb_write_dir(bb, dir, name) : bb_write_exb(bb, dir, name);
}

/* Opens, verifies, unlocks (with S0 when @key) and streams @path into @r. */
static exai_status stream_into(const char *path, rec *r, bool own_thread, bool key, exai_error *e)
{
	exai_verify_opts o = {.now = 1500};
	exai_bundle *b = NULL;
	exai_sink sink = {rec_begin, rec_data, rec_end, r, own_thread};
	exai_status rc;

	ck_assert_msg(exai_bundle_open(path, &b, e) == EXAI_OK, "%s", e->msg);
	ck_assert_msg(exai_bundle_verify(b, root1, &o, e) == EXAI_OK, "%s", e->msg);
	if (key || b->index->encryption == EXAI_ENC_NONE)
		ck_assert_msg(exai_bundle_unlock(b, key ? &K.S[0] : NULL, e) == EXAI_OK, "%s",
			      e->msg);
	r->m = b->manifest;
	rc = exai_bundle_stream(b, &sink, NULL, e);
	exai_bundle_free(b);
	return rc;
}

START_TEST(every_byte_and_boundary)
{
	char want[MAX_EVENT];
	rec first;
	bool have_first = false;

	expected_events(want, sizeof(want));
	for (int run = 0; run < 4; run++) {
		int enc = run % 2;
		format = run < 2 ? 1 : 2;
		bb_bundle *bb = build(enc);
		ck_assert_uint_eq(bb->ix.chunk_count, 4);
		for (int form = 0; form < 2; form++) {
			char *p = write_form(bb, form);
			for (int own = 0; own < 2; own++)
				for (int w = 0; w < 2; w++) {
					rec r;
					exai_error e;
					rec_init(&r);
					setenv("EXAI_WORKERS", w ? "4" : "1", 1);
					ck_assert_msg(stream_into(p, &r, own, true, &e) == EXAI_OK,
						      "%s", e.msg);
					ck_assert_uint_eq(r.len, PAYLOAD);
					ck_assert_mem_eq(r.bytes, src, PAYLOAD);
					ck_assert_str_eq(r.events, want);
					ck_assert_int_eq(r.other_thread, own);
					if (!have_first) {
						first = r;
						have_first = true;
						continue;
					}
					/* identical output, whatever the worker count and thread */
					ck_assert_uint_eq(r.len, first.len);
					ck_assert_mem_eq(r.bytes, first.bytes, r.len);
					ck_assert_str_eq(r.events, first.events);
					free(r.bytes);
				}
			free(p);
		}
		bb_free(bb);
	}
	free(first.bytes);
	unsetenv("EXAI_WORKERS");
}
END_TEST

/* A creator's false digest for one component (the chunk table and tags are right, so only the
 * plaintext pass can see it) is refused at that component's end, naming it, in both formats;
 * it never ended; on the calling thread every component before it did. */
START_TEST(false_component_digest)
{
	for (unsigned f = 1; f <= 2; f++)
		for (size_t i = 0; i < N_COMPS; i++)
			for (int own = 0; own < 2; own++) {
				char want[96], *p;
				exai_error e;
				rec r;

				format = f;
				bb_bundle *bb = build_lying(own, i + 1);
				p = write_form(bb, own);
				rec_init(&r);
				setenv("EXAI_WORKERS", own ? "4" : "1", 1);
				ck_assert_int_eq(stream_into(p, &r, own, true, &e), EXAI_EVERIFY);
				snprintf(want, sizeof(want),
					 "component %s/%s: plaintext hash mismatch",
					 i % 2 ? "model" : "files", comp_name[i]);
				ck_assert_str_eq(e.msg, want);
				snprintf(want, sizeof(want), "E %s @", comp_name[i]);
				ck_assert_ptr_null(strstr(r.events, want));
				/* (A sink thread drops what was queued once the stream failed.) */
				if (i > 0 && !own) {
					snprintf(want, sizeof(want), "E %s @", comp_name[i - 1]);
					ck_assert_ptr_nonnull(strstr(r.events, want));
				}
				free(r.bytes);
				free(p);
				bb_free(bb);
			}
	format = 1;
	unsetenv("EXAI_WORKERS");
}
END_TEST

/* Flips one stored byte of chunk @k (ciphertext or plaintext as stored). */
static void flip_in_chunk(bb_bundle *bb, uint64_t k, size_t at)
{
	bb_entry *pl = bb_find(bb, "payload");
	size_t stride = CHUNK + (bb->spec.encrypted ? EXAI_AEAD_TAG : 0);

	ck_assert_uint_lt(k * stride + at, pl->len);
	pl->data[k * stride + at] ^= 0x20;
}

START_TEST(flipped_byte_in_chunk_k)
{
	for (int enc = 0; enc < 2; enc++)
		for (uint64_t k = 0; k < 4; k++)
			for (int own = 0; own < 2; own++) {
				bb_bundle *bb = build(enc);
				char want[64], *p;
				exai_error e;
				rec r;

				flip_in_chunk(bb, k, 0);
				p = write_form(bb, (int)(k % 2));
				rec_init(&r);
				setenv("EXAI_WORKERS", own ? "4" : "1", 1);
				ck_assert_int_eq(stream_into(p, &r, own, true, &e), EXAI_EVERIFY);
				snprintf(want, sizeof(want), "payload: chunk %llu: hash mismatch",
					 (unsigned long long)k);
				ck_assert_str_eq(e.msg, want);
				/* Nothing of chunk k or later reached the sink; what did is exact.
				 */
				if (own)
					ck_assert_uint_le(r.len, k * CHUNK);
				else
					ck_assert_uint_eq(r.len, k * CHUNK);
				ck_assert_mem_eq(r.bytes, src, r.len);
				/* No component ending at or after chunk k was ended. */
				ck_assert_ptr_null(strstr(r.events, "E gamma @"));
				if (k <= 1)
					ck_assert_ptr_null(strstr(r.events, "E beta @"));
				if (k == 0)
					ck_assert_ptr_null(strstr(r.events, "E alpha @"));
				free(r.bytes);
				free(p);
				bb_free(bb);
			}
	unsetenv("EXAI_WORKERS");
}
END_TEST

/* Without the site key only the chunk table is checked; the sink is never called. */
START_TEST(hashes_only_without_a_key)
{
	bb_bundle *bb = build(true);
	char *p = write_form(bb, 0);
	exai_error e;
	rec r;

	rec_init(&r);
	ck_assert_int_eq(stream_into(p, &r, false, false, &e), EXAI_OK);
	ck_assert_uint_eq(r.calls, 0);
	free(p);
	flip_in_chunk(bb, 3, 0);
	p = write_form(bb, 1);
	ck_assert_int_eq(stream_into(p, &r, true, false, &e), EXAI_EVERIFY);
	ck_assert_str_eq(e.msg, "payload: chunk 3: hash mismatch");
	ck_assert_uint_eq(r.calls, 0);
	free(r.bytes);
	free(p);
	bb_free(bb);
}
END_TEST

/*
 * The layers in front of the GCM tag. A wrong tag alone fails the chunk table; a table
 * rewritten to match fails the index's hash of the table (verify); only a re-signed index
 * (a release key holder) gets a wrong tag as far as decryption, which refuses it.
 */
START_TEST(gcm_tag_layering)
{
	bb_bundle *bb = build(true);
	bb_entry *pl = bb_find(bb, "payload"), *tab = bb_find(bb, "chunks");
	size_t stride = CHUNK + EXAI_AEAD_TAG;
	exai_bundle *b = NULL;
	exai_status rc;
	exai_error e;
	char *p;
	rec r;

	/* The last byte of chunk 1's tag. */
	pl->data[2 * stride - 1] ^= 1;
	p = write_form(bb, 0);
	rec_init(&r);
	ck_assert_int_eq(stream_into(p, &r, false, true, &e), EXAI_EVERIFY);
	ck_assert_str_eq(e.msg, "payload: chunk 1: hash mismatch");
	free(p);
	/* Table entry 1 rewritten to the tampered chunk's hash: the index refuses the table. */
	ck_assert_int_eq(exai_sha256_buf(pl->data + stride, stride, tab->data + 32, &e), EXAI_OK);
	p = write_form(bb, 0);
	b = bb_open_verify(p, root1, 1500, &rc, &e);
	ck_assert_int_eq(rc, EXAI_EVERIFY);
	ck_assert_str_eq(e.msg, "chunks: hash mismatch");
	exai_bundle_free(b);
	free(p);
	/* Re-signed: the table holds, the tag does not. */
	bb_reseal(bb);
	p = write_form(bb, 1);
	r.len = 0;
	r.elen = 0;
	r.events[0] = '\0';
	ck_assert_int_eq(stream_into(p, &r, false, true, &e), EXAI_EVERIFY);
	ck_assert_str_eq(e.msg, "payload: chunk 1: decryption failed (authentication tag)");
	ck_assert_uint_eq(r.len, CHUNK);
	ck_assert_mem_eq(r.bytes, src, CHUNK);
	free(r.bytes);
	free(p);
	bb_free(bb);
}
END_TEST

START_TEST(sink_failure_stops_the_stream)
{
	static const char kinds[] = {'B', 'D', 'E'};
	bb_bundle *bb = build(true);
	char *p = write_form(bb, 0);

	for (int own = 0; own < 2; own++)
		for (size_t k = 0; k < 3; k++) {
			exai_error e;
			rec r;
			rec_init(&r);
			r.fail_comp = 1; /* the second component, model/alpha */
			r.fail_at = kinds[k];
			ck_assert_int_eq(stream_into(p, &r, own, true, &e), EXAI_EIO);
			ck_assert_str_eq(e.msg, "component model/alpha: disk full (test sink)");
			ck_assert(r.failed);
			ck_assert_uint_eq(r.calls_after_fail, 0);
			ck_assert_mem_eq(r.bytes, src, r.len);
			ck_assert_ptr_null(strstr(r.events, "B middle"));
			free(r.bytes);
		}
	free(p);
	bb_free(bb);
}
END_TEST

/* The directory form's payload is opened again to be streamed: it must be the file that was
 * opened (reopen_dir_payload). */
START_TEST(payload_replaced_after_open)
{
	bb_bundle *bb = build(false);
	const bb_entry *pl = bb_find(bb, "payload");
	exai_verify_opts o = {.now = 1500};

	for (int kind = 0; kind < 5; kind++) {
		char *p = write_form(bb, 1), *f = exai_path_join(p, "payload"), *tmp;
		exai_bundle *b = NULL;
		exai_status rc;
		exai_error e;
		const char *want = NULL;

		ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
		ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
		ck_assert_int_eq(exai_bundle_unlock(b, NULL, &e), EXAI_OK);
		switch (kind) {
		case 0: /* another file, same bytes and size */
			tmp = tu_write(p, "payload.new", pl->data, pl->len);
			ck_assert_int_eq(rename(tmp, f), 0);
			free(tmp);
			want = "payload: replaced after the bundle was opened (another file or "
			       "another size)";
			break;
		case 1:
			ck_assert_int_eq(unlink(f), 0);
			ck_assert_int_eq(mkfifo(f, 0644), 0);
			want =
			    "payload: not a regular file any more (replaced after the bundle was "
			    "opened)";
			break;
		case 2:
			tmp = tu_write(dir, "elsewhere", pl->data, pl->len);
			ck_assert_int_eq(unlink(f), 0);
			ck_assert_int_eq(symlink(tmp, f), 0);
			free(tmp);
			want = "payload: open: ";
			break;
		case 3: /* the same file, grown */
			ck_assert_int_eq(truncate(f, (off_t)pl->len + 1), 0);
			want = "payload: replaced after the bundle was opened";
			break;
		default: { /* the same file rewritten in place: the chunk table catches it */
			int fd = open(f, O_WRONLY);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(pwrite(fd, "X", 1, 2 * CHUNK + 7), 1);
			close(fd);
			want = "payload: chunk 2: hash mismatch";
		}
		}
		rc = exai_bundle_stream(b, NULL, NULL, &e);
		ck_assert_int_ne(rc, EXAI_OK);
		ck_assert_msg(strstr(e.msg, want), "kind %d: wanted '%s', got: %s", kind, want,
			      e.msg);
		exai_bundle_free(b);
		free(f);
		free(p);
	}
	bb_free(bb);
}
END_TEST

/* An .exb cut short after it was verified: the stream names the chunk it could not read. */
START_TEST(exb_truncated_after_open)
{
	bb_bundle *bb = build(true);
	char *p = write_form(bb, 0);
	exai_verify_opts o = {.now = 1500};
	exai_bundle *b = NULL;
	struct stat st;
	exai_error e;
	rec r;
	exai_sink sink = {rec_begin, rec_data, rec_end, &r, false};

	rec_init(&r);
	ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_unlock(b, &K.S[0], &e), EXAI_OK);
	r.m = b->manifest;
	/* Keep chunks 0 and 1 and part of chunk 2: find the payload's header block. */
	{
		size_t len, at = 0;
		uint8_t *raw = tu_read(p, &len);
		while (at + 512 <= len && memcmp(raw + at, "payload", 8) != 0)
			at += 512;
		ck_assert_uint_lt(at + 512, len);
		free(raw);
		ck_assert_int_eq(stat(p, &st), 0);
		ck_assert_int_eq(
		    truncate(p, (off_t)(at + 512 + 2 * (CHUNK + EXAI_AEAD_TAG) + 1000)), 0);
	}
	ck_assert_int_ne(exai_bundle_stream(b, &sink, NULL, &e), EXAI_OK);
	ck_assert_msg(strstr(e.msg, "payload: chunk 2: "), "%s", e.msg);
	ck_assert_uint_eq(r.len, 2 * CHUNK);
	ck_assert_mem_eq(r.bytes, src, r.len);
	exai_bundle_free(b);
	free(r.bytes);
	free(p);
	bb_free(bb);
}
END_TEST

/* A read that fails in the middle of the directory form's payload (EXAI_FAULT=read, the n-th
 * read: open reads the index, manifest, chunks and the signature once each, then the payload
 * one read per chunk) is reported for its chunk, after every chunk before it was delivered. */
START_TEST(read_error_mid_payload)
{
	const char *fork = getenv("CK_FORK");
	bb_bundle *bb;
	exai_error e;
	char *p;
	rec r;

	/* EXAI_FAULT is read once per process: this needs a fresh (forked) test process. */
	if (fork && !strcmp(fork, "no"))
		return;
	bb = build(false);
	p = write_form(bb, 1);
	rec_init(&r);
	setenv("EXAI_WORKERS", "4", 1);
	setenv("EXAI_FAULT", "read:7", 1); /* 4 entries, then chunks 0, 1, 2 */
	ck_assert_int_eq(stream_into(p, &r, false, false, &e), EXAI_EIO);
	unsetenv("EXAI_FAULT");
	ck_assert_msg(strstr(e.msg, "payload: chunk 2: read at offset 0: "), "%s", e.msg);
	ck_assert_uint_eq(r.len, 2 * CHUNK);
	ck_assert_mem_eq(r.bytes, src, r.len);
	free(r.bytes);
	free(p);
	bb_free(bb);
}
END_TEST

/*
 * Chunk buffers that cannot be had (chunk size 64 MiB: a ring of 3 x 2 x 64 MiB, under an
 * address-space limit) are an error, and the stream closes nothing it did not open: the
 * descriptor on 0 (here /dev/null) must survive. Not under ASan, whose allocator reports a
 * failed allocation instead of returning NULL, and not without fork (CK_FORK=no).
 */
START_TEST(no_memory_for_the_ring)
{
#if defined(__SANITIZE_ADDRESS__)
	return;
#else
	bb_spec sp = {.chunk_size = EXAI_CHUNK_MAX, .n_comps = 1, .n_signers = 1};
	exai_verify_opts o = {.now = 1500};
	exai_bundle *b = NULL;
	bb_bundle *bb;
	struct rlimit rl;
	unsigned long pages = 0;
	exai_error e;
	char *p;
	FILE *f;
	int nul;

	/* The limit and fd 0 stay with the process: this needs a fresh (forked) one. */
	if (getenv("CK_FORK") && !strcmp(getenv("CK_FORK"), "no"))
		return;
	sp.comps[0] = (bb_comp){EXAI_C_FILES, "small", src, 10};
	sp.signers[0] = K.K[0];
	bb = bb_build(&K, &sp);
	p = write_form(bb, 1);
	ck_assert_int_eq(exai_bundle_open(p, &b, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_verify(b, root1, &o, &e), EXAI_OK);
	ck_assert_int_eq(exai_bundle_unlock(b, NULL, &e), EXAI_OK);
	nul = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(nul, 0);
	ck_assert_int_eq(dup2(nul, 0), 0);
	close(nul);
	f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
	fclose(f);
	rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (64u << 20);
	setenv("EXAI_WORKERS", "1", 1);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &rl), 0);
	ck_assert_int_eq(exai_bundle_stream(b, NULL, NULL, &e), EXAI_ENOMEM);
	ck_assert_str_eq(e.msg, "out of memory for chunk buffers");
	ck_assert_msg(fcntl(0, F_GETFD) >= 0, "descriptor 0 was closed by the stream");
	exai_bundle_free(b);
	free(p);
	bb_free(bb);
#endif
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bundle_stream");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, every_byte_and_boundary);
	tcase_add_test(tc, false_component_digest);
	tcase_add_test(tc, flipped_byte_in_chunk_k);
	tcase_add_test(tc, hashes_only_without_a_key);
	tcase_add_test(tc, gcm_tag_layering);
	tcase_add_test(tc, sink_failure_stops_the_stream);
	tcase_add_test(tc, payload_replaced_after_open);
	tcase_add_test(tc, exb_truncated_after_open);
	tcase_add_test(tc, read_error_mid_payload);
	tcase_add_test(tc, no_memory_for_the_ring);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
