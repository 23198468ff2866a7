/* Check suite for appliance/config.c: a full config, strict errors with file:line:col. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "testutil.h"

static upd_config *load(const char *text, exai_status want, exai_error *e)
{
	char *dir = tu_tempdir();
	char *p = tu_write(dir, "update.yaml", text, strlen(text));
	upd_config *c = NULL;

	ck_assert_int_eq(upd_config_load(p, &c, e), want);
	if (want)
		ck_assert_ptr_nonnull(strstr(e->msg, p));
	free(p);
	tu_rmtree(dir);
	free(dir);
	return c;
}

START_TEST(full_config_loads)
{
	exai_error e;
	upd_config *c = load("state_dir: /s\n"
			     "trust_root: /etc/root\n"
			     "site_key: /etc/site.key\n"
			     "identity: {class: gpu, site: berlin-1}\n"
			     "install:\n"
			     "  software_dir: /opt/sw\n"
			     "  models_dir: /m\n"
			     "  models_keep: 3\n"
			     "  policy_dir: /p\n"
			     "  registry_dir: /r\n"
			     "  chart_dir: /c\n"
			     "  files_dir: /f\n"
			     "rootfs: {slot_a: /dev/a, slot_b: /dev/b, boot_selector: /boot/sel}\n"
			     "hooks:\n"
			     "  health_check: [/bin/sh, -c, 'exit 0']\n"
			     "  policy_reload: [/usr/bin/exai-egress, reload]\n"
			     "  timeout: 5\n"
			     "mirror_socket: /run/m.sock\n"
			     "max_unpack_ratio: 50\n"
			     "require_encryption: true\n",
			     EXAI_OK, &e);
	ck_assert_str_eq(c->state_dir, "/s");
	ck_assert_str_eq(c->class_name, "gpu");
	ck_assert_str_eq(c->site_id, "berlin-1");
	ck_assert_str_eq(c->dirs[EXAI_C_SOFTWARE], "/opt/sw");
	ck_assert_str_eq(c->dirs[EXAI_C_IMAGES], "/r");
	ck_assert_uint_eq(c->models_keep, 3);
	ck_assert_str_eq(c->rootfs_slot[1], "/dev/b");
	ck_assert_str_eq(c->health_check[2], "exit 0");
	ck_assert_ptr_null(c->health_check[3]);
	ck_assert_str_eq(c->policy_reload[1], "reload");
	ck_assert_uint_eq(c->hook_timeout, 5);
	ck_assert_uint_eq(c->max_ratio, 50);
	ck_assert(c->require_encryption);
	upd_config_free(c);
}
END_TEST

START_TEST(defaults_and_optional_parts)
{
	exai_error e;
	upd_config *c =
	    load("state_dir: /s\ntrust_root: /r\nidentity: {site: x}\ninstall: {}\n", EXAI_OK, &e);
	ck_assert_ptr_null(c->site_key);
	ck_assert_ptr_null(c->dirs[EXAI_C_MODEL]);
	ck_assert_uint_eq(c->models_keep, 2);
	ck_assert_uint_eq(c->max_ratio, 1000);
	ck_assert_ptr_null(c->health_check[0]);
	ck_assert_ptr_null(c->boot_selector);
	upd_config_free(c);
}
END_TEST

START_TEST(unknown_key_names_line_and_column)
{
	exai_error e;
	load("state_dir: /s\ntrust_root: /r\nidentity: {site: x}\ninstall:\n  sofware_dir: /x\n",
	     EXAI_ECONFIG, &e);
	ck_assert_msg(strstr(e.msg, ":5:3: ") && strstr(e.msg, "sofware_dir"), "%s", e.msg);
}
END_TEST

START_TEST(relative_paths_and_bad_values_refused)
{
	exai_error e;
	load("state_dir: var/s\ntrust_root: /r\nidentity: {site: x}\ninstall: {}\n", EXAI_ECONFIG,
	     &e);
	ck_assert_ptr_nonnull(strstr(e.msg, ":1:12: 'state_dir' must be an absolute path"));
	load("state_dir: /s/../etc\ntrust_root: /r\nidentity: {site: x}\ninstall: {}\n",
	     EXAI_ECONFIG, &e);
	load("state_dir: /s\ntrust_root: /r\nidentity: {}\ninstall: {}\n", EXAI_ECONFIG, &e);
	ck_assert_ptr_nonnull(strstr(e.msg, "identity needs a class, a site or both"));
	load("state_dir: /s\ntrust_root: /r\nidentity: {site: x}\ninstall: {}\n"
	     "hooks: {health_check: [check.sh]}\n",
	     EXAI_ECONFIG, &e);
	ck_assert_ptr_nonnull(strstr(e.msg, "absolute program path"));
	load("state_dir: /s\ntrust_root: /r\nidentity: {site: x}\ninstall: {models_keep: 1}\n",
	     EXAI_ECONFIG, &e);
	load("state_dir: /s\ntrust_root: /r\nidentity: {site: 'a b'}\ninstall: {}\n", EXAI_ECONFIG,
	     &e);
	load("state_dir: /s\nidentity: {site: x}\ninstall: {}\n", EXAI_ECONFIG, &e);
	ck_assert_ptr_nonnull(strstr(e.msg, "trust_root"));
	load("state_dir: /s\ntrust_root: /r\nidentity: {site: x}\ninstall: {}\n"
	     "rootfs: {slot_a: /a, slot_b: /a, boot_selector: /s}\n",
	     EXAI_ECONFIG, &e);
}
END_TEST

START_TEST(missing_file_is_a_config_error)
{
	upd_config *c = NULL;
	exai_error e;

	ck_assert_int_eq(upd_config_load("/nonexistent/update.yaml", &c, &e), EXAI_ECONFIG);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(config_path_precedence)
{
	unsetenv("EXAI_UPDATE_CONFIG");
	ck_assert_str_eq(upd_config_path(NULL), "/etc/exai/update.yaml");
	setenv("EXAI_UPDATE_CONFIG", "/env.yaml", 1);
	ck_assert_str_eq(upd_config_path(NULL), "/env.yaml");
	ck_assert_str_eq(upd_config_path("/flag.yaml"), "/flag.yaml");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("update_config");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, full_config_loads);
	tcase_add_test(tc, defaults_and_optional_parts);
	tcase_add_test(tc, unknown_key_names_line_and_column);
	tcase_add_test(tc, relative_paths_and_bad_values_refused);
	tcase_add_test(tc, missing_file_is_a_config_error);
	tcase_add_test(tc, config_path_precedence);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
