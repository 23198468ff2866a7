/*
 * grow: exai_grow's doubling, its refusals (cap, count overflow, byte-size overflow, bad
 * arguments, no memory) and that a refusal leaves the array and its contents as they were.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "testutil.h"

typedef struct rec {
	uint64_t a, b;
} rec;

/* Fills v[0..n) with a pattern fill_ok recognises. */
static void fill(rec *v, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		v[i] = (rec){i, ~(uint64_t)i};
}

static int fill_ok(const rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].a != i || v[i].b != ~(uint64_t)i)
			return 0;
	return 1;
}

START_TEST(doubles_from_the_first_size)
{
	static const size_t seq[] = {EXAI_GROW_FIRST, 32, 64, 128, 256};
	rec *v = NULL;
	size_t cap = 0, n = 0, k = 0;
	exai_error e;

	for (; n < 256; n++) {
		size_t before = cap;
		ck_assert_int_eq(EXAI_GROW(&v, &cap, n, 1, EXAI_GROW_NOCAP, &e), EXAI_OK);
		ck_assert_ptr_nonnull(v);
		if (cap != before) {
			ck_assert_uint_lt(k, sizeof(seq) / sizeof(seq[0]));
			ck_assert_uint_eq(cap, seq[k++]);
			ck_assert_uint_eq(before, n); /* grew only when full */
		}
		fill(v, n, n + 1);
	}
	ck_assert_uint_eq(k, 5);
	ck_assert(fill_ok(v, n));
	/* Room already there: nothing changes. */
	rec *same = v;
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 10, 200, EXAI_GROW_NOCAP, &e), EXAI_OK);
	ck_assert_ptr_eq(v, same);
	ck_assert_uint_eq(cap, 256);
	free(v);
}
END_TEST

START_TEST(grows_to_what_is_needed_at_once)
{
	char *b = NULL;
	size_t cap = 0;
	exai_error e;

	/* More than doubling gives: exactly what is needed. */
	ck_assert_int_eq(EXAI_GROW(&b, &cap, 0, 1000, EXAI_GROW_NOCAP, &e), EXAI_OK);
	ck_assert_uint_eq(cap, 1000);
	memset(b, 'x', 1000);
	ck_assert_int_eq(EXAI_GROW(&b, &cap, 1000, 5000, EXAI_GROW_NOCAP, &e), EXAI_OK);
	ck_assert_uint_eq(cap, 6000);
	ck_assert_int_eq(EXAI_GROW(&b, &cap, 6000, 1, EXAI_GROW_NOCAP, &e), EXAI_OK);
	ck_assert_uint_eq(cap, 12000);
	for (size_t i = 0; i < 1000; i++)
		ck_assert_int_eq(b[i], 'x');
	free(b);
}
END_TEST

