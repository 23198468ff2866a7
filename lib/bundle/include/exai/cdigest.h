/*
 * cdigest: the component digest of bundle format version 2 (docs/format.md section 7.1).
 *
 *   leaf j  = bytes [j * 16384, min((j + 1) * 16384, size)) of the component, j = 0..n-1,
 *             n = ceil(size / 16384) (no leaf for a 0-byte component)
 *   digest  = SHA-256("exai-tree-v1" || u64be(size) || SHA-256(leaf 0) || ... || SHA-256(leaf n-1))
 *
 * It depends only on the component's bytes (not on the bundle's chunk size or the component's
 * offset), so `exai-bundle digest FILE` computes it alone. Leaves are independent: the payload
 * pipeline's workers hash the leaves that lie inside their own decrypted chunk (four at a time,
 * exai_sha256_multi) and the consumer only appends their 32-byte hashes, hashing itself just
 * the one leaf per chunk boundary that two chunks share.
 */
#ifndef EXAI_CDIGEST_H
#define EXAI_CDIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/hash.h"

#define EXAI_CDIGEST_LEAF ((uint64_t)16 << 10)
#define EXAI_CDIGEST_TAG  "exai-tree-v1" /* 12 bytes, no NUL */

struct exai_progress;

/* A digest being computed over a component of a size declared up front. */
typedef struct exai_cdigest {
	exai_sha256 top;  /* tag || u64be(size) || leaf hashes so far */
	exai_sha256 leaf; /* the leaf exai_cdigest_update is in the middle of */
	uint64_t size;	  /* declared size */
	uint64_t fed;	  /* bytes taken so far (directly or as leaf hashes) */
	bool in_leaf;	  /* @leaf is open */
	bool live;	  /* @top is open */
} exai_cdigest;

/* Starts the digest of @size bytes. */
exai_status exai_cdigest_init(exai_cdigest *d, uint64_t size, exai_error *e) EXAI_WUR;
/* Takes the next @n bytes (whole leaves four at a time on the SHA extensions). More bytes than
 * the declared size is an error. */
exai_status exai_cdigest_update(exai_cdigest *d, const uint8_t *p, size_t n,
				exai_error *e) EXAI_WUR;
/* Takes the hash of the next leaf, computed elsewhere over its exai_cdigest_leaf_len() bytes.
 * Only at a leaf boundary (no partial leaf taken by update): EXAI_EINTERNAL otherwise. */
exai_status exai_cdigest_add_leaf(exai_cdigest *d, const uint8_t md[EXAI_SHA256_LEN],
				  exai_error *e) EXAI_WUR;
/* The digest; the declared size must have been taken exactly. Frees the contexts either way. */
exai_status exai_cdigest_final(exai_cdigest *d, uint8_t out[EXAI_SHA256_LEN],
			       exai_error *e) EXAI_WUR;
/* Frees the contexts without a digest; safe on a zeroed or finished digest. */
void exai_cdigest_free(exai_cdigest *d);

/* Length of leaf @j of a component of @size bytes (0 past the end). */
uint64_t exai_cdigest_leaf_len(uint64_t size, uint64_t j);

/* Hashes the leaves of a component of @size bytes that lie wholly inside its bytes
 * [a, b) (held at @p, which is the component's byte a): leaves first..first+count-1, with
 * first = ceil(a / LEAF). Writes their hashes to @out (room for exai_cdigest_span_max(b - a)
 * hashes) and sets *count. Used by the payload workers. */
exai_status exai_cdigest_span(uint64_t size, uint64_t a, uint64_t b, const uint8_t *p,
			      uint8_t (*out)[EXAI_SHA256_LEN], size_t *count,
			      exai_error *e) EXAI_WUR;
/* Most leaves exai_cdigest_span can produce for a span of @len bytes. */
size_t exai_cdigest_span_max(uint64_t len);
/* Whether leaf @j of a component of @size bytes lies wholly inside [a, b). */
bool exai_cdigest_leaf_inside(uint64_t size, uint64_t j, uint64_t a, uint64_t b);

/* The digest of a buffer. */
exai_status exai_cdigest_buf(const void *p, size_t n, uint8_t out[EXAI_SHA256_LEN],
			     exai_error *e) EXAI_WUR;
/* The digest of the first @size bytes read from @fd (a regular file or block device, from its
 * current position); EXAI_ESHORT if it ends before. */
exai_status exai_cdigest_fd(int fd, uint64_t size, uint8_t out[EXAI_SHA256_LEN],
			    struct exai_progress *progress, exai_error *e) EXAI_WUR;

#endif
