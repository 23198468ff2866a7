/*
 * fuzz_recipe: reading a structure-aware harness's input as a recipe, a byte at a time; past
 * the end every read gives 0, so any input is a complete recipe.
 */
#ifndef FUZZ_RECIPE_H
#define FUZZ_RECIPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct rd {
	const uint8_t *p;
	size_t n;
} rd;

static inline unsigned g8(rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static inline unsigned g16(rd *r)
{
	unsigned hi = g8(r);
	return hi << 8 | g8(r);
}

#endif
