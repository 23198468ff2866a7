/*
 * rollback: `exai-update rollback` (back to each component's previous version, journaled like
 * an apply) and the recovery of an interrupted one. The apply machinery it shares (journal,
 * records, revert, results) is in apply.c, declared in apply_int.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_int.h"
#include "install.h"
#include "sandbox.h"
#include "stage.h"

/* ---- rollback ---- */

static exai_status rollback_plan(upd_ctx *c, upd_plan **out, exai_error *e)
{
	char last[65];
	bool found;
	upd_installed *rows = NULL;
	size_t n = 0;
	upd_plan *p = NULL;
	exai_status rc = upd_state_last_apply(c->st, last, &found, e);

	*out = NULL;
	if (rc)
		return rc;
	if (!found)
		return exai_error_set(e, EXAI_EREFUSED,
				      "nothing to roll back (no apply since the last rollback)");
	if ((rc = upd_state_list_installed(c->st, &rows, &n, e)))
		return rc;
	if (!(p = calloc(1, sizeof(*p))) || !(p->ops = calloc(n ? n : 1, sizeof(*p->ops)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(p->bundle_id, sizeof(p->bundle_id), "%s", last);
	for (size_t i = 0; i < n; i++) {
		const upd_installed *in = &rows[i];
		upd_op *op = &p->ops[p->n];
		if (strcmp(in->cur.bundle_id, last) || !in->has_prev)
			continue;
		if (!exai_ctype_parse(in->type, &op->type))
			continue;
		op->kind = op->type == EXAI_C_MODEL    ? UPD_K_MODEL
			   : op->type == EXAI_C_ROOTFS ? UPD_K_ROOTFS
						       : UPD_K_SLOT;
		snprintf(op->name, sizeof(op->name), "%s", in->name);
		snprintf(op->version, sizeof(op->version), "%s", in->prev.version);
		snprintf(op->sha256, sizeof(op->sha256), "%s", in->prev.sha256);
		snprintf(op->new_loc, sizeof(op->new_loc), "%s", in->prev.loc);
		snprintf(op->old_loc, sizeof(op->old_loc), "%s", in->cur.loc);
		if (op->kind == UPD_K_ROOTFS)
			snprintf(op->base, sizeof(op->base), "%s",
				 upd_rootfs_path(c->cfg, op->new_loc));
		else if (c->cfg->dirs[op->type])
			snprintf(op->base, sizeof(op->base), "%s/%s", c->cfg->dirs[op->type],
				 in->name);
		else
			continue;
		op->reuse = true; /* nothing staged: the previous tree is already there */
		p->n++;
	}
	if (p->n == 0)
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "nothing to roll back: the last apply (bundle %.16s) left no "
				    "previous versions",
				    last);
out:
	free(rows);
	if (rc)
		upd_plan_free(p);
	else
		*out = p;
	return rc;
}

/*
 * What a rollback does, in words, read before its commit (the installed rows still hold the
 * versions it goes back from as cur, those it goes back to as prev): one change line per
 * component, the history row's bundle (the one active again: id, channel, sequence, signers;
 * empty when the components go back to different bundles or it is unknown) and its reason.
 */
typedef struct rollback_words {
	char to_id[65], channel[EXAI_NAME_MAX + 1], signers[EXAI_BUNDLE_MAX_SIGS * 17 + 1];
	uint64_t to_seq;
	char reason[1024];
} rollback_words;

static void describe_rollback(upd_ctx *c, const upd_plan *p, const char *why, upd_result *r,
			      rollback_words *w)
{
	bool mixed = false, found = false;
	size_t used = 0;
	exai_error ignored;

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		const char *t = exai_ctype_name(op->type);
		upd_installed in;
		bool have = false;
		if (upd_state_get_installed(c->st, t, op->name, &in, &have, &ignored) || !have ||
		    !in.has_prev) {
			upd_result_change(r, "rolled back %s/%s to %s (%s)", t, op->name,
					  op->version, why);
			continue;
		}
		upd_result_change(r, "rolled back %s/%s from %s to %s (%s)", t, op->name,
				  in.cur.version, in.prev.version, why);
		if (used < sizeof(w->reason))
			used += (size_t)snprintf(w->reason + used, sizeof(w->reason) - used,
						 "%s%s/%s %s -> %s", used ? ", " : "", t, op->name,
						 in.cur.version, in.prev.version);
		if (!w->to_id[0] && !mixed) {
			snprintf(w->to_id, sizeof(w->to_id), "%s", in.prev.bundle_id);
			w->to_seq = in.prev.sequence;
		} else if (strcmp(w->to_id, in.prev.bundle_id)) {
			mixed = true;
		}
	}
	if (mixed) {
		w->to_id[0] = '\0';
		w->to_seq = 0;
	} else if (w->to_id[0] &&
		   (upd_state_bundle_seen(c->st, w->to_id, w->channel, sizeof(w->channel),
					  w->signers, sizeof(w->signers), &found, &ignored) ||
		    !found)) {
		w->channel[0] = w->signers[0] = '\0';
	}
	if (used < sizeof(w->reason))
		snprintf(w->reason + used, sizeof(w->reason) - used,
			 "%s(%s; back from bundle %.16s%s)", used ? " " : "", why, p->bundle_id,
			 mixed	       ? " to versions of several bundles"
			 : w->to_id[0] ? ""
				       : "; the bundle active again is unknown");
}

/* Swaps cur and prev of every row the rollback switched; @ev is its history row. */
static exai_status commit_rollback(upd_ctx *c, const upd_plan *p, const upd_event *ev,
				   exai_error *e)
{
	exai_status rc = upd_state_begin(c->st, e);

	if (rc)
		return rc;
	for (size_t i = 0; !rc && i < p->n; i++) {
		upd_installed in;
		bool found;
		rc = upd_state_get_installed(c->st, exai_ctype_name(p->ops[i].type), p->ops[i].name,
					     &in, &found, e);
		if (!rc && found && in.has_prev && !strcmp(in.cur.loc, p->ops[i].old_loc)) {
			upd_comp_ver t = in.cur;
			in.cur = in.prev;
			in.prev = t;
			in.time = upd_now();
			rc = upd_state_put_installed(c->st, &in, e);
		}
	}
	if (!rc && !(rc = upd_state_add_history(c->st, ev, c->cfg->mirror_socket != NULL, e)))
		rc = upd_state_journal_clear(c->st, e);
	if (rc) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

static void finish_rollback(upd_ctx *c, upd_plan *p, const char *why, upd_result *r)
{
	char moved[1024] = "", reason[sizeof(moved) + 1100] = "";
	rollback_words w;
	upd_event ev;
	exai_error e, he;
	exai_status rc = EXAI_OK;

	describe_rollback(c, p, why, r, &w);
	for (size_t i = 0; !rc && i < p->n; i++)
		rc = upd_back_op(c, p, &p->ops[i], true, moved, sizeof(moved), &e);
	snprintf(reason, sizeof(reason), "%s%s%s", w.reason, moved[0] ? "; quarantined " : "",
		 moved);
	ev = (upd_event){.op = "rollback",
			 .bundle_id = w.to_id,
			 .channel = w.channel,
			 .sequence = w.to_seq,
			 .signers = w.signers,
			 .outcome = "ok",
			 .reason = reason};
	if (!rc && upd_plan_has(p, EXAI_C_POLICY))
		rc = upd_apply_hook(c, c->cfg->policy_reload, "policy reload", &e);
	if (!rc)
		rc = commit_rollback(c, p, &ev, &e);
	if (rc) {
		r->n_changes = r->n_changes_omitted = 0;
		exai_error_prefix(&e, "rollback (run exai-update recover)");
		upd_set_result(r, UPD_PENDING, "failed", &e);
		return;
	}
	snprintf(r->bundle_id, sizeof(r->bundle_id), "%s", w.to_id);
	snprintf(r->channel, sizeof(r->channel), "%s", w.channel);
	snprintf(r->signers, sizeof(r->signers), "%s", w.signers);
	r->sequence = w.to_seq;
	if (w.to_id[0])
		snprintf(r->summary, sizeof(r->summary),
			 "rolled back from bundle %.16s to bundle %.16s (channel %s, sequence "
			 "%llu): %s",
			 p->bundle_id, w.to_id, w.channel[0] ? w.channel : "unknown",
			 (unsigned long long)w.to_seq, why);
	else
		snprintf(r->summary, sizeof(r->summary),
			 "rolled back from bundle %.16s: %s (the versions active again come from "
			 "several bundles, or from none in the history)",
			 p->bundle_id, why);
	if (moved[0])
		upd_result_change(r, "quarantined (inspect, then remove): %s", moved);
	if (upd_apply_hook(c, c->cfg->health_check, "health check", &he)) {
		/* The previous version is what the operator asked for; report, do not undo. */
		exai_error_prefix(&he, "rolled back, but then the health check failed (the "
				       "previous versions stay active, as asked)");
		upd_set_result(r, UPD_FAILED, "rolled-back-unhealthy", &he);
		return;
	}
	upd_set_result(r, UPD_OK, "rolled-back", NULL);
}

void upd_recover_rollback(upd_ctx *c, upd_plan *p, upd_result *r)
{
	/* recorded as the rollback it finishes */
	finish_rollback(c, p, "operator request, finished by recover", r);
}

void upd_cmd_rollback(upd_ctx *c, upd_result *r)
{
	upd_plan *p = NULL;
	exai_error e;

	if (upd_apply_pending(c, r))
		return;
	if (rollback_plan(c, &p, &e)) {
		upd_apply_refuse(c, "rollback", r, &e);
		return;
	}
	upd_note_plan(r, p);
	if (upd_apply_journal(c, "rollback", "switching", p, &e)) {
		upd_set_result(r, UPD_FAILED, "failed", &e);
		upd_plan_free(p);
		return;
	}
	finish_rollback(c, p, "operator request", r);
	upd_plan_free(p);
}