START_TEST(cap_is_reached_then_refused)
{
	rec *v = NULL, *before;
	size_t cap = 0, n = 0;
	exai_error e;

	/* Doubling is clamped to the cap, so every element up to it can be had... */
	for (; n < 40; n++) {
		ck_assert_int_eq(EXAI_GROW(&v, &cap, n, 1, 40, &e), EXAI_OK);
		ck_assert_uint_le(cap, 40);
		fill(v, n, n + 1);
	}
	ck_assert_uint_eq(cap, 40);
	/* ...and one more is refused, the array untouched. */
	before = v;
	exai_error_clear(&e);
	ck_assert_int_eq(EXAI_GROW(&v, &cap, n, 1, 40, &e), EXAI_ETOOBIG);
	ck_assert_int_eq(e.code, EXAI_ETOOBIG);
	ck_assert_str_eq(e.msg, "more than 40 elements (41 needed)");
	ck_assert_ptr_eq(v, before);
	ck_assert_uint_eq(cap, 40);
	ck_assert(fill_ok(v, 40));
	/* A request over the cap from an empty array allocates nothing. */
	rec *w = NULL;
	size_t wcap = 0;
	ck_assert_int_eq(EXAI_GROW(&w, &wcap, 0, 41, 40, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(w);
	ck_assert_uint_eq(wcap, 0);
	free(v);
}
END_TEST

START_TEST(overflow_is_refused_not_wrapped)
{
	rec *v = NULL, *before;
	size_t cap = 0;
	exai_error e;

	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 4, EXAI_GROW_NOCAP, &e), EXAI_OK);
	fill(v, 0, 4);
	before = v;
	/* SIZE_MAX / elem + 1 elements: the byte size would wrap to a small number. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 4, SIZE_MAX / sizeof(rec) + 1, EXAI_GROW_NOCAP, &e),
			 EXAI_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "over the largest possible array"));
	/* Just over PTRDIFF_MAX bytes: no object can be that large. */
	ck_assert_int_eq(
	    EXAI_GROW(&v, &cap, 0, (size_t)PTRDIFF_MAX / sizeof(rec) + 1, EXAI_GROW_NOCAP, &e),
	    EXAI_ETOOBIG);
	/* used + extra wraps around. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 4, SIZE_MAX - 1, EXAI_GROW_NOCAP, &e), EXAI_ETOOBIG);
	ck_assert_str_eq(e.msg, "array of 4 elements: 18446744073709551614 more overflow");
	/* Bytes: SIZE_MAX one-byte elements, over PTRDIFF_MAX. */
	char *b = NULL;
	size_t bcap = 0;
	ck_assert_int_eq(EXAI_GROW(&b, &bcap, 0, SIZE_MAX, EXAI_GROW_NOCAP, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(b);
	/* None of it touched the array. */
	ck_assert_ptr_eq(v, before);
	ck_assert_uint_eq(cap, EXAI_GROW_FIRST);
	ck_assert(fill_ok(v, 4));
	free(v);
}
END_TEST

START_TEST(zero_and_null)
{
	rec *v = NULL;
	size_t cap = 0;
	exai_error e;

	/* Nothing to add to a fresh array: no allocation, no error. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 0, EXAI_GROW_NOCAP, &e), EXAI_OK);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(cap, 0);
	/* A cap of 0 refuses the first element. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 1, 0, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(v);
	/* Zero-size elements, NULL pointers and a used count over the capacity are bugs. */
	ck_assert_int_eq(exai_grow(&v, &cap, 0, 1, 0, EXAI_GROW_NOCAP, &e), EXAI_EINVAL);
	ck_assert_int_eq(exai_grow(NULL, &cap, 0, 1, 8, EXAI_GROW_NOCAP, &e), EXAI_EINVAL);
	ck_assert_int_eq(exai_grow(&v, NULL, 0, 1, 8, EXAI_GROW_NOCAP, &e), EXAI_EINVAL);
	ck_assert_int_eq(exai_grow(&v, &cap, 1, 1, 8, EXAI_GROW_NOCAP, &e), EXAI_EINVAL);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(cap, 0);
	/* The error may be dropped. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 1, 0, NULL), EXAI_ETOOBIG);
	/* A NULL start grows like any other. */
	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 1, EXAI_GROW_NOCAP, NULL), EXAI_OK);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(cap, EXAI_GROW_FIRST);
	free(v);
}
END_TEST

/*
 * An allocation that fails (a request of PTRDIFF_MAX / 2 bytes: no address space holds it)
 * is EXAI_ENOMEM and leaves the array and its contents. Not under ASan, whose allocator
 * reports such a request instead of returning NULL.
 */
START_TEST(no_memory_keeps_the_array)
{
#if defined(__SANITIZE_ADDRESS__)
	return;
#else
	rec *v = NULL, *before;
	size_t cap = 0;
	exai_error e;

	ck_assert_int_eq(EXAI_GROW(&v, &cap, 0, 3, EXAI_GROW_NOCAP, &e), EXAI_OK);
	fill(v, 0, 3);
	before = v;
	ck_assert_int_eq(
	    EXAI_GROW(&v, &cap, 3, (size_t)PTRDIFF_MAX / 2 / sizeof(rec), EXAI_GROW_NOCAP, &e),
	    EXAI_ENOMEM);
	ck_assert_int_eq(e.code, EXAI_ENOMEM);
	ck_assert_ptr_nonnull(strstr(e.msg, "out of memory"));
	ck_assert_ptr_eq(v, before);
	ck_assert_uint_eq(cap, EXAI_GROW_FIRST);
	ck_assert(fill_ok(v, 3));
	free(v);
#endif
}
END_TEST

int main(void)
{
	Suite *s = suite_create("grow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, doubles_from_the_first_size);
	tcase_add_test(tc, grows_to_what_is_needed_at_once);
	tcase_add_test(tc, cap_is_reached_then_refused);
	tcase_add_test(tc, overflow_is_refused_not_wrapped);
	tcase_add_test(tc, zero_and_null);
	tcase_add_test(tc, no_memory_keeps_the_array);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
