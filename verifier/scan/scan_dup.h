/*
 * scan_dup: the duplicate cache of one scan. A file with the same name and content as one
 * already scanned in the same run is not scanned again: everything scanning the first
 * copy gave the findings sink (findings, held findings, `unless` markers, the package roots
 * of archives, notes, the counts of the summary) was recorded as it happened, on a tape, with
 * every location relative to the file; the copy replays the tape at its own path, relative
 * path and package root. The report is the one scanning every copy gives, byte for byte.
 *
 * Two copies of the same bytes under the same name differ only in where they are, and where a
 * buffer is changes its scan in one place besides the findings' locations: its kind by path
 * (documentation under usr/share/doc/, a Debian control file: vf_ftype_path). The tape keeps
 * that answer for every buffer it scanned (archive entries too), and a copy is replayed only
 * if each answer is the same at the copy's location; otherwise it is scanned afresh. The
 * scan-wide state of the Kubernetes checks (the namespaces used, and which have a default-deny
 * egress policy) is on the tape too, replayed through vf_k8s_ns_mark at the copy's location. A
 * file whose scan formats a note of its own, goes over the namespace cap, or fails, is never
 * cached.
 *
 * Bounds: a tape over VF_DUP_TAPE_MAX bytes is not kept; the cache stops taking tapes at
 * VF_DUP_CACHE_MAX bytes or VF_DUP_FILES_MAX tapes. Past a bound copies are scanned afresh:
 * a bound of the cache costs time, never a finding.
 *
 * Threads: each worker records the file it is scanning (the recorder is per thread); the table
 * is under its own lock, and a tape never changes once in it.
 */
#ifndef VF_SCAN_DUP_H
#define VF_SCAN_DUP_H

#include <stdbool.h>
#include <stdint.h>

#include "report.h"
#include "scan_ctx.h"
#include "scan_sink.h"

/* Same content: up to VF_DUP_KEEP_MAX bytes every byte compared with a copy the cache keeps,
 * larger files by SHA-256. */
#define VF_DUP_KEEP_MAX	 (1u << 20)
#define VF_DUP_TAPE_MAX	 (16u << 20)
#define VF_DUP_CACHE_MAX (256u << 20)
#define VF_DUP_FILES_MAX (1u << 20)

typedef struct vf_dup vf_dup;

/* An empty cache, or NULL when out of memory. */
vf_dup *vf_dup_new(void);
/* Frees the cache and its tapes; NULL is fine. */
void vf_dup_free(vf_dup *d);

/* Scans the file @b (b->p, b->n: all of it; depth 0) through s->dup: replays the tape of an
 * earlier copy when one fits, else scans it with vf_scan_buffer and keeps what it recorded.
 * Without a cache (s->dup NULL) just vf_scan_buffer. Thread-safe. */
void vf_dup_scan(vf_scan *s, const vf_buf *b);

/* Counters of one scan's cache, for tests and benchmarks: files replayed, tapes kept. */
void vf_dup_stats(const vf_dup *d, uint64_t *replayed, uint64_t *kept);

/*
 * The recorder: the findings sink (scan_sink.c) and the scan modules call these with what
 * they hand on; each is a no-op unless this thread is recording a file for vf_dup_scan.
 */
void vf_dup_rec_emit(const vf_rule *rule, vf_severity sev, const char *path, const char *rel,
		     uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		     const char *message, const char *inline_why);
void vf_dup_rec_hold(const vf_rule *rule, vf_severity sev, const char *path, const char *rel,
		     unsigned root, uint64_t line, uint64_t col, uint64_t off, const char *evidence,
		     const char *message, const char *inline_why);
void vf_dup_rec_marker(size_t rule, unsigned root);
/* A package root handed out while scanning (an archive of its own). */
void vf_dup_rec_root(unsigned root);
void vf_dup_rec_note_at(const char *path, const char *what);
void vf_dup_rec_count(uint64_t files, uint64_t bytes, uint64_t skipped, uint64_t yaml_errors);
/* A Kubernetes namespace used (or given a default-deny egress policy) at that location: the
 * one piece of scan-wide state a file's scan changes other than through the sink. */
void vf_dup_rec_ns(const char *path, const char *rel, const char *ns, uint64_t line, uint64_t col,
		   bool denied);
/* The kind vf_ftype_of gave the buffer at @path named @base. */
void vf_dup_rec_kind(const char *path, const char *base, const vf_ftype *ft);
/* What this file's scan does cannot be replayed elsewhere: it is not cached. */
void vf_dup_rec_taint(void);

#endif
