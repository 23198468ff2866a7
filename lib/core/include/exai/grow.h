/*
 * grow: checked growth of a heap array, by doubling.
 *
 * Every growable array in the tree (records read from a database, entries of a walk, rules,
 * findings) grows through exai_grow, so its size arithmetic is checked in one place: the
 * element count plus what is added, the count times the element size, and the caller's own
 * hard cap are each refused when they overflow or are passed, never wrapped into a short
 * allocation. A refusal leaves the array as it was, so the caller can report it and still
 * free (or use) what it holds.
 */
#ifndef EXAI_GROW_H
#define EXAI_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

/* The capacity (elements) of an array's first allocation, unless more are needed at once. */
#define EXAI_GROW_FIRST 16

/* A @max for an array with no cap of its own: memory and size arithmetic still bound it. */
#define EXAI_GROW_NOCAP SIZE_MAX

/*
 * Makes room for @extra more elements of @elem bytes after the first @used of the array
 * whose address is @arrp (a T **, taken as void * so that any element type fits; the
 * pointer is read and written with memcpy) and whose capacity is *@cap elements.
 *
 * When used + extra <= *cap, does nothing. Otherwise reallocates to twice *cap
 * (EXAI_GROW_FIRST for an empty array) or used + extra if that is more, but never more than
 * @max elements or PTRDIFF_MAX bytes, and stores the new array and capacity. A NULL array of
 * capacity 0 is a fresh one; extra == 0 never allocates.
 *
 * On failure *@arrp and *@cap are unchanged and the array still holds its contents:
 *   EXAI_ETOOBIG  used + extra overflows, is over @max, or is over PTRDIFF_MAX bytes;
 *   EXAI_ENOMEM   the allocation failed;
 *   EXAI_EINVAL   @arrp or @cap is NULL, @elem is 0, or @used is over *@cap (a bug).
 * @e may be NULL; callers add their context (what the array holds) in front.
 */
exai_status exai_grow(void *arrp, size_t *cap, size_t used, size_t extra, size_t elem, size_t max,
		      exai_error *e) EXAI_WUR;

/* exai_grow with the element size taken from the array's type:
 * EXAI_GROW(&l->v, &l->cap, l->n, 1, MAX_ENTRIES, e). */
#define EXAI_GROW(arrp, cap, used, extra, max, e) \
	exai_grow((arrp), (cap), (used), (extra), sizeof(**(arrp)), (max), (e))

#endif
