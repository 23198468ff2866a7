/* Check suite for lib/core/secmem.c: the large-buffer allocator of the chunk rings. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/secmem.h"
#include "testutil.h"

#define HUGE_PAGE ((size_t)2 << 20)

/* Whether the kernel hands out transparent huge pages at all ("[never]" selected: no). */
static int thp_possible(void)
{
	char mode[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");

	if (!f)
		return 0;
	if (!fgets(mode, sizeof(mode), f))
		mode[0] = '\0';
	fclose(f);
	return mode[0] && !strstr(mode, "[never]");
}

/* The THPeligible line of the mapping in /proc/self/smaps that holds @p: 1, 0, or -1. */
static int thp_eligible(const void *p)
{
	char line[512];
	int in = 0, r = -1;
	FILE *f = fopen("/proc/self/smaps", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
			continue;
		}
		if (in && sscanf(line, "THPeligible: %d", &r) == 1)
			break;
	}
	fclose(f);
	return r;
}

START_TEST(large_buffers_are_aligned_to_huge_pages_and_marked_for_them)
{
	size_t len = 10 * (((size_t)4 << 20) + 4096);
	uint8_t *b = exai_bigbuf_alloc(len);

	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq((uintptr_t)b % HUGE_PAGE, 0);
	memset(b, 0xa5, len); /* all of it is usable */
	ck_assert_uint_eq(b[len - 1], 0xa5);
	if (thp_possible())
		ck_assert_int_eq(thp_eligible(b), 1);
	free(b);
}
END_TEST

START_TEST(small_buffers_come_from_malloc)
{
	uint8_t *b = exai_bigbuf_alloc(65536);

	ck_assert_ptr_nonnull(b);
	memset(b, 1, 65536);
	free(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("secmem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, large_buffers_are_aligned_to_huge_pages_and_marked_for_them);
	tcase_add_test(tc, small_buffers_come_from_malloc);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
