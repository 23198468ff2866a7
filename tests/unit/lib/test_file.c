/* Check suite for lib/core/file.c: short reads, ENOSPC, symlinks, caps, atomic replacement. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exai/file.h"
#include "testutil.h"

START_TEST(read_full_reports_short_read_offset)
{
	int p[2];
	char buf[16];
	exai_error e;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], "hello", 5), 5);
	close(p[1]);
	ck_assert_int_eq(exai_read_full(p[0], buf, sizeof(buf), "media", &e), EXAI_ESHORT);
	ck_assert_str_eq(e.msg, "media: short read: ended after 5 of 16 bytes");
	close(p[0]);
}
END_TEST

START_TEST(read_full_reports_io_error)
{
	char buf[4];
	exai_error e;

	setenv("EXAI_FAULT", "read", 1);
	int fd = open("/dev/zero", O_RDONLY);
	ck_assert_int_eq(exai_read_full(fd, buf, sizeof(buf), "dev", &e), EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "dev: read at offset 0: Input/output error"));
	close(fd);
}
END_TEST

START_TEST(symlink_is_refused_not_followed)
{
	char *d = tu_tempdir();
	char *target = tu_write(d, "real", "secret", 6);
	char *link = exai_path_join(d, "link");
	uint8_t *buf = NULL;
	size_t len;
	exai_error e;
	int fd;

	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(exai_file_open_regular(link, O_RDONLY, 0, &fd, &e), EXAI_EUNSAFE);
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_nonnull(strstr(e.msg, "symbolic link"));
	ck_assert_int_eq(exai_file_read_bounded(link, 100, &buf, &len, &e), EXAI_EUNSAFE);
	ck_assert_ptr_null(buf);
	free(target);
	free(link);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(fifo_and_directory_are_refused)
{
	char *d = tu_tempdir();
	char *fifo = exai_path_join(d, "fifo");
	exai_error e;
	int fd;

	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(exai_file_open_regular(fifo, O_RDONLY, 0, &fd, &e), EXAI_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(e.msg, "a FIFO"));
	ck_assert_int_eq(exai_file_open_regular(d, O_RDONLY, 0, &fd, &e), EXAI_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(e.msg, "a directory"));
	ck_assert_int_eq(exai_file_open_regular("/dev/null", O_RDONLY, 0, &fd, &e), EXAI_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(e.msg, "a device node"));
	free(fifo);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(oversize_input_refused_before_reading)
{
	char *d = tu_tempdir();
	char data[200] = {0};
	char *p = tu_write(d, "big", data, sizeof(data));
	uint8_t *buf = NULL;
	size_t len = 99;
	exai_error e;

	ck_assert_int_eq(exai_file_read_bounded(p, 199, &buf, &len, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "200 bytes, over the limit of 199"));
	ck_assert_int_eq(exai_file_read_bounded(p, 200, &buf, &len, &e), EXAI_OK);
	ck_assert_uint_eq(len, 200);
	ck_assert_uint_eq(buf[200], 0);
	free(buf);
	ck_assert_int_eq(exai_file_read_bounded("/nonexistent/x", 10, &buf, &len, &e), EXAI_ENOENT);
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(atomic_write_replaces_and_leaves_no_temp)
{
	char *d = tu_tempdir();
	char *p = tu_write(d, "state", "old", 3);
	struct stat st;
	size_t len;
	uint8_t *got;
	exai_error e;

	ck_assert_int_eq(exai_file_write_atomic(p, "new contents", 12, 0640, &e), EXAI_OK);
	got = tu_read(p, &len);
	ck_assert_uint_eq(len, 12);
	ck_assert_mem_eq(got, "new contents", 12);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(tu_count_entries(d), 1);
	free(got);
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

/* Each injected failure point of an atomic write keeps the old file and removes the temp. */
START_TEST(atomic_write_failure_keeps_old_file)
{
	static const char *const points[] = {"write", "fsync", "rename"};
	char *d = tu_tempdir();
	char *p = tu_write(d, "state", "old", 3);
	exai_error e;

	for (size_t i = 0; i < 3; i++) {
		char spec[32];
		size_t len;
		uint8_t *got;

		/* exai_fault reads EXAI_FAULT once per process: fork per point. */
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			snprintf(spec, sizeof(spec), "%s", points[i]);
			setenv("EXAI_FAULT", spec, 1);
			_exit(exai_file_write_atomic(p, "new", 3, 0600, &e) == EXAI_OK ? 0 : 7);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 7, "point %s", points[i]);
		got = tu_read(p, &len);
		ck_assert_uint_eq(len, 3);
		ck_assert_mem_eq(got, "old", 3);
		ck_assert_int_eq(tu_count_entries(d), 1);
		free(got);
	}
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

