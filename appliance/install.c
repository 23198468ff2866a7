/*
 * install: switching, undoing and garbage collection. See install.h.
 *
 * Every rename here goes onto one of two things only: the `current` symlink it replaces
 * (checked with lstat to be a symlink, or absent) or a slot / version directory that is not the
 * active one (never a symlink, and entered with RENAME_NOREPLACE once cleared). Locations come
 * from the journal, so they are checked again here: a slot is "a" or "b", a model version a
 * valid name that is not reserved (exai_name_reserved), and nothing is ever put at `current`.
 */
#include "install.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/text.h"

/* "<a>/<b>" into @buf; false when it does not fit. */
static bool path2(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s/%s", a, b);

	return n >= 0 && (size_t)n < cap;
}

bool upd_loc_valid(upd_kind kind, const char *loc)
{
	if (kind == UPD_K_SLOT)
		return !strcmp(loc, "a") || !strcmp(loc, "b");
	if (kind == UPD_K_MODEL)
		return exai_name_valid(loc) && !exai_name_reserved(loc);
	return !strcmp(loc, "A") || !strcmp(loc, "B");
}

/* rename(2) that never replaces: RENAME_NOREPLACE, or where the file system lacks it, a
 * check that nothing is there first (the directories are trusted: trustdir.h). */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

