/* Check suite for lib/core/progress.c and lib/core/json.c output helpers. */
#include <stdlib.h>
#include <string.h>

#include "exai/json.h"
#include "exai/progress.h"
#include "testutil.h"

START_TEST(format_shows_bytes_rate_eta)
{
	char line[160];

	/* 512 MiB of 2 GiB in 2 s: 256 MiB/s, 1.5 GiB left = 6 s. */
	exai_progress_format(line, sizeof(line), "verify", 512ull << 20, 2ull << 30, 2000000000ull);
	ck_assert_str_eq(line, "verify           [#####...............]  25% 512.0 MiB / 2.0 GiB  "
			       "256.0 MiB/s  ETA 0:06");
	exai_progress_format(line, sizeof(line), "hash", 100, 0, 1000000000ull);
	ck_assert_str_eq(line, "hash             100 B  100 B/s");
}
END_TEST

START_TEST(silent_when_not_a_tty)
{
	exai_progress p;

	/* Tests run with stderr redirected by CTest: no output stream chosen. */
	exai_progress_start(&p, "x", 10);
	ck_assert_ptr_null(p.out);
	exai_progress_add(&p, 10);
	ck_assert_uint_eq(p.done, 10);
	exai_progress_finish(&p);
}
END_TEST

START_TEST(forced_stream_gets_final_line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	exai_progress p;

	exai_progress_start_to(&p, "copy", 4096, f);
	exai_progress_add(&p, 4096);
	exai_progress_finish(&p);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "copy "));
	ck_assert_ptr_nonnull(strstr(buf, "100% 4.0 KiB / 4.0 KiB"));
	ck_assert_int_eq(buf[len - 1], '\n');
	free(buf);
}
END_TEST

START_TEST(json_error_shape)
{
	exai_error e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *j;
	json_error_t je;

	exai_error_set(&e, EXAI_EVERIFY, "chunk 3: hash mismatch");
	ck_assert_int_eq(exai_json_emit(exai_json_error(&e), f), 0);
	fclose(f);
	j = json_loads(buf, 0, &je);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
			 "EVERIFY");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
			 "chunk 3: hash mismatch");
	json_decref(j);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, format_shows_bytes_rate_eta);
	tcase_add_test(tc, silent_when_not_a_tty);
	tcase_add_test(tc, forced_stream_gets_final_line);
	tcase_add_test(tc, json_error_shape);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
