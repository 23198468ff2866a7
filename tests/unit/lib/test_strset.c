/*
 * strset: membership against an independent count (sorting), growth through many rehashes,
 * the cap refused with the set unchanged, and strings that differ only late or in length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/strset.h"
#include "testutil.h"

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(members_counted_against_a_sort)
{
	enum { N = 60000 };
	char **names = calloc(N, sizeof(*names));
	exai_strset s;
	exai_error e;
	size_t added = 0, unique = 0;

	ck_assert_ptr_nonnull(names);
	exai_strset_init(&s, 0);
	srand(7);
	for (size_t i = 0; i < N; i++) {
		char buf[64];
		bool was_new;
		/* many repeats: names drawn from a range smaller than N */
		snprintf(buf, sizeof(buf), "models/shard-%05d/part", rand() % 40000);
		names[i] = strdup(buf);
		ck_assert_int_eq(exai_strset_add(&s, buf, &was_new, &e), EXAI_OK);
		added += was_new;
		ck_assert(exai_strset_has(&s, buf));
	}
	qsort(names, N, sizeof(*names), cmp);
	for (size_t i = 0; i < N; i++)
		unique += i == 0 || strcmp(names[i], names[i - 1]) != 0;
	ck_assert_uint_eq(added, unique);
	ck_assert_uint_eq(s.n, unique);
	ck_assert(!exai_strset_has(&s, "models/shard-40000/part"));
	ck_assert(!exai_strset_has(&s, "models/shard-00001/par"));
	ck_assert(!exai_strset_has(&s, ""));
	for (size_t i = 0; i < N; i++)
		free(names[i]);
	free(names);
	exai_strset_free(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert(!exai_strset_has(&s, "models/shard-00001/part"));
}
END_TEST

START_TEST(cap_refused_set_unchanged)
{
	exai_strset s;
	exai_error e;
	bool was_new = true;

	exai_strset_init(&s, 3);
	ck_assert_int_eq(exai_strset_add(&s, "a", NULL, &e), EXAI_OK);
	ck_assert_int_eq(exai_strset_add(&s, "ab", NULL, &e), EXAI_OK);
	ck_assert_int_eq(exai_strset_add(&s, "a/b", NULL, &e), EXAI_OK);
	ck_assert_int_eq(exai_strset_add(&s, "a", &was_new, &e), EXAI_OK); /* present: no cap */
	ck_assert(!was_new);
	ck_assert_int_eq(exai_strset_add(&s, "abc", &was_new, &e), EXAI_ETOOBIG);
	ck_assert(!was_new);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 3"));
	ck_assert_uint_eq(s.n, 3);
	ck_assert(!exai_strset_has(&s, "abc"));
	ck_assert(exai_strset_has(&s, "a") && exai_strset_has(&s, "ab") &&
		  exai_strset_has(&s, "a/b"));
	exai_strset_free(&s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("strset");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, members_counted_against_a_sort);
	tcase_add_test(tc, cap_refused_set_unchanged);
	suite_add_tcase(su, tc);
	return tu_run(su);
}
