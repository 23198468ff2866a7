/*
 * scan_lit: the multi-literal prefilter. Every byte of every scanned buffer goes through it
 * exactly once, so it is the hot loop of `scan`.
 *
 * Each literal is indexed by its rarest 2-byte window (its "anchor", chosen from a static
 * byte-frequency estimate; a case-insensitive literal sets every case variant of it). The
 * scan tests one bit of an 8 KiB bitmap per input byte and only looks closer where an anchor
 * occurs; there it compares the few literals of that bucket. Callbacks receive every
 * occurrence of every literal, left to right by anchor position.
 */
#ifndef VF_SCAN_LIT_H
#define VF_SCAN_LIT_H

#include <stddef.h>
#include <stdint.h>

#include "scan.h"

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
	uint32_t anchor; /* offset of the anchor window in s */
	uint32_t rule;	 /* index into vf_rules.r (RULE, UNLESS) */
	uint8_t kind;
	uint8_t icase;
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
void vf_lits_scan(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg);

#endif
