/*
 * install: switching, undoing and garbage collection. See install.h.
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

/* "<a>/<b>" into @buf; false when it does not fit. */
static bool path2(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s/%s", a, b);

	return n >= 0 && (size_t)n < cap;
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

exai_status upd_set_link(const char *dir, const char *target, exai_error *e)
{
	char cur[UPD_LOC_MAX], tmp[PATH_MAX], path[PATH_MAX];

	if (upd_read_link(dir, cur, sizeof(cur)) && !strcmp(cur, target))
		return EXAI_OK;
	if (!path2(tmp, sizeof(tmp), dir, ".current.tmp") ||
	    !path2(path, sizeof(path), dir, "current"))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", dir);
	if (unlink(tmp) != 0 && errno != ENOENT)
		return exai_error_sys(e, EXAI_EIO, "%s: remove", tmp);
	if (exai_fault("switch.link") || symlink(target, tmp) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: symlink", tmp);
	if (exai_fault("switch.rename") || rename(tmp, path) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: rename into place", path);
		unlink(tmp);
		return rc;
	}
	return fsync_dir(dir, e);
}

static exai_status remove_link(const char *dir, exai_error *e)
{
	char path[PATH_MAX];

	if (!path2(path, sizeof(path), dir, "current"))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", dir);
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

exai_status upd_op_switch(const upd_config *c, const upd_op *op, exai_error *e)
{
	char stage[PATH_MAX], dst[PATH_MAX];
	exai_status rc;

	if (op->skip)
		return EXAI_OK;
	if (op->kind == UPD_K_ROOTFS)
		return upd_selector_write(c, op->new_loc, e);
	upd_op_stage_path(op, stage, sizeof(stage));
	if (!path2(dst, sizeof(dst), op->base, op->new_loc))
		return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
	if (!op->reuse && exists(stage)) {
		if (exai_fault("switch.remove"))
			return exai_error_sys(e, EXAI_EIO, "%s: remove (injected)", dst);
		if ((rc = exai_tree_remove(dst, e)))
			return rc;
		if (exai_fault("switch.rename") || rename(stage, dst) != 0)
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
	/* A model version this apply added goes; a slot keeps the failed tree (inactive). */
	if (op->kind == UPD_K_MODEL && !op->reuse && strcmp(op->new_loc, op->old_loc)) {
		if (!path2(dst, sizeof(dst), op->base, op->new_loc))
			return exai_error_set(e, EXAI_EINVAL, "%s: path too long", op->base);
		if ((rc = exai_tree_remove(dst, e)))
			return rc;
	}
	drop_empty_base(op);
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
