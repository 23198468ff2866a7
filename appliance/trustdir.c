/*
 * trustdir: ownership and mode checks of every path exai-update trusts. See trustdir.h.
 */
#include "trustdir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum leaf_kind {
	LEAF_DIR,  /* a directory exai-update writes in */
	LEAF_SLOT, /* a rootfs slot: block device or image file */
	LEAF_FILE, /* the boot selector: a regular file, may not exist yet */
} leaf_kind;

static bool owner_ok(uid_t u)
{
	return u == 0 || u == geteuid();
}

static const char *who_writes(mode_t m)
{
	return (m & S_IWOTH) ? "world-writable" : "group-writable";
}

/* Why the directory @st is not to be trusted, into @buf; NULL when it is. @strict: the
 * directory itself is configured (or is where a configured one is created), so the sticky bit
 * does not make a group- or world-writable mode acceptable. */
static const char *dir_problem(const struct stat *st, bool strict, char *buf, size_t cap)
{
	mode_t m = st->st_mode;

	if (!S_ISDIR(m))
		return "not a directory";
	if (!owner_ok(st->st_uid)) {
		snprintf(buf, cap, "owned by uid %u, not root", (unsigned)st->st_uid);
		return buf;
	}
	if ((m & (S_IWGRP | S_IWOTH)) && (strict || !(m & S_ISVTX))) {
		snprintf(buf, cap, "%s (mode %04o)%s", who_writes(m), (unsigned)(m & 07777),
			 (m & S_ISVTX) ? ": the sticky bit is enough for a parent, not for a "
					 "directory exai-update writes in"
				       : " without the sticky bit");
		return buf;
	}
	return NULL;
}

static const char *leaf_problem(const struct stat *st, leaf_kind kind, char *buf, size_t cap)
{
	mode_t m = st->st_mode;

	if (kind == LEAF_DIR)
		return dir_problem(st, true, buf, cap);
	if (kind == LEAF_SLOT ? !(S_ISBLK(m) || S_ISREG(m)) : !S_ISREG(m))
		return kind == LEAF_SLOT ? "neither a block device nor a regular file"
					 : "not a regular file";
	if (!owner_ok(st->st_uid)) {
		snprintf(buf, cap, "owned by uid %u, not root", (unsigned)st->st_uid);
		return buf;
	}
	if ((m & S_IWOTH) || ((m & S_IWGRP) && !(kind == LEAF_SLOT && S_ISBLK(m)))) {
		snprintf(buf, cap, "%s (mode %04o)", who_writes(m), (unsigned)(m & 07777));
		return buf;
	}
	return NULL;
}

static exai_status refuse(exai_error *e, const char *key, const char *path, const char *at,
			  bool self, const char *why)
{
	return exai_error_set(e, EXAI_EUNSAFE,
			      "refusing to run: %s %s%s%s is %s (only root may be able to change "
			      "what exai-update trusts by path)",
			      key, path, self ? "" : ": its parent ", self ? "" : at, why);
}

/* Checks the existing part @at of @path: the leaf by @kind, a parent by the parent rule, or by
 * the strict rule when @strict. */
static exai_status check_part(const char *key, const char *path, const char *at,
			      const struct stat *st, bool leaf, leaf_kind kind, bool strict,
			      exai_error *e)
{
	char why[160];
	const char *problem = leaf ? leaf_problem(st, kind, why, sizeof(why))
				   : dir_problem(st, strict, why, sizeof(why));

	return problem ? refuse(e, key, path, at, leaf, problem) : EXAI_OK;
}

/*
 * Walks @path from / down, checking each existing part (stat follows links, so a part that is
 * a symlink is judged by the directory it leads to; the realpath walk covers that one's
 * parents). The first missing part ends the walk: the last existing one must then pass the
 * strict rule, since exai-update creates the rest in it. The directory holding the boot
 * selector is one exai-update writes in (atomic replace), so it gets the strict rule too.
 */
static exai_status walk(const char *key, const char *path, leaf_kind kind, exai_error *e)
{
	char at[PATH_MAX], last_at[PATH_MAX] = "/";
	struct stat st, last = {0};
	size_t n = strlen(path), len = 1;
	exai_status rc;

	if (n == 0 || n >= sizeof(at) || path[0] != '/')
		return exai_error_set(e, EXAI_ECONFIG, "%s: not an absolute path", key);
	memcpy(at, "/", 2);
	for (size_t i = 0;;) {
		while (i < n && path[i] == '/')
			i++;
		bool leaf = i == n;
		if (stat(at, &st) != 0) {
			if (errno != ENOENT)
				return exai_error_sys(e, EXAI_EIO, "%s %s: %s", key, path, at);
			return check_part(key, path, last_at, &last, false, kind, true, e);
		}
		/* the boot selector's directory: the part just above the leaf */
		bool sel_dir = kind == LEAF_FILE && !leaf && !strchr(path + i, '/');
		if ((rc = check_part(key, path, at, &st, leaf, kind, sel_dir, e)))
			return rc;
		if (leaf)
			return EXAI_OK;
		last = st;
		memcpy(last_at, at, len + 1);
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		if (len > 1)
			at[len++] = '/';
		memcpy(at + len, path + i, j - i);
		len += j - i;
		at[len] = '\0';
		i = j;
	}
}

/* The path as configured, then as resolved (the deepest existing part of it). */
static exai_status check_path(const char *key, const char *path, leaf_kind kind, exai_error *e)
{
	char real[PATH_MAX], probe[PATH_MAX];
	exai_status rc = walk(key, path, kind, e);
	bool whole = true;

	if (rc)
		return rc;
	snprintf(probe, sizeof(probe), "%s", path);
	while (!realpath(probe, real)) {
		char *slash = strrchr(probe, '/');
		if (errno != ENOENT || !slash || slash == probe)
			return EXAI_OK; /* nothing below / exists: walk() judged "/" already */
		*slash = '\0';
		whole = false;
	}
	if (!strcmp(real, path))
		return EXAI_OK;
	return walk(key, real, whole ? kind : LEAF_DIR, e);
}

exai_status upd_trustdir_check(const upd_config *c, exai_error *e)
{
	static const char *const dir_keys[EXAI_C_NTYPES] = {
	    [EXAI_C_SOFTWARE] = "install.software_dir", [EXAI_C_MODEL] = "install.models_dir",
	    [EXAI_C_IMAGES] = "install.registry_dir",	[EXAI_C_CHART] = "install.chart_dir",
	    [EXAI_C_POLICY] = "install.policy_dir",	[EXAI_C_FILES] = "install.files_dir",
	};
	exai_status rc = check_path("state_dir", c->state_dir, LEAF_DIR, e);

	for (int i = 0; !rc && i < EXAI_C_NTYPES; i++)
		if (c->dirs[i])
			rc = check_path(dir_keys[i] ? dir_keys[i] : "install dir", c->dirs[i],
					LEAF_DIR, e);
	if (!rc && c->rootfs_slot[0])
		rc = check_path("rootfs.slot_a", c->rootfs_slot[0], LEAF_SLOT, e);
	if (!rc && c->rootfs_slot[1])
		rc = check_path("rootfs.slot_b", c->rootfs_slot[1], LEAF_SLOT, e);
	if (!rc && c->boot_selector)
		rc = check_path("rootfs.boot_selector", c->boot_selector, LEAF_FILE, e);
	return rc;
}
