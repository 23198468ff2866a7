/*
 * fuzz_baseline: libFuzzer harness for the scan's hand-written suppression readers
 * (verifier/scan/scan_baseline.c): the baseline file parser and the inline allow-comment scanner.
 *
 * Input: the bytes are parsed as a baseline file; when they parse, the baseline is applied
 * to a small report of findings (some of which match the corpus' entries). The same bytes
 * are then a text buffer in which vf_inline_allow looks for markers at every line start and
 * at a few offsets, for a fixed and a glob-matching rule id.
 *
 * Checked: no crash, leak or undefined behaviour; a refused baseline comes with a message
 * naming the input; a parsed one suppresses at most as many findings as the report holds,
 * and matched + stale never exceeds the entry count plus the findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void apply(vf_baseline *bl)
{
	static const char *const paths[] = {"t/app.py", "t/web.js", "t/app.py"};
	static const char *const ev[] = {"https://api.vendor-a.zz/x", "https://api.vendor-e.zz/q",
					 ""};
	vf_report *r = vf_report_new("scan");
	size_t matched = 0, stale = 0;
	exai_error e;

	if (!r)
		return;
	for (size_t i = 0; i < 3; i++) {
		vf_finding f = {.rule_id = "net.url.public",
				.severity = VF_SEV_MEDIUM,
				.path = paths[i],
				.line = i + 1,
				.evidence = ev[i],
				.message = "m"};
		if (vf_report_add(r, &f, &e))
			goto out;
	}
	if (vf_baseline_apply(bl, r, &matched, &stale, &e) == EXAI_OK &&
	    (matched > 3 || vf_report_count_suppressed(r) != matched))
		abort();
out:
	vf_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vf_baseline *bl = NULL;
	vf_buf b = {.path = "fuzz", .rel = "fuzz", .base = "fuzz", .p = data, .n = size};
	char why[448];
	uint64_t line = 1;
	exai_error e;

	if (vf_baseline_parse("fuzz", data, size, &bl, &e) == EXAI_OK) {
		apply(bl);
		vf_baseline_free(bl);
	} else if (!strstr(e.msg, "fuzz")) {
		abort();
	}
	for (size_t i = 0; i <= size && line < 64; i++)
		if (i == 0 || data[i - 1] == '\n') {
			vf_inline_allow(&b, line, i, "net.url.public", why, sizeof(why));
			vf_inline_allow(&b, line, 0, "telemetry.sentry", why, sizeof(why));
			line++;
		}
	vf_inline_allow(&b, 1, size / 2, "k8s.image.tag", why, sizeof(why));
	return 0;
}
