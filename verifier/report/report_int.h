/*
 * report_int: what report.c (findings, text, json) and report_ci.c (junit, sarif) share.
 * Internal to vf_report; nothing outside those two files includes it.
 */
#ifndef VF_REPORT_INT_H
#define VF_REPORT_INT_H

#include <pthread.h>
#include <time.h>

#include "report.h"

typedef struct rule_decl {
	char *id;
	vf_severity sev;
	char *desc;
} rule_decl;

struct vf_report {
	char *mode;
	vf_finding *f;
	size_t nf, capf;
	char **notes;
	size_t nnotes, capnotes;
	rule_decl *rules;
	size_t nrules, caprules;
	vf_severity fail_on;
	time_t started;	       /* wall clock, for JUnit's timestamp */
	struct timespec mono0; /* monotonic start, for JUnit's time */
	pthread_mutex_t lock;
};

/* The rule table every structured format shares: declared rules plus the ones findings name,
 * sorted by id, with counts. */
typedef struct rule_view {
	const char *id;
	vf_severity sev;
	const char *desc;
	size_t fails, others; /* unsuppressed at/above fail_on; the rest */
} rule_view;

bool vf_report_fails(const vf_report *r, const vf_finding *f);
size_t vf_report_rule_index(const rule_view *t, size_t n, const char *id);
/* How many locations @f stands for (1 unless grouped). */
uint64_t vf_report_finding_count(const vf_finding *f);

/* JSON string pieces: @s is sanitised, so only '"' and '\\' need escaping. */
void vf_jesc(FILE *o, const char *s);
void vf_jstr(FILE *o, const char *s);
void vf_jkey(FILE *o, const char *key, const char *s, bool comma);

void vf_write_sarif(const vf_report *r, const rule_view *t, size_t nrules, FILE *o);
void vf_write_junit(const vf_report *r, const rule_view *t, size_t nrules, FILE *o);

#endif
