/*
 * fuzz_extract.h: the invariants of an extraction, checked by walking what it created
 * (fuzz_extract_inv.c). Shared by the extraction harness (fuzz_extract.c), which aborts when
 * one fails, and by its self-test (fuzz_extract_selftest.c), which plants each kind of escape
 * and requires the check to report it.
 *
 * Layout of a work dir (fx_layout): BASE/canary, BASE/outside/file, and the staging dir
 * BASE/o1/o2/o3/stage, so an escape up to four levels lands inside BASE, where the listing
 * taken before the extraction (fx_listing) shows it.
 */
#ifndef FUZZ_EXTRACT_H
#define FUZZ_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

/* An absolute path no extraction may create; the harness's absolute names live under it.
 * fx_check looks at fx_abs_canary (FX_ABS_CANARY unless a test points it elsewhere). */
#define FX_ABS_CANARY "/nonexistent-fuzz-extract"
extern const char *fx_abs_canary;

/* Creates the layout under @base (an existing, empty dir); @stage gets BASE/o1/o2/o3/stage.
 * False on failure. */
bool fx_layout(const char *base, char *stage, size_t cap);

/* Sorted listing (path, type, mode, links, size) of everything under @base but the @stage
 * subtree, malloc'ed; NULL on failure. */
char *fx_listing(const char *base, const char *stage);

/* The invariants after an extraction into @stage with manifest flags @flags
 * (EXAI_CFLAG_*): the listing of @base outside @stage equals @before, nothing exists at
 * fx_abs_canary, and inside @stage: only regular files, directories and symlinks; no
 * setuid/setgid bit unless EXAI_CFLAG_SETUID; no world-writable file, nor world-writable
 * directory without the sticky bit, unless EXAI_CFLAG_WORLD_WRITABLE; no symlink that
 * resolves above @stage (absolute, or climbing out, following the tree's own links); no
 * regular file with a hard link outside @stage. Returns NULL when all hold, else a message
 * naming the first that failed (in a static buffer). */
const char *fx_check(const char *base, const char *stage, const char *before, unsigned flags);

#endif
