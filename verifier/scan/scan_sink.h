/*
 * scan_sink: the state of one scan shared by its workers, the buffer being scanned, and the
 * findings sink: every finding of every scan module goes through vf_scan_emit (suppressions
 * and inline allow comments applied), vf_scan_hold (judged at the end of the scan against the
 * package root's `unless` markers) or vf_scan_incomplete; internal failures through
 * vf_scan_fail. Thread-safe: the report is locked inside, held findings and markers under
 * the scan lock.
 */
#ifndef VF_SCAN_SINK_H
#define VF_SCAN_SINK_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "report.h"
#include "scan_rules.h"

struct vf_scan_allow;
struct vf_k8s_state;
struct vf_dup;
struct vf_group_ctx;

/* Findings held until the end of the scan (vf_scan_hold) and `unless` markers of scan scope
 * (vf_scan_marker_set, one per rule and package root) one scan keeps; over either the scan
 * fails (vf_scan_fail, EXAI_ETOOBIG) rather than drop a finding or a marker. */
#define VF_SCAN_HELD_MAX    (1u << 20)
#define VF_SCAN_MARKERS_MAX (1u << 16)

/* The state of one scan, shared by the workers. */
typedef struct vf_scan {
	vf_rules *rules;
	struct vf_scan_allow *allow;
	vf_report *report;
	pthread_mutex_t lock;
	struct vf_seen *seen; /* (rule, package root): an `unless` marker (scope scan) was set */
	size_t nseen, capseen;
	unsigned next_root; /* package root ids handed out so far */
	struct vf_held *held;
	size_t nheld, capheld;
	struct vf_k8s_state *k8s;
	struct vf_dup *dup; /* the duplicate cache (scan_dup.h), or NULL: every copy scanned */
	/* the report's grouping, told what the walk sees (scan_group.h), or NULL */
	struct vf_group_ctx *group;
	unsigned threads;
	bool helm_render;     /* run `helm template` when helm is on PATH (default true) */
	const char *helm_bin; /* resolved helm path or NULL */
	uint64_t files, bytes, yaml_errors, skipped;
	exai_status fatal; /* first internal error (OOM); the scan stops */
	exai_error fatal_err;
} vf_scan;

/* A buffer to scan: a file on disk, an archive entry, or rendered Helm output.
 *
 * Besides naming locations (findings, held findings, notes: through the functions below,
 * never formatted by a scan module itself), a scan reads @path and @rel only through
 * vf_ftype_path; everything else it does depends on the bytes, @base and @depth. The duplicate
 * cache (scan_dup.h) relies on that to replay a copy's scan at another location. */
typedef struct vf_buf {
	const char *path; /* display path ("img.tar!layer!usr/bin/x") */
	const char *rel;  /* path relative to its scan root, for allow globs */
	const char *base; /* file name */
	const uint8_t *p;
	size_t n;
	unsigned depth; /* archive nesting */
	/* The package the buffer belongs to: the nearest directory holding one of
	 * vf_package_root_markers (package.json, pyproject.toml, Chart.yaml, DEBIAN/control,
	 * ...), else the path given on the command line; everything inside a top-level archive is
	 * the archive's. An id from vf_scan_new_root(); 0 = one shared root (callers that do not
	 * know). */
	unsigned root;
} vf_buf;

/* Adds a finding (suppression applied, strings copied). Thread-safe. */
void vf_scan_emit(vf_scan *s, const vf_rule *rule, const vf_buf *b, uint64_t line, uint64_t col,
		  uint64_t off, const char *evidence, const char *message);
/* The same at severity @sev instead of the rule's (a finding in a comment or a document). */
void vf_scan_emit_sev(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b,
		      uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		      const char *message);
/* The same at a location given as its display and relative paths, with the reason of an
 * inline allow comment found for it (or NULL): what the two above come down to. */
void vf_scan_emit_at(vf_scan *s, const vf_rule *rule, vf_severity sev, const char *path,
		     const char *rel, uint64_t line, uint64_t col, uint64_t off,
		     const char *evidence, const char *message, const char *inline_why);
/* Holds a finding of a rule with scan-scoped `unless` markers until vf_scan_finish(), which
 * reports it unless a marker of the rule was set in the same package root (b->root). */
void vf_scan_hold(vf_scan *s, const vf_rule *rule, vf_severity sev, const vf_buf *b, uint64_t line,
		  uint64_t col, uint64_t off, const char *evidence, const char *message);
/* vf_scan_hold at a location given as paths and a package root, as vf_scan_emit_at. */
void vf_scan_hold_at(vf_scan *s, const vf_rule *rule, vf_severity sev, const char *path,
		     const char *rel, unsigned root, uint64_t line, uint64_t col, uint64_t off,
		     const char *evidence, const char *message, const char *inline_why);
/* Records that rule @rule's `unless` marker is set in package root @root. Thread-safe. */
void vf_scan_marker_set(vf_scan *s, size_t rule, unsigned root);
/* A new package root id (never 0). Thread-safe. */
unsigned vf_scan_new_root(vf_scan *s);
/* A note in the report header. Thread-safe. */
void vf_scan_note(vf_scan *s, const char *note);
/* A note about the buffer at display path @path: "PATH: WHAT" (the path cut at 300 bytes). */
void vf_scan_note_at(vf_scan *s, const char *path, const char *what);
/* Counts @files more files (or archive entries) and @bytes more bytes scanned, for the
 * summary. Thread-safe. */
void vf_scan_count(vf_scan *s, uint64_t files, uint64_t bytes);
/* A scan.incomplete finding (something could not be read fully). */
void vf_scan_incomplete(vf_scan *s, const vf_buf *b, uint64_t off, const char *what);
/* Records an internal failure (OOM); the scan reports it as an error. */
void vf_scan_fail(vf_scan *s, const exai_error *e);

/* The held findings whose rule's marker was not set in their package root, into the report
 * (vf_scan_finish). */
void vf_scan_release_held(vf_scan *s);
/* Frees the held findings and the markers (vf_scan_fini). */
void vf_scan_sink_free(vf_scan *s);

#endif
