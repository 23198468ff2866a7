/*
 * install: the switch steps of an apply, their undo, and model garbage collection.
 *
 * Each function is idempotent (it checks where things stand before acting), so a journal
 * replay after a crash converges on the same result. Fault points, in order of use:
 * "switch.remove", "switch.rename", "switch.link", "switch.fsync", and for the boot selector
 * the file layer's "fsync", "rename", "fsyncdir"; "gc.remove" in GC.
 */
#ifndef UPD_INSTALL_H
#define UPD_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "plan.h"
#include "state.h"

/* Points @dir/current at @target by renaming a new symlink over the old one, then fsyncs
 * @dir. Does nothing when it already points there. EXAI_EUNSAFE when something other than a
 * symlink of ours is at @dir/current (it is never replaced), or @target is not a name. */
exai_status upd_set_link(const char *dir, const char *target, exai_error *e) EXAI_WUR;
/* Reads @dir/current into @buf; false when missing. */
bool upd_read_link(const char *dir, char *buf, size_t cap);

/* Active rootfs slot from the boot selector ("A" when the file does not exist yet). */
exai_status upd_selector_read(const upd_config *c, char slot[2], exai_error *e) EXAI_WUR;
exai_status upd_selector_write(const upd_config *c, const char *slot, exai_error *e) EXAI_WUR;
/* The config path of rootfs slot "A" or "B". */
const char *upd_rootfs_path(const upd_config *c, const char *slot);

/* Moves the staged tree into place and switches the active link / boot selector. */
exai_status upd_op_switch(const upd_config *c, const upd_op *op, exai_error *e) EXAI_WUR;
/* Points the op's component back at what was active before (removing what it added). */
exai_status upd_op_revert(const upd_config *c, const upd_op *op, exai_error *e) EXAI_WUR;
/* Removes the op's staging tree, if any. */
exai_status upd_op_discard(const upd_op *op, exai_error *e) EXAI_WUR;
/* The last resort of a revert that cannot finish: moves what blocks it out of the way, under
 * <base>/.quarantine-<tag>-current (anything at `current` that is not our symlink) and
 * <base>/.quarantine-<tag>-stage (a staging tree that cannot be removed), adding -N rather
 * than replacing. The names moved to are appended to @moved (", "-separated; empty when
 * nothing was in the way). Names starting with '.' are never versions, so nothing else of
 * exai-update touches them: an operator inspects and removes them. */
exai_status upd_op_quarantine(const upd_op *op, const char *tag, char *moved, size_t cap,
			      exai_error *e) EXAI_WUR;
/* Whether @loc may hold a tree of @kind: "a"/"b" for a slot, a valid and not reserved name
 * for a model version, "A"/"B" for rootfs. */
bool upd_loc_valid(upd_kind kind, const char *loc);

/* Removes versions of model @name beyond the newest @keep, never @cur or @prev, with their
 * model_version rows and file records. */
exai_status upd_models_gc(upd_state *s, const char *models_dir, const char *name, size_t keep,
			  const char *cur, const char *prev, exai_error *e) EXAI_WUR;

#endif
