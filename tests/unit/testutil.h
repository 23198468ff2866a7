/* Shared helpers for the Check suites: temp dirs and small file writes. */
#ifndef EXAI_TESTUTIL_H
#define EXAI_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* A fresh private temp dir (malloc'ed path); aborts the test on failure. */
char *tu_tempdir(void);
/* Removes a tree. */
void tu_rmtree(const char *path);
/* Writes @len bytes to dir/name (creating it); returns the malloc'ed full path. */
char *tu_write(const char *dir, const char *name, const void *data, size_t len);
/* Reads a whole file (malloc'ed, NUL-terminated); *len_out gets its length; NULL if missing. */
uint8_t *tu_read(const char *path, size_t *len_out);
/* Number of entries (other than . and ..) in a directory. */
int tu_count_entries(const char *dir);
/* 1 if running as root. */
int tu_is_root(void);
/* Runs the suite with one TCase per call to tu_add(); returns the process exit status. */
#include <check.h>
int tu_run(Suite *s);

#endif
