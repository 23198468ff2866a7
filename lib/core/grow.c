/*
 * grow: checked growth of a heap array, by doubling. See exai/grow.h.
 *
 * Invariant: the array and its capacity change together or not at all. The new capacity is
 * computed with every step checked (the addition, the cap, the byte size) before realloc is
 * called, so a refusal costs nothing and leaves the old array in place.
 */
#include "exai/grow.h"

#include <stdlib.h>
#include <string.h>

/* The capacity to grow to: twice @cap (or the first size), at least @need, at most @limit.
 * The caller has checked need <= limit. */
static size_t next_cap(size_t cap, size_t need, size_t limit)
{
	size_t n = cap == 0 ? EXAI_GROW_FIRST : cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;

	if (n < need)
		n = need;
	return n < limit ? n : limit;
}

exai_status exai_grow(void *arrp, size_t *cap, size_t used, size_t extra, size_t elem, size_t max,
		      exai_error *e)
{
	size_t need, limit, ncap;
	void *old, *p;

	if (!arrp || !cap || elem == 0 || used > *cap)
		return exai_error_set(
		    e, EXAI_EINVAL,
		    "array growth: bad arguments (%zu of %zu used, %zu-byte elements)", used,
		    cap ? *cap : 0, elem);
	if (extra > SIZE_MAX - used)
		return exai_error_set(e, EXAI_ETOOBIG, "array of %zu elements: %zu more overflow",
				      used, extra);
	need = used + extra;
	if (need <= *cap)
		return EXAI_OK;
	if (need > max)
		return exai_error_set(e, EXAI_ETOOBIG, "more than %zu elements (%zu needed)", max,
				      need);
	limit = (size_t)PTRDIFF_MAX / elem;
	if (need > limit)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%zu elements of %zu bytes: over the largest possible array",
				      need, elem);
	ncap = next_cap(*cap, need, limit < max ? limit : max);
	memcpy(&old, arrp, sizeof(old));
	/* When doubling cannot be had, what is needed may still be. */
	if (!(p = realloc(old, ncap * elem)) && ncap > need && (p = realloc(old, need * elem)))
		ncap = need;
	if (!p)
		return exai_error_set(e, EXAI_ENOMEM,
				      "out of memory (an array of %zu elements of %zu bytes)", ncap,
				      elem);
	memcpy(arrp, &p, sizeof(p));
	*cap = ncap;
	return EXAI_OK;
}
