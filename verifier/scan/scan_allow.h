/*
 * scan_allow: the allow file: extra local hosts / CIDRs / registries, suppressions with a
 * justification and an optional expiry.
 */
#ifndef VF_SCAN_ALLOW_H
#define VF_SCAN_ALLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "report.h"
#include "scan_rules.h"

typedef struct vf_suppression {
	char *rule;	/* glob on the rule id */
	char *path;	/* glob on the location path (optional) */
	char *evidence; /* substring of the evidence (optional) */
	char *justification;
	char *expires; /* YYYY-MM-DD or NULL */
	bool expired;
	unsigned long line, col;
	uint64_t used; /* atomically counted */
} vf_suppression;

typedef struct vf_scan_allow {
	char *path;
	vf_suppression *s;
	size_t n, cap;
} vf_scan_allow;

/* Loads an allow file; its hosts/cidrs/registries are appended to @set. @today is
 * "YYYY-MM-DD" (UTC). */
exai_status vf_scan_allow_load(vf_scan_allow *a, const char *path, vf_settings *set,
			       const char *today, exai_error *e) EXAI_WUR;
void vf_scan_allow_free(vf_scan_allow *a);
/* The live suppression matching @f (path relative to its scan root in @rel), or NULL. */
vf_suppression *vf_scan_allow_match(vf_scan_allow *a, const vf_finding *f, const char *rel);

#endif
