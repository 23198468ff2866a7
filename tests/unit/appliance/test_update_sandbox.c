/* Check suite for appliance/sandbox.c: the seccomp filter denies internet and packet sockets
 * (not unix ones), hooks inherit it, and hook outcomes are reported. Check forks per test,
 * so each filter stays in its test. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox.h"
#include "testutil.h"

#ifndef AF_PACKET
#define AF_PACKET 17
#endif

START_TEST(internet_sockets_denied_unix_allowed)
{
	exai_error e;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0); /* before the filter */
	close(fd);
	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	errno = 0;
	ck_assert_int_eq(socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(socket(AF_INET6, SOCK_DGRAM, 0), -1);
	ck_assert_int_eq(errno, EACCES);
	ck_assert_int_eq(socket(AF_PACKET, SOCK_RAW, 0), -1);
	ck_assert_int_eq(errno, EACCES);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(hooks_inherit_the_filter)
{
	char *const argv[] = {"/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9 && echo connected",
			      NULL};
	exai_error e;

	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	ck_assert_int_eq(upd_run_hook(argv, 10, &e), EXAI_EREFUSED);
	ck_assert_msg(strstr(e.msg, "Permission denied") && !strstr(e.msg, "connected"), "%s",
		      e.msg);
}
END_TEST

START_TEST(hook_outcomes)
{
	char *const ok[] = {"/bin/true", NULL};
	char *const bad[] = {"/bin/sh", "-c", "echo first; echo 'disk check failed'; exit 3", NULL};
	char *const slow[] = {"/bin/sh", "-c", "sleep 30", NULL};
	char *const missing[] = {"/nonexistent/hook", NULL};
	exai_error e;

	ck_assert_int_eq(upd_run_hook(ok, 10, &e), EXAI_OK);
	ck_assert_int_eq(upd_run_hook(bad, 10, &e), EXAI_EREFUSED);
	ck_assert_str_eq(e.msg, "/bin/sh: exit 3: disk check failed");
	ck_assert_int_eq(upd_run_hook(slow, 1, &e), EXAI_EREFUSED);
	ck_assert_str_eq(e.msg, "/bin/sh: timed out after 1 s");
	ck_assert_int_eq(upd_run_hook(missing, 10, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "exit 127"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("update_sandbox");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, internet_sockets_denied_unix_allowed);
	tcase_add_test(tc, hooks_inherit_the_filter);
	tcase_add_test(tc, hook_outcomes);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
