/*
 * fuzz_bundle.h: the valid, signed, encrypted test bundle the bundle harness mutates
 * (fuzz_bundle_make.c builds it once per process, deterministically: fixed keys, fixed
 * bundle id, fixed data key, so a crash input replays to the same bytes).
 *
 * Trust: root v1 (root key R1, release key K1, threshold 1, expires 5000) is what the
 * verifier holds; the bundle carries roots/2 (root keys R1+R2, threshold 2; release keys
 * K1, K2, K3, threshold 2, never expires), and is signed by K1 and K2. Index: created 1000,
 * expires 2000, min-root-version 2, AES-256-GCM, chunk size 64 KiB, two recipients (site
 * keys S1 and S2); the payload is a tar component and a raw one, about 110 KB (2 chunks).
 */
#ifndef FUZZ_BUNDLE_H
#define FUZZ_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "exai/bundle.h"

/* The entries of the valid bundle, in .exb order. */
enum {
	FB_INDEX,
	FB_ROOT2,
	FB_MANIFEST,
	FB_KEYS,
	FB_CHUNKS,
	FB_PAYLOAD,
	FB_SIG1,
	FB_SIG2,
	FB_NSLOTS
};

typedef struct fb_slot {
	char name[48];
	uint8_t *data;
	size_t len;
} fb_slot;

typedef struct fb_valid {
	fb_slot slot[FB_NSLOTS];
	exai_root *root1, *root2;	    /* trusted choices: v1 (the default) or v2 */
	exai_site_key site[3];		    /* S1, S2 (recipients), S9 (not a recipient) */
	char sig_k3[48], sig_r1[48];	    /* sig/ names of K3 (listed, never signed) and R1 */
	uint8_t plain_sha[EXAI_SHA256_LEN]; /* SHA-256 of the whole plaintext payload */
	size_t n_components;
	uint64_t created, expires, root1_expires;
} fb_valid;

/* Builds the valid bundle once; aborts on any failure (a harness bug). */
const fb_valid *fb_valid_get(void);

#endif
