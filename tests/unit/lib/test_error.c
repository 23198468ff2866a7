/* Check suite for lib/core/error.c */
#include <errno.h>
#include <string.h>

#include "exai/error.h"
#include "testutil.h"

START_TEST(set_and_prefix_build_context_chain)
{
	exai_error e;

	exai_error_clear(&e);
	ck_assert_int_eq(e.code, EXAI_OK);
	ck_assert_int_eq(exai_error_set(&e, EXAI_EVERIFY, "hash mismatch"), EXAI_EVERIFY);
	ck_assert_int_eq(exai_error_prefix(&e, "chunk %d", 17), EXAI_EVERIFY);
	exai_error_prefix(&e, "stage %s", "model/llama");
	exai_error_prefix(&e, "apply");
	ck_assert_str_eq(e.msg, "apply: stage model/llama: chunk 17: hash mismatch");
	ck_assert_str_eq(exai_status_name(e.code), "EVERIFY");
}
END_TEST

START_TEST(sys_maps_errno_and_appends_reason)
{
	exai_error e;

	errno = ENOSPC;
	ck_assert_int_eq(exai_error_sys(&e, EXAI_EIO, "%s: write", "/x"), EXAI_ENOSPC);
	ck_assert_int_eq(e.sys_errno, ENOSPC);
	ck_assert_str_eq(e.msg, "/x: write: No space left on device");
	errno = ELOOP;
	ck_assert_int_eq(exai_error_sys(&e, EXAI_EIO, "/l: open"), EXAI_EUNSAFE);
	ck_assert_str_eq(e.msg, "/l: open: is a symbolic link (refused)");
	errno = EPERM;
	ck_assert_int_eq(exai_error_sys(&e, EXAI_EIO, "p"), EXAI_EIO);
}
END_TEST

START_TEST(long_messages_truncate_without_overflow)
{
	char big[3000];
	exai_error e;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	exai_error_set(&e, EXAI_EFORMAT, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), EXAI_ERROR_MSG_MAX - 1);
	exai_error_prefix(&e, "outer");
	ck_assert_uint_eq(strlen(e.msg), EXAI_ERROR_MSG_MAX - 1);
	ck_assert(strncmp(e.msg, "outer: xxx", 10) == 0);
}
END_TEST

START_TEST(null_error_is_tolerated)
{
	ck_assert_int_eq(exai_error_set(NULL, EXAI_EIO, "x"), EXAI_EIO);
	exai_error_clear(NULL);
	ck_assert_str_eq(exai_status_name((exai_status)999), "EUNKNOWN");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("error");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, set_and_prefix_build_context_chain);
	tcase_add_test(tc, sys_maps_errno_and_appends_reason);
	tcase_add_test(tc, long_messages_truncate_without_overflow);
	tcase_add_test(tc, null_error_is_tolerated);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
