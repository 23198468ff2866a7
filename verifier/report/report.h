/*
 * report: the findings every airgap-verifier mode produces, and their output formats.
 *
 * A finding is specific enough to fix without guessing: rule id, severity, location (file,
 * line, column or byte offset), the offending text (redacted for secrets), and a fix hint.
 * Suppressed findings stay in the report (marked, with the justification) so an auditor sees
 * them; they never count towards the exit code. Formats: text (report_text.c), json
 * (report_json.c), junit (one testcase per finding, report_junit.c), sarif (2.1.0,
 * report_sarif.c); JSON and SARIF are built with jansson.
 *
 * Contract shared by scan, run, host and bundle modes; the findings store is report.c,
 * writing a report report_write.c, the front-end error helpers report_cli.c.
 */
#ifndef VF_REPORT_H
#define VF_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "exai/error.h"

typedef enum vf_severity {
	VF_SEV_INFO = 0,
	VF_SEV_LOW,
	VF_SEV_MEDIUM,
	VF_SEV_HIGH,
	VF_SEV_CRITICAL
} vf_severity;

typedef enum vf_format { VF_FMT_TEXT = 0, VF_FMT_JSON, VF_FMT_JUNIT, VF_FMT_SARIF } vf_format;

/* A process named as the one that made a finding's attempt (run mode, from exai-egress). */
typedef struct vf_proc {
	uint32_t pid;	   /* as the command saw it (its PID namespace); 0 = not known */
	uint32_t host_pid; /* in the host's (initial) PID namespace, as the kernel reported it */
	const char *comm;  /* the command name when it made the socket */
} vf_proc;

/* One more location of a grouped finding (vf_report_group). */
typedef struct vf_loc {
	const char *path;
	uint64_t line, column, offset;
} vf_loc;

typedef struct vf_finding {
	const char *rule_id; /* e.g. "net.url.public" */
	vf_severity severity;
	const char *path;     /* file (inside an archive: "img.tar!layer/usr/bin/x"), or NULL */
	uint64_t line;	      /* 1-based, 0 = unknown */
	uint64_t column;      /* 1-based, 0 = unknown */
	uint64_t offset;      /* byte offset, used when line is 0 (binaries) */
	const char *evidence; /* the offending text, already redacted where needed */
	const char *message;  /* what is wrong */
	const char *hint;     /* how to fix it */
	bool suppressed;
	const char *suppress_reason;
	/* @path names a network endpoint or a DNS name (run mode), not a file: SARIF gives it
	 * as a logical location, never as an artifact URI. */
	bool logical;
	/* Run mode with attribution on: the processes that made the attempt (copied by
	 * vf_report_add; @attributed says attribution was tried, so none listed means none
	 * known), and how many more there were than listed. */
	bool attributed;
	const vf_proc *procs;
	size_t nprocs;
	uint64_t procs_more;
	/* Set by vf_report_group(), ignored by vf_report_add(): how many locations this finding
	 * stands for (0 = just its own), and the first ones after its own (owned by the report). */
	uint64_t count;
	const vf_loc *locs;
	size_t nlocs;
} vf_finding;

typedef struct vf_report vf_report;

/* @mode names the verifier mode ("scan", "run", ...) for the report header. */
vf_report *vf_report_new(const char *mode);
void vf_report_free(vf_report *r);

/* Copies every string of @f into the report. */
exai_status vf_report_add(vf_report *r, const vf_finding *f, exai_error *e) EXAI_WUR;
/* A free-text note for the report header ("helm template: not run (helm not on PATH)"). */
exai_status vf_report_note(vf_report *r, const char *note, exai_error *e) EXAI_WUR;
/* Declares a rule (so JUnit/SARIF can list rules with no findings). */
exai_status vf_report_rule(vf_report *r, const char *rule_id, vf_severity sev,
			   const char *description, exai_error *e) EXAI_WUR;

exai_status vf_report_write(const vf_report *r, vf_format fmt, FILE *out, exai_error *e) EXAI_WUR;
/* Writes the report to stdout (@path NULL) or to @path, replaced atomically (a device or FIFO
 * such as /dev/stdout is written in place), through a large buffer, without an in-memory copy
 * of the whole report. Every mode's --output goes through here. */
exai_status vf_report_emit(const vf_report *r, vf_format fmt, const char *path,
			   exai_error *e) EXAI_WUR;
size_t vf_report_count(const vf_report *r, vf_severity at_least); /* unsuppressed only */

/*
 * Extensions (compatible additions).
 *
 * vf_report_add() is thread-safe (a mutex inside the report), so a worker pool may add
 * directly. Every string is sanitised on the way in: control characters, DEL and bytes that
 * are not valid UTF-8 become "\xNN", so every format is well-formed and a terminal never sees
 * escape sequences from scanned content.
 */

/* Findings below @sev are not failures: JUnit lists them in system-out instead of <failure>,
 * and JSON's "passed" ignores them. Default VF_SEV_INFO (every unsuppressed finding fails). */
void vf_report_set_fail_on(vf_report *r, vf_severity sev);
/* Sorts findings by path, line, column, offset, rule id, evidence, and the notes by their text
 * (deterministic output from a multi-threaded producer). Without it, both keep insertion
 * order. */
void vf_report_sort(vf_report *r);
/*
 * Groups identical evidence: findings with the same rule, severity, evidence and suppression
 * state whose paths share a group key become one finding with a count and its first
 * @max_locs locations (its own included). @key_of gives a path's group key (the package
 * root; NULL = the whole report is one group). Locations for which @is_dup returns true
 * (a source map, a minified copy of a scanned file; NULL = none) are listed after the
 * others, so the first locations shown are the sources. Sorts the report first. Returns
 * EXAI_ENOMEM (report unchanged) on allocation failure.
 */
exai_status vf_report_group(vf_report *r, size_t max_locs,
			    const char *(*key_of)(const char *path, void *ctx),
			    bool (*is_dup)(const char *path, void *ctx), void *ctx,
			    exai_error *e) EXAI_WUR;
/* The wall-clock start of the run (JUnit's timestamp and time); vf_report_new() sets it to
 * the current time. */
void vf_report_set_started(vf_report *r, time_t t);
/* Number of findings (suppressed included), and the i-th one (NULL past the end). */
size_t vf_report_size(const vf_report *r);
const vf_finding *vf_report_get(const vf_report *r, size_t i);
/* Marks the i-th finding suppressed with a copy of @reason (a baseline applied after the
 * scan). EXAI_ENOMEM or EXAI_EINVAL (no such finding) leave it unchanged. */
exai_status vf_report_suppress(vf_report *r, size_t i, const char *reason, exai_error *e) EXAI_WUR;
/* Number of suppressed findings. */
size_t vf_report_count_suppressed(const vf_report *r);

/* Front-end helper of every mode: prints "airgap-verifier <mode>: <message>" and a hint to
 * '<mode> --help' to stderr (exai/cli.h); returns 2 (the usage-error exit status). */
int vf_usage_error(const char *mode, const char *fmt, ...) EXAI_PRINTF(2, 3);
/* With --json among the tool's own arguments (set by main): usage and setup errors are also a
 * JSON error document on stdout (exai/cli.h). */
extern bool vf_json_errors;
/* A setup or runtime error of @mode: one line on stderr (and the JSON document); returns 2. */
int vf_fail(const char *mode, const exai_error *e);

/* "info" | "low" | "medium" | "high" | "critical" */
bool vf_severity_parse(const char *s, vf_severity *out);
const char *vf_severity_name(vf_severity s);
bool vf_format_parse(const char *s, vf_format *out);

#endif
