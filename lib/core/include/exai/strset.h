/*
 * strset: a set of strings (each copied in), for "seen this name before?" over inputs that
 * may be large and hostile. Open addressing with linear probing in a power-of-two table at
 * most half full, keyed by SipHash-2-4 (libsodium's crypto_shorthash) under a key drawn at
 * random per set: a producer of the names (a signed but hostile bundle) cannot choose names
 * that collide, so every operation stays O(1) expected, never the O(n) of a list scan that
 * made n insertions quadratic.
 */
#ifndef EXAI_STRSET_H
#define EXAI_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

typedef struct exai_strset {
	char **slot; /* NULL: empty; the table has cap slots */
	size_t cap, n;
	size_t max; /* at most this many strings (0: no cap of its own) */
	uint8_t key[16];
	bool keyed;
} exai_strset;

/* An empty set holding at most @max strings (0: memory bounds it). No allocation. */
void exai_strset_init(exai_strset *s, size_t max);

bool exai_strset_has(const exai_strset *s, const char *str);

/* Adds a copy of @str; *@added (may be NULL) says whether it was new. The cap reached is
 * refused (EXAI_ETOOBIG), out of memory EXAI_ENOMEM; either leaves the set as it was. */
exai_status exai_strset_add(exai_strset *s, const char *str, bool *added, exai_error *e) EXAI_WUR;

void exai_strset_free(exai_strset *s);

#endif
