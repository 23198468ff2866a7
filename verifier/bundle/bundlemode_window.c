/*
 * bundlemode_window: blobs too large to hold in memory (model weights of several GiB) get the
 * rules that apply to binaries, over windows of the blob, without ever holding more than one
 * window plus an overlap.
 *
 * Each window is scanned into a private report and its findings are copied into the real one
 * with their offsets moved to the blob's start. A window covers [base, base + W + OVERLAP);
 * it keeps the findings that start before base + W (the last window keeps all), so a string
 * that crosses a window boundary is still seen whole, once, as long as it is shorter than the
 * overlap. Filename rules (model.pickle…) are applied once, to the blob's name. Text that is
 * this large is not windowed (line numbers would be wrong): it is a scan.incomplete finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "scan_elf.h"
#include "scan_text.h"
#include "scan_walk.h"

#define OVERLAP (64u << 10)
#define SNIFF	8192

static void oom(vf_scan *s)
{
	exai_error e;

	exai_error_set(&e, EXAI_ENOMEM, "out of memory");
	vf_scan_fail(s, &e);
}

/* Copies @tmp's findings into @s with offsets + @base; those at or past @limit are dropped. */
static void merge(vf_scan *s, const vf_buf *meta, vf_report *tmp, uint64_t base, uint64_t limit)
{
	for (size_t i = 0; i < vf_report_size(tmp); i++) {
		vf_finding f = *vf_report_get(tmp, i);
		vf_suppression *sup;
		exai_error e;

		if (f.offset >= limit)
			continue;
		f.offset += base;
		f.suppressed = false;
		f.suppress_reason = NULL;
		if (s->allow && (sup = vf_scan_allow_match(s->allow, &f, meta->rel))) {
			f.suppressed = true;
			f.suppress_reason = sup->justification;
		}
		if (vf_report_add(s->report, &f, &e)) {
			vf_scan_fail(s, &e);
			return;
		}
	}
}

static void scan_window(vf_scan *s, const vf_buf *meta, const uint8_t *p, size_t n, uint64_t base,
			uint64_t limit)
{
	vf_report *tmp = vf_report_new("bundle");
	vf_buf wb = *meta;
	vf_scan ts;
	exai_error e;

	if (!tmp)
		return oom(s);
	if (vf_scan_init(&ts, s->rules, NULL, tmp, &e)) {
		vf_report_free(tmp);
		vf_scan_fail(s, &e);
		return;
	}
	wb.p = p;
	wb.n = n;
	vf_scan_text(&ts, &wb, true);
	if (vf_scan_finish(&ts, &e)) /* held findings of scan-scoped rules, if any */
		vf_scan_fail(s, &e);
	else
		merge(s, meta, tmp, base, limit);
	vf_scan_fini(&ts);
	vf_report_free(tmp);
}

/* Fills @buf up to @cap from @src; returns the new fill, sets *end at the blob's end. */
static long fill(const vf_bm_src *src, uint8_t *buf, size_t have, size_t cap, bool *end)
{
	while (have < cap) {
		long r = src->read(src->arg, buf + have, cap - have);
		if (r < 0)
			return -1;
		if (r == 0) {
			*end = true;
			break;
		}
		have += (size_t)r;
	}
	return (long)have;
}

void vf_bm_scan_windows(vf_scan *s, const vf_buf *meta, const uint8_t *head, size_t hl,
			const vf_bm_src *src, uint64_t size, uint64_t window)
{
	const vf_rules *rs = s->rules;
	size_t cap = (size_t)window + OVERLAP, have = hl;
	uint8_t *buf = NULL;
	uint64_t base = 0;
	bool end = false;
	char what[160];

	if (!memchr(head, '\0', hl < SNIFF ? hl : SNIFF)) {
		snprintf(what, sizeof(what), "not scanned: %llu bytes of text, over max_entry_size",
			 (unsigned long long)size);
		vf_scan_incomplete(s, meta, 0, what);
		return;
	}
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].enabled && rs->r[i].check == VF_CHK_FILENAME &&
		    vf_files_match(&rs->r[i].files, meta->base, head, hl))
			vf_scan_emit(s, &rs->r[i], meta, 0, 0, 0, meta->base, NULL);
	if (vf_is_elf(head, hl))
		vf_scan_incomplete(
		    s, meta, 0, "ELF imports not analysed: over max_entry_size (strings scanned)");
	if (!(buf = malloc(cap)))
		return oom(s);
	memcpy(buf, head, hl);
	__atomic_add_fetch(&s->files, 1, __ATOMIC_RELAXED);
	for (;;) {
		long got = fill(src, buf, have, cap, &end);
		if (got < 0) {
			vf_scan_incomplete(s, meta, base + have, "blob not read to its end");
			break;
		}
		have = (size_t)got;
		__atomic_add_fetch(&s->bytes, end ? have : (size_t)window, __ATOMIC_RELAXED);
		scan_window(s, meta, buf, have, base, end ? UINT64_MAX : window);
		if (end || __atomic_load_n(&s->fatal, __ATOMIC_RELAXED))
			break;
		memmove(buf, buf + window, have - (size_t)window);
		have -= (size_t)window;
		base += window;
	}
	free(buf);
}
