/*
 * apply: the operations that change the appliance, as journaled transactions.
 *
 * apply:    verify+plan (check_bundle.c) -> journal "staging" -> one streaming pass staging every
 *           component -> journal "switching" (the commit point) -> switch every component ->
 *           policy reload -> health check -> one transaction: installed, ratchets, history,
 *           journal cleared -> model GC. A health check failure switches everything back
 *           (journal "reverting") and records why; ratchets stay where they were.
 * recover:  staging -> undo (remove staged trees); switching -> redo the switch (every step
 *           is idempotent) and carry on as apply would; reverting -> redo the revert.
 * rollback: swaps every component of the last apply with its previous slot/version (journal
 *           "rollback"/"switching"), then records it. Ratchets do not move back.
 */
#ifndef UPD_APPLY_H
#define UPD_APPLY_H

#include "check_bundle.h"

/*
 * Interrupts of apply. upd_apply_catch_signals makes SIGINT, SIGTERM and SIGHUP (unless
 * ignored by the caller) only record the signal (a second one has the default action);
 * staging checks it (upd_apply_signal) and apply then undoes what it staged right away:
 * staging removed, journal cleared, a history row "interrupted", r->what "interrupted".
 * From the commit point on, a signal prints one line and has its default action (the
 * process ends; recover finishes the journal, as after a crash).
 */
void upd_apply_catch_signals(void);
int upd_apply_signal(void);

/*
 * Free space (check_bundle.c), before anything is staged: every component that will be written
 * needs its unpacked bytes (plus one 4 KiB block per entry) and its entries as inodes on the
 * filesystem of its install directory (components on one filesystem are summed; f_bavail,
 * so the root reserve is left alone); a rootfs image must fit its slot (a block device's size;
 * an image file slot is checked by the plan). EXAI_ENOSPC names the directory, the
 * components, the bytes needed and the bytes free. Plan op i stages manifest component i.
 */
exai_status upd_check_space(const exai_manifest *m, const upd_plan *p, exai_error *e) EXAI_WUR;
/* The same; with @r, one "space: ..." change line per filesystem (or rootfs slot) checked. */
exai_status upd_check_space_report(const exai_manifest *m, const upd_plan *p, upd_result *r,
				   exai_error *e) EXAI_WUR;

void upd_cmd_verify(upd_ctx *c, const char *media, upd_result *r);
void upd_cmd_apply(upd_ctx *c, const char *media, upd_result *r);
/* apply --dry-run: everything verify does (and the same history row, outcome "dry-run"),
 * then the plan and the space check; nothing is staged, switched or ratcheted. Refused when
 * an interrupted operation is pending (apply would refuse it too). */
void upd_cmd_dry_run(upd_ctx *c, const char *media, upd_result *r);
void upd_cmd_recover(upd_ctx *c, upd_result *r);
void upd_cmd_rollback(upd_ctx *c, upd_result *r);

#endif
