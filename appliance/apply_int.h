/*
 * apply_int: what apply.c and rollback.c share inside the appliance (not apply.h's interface).
 */
#ifndef UPD_APPLY_INT_H
#define UPD_APPLY_INT_H

#include "apply.h"

/* The result's outcome, its short word and, when not OK, the reason. */
void upd_set_result(upd_result *r, upd_outcome o, const char *what, const exai_error *e);
/* The plan's bundle, channel and sequence into the result. */
void upd_note_plan(upd_result *r, const upd_plan *p);
/* Writes the journal row for @op at @phase with the plan (a transaction of its own). */
exai_status upd_apply_journal(upd_ctx *c, const char *op, const char *phase, const upd_plan *p,
			      exai_error *e) EXAI_WUR;
/* The plan holds a component of type @t. */
bool upd_plan_has(const upd_plan *p, exai_ctype t);
/* Runs a configured hook (none configured: OK) in the hook sandbox; @what names it. */
exai_status upd_apply_hook(upd_ctx *c, char *const *argv, const char *what, exai_error *e) EXAI_WUR;
/* Switches @op back to its previous version (rollback: the operator's; else the revert of
 * an apply); what had to be moved out of the way is named in @moved. */
exai_status upd_back_op(upd_ctx *c, const upd_plan *p, const upd_op *op, bool rollback, char *moved,
			size_t cap, exai_error *e) EXAI_WUR;
/* An interrupted operation in the journal blocks this command: true, the result says so. */
bool upd_apply_pending(upd_ctx *c, upd_result *r);
/* Records a refusal of @op: the result, and its history row (best effort). */
void upd_apply_refuse(upd_ctx *c, const char *op, upd_result *r, const exai_error *e);
/* Finishes an interrupted rollback found in the journal (recover). */
void upd_recover_rollback(upd_ctx *c, upd_plan *p, upd_result *r);

#endif
