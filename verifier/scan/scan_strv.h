/*
 * scan_strv: the string vector of the scan mode (rule triggers, settings lists, globs) and the
 * file-name glob test over one.
 */
#ifndef VF_SCAN_STRV_H
#define VF_SCAN_STRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

/* Entries of one vector (a settings list over every file that extends it, a rule's triggers):
 * over a thousand times the longest list of the shipped rules (49 url_schemes). */
#define VF_STRV_MAX 65536

typedef struct vf_strv {
	char **v;
	size_t n, cap;
} vf_strv;

/* Appends a copy of @s. @sv unchanged on failure: EXAI_ETOOBIG when it holds VF_STRV_MAX
 * already, EXAI_ENOMEM; @e says which (callers add what the vector is and where). */
exai_status vf_strv_push(vf_strv *sv, const char *s, exai_error *e) EXAI_WUR;
/* Frees every string and the vector; @sv is empty after (NULL-safe on an empty vector). */
void vf_strv_free(vf_strv *sv);

/* Glob on a file name (fnmatch, no special '/' handling); "#!" matches a shebang. */
bool vf_files_match(const vf_strv *globs, const char *base, const uint8_t *p, size_t n);

#endif
