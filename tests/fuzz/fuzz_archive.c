/*
 * fuzz_archive: libFuzzer harness for the verifier's readers of archives inside what it scans
 * (verifier/scan/scan_archive.c and scan_walker.c: tar/pax/GNU and GNU sparse, gzip/zstd/xz,
 * zip and 7z read from memory, archives nested in entries, every cap)
 * and for the windowed scan of blobs too large to hold (verifier/bundle/bundlemode_window.c).
 *
 * Input: byte 0 is the mode (modulo 4).
 *   0, 1: an archive to vf_scan_buffer as "img.tar" (content sniffing decides);
 *   2:    straight to vf_scan_archive_mem (whatever the bytes look like);
 *   3:    a blob over max_entry_size, for vf_bm_scan_windows. Bytes 1-4: head length
 *         (x32 bytes), window size (1 + b2 * 97 + b3 bytes, so there are several windows),
 *         how many times the rest repeats to make the blob (1-64, at most 4 windows past the
 *         64 KiB overlap: every window is a scan set-up of its own), whether the read fails
 *         halfway.
 *
 * Checked beyond "no crash": the scan finishes (or runs out of memory); every windowed
 * finding's offset lies inside the blob.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "scan.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static vf_rules *rules(void)
{
	static vf_rules rs;
	static int done;
	char path[4096];
	exai_error e;

	if (!done) {
		fuzz_src_path("verifier/rules/default.yaml", path, sizeof(path));
		if (vf_rules_load(&rs, path, &e) || vf_rules_finish(&rs, &e)) {
			fprintf(stderr, "fuzz_archive: %s\n", e.msg);
			abort();
		}
		done = 1;
	}
	return &rs;
}

/* A blob: @p repeated to @total bytes, after the head (already handed over). */
typedef struct rep_src {
	const uint8_t *p;
	size_t n;
	uint64_t pos, total, fail_at;
} rep_src;

static long rep_read(void *arg, uint8_t *dst, size_t cap)
{
	rep_src *r = arg;
	size_t k = 0;

	if (r->pos >= r->fail_at)
		return -1;
	while (k < cap && r->pos < r->total) {
		size_t at = (size_t)(r->pos % r->n), m = r->n - at;
		if (m > cap - k)
			m = cap - k;
		if (m > r->total - r->pos)
			m = (size_t)(r->total - r->pos);
		memcpy(dst + k, r->p + at, m);
		k += m;
		r->pos += m;
		if (k >= 1000) /* short reads, as a pipe gives */
			break;
	}
	return (long)k;
}

static void windows(vf_scan *s, const uint8_t *data, size_t size)
{
	vf_buf meta = {.path = "m.bin", .rel = "m.bin", .base = "m.bin"};
	size_t hl, rest;
	uint64_t window, total;
	rep_src r;
	vf_bm_src src = {rep_read, &r};

	if (size < 6)
		return;
	hl = (size_t)data[1] * 32;
	window = 1 + (uint64_t)data[2] * 97 + data[3];
	data += 5;
	size -= 5;
	if (hl > size)
		hl = size;
	rest = size - hl;
	r.p = rest ? data + hl : data;
	r.n = rest ? rest : size;
	r.pos = 0;
	r.total = (uint64_t)r.n * (1 + data[-2] % 64);
	if (hl + r.total > (64u << 10) + 4 * window)
		r.total = (64u << 10) + 4 * window - hl;
	r.fail_at = data[-1] & 1 ? r.total / 2 : UINT64_MAX;
	total = hl + r.total;
	vf_bm_scan_windows(s, &meta, data, hl, &src, total, window);
	for (size_t i = 0; i < vf_report_size(s->report); i++) {
		const vf_finding *f = vf_report_get(s->report, i);
		CHECK(f->offset <= total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vf_report *rep;
	vf_scan s;
	exai_error e;
	exai_status rc;

	if (!size || !(rep = vf_report_new("scan")))
		return 0;
	if (vf_scan_init(&s, rules(), NULL, rep, &e))
		abort();
	if (data[0] % 4 == 3) {
		windows(&s, data, size);
	} else {
		vf_buf b = {.path = "img.tar",
			    .rel = "img.tar",
			    .base = "img.tar",
			    .p = data + 1,
			    .n = size - 1};
		if (data[0] % 4 == 2)
			vf_scan_archive_mem(&s, &b);
		else
			vf_scan_buffer(&s, &b);
	}
	rc = vf_scan_finish(&s, &e);
	CHECK(rc == EXAI_OK || rc == EXAI_ENOMEM);
	vf_scan_fini(&s);
	vf_report_free(rep);
	return 0;
}
