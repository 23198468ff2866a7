/*
 * trustdir: refuses to run when a directory exai-update trusts by path could be changed by
 * someone else.
 *
 * Checked: state_dir, every install dir, the rootfs slots and the boot selector. For each, every
 * directory from / down to it, both as configured and as resolved (realpath), must be owned by
 * root (or by the user exai-update runs as, when that is not root) and not writable by group or
 * others, except that a parent with the sticky bit (like /tmp) may be: others can add entries
 * to it but not rename or remove ours. The configured directory itself may not be group- or
 * world-writable even with the sticky bit, and a part of it that does not exist yet (to be
 * created by exai-update) must lie in a directory that passes that same strict rule, so nobody
 * can create it first. Slot devices and image files must have a trusted owner and not be
 * world-writable (a block device may be group-writable: the "disk" group is how Debian ships
 * them); the boot selector, when it exists, may not be group- or world-writable.
 *
 * Not checked: POSIX ACLs and Linux capabilities of other users (a root-equivalent user is
 * root); the window between this check and use (the checked directories can be changed only
 * by root once they pass).
 */
#ifndef UPD_TRUSTDIR_H
#define UPD_TRUSTDIR_H

#include "config.h"
#include "exai/error.h"

/* EXAI_EUNSAFE naming the config key, the path and why, or EXAI_EIO when a path cannot be
 * examined. */
exai_status upd_trustdir_check(const upd_config *c, exai_error *e) EXAI_WUR;

#endif
