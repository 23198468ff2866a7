#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/secmem.h"

char *tu_tempdir(void)
{
	exai_error e;
	char *d = NULL;

	ck_assert_msg(exai_tempdir_create(NULL, "exai-test-", &d, &e) == EXAI_OK, "%s", e.msg);
	return d;
}

void tu_rmtree(const char *path)
{
	exai_error e;

	if (path && exai_tree_remove(path, &e) != EXAI_OK)
		fprintf(stderr, "rmtree: %s\n", e.msg);
}

char *tu_write(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = exai_path_join(dir, name);
	FILE *f = fopen(p, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

uint8_t *tu_read(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
	if (len_out)
		*len_out = (size_t)n;
	return buf;
}

int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int tu_is_root(void)
{
	return geteuid() == 0;
}

int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	exai_error e;
	int failed;

	if (exai_init(&e) != EXAI_OK) {
		fprintf(stderr, "init: %s\n", e.msg);
		return 2;
	}
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
