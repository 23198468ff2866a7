/*
 * scan_lit_impl: the layout of a literal table, shared by its builder (scan_lit.c), its
 * scanner (scan_lit_scan.c) and the build-time writer of the shipped rules' plans
 * (scan_lit_gen.c). Nothing else looks inside.
 *
 * Three levels, each exact about what it rejects and never missing an occurrence:
 *   1. Teddy masks: for every position, the 2-3 byte "window" starting there is tested against
 *      up to 8 * nsets buckets of windows by nibble tables, 32 positions per step (AVX2), or
 *      by exact byte classes, 64 positions per step (AVX-512 VBMI);
 *   2. the bigram bitmap: the window's first two bytes must be those of some literal's window;
 *   3. the literals filed under that bigram (start/ent) are compared in full, the first 8
 *      bytes with one masked 64-bit compare.
 * Invariants: every literal is 2..4096 bytes and its window lies inside it, starting at most
 * VF_LIT_MAX_ANCHOR bytes in; `start` has 65537 entries and the literals of bigram b are
 * ent[start[b] .. start[b+1]) in increasing literal order; a bit of `bits` is set iff that
 * bigram has literals; every byte triple a literal's window can match passes the masks.
 */
#ifndef VF_SCAN_LIT_IMPL_H
#define VF_SCAN_LIT_IMPL_H

#include "scan_lit.h"

#define VF_LIT_NBIGRAMS	  65536u
#define VF_LIT_SETS_MAX	  3  /* sets of 8 Teddy buckets */
#define VF_LIT_MAX_ANCHOR 61 /* a window starts within the first 64 bytes of its literal */

/* One literal filed under one bigram. Bytes past its first 8 are compared from lit[]. */
typedef struct vf_lit_ent {
	uint64_t head; /* its first (up to) 8 bytes, lower case where icase, little-endian */
	uint64_t fold; /* 0x20 in the bytes where a letter may be either case */
	uint64_t mask; /* 0xff in its first min(len, 8) bytes */
	uint32_t lit;  /* index into lit[] */
	uint32_t anchor;
	uint32_t len;
} vf_lit_ent;

/* A Teddy bucket: for each window offset, the low and high nibbles its bytes use (the AVX2
 * test lets through every byte whose nibbles are both in the sets), and exactly which ASCII
 * bytes (the AVX-512 test); a byte past a 2-byte window is any byte. */
typedef struct vf_lit_group {
	uint16_t lo[3], hi[3];
	uint64_t ascii[3][2];
	bool wide; /* a window byte is not ASCII */
} vf_lit_group;

/* A plan made ahead of time (scan_lit_gen.c, for the shipped rules): the literals it was made
 * for, in table order, each with its window offset, and the buckets. vf_lits_build() takes
 * it for a table of exactly these literals (bytes and icase) once every literal's window is
 * checked to lie inside it and to pass the masks of one bucket; otherwise it plans. */
typedef struct vf_lit_plan_lit {
	const char *s;
	uint8_t icase;
	uint8_t anchor;
} vf_lit_plan_lit;

struct vf_lit_plan {
	const vf_lit_plan_lit *lit;
	size_t n;
	const vf_lit_group *grp;
	size_t ngrp;
	unsigned nsets;
};

struct vf_lits {
	uint8_t bits[VF_LIT_NBIGRAMS / 8];
	/* Teddy: byte x at window offset j is in bucket bit k of set s iff
	 * nib[s][j][0][x & 15] & nib[s][j][1][x >> 4] has bit k. */
	uint8_t nib[VF_LIT_SETS_MAX][3][2][16];
	/* AVX-512 VBMI: the same buckets by exact class of ASCII bytes (ascii[s][j][x]);
	 * usable when every window byte is ASCII. A non-ASCII byte is in no class, except
	 * past a 2-byte window (any2: the buckets of 2-byte windows). */
	uint8_t ascii[VF_LIT_SETS_MAX][3][128];
	uint8_t any2[VF_LIT_SETS_MAX];
	bool all_ascii;
	unsigned nsets;	     /* 0 when there are no literals */
	uint32_t max_anchor; /* largest window offset: how far start order lags anchor order */
	uint32_t start[VF_LIT_NBIGRAMS + 1];
	vf_lit_ent *ent;
	vf_lit *lit;
	size_t n, cap;
	char **owned; /* strings this table allocated (".com", "0.") */
	size_t nowned, capowned;
	vf_lit_group grp[8 * VF_LIT_SETS_MAX]; /* the buckets behind nib/ascii (ngrp of them) */
	size_t ngrp;
	bool from_plan; /* windows and buckets came from a vf_lit_plan, not from planning */
};

/* Case-insensitive byte equality of a literal at @p (which has l->len bytes). */
bool vf_lit_eq(const vf_lit *l, const uint8_t *p);

#endif
