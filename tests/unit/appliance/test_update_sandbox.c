/* Check suite for appliance/sandbox.c: the seccomp filter lets only unix sockets through
 * (whatever the high bits of the family argument), refuses namespaces, bpf, io_uring and
 * ptrace, kills foreign ABIs; hooks inherit it, run with a fixed environment in "/" as the
 * hooks user; hook outcomes are reported; hooks.user and hooks.env are validated. Check
 * forks per test, so each filter stays in its test. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "sandbox.h"
#include "testutil.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000
#endif

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

/* The kernel reads the low 32 bits of the family; an exact 64-bit comparison let
 * 0x100000002 (AF_INET) through. */
START_TEST(high_bit_families_denied)
{
	static const long families[] = {AF_INET, AF_INET6, AF_PACKET, AF_NETLINK, AF_VSOCK, 44};
	exai_error e;
	long fd;
	int sv[2];

	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		for (int hi = 0; hi < 2; hi++) {
			long f = hi ? families[i] | 0x100000000L : families[i];
			errno = 0;
			fd = syscall(SYS_socket, f, SOCK_DGRAM, 0);
			ck_assert_msg(fd == -1 && errno == EACCES, "socket(%#lx) = %ld, errno %d",
				      f, fd, errno);
			fd = syscall(SYS_socket, f, SOCK_RAW, 0);
			ck_assert_msg(fd == -1 && errno == EACCES, "socket(%#lx, raw) = %ld", f,
				      fd);
			fd = syscall(SYS_socketpair, f, SOCK_DGRAM, 0, sv);
			ck_assert_msg(fd == -1 && errno == EACCES, "socketpair(%#lx) = %ld", f, fd);
		}
	fd = syscall(SYS_socket, 0x100000001L, SOCK_STREAM, 0); /* the kernel sees AF_UNIX */
	ck_assert_int_ge(fd, 0);
	close((int)fd);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(namespaces_and_kernel_interfaces_refused)
{
	char attr[128] = {0};
	exai_error e;
	int status = 0;
	pid_t pid;

	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	errno = 0;
	ck_assert_int_eq(syscall(SYS_setns, 0, CLONE_NEWNET), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(unshare(CLONE_NEWUSER | CLONE_NEWNET), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(unshare(CLONE_NEWNS), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(syscall(SYS_bpf, 5, attr, sizeof(attr)), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(syscall(SYS_io_uring_setup, 1, attr), -1);
	ck_assert_int_eq(errno, EPERM);
#ifndef __SANITIZE_ADDRESS__ /* LeakSanitizer needs ptrace: sandbox.c allows it there */
	ck_assert_int_eq(ptrace(PTRACE_TRACEME, 0, NULL, NULL), -1);
	ck_assert_int_eq(errno, EPERM);
#endif
	ck_assert_int_eq(syscall(SYS_clone3, attr, 88), -1);
	ck_assert_int_eq(errno, ENOSYS);
	ck_assert_int_eq(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	pid = fork(); /* plain fork still works */
	if (pid == 0)
		_exit(7);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 7);
}
END_TEST

/* x32 shares the x86_64 audit arch: only the syscall number's __X32_SYSCALL_BIT tells. */
START_TEST(x32_socket_kills)
{
	exai_error e;
	int status = 0;
	pid_t pid;

	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	pid = fork();
	if (pid == 0) {
		syscall(__X32_SYSCALL_BIT | SYS_socket, AF_INET, SOCK_DGRAM, 0);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "status %#x", status);
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

/* The hook sees PATH, LANG and what hooks.env names, nothing of exai-update's environment,
 * and runs in "/" with no capabilities (as the default user when root). */
START_TEST(hook_environment_fixed)
{
	char *const env[] = {"EXAI_SITE=berlin-1", NULL};
	char *const argv[] = {
	    "/bin/sh", "-c",
	    "[ -z \"$EXAI_LEAK\" ] && [ \"$PATH\" = /usr/sbin:/usr/bin:/sbin:/bin ] && "
	    "[ \"$LANG\" = C.UTF-8 ] && [ \"$EXAI_SITE\" = berlin-1 ] && [ \"$(pwd)\" = / ] && "
	    "grep -q '^CapEff:.0000000000000000$' /proc/self/status && "
	    "{ [ \"$(id -u)\" != 0 ] || [ ! -w /proc/self/status ]; } || "
	    "{ echo \"env: $(env | tr '\\n' ' ')\"; exit 1; }",
	    NULL};
	exai_error e;

	setenv("EXAI_LEAK", "secret", 1);
	ck_assert_int_eq(upd_sandbox_install(&e), EXAI_OK);
	ck_assert_int_eq(upd_sandbox_hooks(NULL, env, &e), EXAI_OK);
	ck_assert_msg(upd_run_hook(argv, 10, &e) == EXAI_OK, "%s", e.msg);
}
END_TEST

START_TEST(hook_user_refusals)
{
	exai_error e;

	if (geteuid() != 0) {
		ck_assert_int_eq(upd_sandbox_hooks("0", NULL, &e), EXAI_ECONFIG);
		ck_assert_ptr_nonnull(strstr(e.msg, "only root can switch users"));
		return;
	}
	ck_assert_int_eq(upd_sandbox_hooks("0", NULL, &e), EXAI_ECONFIG);
	ck_assert_str_eq(e.msg, "hooks.user '0' is uid 0: write 'user: root' to run hooks as root");
	ck_assert_int_eq(upd_sandbox_hooks("exai-no-such-user", NULL, &e), EXAI_ECONFIG);
	ck_assert_str_eq(e.msg, "hooks.user 'exai-no-such-user': no such user in /etc/passwd");
	ck_assert_int_eq(upd_sandbox_hooks("root", NULL, &e), EXAI_OK);
	ck_assert_int_eq(upd_sandbox_hooks("4242", NULL, &e), EXAI_OK);
	ck_assert_int_eq(upd_sandbox_hooks(NULL, NULL, &e), EXAI_OK);
}
END_TEST

/* hooks.user and hooks.env in update.yaml: accepted forms and each refusal. */
static exai_status load_hooks(const char *dir, const char *hooks, upd_config **c, exai_error *e)
{
	char yaml[2048];
	char *path;
	exai_status rc;

	snprintf(yaml, sizeof(yaml),
		 "state_dir: /s\ntrust_root: /r\nidentity: {class: c}\ninstall: {}\n"
		 "hooks:\n%s\n",
		 hooks);
	path = tu_write(dir, "update.yaml", yaml, strlen(yaml));
	rc = upd_config_load(path, c, e);
	free(path);
	return rc;
}

START_TEST(config_hooks_user_env)
{
	static const char *const bad[] = {"  user: -x",
					  "  user: 12ab",
					  "  user: 'a b'",
					  "  user: [x]",
					  "  env: {LD_PRELOAD: /x}",
					  "  env: {PATH: /tmp}",
					  "  env: {LANG: C}",
					  "  env: {lower: x}",
					  "  env: {1X: x}",
					  "  env: {X: \"a\\nb\"}",
					  "  env: {X: [a]}",
					  "  env: [X]",
					  "  env: {X: a, X: b}"};
	char *dir = tu_tempdir();
	char many[2048] = "  env: {";
	upd_config *c = NULL;
	exai_error e;

	ck_assert_int_eq(
	    load_hooks(dir, "  user: nobody\n  env: {TZ: UTC, EXAI_SITE: 'b 1'}", &c, &e), EXAI_OK);
	ck_assert_str_eq(c->hook_user, "nobody");
	ck_assert_str_eq(c->hook_env[0], "TZ=UTC");
	ck_assert_str_eq(c->hook_env[1], "EXAI_SITE=b 1");
	ck_assert_ptr_null(c->hook_env[2]);
	upd_config_free(c);
	ck_assert_int_eq(load_hooks(dir, "  user: '65534'", &c, &e), EXAI_OK);
	ck_assert_str_eq(c->hook_user, "65534");
	upd_config_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(load_hooks(dir, bad[i], &c, &e) == EXAI_ECONFIG, "accepted: %s",
			      bad[i]);
	for (int i = 0; i <= UPD_MAX_HOOK_ENV; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "V%d: x, ", i);
	strcat(many, "}");
	ck_assert_int_eq(load_hooks(dir, many, &c, &e), EXAI_ECONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "more than 32 variables"));
	tu_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("update_sandbox");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, internet_sockets_denied_unix_allowed);
	tcase_add_test(tc, high_bit_families_denied);
	tcase_add_test(tc, namespaces_and_kernel_interfaces_refused);
	tcase_add_test(tc, x32_socket_kills);
	tcase_add_test(tc, hooks_inherit_the_filter);
	tcase_add_test(tc, hook_outcomes);
	tcase_add_test(tc, hook_environment_fixed);
	tcase_add_test(tc, hook_user_refusals);
	tcase_add_test(tc, config_hooks_user_env);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
