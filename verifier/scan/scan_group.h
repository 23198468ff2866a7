/*
 * scan_group: package roots and duplicate files, for the report's grouping.
 */
#ifndef VF_SCAN_GROUP_H
#define VF_SCAN_GROUP_H

#include <stdbool.h>
#include <stddef.h>

/* Locations a grouped finding lists (scan and bundle mode alike). */
#define VF_GROUP_LOCS	  5
#define VF_GROUP_LOCS_STR "5"

/* vf_report_group()'s callbacks. The context holds the scan PATHs (@roots,
 * borrowed) and a cache of directory answers; keys stay valid until it is freed. */
typedef struct vf_group_ctx vf_group_ctx;
vf_group_ctx *vf_group_ctx_new(char *const *roots, size_t nroots);
void vf_group_ctx_free(vf_group_ctx *g);
bool vf_group_ctx_oom(const vf_group_ctx *g);
const char *vf_group_key(const char *path, void *ctx);
/* What the scan's walk saw of directory @dir: whether it holds a package root marker that is a
 * regular file (the test vf_group_key makes). vf_group_key then reads no directory the walk
 * already read; a directory not learnt (out of memory, not walked) is read when asked. */
void vf_group_ctx_learn(vf_group_ctx *g, const char *dir, bool marker);
bool vf_group_is_dup(const char *path, void *ctx);

/* Files whose directory is a package root: grouping of identical evidence and
 * the scope of off switches (one item's switch never silences another's) use the same list. */
extern const char *const vf_package_root_markers[];

#endif
