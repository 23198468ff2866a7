/*
 * scan_lit: the multi-literal prefilter. Every byte of every scanned buffer goes through it
 * exactly once, so it is the hot loop of `scan`.
 *
 * Each literal is indexed by a "window" of 3 bytes (2 for 2-byte literals) inside it, chosen
 * to be as rare as possible in real text by a static byte and byte-pair frequency model (a
 * case-insensitive literal files every case variant). The scan tests 64 positions at a time
 * against exact byte classes of all windows (AVX-512 VBMI), or 32 against nibble tables
 * (AVX2), or falls back to testing one bigram bit per byte; only where a window may start
 * does it look closer, and compares the few literals filed under that window's first two
 * bytes. Callbacks receive every occurrence of
 * every literal in order of where it starts (ties: in the order the literals were added),
 * whichever windows were chosen.
 */
#ifndef VF_SCAN_LIT_H
#define VF_SCAN_LIT_H

#include <stddef.h>
#include <stdint.h>

#include "scan_rules.h"

typedef enum vf_lit_kind {
	VF_LIT_RULE = 0, /* a trigger of a pattern rule */
	VF_LIT_UNLESS,	 /* an `unless` marker of a rule */
	VF_LIT_URL,	 /* "://" */
	VF_LIT_IPV4,	 /* "<digit>." */
	VF_LIT_IPV6,	 /* "::" */
	VF_LIT_HOST	 /* ".<tld>" */
} vf_lit_kind;

typedef struct vf_lit {
	const char *s;
	uint32_t len;
	uint32_t anchor; /* offset of the window in s */
	uint32_t rule;	 /* index into vf_rules.r (RULE, UNLESS) */
	uint8_t kind;
	uint8_t icase;
	uint8_t wlen; /* window length: 3, or 2 for 2-byte literals */
} vf_lit;

typedef struct vf_lits vf_lits;

/* Called with the literal and the offset where it starts in the buffer. */
typedef void (*vf_lit_cb)(void *arg, const vf_lit *l, size_t pos);

/* Builds the prefilter from the enabled rules and settings of @rs. Without @filtered, the
 * literals of rules limited to some file names (`files:`) are left out: most files match no
 * such rule, and a smaller table means fewer false hits in the hot loop. */
exai_status vf_lits_build(const vf_rules *rs, bool filtered, vf_lits **out, exai_error *e) EXAI_WUR;
/* Builds one from bare literals (tests, fuzzing): kind VF_LIT_RULE, rule = index. */
exai_status vf_lits_build_raw(const char *const *lits, const uint8_t *icase, size_t n,
			      vf_lits **out, exai_error *e) EXAI_WUR;
void vf_lits_free(vf_lits *l);
/* Plans made ahead of time, for start-up: a table built afterwards from exactly the literals
 * of one of @plans (bytes, case, order) takes that plan's windows and buckets instead of
 * planning them, after checking that they cover every literal (so a stale or wrong plan can
 * cost speed, never an occurrence); any other table is planned as before. Call before any
 * build and before threads start; @plans must outlive every build. NULL, 0: none. */
typedef struct vf_lit_plan vf_lit_plan;
void vf_lits_use_plans(const vf_lit_plan *const *plans, size_t n);
/* The plans of the shipped rules' tables, generated at build time by scan_lit_gen.c
 * (vf_lits_plans.c, linked into airgap-verifier only). */
extern const vf_lit_plan *const vf_lits_shipped_plans[];
extern const size_t vf_lits_shipped_nplans;
/* Calls @cb for every occurrence in p[0..n), in start order. Returns false only when out of
 * memory (ordering needs a buffer in pathological input), occurrences then being lost. */
bool vf_lits_scan(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg);
/* The same with the portable scalar loop, whatever the CPU (tests compare the two). */
bool vf_lits_scan_scalar(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg);
/* Tests: the same with one given loop. 1 done, 0 out of memory, -1 this CPU (or, for
 * AVX-512, a table with non-ASCII windows) cannot use that loop. */
enum { VF_LITS_SCALAR = 0, VF_LITS_AVX2 = 1, VF_LITS_AVX512 = 2 };
int vf_lits_scan_using(const vf_lits *l, int impl, const uint8_t *p, size_t n, vf_lit_cb cb,
		       void *arg);
/* How many bytes of p[0..n) equal @c (AVX2 when the CPU has it). */
size_t vf_count_byte(const uint8_t *p, size_t n, uint8_t c);

#endif