/* A real full filesystem: a 64 KiB tmpfs in a private mount namespace (root only). */
START_TEST(atomic_write_enospc_on_small_filesystem)
{
	char *d, *p;
	char *big;
	exai_error e;
	size_t len;
	uint8_t *got;

	if (!tu_is_root()) {
		fprintf(stderr, "skip: ENOSPC test needs root (CI runs it)\n");
		return;
	}
	d = tu_tempdir();
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", d, "tmpfs", 0, "size=64k"), 0);
	p = tu_write(d, "state", "old", 3);
	big = calloc(1, 1 << 20);
	ck_assert_int_eq(exai_file_write_atomic(p, big, 1 << 20, 0600, &e), EXAI_ENOSPC);
	ck_assert_ptr_nonnull(strstr(e.msg, "No space left on device"));
	got = tu_read(p, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(got, "old", 3);
	ck_assert_int_eq(tu_count_entries(d), 1);
	free(got);
	free(big);
	umount(d);
	free(p);
	tu_rmtree(d);
	free(d);
}
END_TEST

/* Writing "atomically" to /dev/null must not rename a temp file over the device node. */
START_TEST(atomic_write_to_device_or_fifo_writes_in_place)
{
	char *d = tu_tempdir();
	char *fifo = exai_path_join(d, "fifo");
	struct stat st;
	exai_error e;
	char buf[8] = {0};
	int rfd;

	ck_assert_int_eq(exai_file_write_atomic("/dev/null", "x", 1, 0644, &e), EXAI_OK);
	ck_assert_int_eq(stat("/dev/null", &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_eq(exai_file_write_atomic(fifo, "hello", 5, 0644, &e), EXAI_OK);
	ck_assert_int_eq(read(rfd, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	close(rfd);
	ck_assert_int_eq(lstat(fifo, &st), 0);
	ck_assert(S_ISFIFO(st.st_mode));
	ck_assert_int_eq(tu_count_entries(d), 1);
	ck_assert_int_eq(exai_file_write_atomic(d, "x", 1, 0644, &e), EXAI_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(e.msg, "refusing to replace a directory"));
	free(fifo);
	tu_rmtree(d);
	free(d);
}
END_TEST

START_TEST(tempdir_private_and_tree_remove_does_not_follow_links)
{
	char *d = tu_tempdir();
	char *outside = tu_tempdir();
	char *keep = tu_write(outside, "keep", "k", 1);
	char *sub = exai_path_join(d, "a/b/c");
	char *link = exai_path_join(d, "a/escape");
	struct stat st;
	exai_error e;

	ck_assert_int_eq(stat(d, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	ck_assert_int_eq(exai_mkdir_p(sub, 0755, &e), EXAI_OK);
	ck_assert_int_eq(symlink(outside, link), 0);
	ck_assert_int_eq(exai_tree_remove(d, &e), EXAI_OK);
	ck_assert_int_ne(stat(d, &st), 0);
	ck_assert_int_eq(stat(keep, &st), 0);
	ck_assert_int_eq(exai_tree_remove(d, &e), EXAI_OK);
	free(sub);
	free(link);
	free(keep);
	tu_rmtree(outside);
	free(outside);
	free(d);
}
END_TEST

START_TEST(path_join_single_slash)
{
	char *a = exai_path_join("/x/", "y");
	char *b = exai_path_join("/x", "y");

	ck_assert_str_eq(a, "/x/y");
	ck_assert_str_eq(b, "/x/y");
	free(a);
	free(b);
}
END_TEST

/* The one absolute-path check of exai-update's config and its readers. */
START_TEST(abspath_rules)
{
	char long_ok[EXAI_ABSPATH_MAX + 2];

	ck_assert(exai_abspath_valid("/"));
	ck_assert(exai_abspath_valid("/srv/exai/models"));
	ck_assert(exai_abspath_valid("/a/..b/c..") && exai_abspath_valid("/a/.../b"));
	ck_assert(!exai_abspath_valid("/a/../b"));
	ck_assert(!exai_abspath_valid("/a/..")); /* the trailing form airgap-verifier once let by */
	ck_assert(!exai_abspath_valid("/.."));
	ck_assert(!exai_abspath_valid("relative/path") && !exai_abspath_valid(""));
	ck_assert(!exai_abspath_valid(NULL));
	memset(long_ok, 'a', sizeof(long_ok));
	long_ok[0] = '/';
	long_ok[EXAI_ABSPATH_MAX] = '\0';
	ck_assert(exai_abspath_valid(long_ok));
	long_ok[EXAI_ABSPATH_MAX] = 'a';
	long_ok[EXAI_ABSPATH_MAX + 1] = '\0';
	ck_assert(!exai_abspath_valid(long_ok));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, read_full_reports_short_read_offset);
	tcase_add_test(tc, read_full_reports_io_error);
	tcase_add_test(tc, symlink_is_refused_not_followed);
	tcase_add_test(tc, fifo_and_directory_are_refused);
	tcase_add_test(tc, oversize_input_refused_before_reading);
	tcase_add_test(tc, atomic_write_replaces_and_leaves_no_temp);
	tcase_add_test(tc, atomic_write_failure_keeps_old_file);
	tcase_add_test(tc, atomic_write_enospc_on_small_filesystem);
	tcase_add_test(tc, abspath_rules);
	tcase_add_test(tc, atomic_write_to_device_or_fifo_writes_in_place);
	tcase_add_test(tc, tempdir_private_and_tree_remove_does_not_follow_links);
	tcase_add_test(tc, path_join_single_slash);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
