/*
 * strset: a set of strings under a keyed hash (strset.h).
 */
#include "exai/strset.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void exai_strset_init(exai_strset *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

static uint64_t hash_of(const exai_strset *s, const char *str)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)str, strlen(str), s->key);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The slot holding @str, or the empty slot where it would go. */
static size_t find(const exai_strset *s, const char *str)
{
	size_t mask = s->cap - 1, i = (size_t)hash_of(s, str) & mask;

	while (s->slot[i] && strcmp(s->slot[i], str))
		i = (i + 1) & mask;
	return i;
}

bool exai_strset_has(const exai_strset *s, const char *str)
{
	return s->cap && s->slot[find(s, str)];
}

/* Doubles the table (rehashing every string); on failure the set is as it was. */
static exai_status grow(exai_strset *s, exai_error *e)
{
	size_t cap = s->cap ? s->cap * 2 : 32;
	exai_strset bigger = *s;

	if (cap < s->cap || cap > SIZE_MAX / sizeof(char *))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	bigger.slot = calloc(cap, sizeof(char *));
	if (!bigger.slot)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	bigger.cap = cap;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i])
			bigger.slot[find(&bigger, s->slot[i])] = s->slot[i];
	free(s->slot);
	*s = bigger;
	return EXAI_OK;
}

exai_status exai_strset_add(exai_strset *s, const char *str, bool *added, exai_error *e)
{
	exai_status rc;
	size_t i;
	char *copy;

	if (added)
		*added = false;
	if (!s->keyed) {
		randombytes_buf(s->key, sizeof(s->key));
		s->keyed = true;
	}
	if (exai_strset_has(s, str))
		return EXAI_OK;
	if (s->max && s->n >= s->max)
		return exai_error_set(e, EXAI_ETOOBIG, "more than %zu names", s->max);
	if ((s->n + 1) * 2 > s->cap && (rc = grow(s, e)))
		return rc;
	if (!(copy = strdup(str)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	i = find(s, str);
	s->slot[i] = copy;
	s->n++;
	if (added)
		*added = true;
	return EXAI_OK;
}

void exai_strset_free(exai_strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	sodium_memzero(s->key, sizeof(s->key));
	exai_strset_init(s, s->max);
}
