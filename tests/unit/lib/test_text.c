/*
 * text: the "did you mean" suggestion (exai_suggest) that spec, config and policy parsers
 * add to an unknown key.
 */
#include <string.h>

#include "exai/text.h"
#include "testutil.h"

static const char *const spec_keys[] = {
    "channel", "sequence", "expires_in_days", "target", "components", "chunk_size", NULL};

START_TEST(suggests_within_two_edits)
{
	ck_assert_str_eq(exai_suggest("chanel", spec_keys, 2), "channel");   /* deletion */
	ck_assert_str_eq(exai_suggest("channell", spec_keys, 2), "channel"); /* insertion */
	ck_assert_str_eq(exai_suggest("chennel", spec_keys, 2), "channel");  /* substitution */
	ck_assert_str_eq(exai_suggest("chnanel", spec_keys, 2), "channel");  /* swap: 1 edit */
	ck_assert_str_eq(exai_suggest("Channel", spec_keys, 2), "channel");  /* case */
	ck_assert_str_eq(exai_suggest("sequnce", spec_keys, 2), "sequence");
	ck_assert_str_eq(exai_suggest("componets", spec_keys, 2), "components");
	ck_assert_str_eq(exai_suggest("chunksize", spec_keys, 2), "chunk_size");
	ck_assert_str_eq(exai_suggest("targte", spec_keys, 2), "target");
}
END_TEST

START_TEST(no_suggestion_when_far_or_exact)
{
	static const char *const ab[] = {"ab", "zz", NULL};
	char longword[EXAI_SUGGEST_MAX_LEN + 2];

	ck_assert_ptr_null(exai_suggest("zzz", spec_keys, 2));
	ck_assert_ptr_null(exai_suggest("chnl", spec_keys, 2));	   /* 3 edits */
	ck_assert_ptr_null(exai_suggest("channel", spec_keys, 2)); /* not a typo */
	ck_assert_ptr_null(exai_suggest("", spec_keys, 2));
	ck_assert_ptr_null(exai_suggest(NULL, spec_keys, 2));
	/* Never a distance as long as the word itself: "x" is not a typo of "ab". */
	ck_assert_ptr_null(exai_suggest("x", ab, 2));
	ck_assert_ptr_null(exai_suggest("cd", ab, 2));
	ck_assert_str_eq(exai_suggest("zx", ab, 2), "zz");
	/* Over the length bound: no work, no suggestion. */
	memset(longword, 'a', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = '\0';
	ck_assert_ptr_null(exai_suggest(longword, spec_keys, 2));
	/* A max_dist of 0 suggests nothing but exact case variants. */
	ck_assert_ptr_null(exai_suggest("chanel", spec_keys, 0));
	ck_assert_str_eq(exai_suggest("CHANNEL", spec_keys, 0), "channel");
}
END_TEST

START_TEST(nearest_wins_then_first)
{
	static const char *const w[] = {"models_dir", "model_dir", "modes_dir", NULL};

	ck_assert_str_eq(exai_suggest("modles_dir", w, 2), "models_dir"); /* 1 swap */
	/* "mode_dir": models_dir is 2 edits away, model_dir and modes_dir 1: the first of those. */
	ck_assert_str_eq(exai_suggest("mode_dir", w, 2), "model_dir");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("text");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, suggests_within_two_edits);
	tcase_add_test(tc, no_suggestion_when_far_or_exact);
	tcase_add_test(tc, nearest_wins_then_first);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
