/*
 * scan_walk: one scan's life (init, paths, finish), the tree walk and worker pool, and the
 * dispatch of one buffer by content type to the scan modules.
 */
#ifndef VF_SCAN_WALK_H
#define VF_SCAN_WALK_H

#include <stddef.h>

#include "exai/error.h"
#include "report.h"
#include "scan_rules.h"
#include "scan_sink.h"

struct vf_scan_allow;

/* Files one scan lists, and Helm chart directories it renders; over either the scan is
 * refused (EXAI_ETOOBIG, naming the path), like a tree nested too deep. */
#define VF_SCAN_FILES_MAX  (1u << 24)
#define VF_SCAN_CHARTS_MAX 4096

exai_status vf_scan_init(vf_scan *s, vf_rules *rules, struct vf_scan_allow *allow,
			 vf_report *report, exai_error *e) EXAI_WUR;
void vf_scan_fini(vf_scan *s);
/* Scans each path (file, directory, archive) with the worker pool. Paths that cannot be read
 * at all are errors (EXAI_ENOENT, ...), and so is a walk over VF_SCAN_FILES_MAX files or
 * VF_SCAN_CHARTS_MAX charts (EXAI_ETOOBIG); problems inside them are scan.incomplete
 * findings. */
exai_status vf_scan_paths(vf_scan *s, char *const *paths, size_t n, exai_error *e) EXAI_WUR;
/* Scans one buffer (any content type; archives recurse). Thread-safe. */
void vf_scan_buffer(vf_scan *s, const vf_buf *b);
/* Ends the scan: scan-wide rules (held findings, namespaces without default deny, expired
 * suppressions) are resolved and added to the report. */
exai_status vf_scan_finish(vf_scan *s, exai_error *e) EXAI_WUR;

#endif