bool upd_read_link(const char *dir, char *buf, size_t cap)
{
	char path[PATH_MAX];
	ssize_t n;

	if (!path2(path, sizeof(path), dir, "current"))
		return false;
	n = readlink(path, buf, cap - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static exai_status fsync_dir(const char *dir, exai_error *e)
{
	int fd;

	if (exai_fault("switch.fsync"))
		return exai_error_sys(e, EXAI_EIO, "%s: fsync (injected)", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: fsync directory", dir);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	close(fd);
	return EXAI_OK;
}

/* What is at @path: absent (false), or a symlink owned by root or us (true); anything else
 * is EXAI_EUNSAFE: a rename must never replace it. */
static exai_status link_slot(const char *path, bool *present, exai_error *e)
{
	struct stat st;

	*present = false;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? EXAI_OK : exai_error_sys(e, EXAI_EIO, "%s: stat", path);
	if (!S_ISLNK(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()))
		return exai_error_set(
		    e, EXAI_EUNSAFE,
		    "%s is not the symlink exai-update keeps there (%s): refusing "
		    "to replace it",
		    path,
		    S_ISDIR(st.st_mode)	  ? "a directory"
		    : S_ISLNK(st.st_mode) ? "a symlink of another owner"
					  : "not a symlink");
	*present = true;
	return EXAI_OK;
}

exai_status upd_set_link(const char *dir, const char *target, exai_error *e)
{
	char cur[UPD_LOC_MAX], tmp[PATH_MAX], path[PATH_MAX];
	bool present;
	exai_status rc;

	if (!exai_name_valid(target) || !strcasecmp(target, "current"))
		return exai_error_set(e, EXAI_EUNSAFE, "%s/current: refusing the target '%.128s'",
				      dir, target);
	if (!path2(tmp, sizeof(tmp), dir, ".current.tmp") ||
	    !path2(path, sizeof(path), dir, "current"))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", dir);
	if ((rc = link_slot(path, &present, e)))
		return rc;
	if (present && upd_read_link(dir, cur, sizeof(cur)) && !strcmp(cur, target))
		return EXAI_OK;
	if (unlink(tmp) != 0 && errno != ENOENT)
		return exai_error_sys(e, EXAI_EIO, "%s: remove", tmp);
	if (exai_fault("switch.link") || symlink(target, tmp) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: symlink", tmp);
	if (exai_fault("switch.rename") ||
	    (present ? rename(tmp, path) : rename_noreplace(tmp, path)) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: rename into place", path);
		unlink(tmp);
		return rc;
	}
	return fsync_dir(dir, e);
}

static exai_status remove_link(const char *dir, exai_error *e)
{
	char path[PATH_MAX];
	bool present;
	exai_status rc;

	if (!path2(path, sizeof(path), dir, "current"))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", dir);
	if ((rc = link_slot(path, &present, e)) || !present)
		return rc;
	if (unlink(path) != 0) {
		if (errno == ENOENT)
			return EXAI_OK;
		return exai_error_sys(e, EXAI_EIO, "%s: remove", path);
	}
	return fsync_dir(dir, e);
}

const char *upd_rootfs_path(const upd_config *c, const char *slot)
{
	return !strcmp(slot, "B") ? c->rootfs_slot[1] : c->rootfs_slot[0];
}

exai_status upd_selector_read(const upd_config *c, char slot[2], exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc;

	slot[0] = 'A';
	slot[1] = '\0';
	if (!c->boot_selector)
		return exai_error_set(e, EXAI_ECONFIG, "no rootfs slots configured");
	rc = exai_file_read_bounded(c->boot_selector, 64, &buf, &len, e);
	if (rc == EXAI_ENOENT)
		return EXAI_OK;
	if (rc)
		return rc;
	if (!(len == 2 && (buf[0] == 'A' || buf[0] == 'B') && buf[1] == '\n'))
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: not 'A' or 'B'", c->boot_selector);
	else
		slot[0] = (char)buf[0];
	free(buf);
	return rc;
}

exai_status upd_selector_write(const upd_config *c, const char *slot, exai_error *e)
{
	char cur[2], text[3] = {slot[0], '\n', '\0'};
	exai_status rc = upd_selector_read(c, cur, e);

	if (rc == EXAI_OK && cur[0] == slot[0] && access(c->boot_selector, F_OK) == 0)
		return EXAI_OK;
	return exai_file_write_atomic(c->boot_selector, text, 2, 0644, e);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Clears the inactive tree at @dst for a new one: a directory (or a leftover file) is removed;
 * a symlink, or the tree `current` points at, is refused. */
static exai_status clear_target(const upd_op *op, const char *dst, exai_error *e)
{
	char cur[UPD_LOC_MAX];
	struct stat st;

	if (lstat(dst, &st) != 0)
		return errno == ENOENT ? EXAI_OK : exai_error_sys(e, EXAI_EIO, "%s: stat", dst);
	if (S_ISLNK(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE, "%s is a symlink: refusing to replace it",
				      dst);
	if (upd_read_link(op->base, cur, sizeof(cur)) && !strcmp(cur, op->new_loc))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s is the active tree: refusing to replace it", dst);
	if (exai_fault("switch.remove"))
		return exai_error_sys(e, EXAI_EIO, "%s: remove (injected)", dst);
	return exai_tree_remove(dst, e);
}

exai_status upd_op_switch(const upd_config *c, const upd_op *op, exai_error *e)
{
	char stage[PATH_MAX], dst[PATH_MAX];
	exai_status rc;

	if (op->skip)
		return EXAI_OK;
	if (!upd_loc_valid(op->kind, op->new_loc))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: '%.128s' is not a place a %s may be installed at (a "
				      "reserved or invalid name)",
				      op->base, op->new_loc,
				      op->kind == UPD_K_MODEL ? "model version" : "slot");
	if (op->kind == UPD_K_ROOTFS)
		return upd_selector_write(c, op->new_loc, e);
	upd_op_stage_path(op, stage, sizeof(stage));
	if (!path2(dst, sizeof(dst), op->base, op->new_loc))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
	if (!op->reuse && exists(stage)) {
		if ((rc = clear_target(op, dst, e)))
			return rc;
		if (exai_fault("switch.rename") || rename_noreplace(stage, dst) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: rename into place", dst);
		if ((rc = fsync_dir(op->base, e)))
			return rc;
	}
	if (!exists(dst))
		return exai_error_set(e, EXAI_ENOENT, "%s: staged tree missing", dst);
	return upd_set_link(op->base, op->new_loc, e);
}

/* A component new to this host leaves no empty <dir>/<name> behind when it is discarded or
 * reverted; rmdir removes only an empty directory, so anything still there stays. */
static void drop_empty_base(const upd_op *op)
{
	if (!op->old_loc[0])
		(void)rmdir(op->base);
}

exai_status upd_op_revert(const upd_config *c, const upd_op *op, exai_error *e)
{
	char dst[PATH_MAX];
	exai_status rc;

	if (op->skip)
		return EXAI_OK;
	if (op->kind == UPD_K_ROOTFS)
		return upd_selector_write(c, op->old_loc, e);
	if ((rc = upd_op_discard(op, e)))
		return rc;
	rc = op->old_loc[0] ? upd_set_link(op->base, op->old_loc, e) : remove_link(op->base, e);
	if (rc)
		return rc;
	/* A model version this apply added goes; a slot keeps the failed tree (inactive). A
	 * reserved or invalid location (a journal of an older exai-update) names nothing of ours.
	 */
	if (op->kind == UPD_K_MODEL && !op->reuse && strcmp(op->new_loc, op->old_loc) &&
	    upd_loc_valid(op->kind, op->new_loc)) {
		if (!path2(dst, sizeof(dst), op->base, op->new_loc))
			return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
		if ((rc = exai_tree_remove(dst, e)))
			return rc;
	}
	drop_empty_base(op);
	return EXAI_OK;
}

/* Moves @path aside to <base>/.quarantine-<tag>-<what>[-N] (never replacing anything) and
 * appends the new name to @moved. */
static exai_status move_aside(const upd_op *op, const char *path, const char *tag, const char *what,
			      char *moved, size_t cap, exai_error *e)
{
	char to[PATH_MAX];

	for (int n = 0; n < 100; n++) {
		int len =
		    n ? snprintf(to, sizeof(to), "%s/.quarantine-%s-%s-%d", op->base, tag, what, n)
		      : snprintf(to, sizeof(to), "%s/.quarantine-%s-%s", op->base, tag, what);
		if (len < 0 || (size_t)len >= sizeof(to))
			return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
		if (rename_noreplace(path, to) == 0) {
			size_t used = strlen(moved);
			snprintf(moved + used, cap - used, "%s%s", used ? ", " : "", to);
			return fsync_dir(op->base, e);
		}
		if (errno != EEXIST && errno != ENOTEMPTY)
			return exai_error_sys(e, EXAI_EIO, "%s: move to %s", path, to);
	}
	return exai_error_set(e, EXAI_EEXIST, "%s: 100 quarantined copies already", path);
}

exai_status upd_op_quarantine(const upd_op *op, const char *tag, char *moved, size_t cap,
			      exai_error *e)
{
	char path[PATH_MAX], stage[PATH_MAX];
	bool present;
	exai_status rc;
	exai_error ignored;

	if (op->kind == UPD_K_ROOTFS)
		return EXAI_OK;
	if (!path2(path, sizeof(path), op->base, "current"))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
	if (link_slot(path, &present, &ignored) == EXAI_EUNSAFE &&
	    (rc = move_aside(op, path, tag, "current", moved, cap, e)))
		return rc;
	upd_op_stage_path(op, stage, sizeof(stage));
	if (exists(stage) && (rc = move_aside(op, stage, tag, "stage", moved, cap, e)))
		return rc;
	return EXAI_OK;
}

exai_status upd_op_discard(const upd_op *op, exai_error *e)
{
	char stage[PATH_MAX];

	if (op->kind == UPD_K_ROOTFS)
		return EXAI_OK;
	upd_op_stage_path(op, stage, sizeof(stage));
	exai_status rc = exai_tree_remove(stage, e);
	if (!rc)
		drop_empty_base(op);
	return rc;
}

exai_status upd_models_gc(upd_state *s, const char *models_dir, const char *name, size_t keep,
			  const char *cur, const char *prev, exai_error *e)
{
	char **v = NULL, path[PATH_MAX];
	size_t n = 0, kept = 0;
	exai_status rc = upd_state_model_versions(s, name, &v, &n, e);

	for (size_t i = 0; !rc && i < n; i++) {
		bool pinned = !strcmp(v[i], cur) || (prev && !strcmp(v[i], prev));
		if (!upd_loc_valid(UPD_K_MODEL, v[i]))
			continue; /* never a path of ours: `current`, a dot name */
		if (pinned || kept < keep) {
			kept++;
			continue;
		}
		int len = snprintf(path, sizeof(path), "%s/%s/%s", models_dir, name, v[i]);
		if (len < 0 || (size_t)len >= sizeof(path))
			continue;
		if (exai_fault("gc.remove")) {
			rc = exai_error_sys(e, EXAI_EIO, "%s: remove (injected)", path);
			break;
		}
		if ((rc = exai_tree_remove(path, e)))
			break;
		if (!(rc = upd_state_del_model_version(s, name, v[i], e)))
			rc = upd_state_del_files(s, "model", name, v[i], e);
	}
	upd_strv_free(v, n);
	return rc;
}
