/*
 * fuzz_common: helpers shared by the libFuzzer harnesses of hostile-input readers
 * (fuzz_closure, fuzz_archive, fuzz_host, fuzz_config, fuzz_scan_*): finding a file of the
 * source tree, splitting one input into records, and a private scratch directory in
 * /dev/shm for readers that only take a path or a --root (removed after each input).
 */
#ifndef EXAI_FUZZ_COMMON_H
#define EXAI_FUZZ_COMMON_H

#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* $EXAI_SRC/@rel, else @rel next to this header's source tree (__FILE__ is absolute in
 * CMake builds), else @rel relative to the working directory. */
static inline void fuzz_src_path(const char *rel, char *out, size_t cap)
{
	const char *src = getenv("EXAI_SRC");
	const char *f = __FILE__, *t = strstr(f, "/tests/fuzz/");

	if (src)
		snprintf(out, cap, "%s/%s", src, rel);
	else if (t)
		snprintf(out, cap, "%.*s/%s", (int)(t - f), f, rel);
	else
		snprintf(out, cap, "%s", rel);
}

/* Next record of @data split on @sep: sets *p and *n, returns false when none is left. *off
 * starts at 0. */
static inline bool fuzz_next(const uint8_t *data, size_t size, const char *sep, size_t *off,
			     const uint8_t **p, size_t *n)
{
	size_t sl = strlen(sep);
	const uint8_t *at;

	if (*off > size)
		return false;
	*p = data + *off;
	at = memmem(*p, size - *off, sep, sl);
	*n = at ? (size_t)(at - *p) : size - *off;
	*off += *n + (at ? sl : 1);
	return true;
}

static char fuzz_dir_path[64];

static int fuzz_rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

/* Removes this input's scratch directory; call at the end of every input (libFuzzer may
 * leave with _Exit, so nothing is left for an exit handler to clean). */
static inline void fuzz_dir_done(void)
{
	if (fuzz_dir_path[0])
		nftw(fuzz_dir_path, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	fuzz_dir_path[0] = '\0';
}

/* This input's scratch directory (/dev/shm, else /tmp), created on first use. */
static inline const char *fuzz_dir(void)
{
	if (!fuzz_dir_path[0]) {
		snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "/dev/shm/exai-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_dir_path)) {
			snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "/tmp/exai-fuzz.XXXXXX");
			if (!mkdtemp(fuzz_dir_path))
				abort();
		}
	}
	return fuzz_dir_path;
}

/* Opens the parent directory of @rel under @dir, creating missing directories, without
 * following any symlink on the way (the inputs plant symlinks, and a harness runs as root):
 * returns its fd and sets *leaf to the last component (in a static copy), or -1 when @rel
 * is empty, has a ".." component or crosses something that is not a directory. */
static inline int fuzz_open_parent(const char *dir, const char *rel, const char **leaf)
{
	static char copy[4096];
	char *c, *next;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	snprintf(copy, sizeof(copy), "%s", rel);
	for (c = copy; fd >= 0; c = next) {
		int sub;
		while (*c == '/')
			c++;
		if (!*c || !strcmp(c, "..") || !strncmp(c, "../", 3))
			break;
		if (!(next = strchr(c, '/')) || !next[strspn(next, "/")]) {
			if (next)
				*next = '\0';
			*leaf = c;
			return fd;
		}
		*next++ = '\0';
		(void)mkdirat(fd, c, 0755);
		sub = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Writes @n bytes to @dir/@rel with @mode (creating parent directories, following no
 * symlink); false on failure. */
static inline bool fuzz_write_mode(const char *dir, const char *rel, const void *p, size_t n,
				   mode_t mode)
{
	const char *leaf;
	int pfd = fuzz_open_parent(dir, rel, &leaf), fd;
	bool ok;

	if (pfd < 0)
		return false;
	fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(pfd);
	if (fd < 0)
		return false;
	ok = write(fd, p, n) == (ssize_t)n && fchmod(fd, mode) == 0;
	close(fd);
	return ok;
}

static inline bool fuzz_write(const char *dir, const char *rel, const void *p, size_t n)
{
	return fuzz_write_mode(dir, rel, p, n, 0644);
}

#endif
