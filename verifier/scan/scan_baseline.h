/*
 * scan_baseline: inline suppression comments and the baseline file.
 */
#ifndef VF_SCAN_BASELINE_H
#define VF_SCAN_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "report.h"
#include "scan_sink.h"

/* Inline `airgap-verifier:allow RULE reason` comments on a finding's line
 * or the line before (true, with the reason in @reason, when one with a reason allows
 * @rule_id), and the baseline file. */
bool vf_inline_allow(const vf_buf *b, uint64_t line, uint64_t off, const char *rule_id,
		     char *reason, size_t cap);
typedef struct vf_baseline vf_baseline;
/* Strict, bounded reader; a bad file is EXAI_EFORMAT / EXAI_ETOOBIG naming file and line. */
exai_status vf_baseline_load(const char *file, vf_baseline **out, exai_error *e) EXAI_WUR;
/* The same from @len bytes at @buf (@file names it in errors). */
exai_status vf_baseline_parse(const char *file, const uint8_t *buf, size_t len, vf_baseline **out,
			      exai_error *e) EXAI_WUR;
void vf_baseline_free(vf_baseline *b);
/* Writes every unsuppressed finding of @r (rule, path, evidence hash), replacing @path
 * atomically. */
exai_status vf_baseline_write(const vf_report *r, const char *path, exai_error *e) EXAI_WUR;
/* Suppresses each unsuppressed finding that matches an unused entry ("baseline FILE");
 * *matched gets how many, *stale how many entries matched nothing. */
exai_status vf_baseline_apply(vf_baseline *b, vf_report *r, size_t *matched, size_t *stale,
			      exai_error *e) EXAI_WUR;

#endif
