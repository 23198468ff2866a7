/* Check suite for lib/core/yaml.c: located errors, strictness, typed getters, multi-doc. */
#include <stdlib.h>
#include <string.h>

#include "exai/yaml.h"
#include "testutil.h"

static exai_yaml *load(const char *text, int mode, exai_error *e, exai_status want)
{
	exai_yaml *y = NULL;

	ck_assert_int_eq(exai_yaml_load_buf("spec.yaml", text, strlen(text), mode, &y, e), want);
	return y;
}

START_TEST(syntax_error_names_line_and_column)
{
	exai_error e;

	load("a: 1\nb: [1, 2\nc: 3\n", EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_msg(strncmp(e.msg, "spec.yaml:3:2: ", 15) == 0, "got %s", e.msg);
	load("key: \"unterminated\n", EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_msg(strncmp(e.msg, "spec.yaml:", 10) == 0, "got %s", e.msg);
	load("", EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:1:1: empty YAML document");
}
END_TEST

START_TEST(typed_getters_report_value_location)
{
	exai_error e;
	exai_yaml *y = load("name: x\nsequence: 12\nflag: true\nbad: -3\nlist: [a]\n",
			    EXAI_YAML_STRICT, &e, EXAI_OK);
	exai_ynode *r = exai_yaml_root(y), *seq;
	const char *s = NULL;
	uint64_t v = 0;
	bool b = false;

	ck_assert_int_eq(exai_yaml_get_str(y, r, "name", true, &s, &e), EXAI_OK);
	ck_assert_str_eq(s, "x");
	ck_assert_int_eq(exai_yaml_get_u64(y, r, "sequence", true, 1, 100, &v, &e), EXAI_OK);
	ck_assert_uint_eq(v, 12);
	ck_assert_int_eq(exai_yaml_get_bool(y, r, "flag", true, &b, &e), EXAI_OK);
	ck_assert(b);
	ck_assert_int_eq(exai_yaml_get_u64(y, r, "bad", true, 0, 10, &v, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:4:6: 'bad' must be an unsigned integer");
	ck_assert_int_eq(exai_yaml_get_u64(y, r, "sequence", true, 0, 10, &v, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:2:11: 'sequence' must be between 0 and 10");
	ck_assert_int_eq(exai_yaml_get_str(y, r, "list", true, &s, &e), EXAI_EFORMAT);
	ck_assert_int_eq(exai_yaml_get_str(y, r, "missing", true, &s, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:1:1: missing required key 'missing'");
	ck_assert_int_eq(exai_yaml_get_seq(y, r, "list", true, &seq, &e), EXAI_OK);
	ck_assert_uint_eq(exai_yaml_seq_len(seq), 1);
	ck_assert_str_eq(exai_yaml_scalar(exai_yaml_seq_at(y, seq, 0)), "a");
	exai_yaml_free(y);
}
END_TEST

START_TEST(abspath_getter)
{
	exai_error e;
	exai_yaml *y =
	    load("a: /var/lib/exai\nb: var/lib\nc: /x/../y\n", EXAI_YAML_STRICT, &e, EXAI_OK);
	exai_ynode *r = exai_yaml_root(y);
	char *p = NULL;

	ck_assert_int_eq(exai_yaml_get_abspath(y, r, "a", true, &p, &e), EXAI_OK);
	ck_assert_str_eq(p, "/var/lib/exai");
	free(p);
	p = NULL;
	ck_assert_int_eq(exai_yaml_get_abspath(y, r, "b", true, &p, &e), EXAI_ECONFIG);
	ck_assert_msg(strstr(e.msg, "spec.yaml:2:4: 'b' must be an absolute path") != NULL, "%s",
		      e.msg);
	ck_assert_int_eq(exai_yaml_get_abspath(y, r, "c", true, &p, &e), EXAI_ECONFIG);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(exai_yaml_get_abspath(y, r, "none", false, &p, &e), EXAI_OK);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(exai_yaml_get_abspath(y, r, "none", true, &p, &e), EXAI_EFORMAT);
	exai_yaml_free(y);
}
END_TEST

START_TEST(unknown_and_duplicate_keys_refused)
{
	static const char *const allowed[] = {"a", "b", NULL};
	exai_error e;
	exai_yaml *y = load("a: 1\nzzz: 2\n", EXAI_YAML_STRICT, &e, EXAI_OK);

	ck_assert_int_eq(exai_yaml_check_keys(y, exai_yaml_root(y), allowed, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:2:1: unknown key 'zzz'");
	exai_yaml_free(y);
	{
		static const char *const spec[] = {"channel", "sequence", NULL};
		y = load("sequence: 1\nchanel: stable\n", EXAI_YAML_STRICT, &e, EXAI_OK);
		ck_assert_int_eq(exai_yaml_check_keys(y, exai_yaml_root(y), spec, &e),
				 EXAI_EFORMAT);
		ck_assert_str_eq(e.msg,
				 "spec.yaml:2:1: unknown key 'chanel' (did you mean 'channel'?)");
		exai_yaml_free(y);
	}
	load("a: 1\nb: 2\na: 3\n", EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "spec.yaml:3:1: duplicate key 'a'");
}
END_TEST

START_TEST(aliases_refused_in_strict_mode_only)
{
	const char *bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n";
	exai_error e;
	exai_yaml *y;

	load(bomb, EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "aliases and anchors are not allowed") != NULL, "%s", e.msg);
	y = load(bomb, EXAI_YAML_LENIENT, &e, EXAI_OK);
	exai_yaml_free(y);
	/* A self-referencing node. */
	load("&a [*a]\n", EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
}
END_TEST

START_TEST(deep_nesting_refused)
{
	char text[400];
	exai_error e;
	int i;

	for (i = 0; i < 100; i++)
		text[i] = '[';
	for (; i < 200; i++)
		text[i] = ']';
	text[i] = 0;
	load(text, EXAI_YAML_STRICT, &e, EXAI_EFORMAT);
	ck_assert_msg(strstr(e.msg, "nested deeper than 64 levels") != NULL, "%s", e.msg);
}
END_TEST

static exai_status count_doc(exai_yaml *y, void *arg, exai_error *e)
{
	(void)e;
	ck_assert(exai_yaml_is_map(exai_yaml_root(y)));
	(*(int *)arg)++;
	return EXAI_OK;
}

START_TEST(multi_document_stream)
{
	const char *t = "a: 1\n---\nb: 2\n---\nc: 3\n";
	exai_error e;
	int n = 0;

	ck_assert_int_eq(exai_yaml_each_doc("k8s.yaml", t, strlen(t), count_doc, &n, &e), EXAI_OK);
	ck_assert_int_eq(n, 3);
	n = 0;
	t = "a: 1\n---\nb: [\n";
	ck_assert_int_eq(exai_yaml_each_doc("k8s.yaml", t, strlen(t), count_doc, &n, &e),
			 EXAI_EFORMAT);
	ck_assert_int_eq(n, 1);
	ck_assert_msg(strncmp(e.msg, "k8s.yaml:4:1:", 13) == 0, "%s", e.msg);
}
END_TEST

START_TEST(file_loading_is_bounded)
{
	char *d = tu_tempdir();
	char *p = tu_write(d, "c.yaml", "k: v\n", 5);
	exai_yaml *y = NULL;
	exai_error e;

	ck_assert_int_eq(exai_yaml_load_file(p, 4, EXAI_YAML_STRICT, &y, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(y);
	ck_assert_int_eq(exai_yaml_load_file(p, 5, EXAI_YAML_STRICT, &y, &e), EXAI_OK);
	ck_assert_str_eq(exai_yaml_scalar(exai_yaml_get(y, exai_yaml_root(y), "k")), "v");
	exai_yaml_free(y);
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

/* A caller's bound replaces the 4 MiB default: exactly at it loads, one byte over is refused
 * before parsing; exai_yaml_load_buf keeps refusing what is over EXAI_YAML_MAX_BYTES. */
START_TEST(buffer_loading_takes_a_bound)
{
	size_t len = EXAI_YAML_MAX_BYTES + 1000;
	char *buf = malloc(len + 1);
	exai_yaml *y = NULL;
	exai_error e;

	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', len);
	memcpy(buf, "k: v\n#", 6);
	buf[len - 1] = '\n';
	ck_assert_int_eq(exai_yaml_load_buf("big.yaml", buf, len, EXAI_YAML_STRICT, &y, &e),
			 EXAI_ETOOBIG);
	ck_assert_ptr_null(y);
	ck_assert_int_eq(
	    exai_yaml_load_buf_max("big.yaml", buf, len, len - 1, EXAI_YAML_STRICT, &y, &e),
	    EXAI_ETOOBIG);
	ck_assert_ptr_null(y);
	ck_assert_msg(strstr(e.msg, "big.yaml: 4195304 bytes, over the YAML limit of 4195303"),
		      "%s", e.msg);
	ck_assert_msg(exai_yaml_load_buf_max("big.yaml", buf, len, len, EXAI_YAML_STRICT, &y, &e) ==
			  EXAI_OK,
		      "%s", e.msg);
	ck_assert_str_eq(exai_yaml_scalar(exai_yaml_get(y, exai_yaml_root(y), "k")), "v");
	exai_yaml_free(y);
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("yaml");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, syntax_error_names_line_and_column);
	tcase_add_test(tc, typed_getters_report_value_location);
	tcase_add_test(tc, abspath_getter);
	tcase_add_test(tc, unknown_and_duplicate_keys_refused);
	tcase_add_test(tc, aliases_refused_in_strict_mode_only);
	tcase_add_test(tc, deep_nesting_refused);
	tcase_add_test(tc, multi_document_stream);
	tcase_add_test(tc, file_loading_is_bounded);
	tcase_add_test(tc, buffer_loading_takes_a_bound);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
