/*
 * apply: journaled apply and recover (rollback is in rollback.c). See apply.h for the state
 * machine.
 *
 * Invariant: before the journal reaches "switching" nothing visible has changed (active
 * links, boot selector, installed rows, ratchets); after it, recover always converges to
 * wholly new (or, if the health check fails, wholly old) state. A refusal writes only its
 * own history row.
 */
#include "apply.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/progress.h"
#include "exai/text.h"
#include "install.h"
#include "sandbox.h"
#include "apply_int.h"
#include "stage.h"

/* ---- interrupts ---- */

static volatile sig_atomic_t caught_signal;
static const int caught_sigs[] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int sig)
{
	caught_signal = sig;
}

static void on_signal_past_commit(int sig)
{
	static const char msg[] = "exai-update apply: interrupted after the commit point: the "
				  "journal stays; run 'exai-update recover' to finish the apply\n";

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void set_handlers(void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART | flags;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(caught_sigs) / sizeof(caught_sigs[0]); i++) {
		struct sigaction old;
		/* An ignored signal stays ignored (nohup, a background job of a script). */
		if (sigaction(caught_sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(caught_sigs[i], &sa, NULL);
	}
}

void upd_apply_catch_signals(void)
{
	set_handlers(on_signal, SA_RESETHAND);
}

int upd_apply_signal(void)
{
	return caught_signal;
}

static const char *signal_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

/* ---- phase lines ---- */

/*
 * One line per phase on stderr (verifying, staging each component with its size, switching,
 * health check), so a log (journald, ssh without a tty, a pipe) shows how far a long apply
 * is. Printed on a terminal too; there the progress bar (exai/progress.h) is drawn between
 * them, so a line first clears the bar's line. EXAI_NO_PROGRESS removes only the bar.
 */
static void phase(const char *cmd, const char *fmt, ...) EXAI_PRINTF(2, 3);
static void phase(const char *cmd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	bool bar = isatty(STDERR_FILENO) && !getenv("EXAI_NO_PROGRESS");

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%sexai-update %s: %s\n", bar ? "\r\033[K" : "", cmd, line);
}

static void phase_size(const exai_component *m, char *buf, size_t cap)
{
	exai_format_bytes(buf, cap, (double)(m->encoding == EXAI_CENC_TAR ? m->unpacked : m->size));
}

/* The stager's sink with a phase line at the start of each component it writes. */
typedef struct phase_sink {
	exai_sink inner;
	const exai_manifest *m;
	const upd_plan *p;
} phase_sink;

static exai_status phase_begin(void *arg, const exai_component *c, exai_error *e)
{
	phase_sink *ps = arg;
	size_t i = (size_t)(c - ps->m->c);
	char size[32];

	phase_size(c, size, sizeof(size));
	if (i < ps->p->n && !ps->p->ops[i].skip && !ps->p->ops[i].reuse)
		phase("apply", "staging %s/%s %s (%s)", exai_ctype_name(c->type), c->name,
		      c->version, size);
	return ps->inner.begin ? ps->inner.begin(ps->inner.arg, c, e) : EXAI_OK;
}

static exai_status phase_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			      exai_error *e)
{
	phase_sink *ps = arg;

	return ps->inner.data(ps->inner.arg, c, buf, len, e);
}

static exai_status phase_end(void *arg, const exai_component *c, exai_error *e)
{
	phase_sink *ps = arg;

	return ps->inner.end ? ps->inner.end(ps->inner.arg, c, e) : EXAI_OK;
}

/* The commit point is passed: from now on a signal ends the process (journal path). */
static void signals_past_commit(void)
{
	set_handlers(on_signal_past_commit, 0);
	if (caught_signal)
		on_signal_past_commit(caught_signal); /* arrived while committing */
}

void upd_set_result(upd_result *r, upd_outcome o, const char *what, const exai_error *e)
{
	r->outcome = o;
	r->what = what;
	if (e)
		r->err = *e;
	else
		exai_error_clear(&r->err);
}

static void cpy(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

void upd_note_plan(upd_result *r, const upd_plan *p)
{
	cpy(r->bundle_id, sizeof(r->bundle_id), p->bundle_id);
	cpy(r->channel, sizeof(r->channel), p->channel);
	cpy(r->signers, sizeof(r->signers), p->signers);
	r->sequence = p->sequence;
	r->created = p->created;
}

/* One transaction: @ev in history, and the journal cleared when @clear. */
static exai_status record(upd_ctx *c, const upd_event *ev, bool clear, exai_error *e)
{
	exai_status rc = upd_state_begin(c->st, e);

	if (rc)
		return rc;
	if ((rc = upd_state_add_history(c->st, ev, c->cfg->mirror_socket != NULL, e)) ||
	    (clear && (rc = upd_state_journal_clear(c->st, e)))) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

static upd_event plan_event(const upd_plan *p, const char *op, const char *outcome,
			    const char *reason)
{
	return (upd_event){.op = op,
			   .bundle_id = p->bundle_id,
			   .channel = p->channel,
			   .sequence = p->sequence,
			   .signers = p->signers,
			   .outcome = outcome,
			   .reason = reason};
}

exai_status upd_apply_journal(upd_ctx *c, const char *op, const char *phase, const upd_plan *p,
			      exai_error *e)
{
	char *json = upd_plan_to_json(p);
	exai_status rc;

	if (!json)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = upd_state_begin(c->st, e);
	if (!rc && (rc = upd_state_journal_set(c->st, op, phase, p->bundle_id, json, e)))
		upd_state_rollback(c->st);
	else if (!rc)
		rc = upd_state_commit(c->st, e);
	free(json);
	return rc;
}

static exai_status journal_phase(upd_ctx *c, const char *phase, exai_error *e)
{
	exai_status rc = upd_state_begin(c->st, e);

	if (rc)
		return rc;
	if ((rc = upd_state_journal_phase(c->st, phase, e))) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

bool upd_plan_has(const upd_plan *p, exai_ctype t)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].type == t && !p->ops[i].skip)
			return true;
	return false;
}

exai_status upd_apply_hook(upd_ctx *c, char *const *argv, const char *what, exai_error *e)
{
	if (!argv[0])
		return EXAI_OK;
	exai_status rc = upd_run_hook(argv, c->cfg->hook_timeout, e);
	return rc ? exai_error_prefix(e, "%s", what) : rc;
}

/* ---- staging ---- */

/* Journal "staging"; a rootfs slot about to be overwritten stops being a rollback target. */
static exai_status begin_staging(upd_ctx *c, const upd_plan *p, exai_error *e)
{
	char *json = upd_plan_to_json(p);
	exai_status rc;

	if (!json)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = upd_state_begin(c->st, e))) {
		free(json);
		return rc;
	}
	rc = upd_state_journal_set(c->st, "apply", "staging", p->bundle_id, json, e);
	for (size_t i = 0; !rc && i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		upd_installed in;
		bool found;
		if (op->kind != UPD_K_ROOTFS || op->skip)
			continue;
		rc = upd_state_get_installed(c->st, "rootfs", op->name, &in, &found, e);
		if (!rc && found && in.has_prev) {
			in.has_prev = false;
			rc = upd_state_put_installed(c->st, &in, e);
		}
	}
	free(json);
	if (rc) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

static void discard_all(const upd_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		exai_error ignored;
		if (upd_op_discard(&p->ops[i], &ignored))
			continue; /* best effort: a leftover stage is removed by the next apply */
	}
}

static void free_lists(upd_filelist *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		upd_filelist_clear(&files[i]);
	free(files);
}

static bool same_record(const upd_file *a, const upd_file *b)
{
	return !strcmp(a->path, b->path) && a->kind == b->kind && a->mode == b->mode &&
	       a->size == b->size && exai_memeq(a->sha256, b->sha256, EXAI_SHA256_LEN) &&
	       !strcmp(a->target ? a->target : "", b->target ? b->target : "");
}

/*
 * An installed model version against the same version from a bundle of the other format
 * (upd_op.xcheck): @got holds the per-file records of the incoming tree, taken from the
 * verified stream (the stream ended without error, so every byte matched the signed
 * digests); the installed version's records come from the state database, never from the
 * files on disk. Equal record for record: the same content (skip or reuse stands). Different,
 * or no records to compare with: refused, versions are immutable.
 */
static exai_status same_content(upd_ctx *c, const upd_op *op, const upd_filelist *got,
				exai_error *e)
{
	upd_filelist have = {0};
	const char *t = exai_ctype_name(op->type);
	exai_status rc = upd_state_files(c->st, t, op->name, op->new_loc, &have, e);
	bool same = !rc && have.n > 0 && have.n == got->n;

	for (size_t i = 0; same && i < have.n; i++)
		same = same_record(&have.v[i], &got->v[i]);
	upd_filelist_clear(&have);
	if (rc)
		return exai_error_prefix(e, "%s/%s %s: installed records", t, op->name,
					 op->version);
	if (!same)
		return exai_error_set(e, EXAI_EREFUSED,
				      "%s/%s: version %s is installed (%s) with different content "
				      "than this bundle's, or without per-file records to compare "
				      "(versions are immutable)",
				      t, op->name, op->version, op->skip ? "active" : "previous");
	return EXAI_OK;
}

/* Stages every op; files[i] gets the records of op i's staged tree. */
static exai_status stage_all(upd_ctx *c, exai_bundle *b, upd_plan *p, upd_filelist *files,
			     exai_error *e)
{
	upd_stager s;
	exai_progress prog;
	exai_sink sink;
	phase_sink ps;
	exai_status rc;
	uint64_t total = 0;
	char size[32];

	for (size_t i = 0; i < p->n; i++)
		if ((rc = upd_op_discard(&p->ops[i], e)))
			return rc;
	for (size_t i = 0; i < b->manifest->n; i++)
		total += b->manifest->c[i].size;
	upd_state_activity(c->st, "apply", "staging", total);
	upd_stager_init(&s, c->cfg, b->manifest, p, files);
	ps = (phase_sink){.inner = upd_stager_sink(&s), .m = b->manifest, .p = p};
	sink = (exai_sink){.begin = phase_begin,
			   .data = phase_data,
			   .end = phase_end,
			   .arg = &ps,
			   .own_thread = ps.inner.own_thread};
	size_t n_write = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < p->n && i < b->manifest->n; i++) {
		const exai_component *m = &b->manifest->c[i];
		if (p->ops[i].skip || p->ops[i].reuse)
			continue;
		n_write++;
		bytes += m->encoding == EXAI_CENC_TAR ? m->unpacked : m->size;
	}
	exai_format_bytes(size, sizeof(size), (double)bytes);
	phase("apply", "staging %zu of %zu component%s (%s), checking every chunk as it is written",
	      n_write, b->manifest->n, b->manifest->n == 1 ? "" : "s", size);
	exai_progress_start(&prog, "apply", exai_index_file_get(b->index, "payload")->size);
	rc = exai_bundle_stream(b, &sink, &prog, e);
	exai_progress_finish(&prog);
	upd_stager_cleanup(&s);
	if (rc)
		return exai_error_prefix(e, "stage");
	for (size_t i = 0; !rc && i < p->n; i++)
		if (p->ops[i].xcheck)
			rc = same_content(c, &p->ops[i], &files[i], e);
	return rc;
}

/*
 * The commit point: journal "switching" and the file records of every staged tree, in one
 * transaction. From here on, recover puts each staged tree at its new loc (or, for a model
 * version, removes it again on revert, together with its records), so the records written
 * here describe what that loc holds once the journal is finished.
 */
static exai_status switch_point(upd_ctx *c, const upd_plan *p, const upd_filelist *files,
				exai_error *e)
{
	exai_status rc = upd_state_begin(c->st, e);

	if (rc)
		return rc;
	rc = upd_state_journal_phase(c->st, "switching", e);
	for (size_t i = 0; !rc && i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		if (op->skip || op->reuse)
			continue;
		rc = upd_state_put_files(c->st, exai_ctype_name(op->type), op->name, op->new_loc,
					 &files[i], e);
	}
	if (rc) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

/* ---- commit, revert ---- */

static void comp_ver(upd_comp_ver *v, const upd_plan *p, const upd_op *op)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->version, sizeof(v->version), "%s", op->version);
	snprintf(v->sha256, sizeof(v->sha256), "%s", op->sha256);
	snprintf(v->loc, sizeof(v->loc), "%s", op->new_loc);
	snprintf(v->bundle_id, sizeof(v->bundle_id), "%s", p->bundle_id);
	v->sequence = p->sequence;
}

static exai_status commit_rows(upd_ctx *c, const upd_plan *p, exai_error *e)
{
	exai_status rc = EXAI_OK;

	for (size_t i = 0; !rc && i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		upd_installed old, in = {0};
		bool found;
		if (op->skip)
			continue;
		if ((rc = upd_state_get_installed(c->st, exai_ctype_name(op->type), op->name, &old,
						  &found, e)))
			break;
		snprintf(in.type, sizeof(in.type), "%s", exai_ctype_name(op->type));
		snprintf(in.name, sizeof(in.name), "%s", op->name);
		in.time = upd_now();
		comp_ver(&in.cur, p, op);
		if (found && !strcmp(old.cur.loc, op->old_loc)) {
			in.has_prev = true;
			in.prev = old.cur;
		}
		if (!(rc = upd_state_put_installed(c->st, &in, e)) && op->kind == UPD_K_MODEL)
			rc = upd_state_add_model_version(c->st, op->name, op->version, e);
	}
	return rc;
}

/* The final transaction of a healthy apply. */
static exai_status commit_apply(upd_ctx *c, const upd_plan *p, const char *hist_op,
				const char *outcome, exai_error *e)
{
	upd_event ev = plan_event(p, hist_op, outcome, "");
	exai_status rc;

	if (p->root_text) {
		char *path = exai_path_join(c->cfg->state_dir, "root");
		if (!path)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		rc = exai_file_write_atomic(path, p->root_text, strlen(p->root_text), 0644, e);
		free(path);
		if (rc)
			return exai_error_prefix(e, "persist trust root");
	}
	if ((rc = upd_state_begin(c->st, e)))
		return rc;
	if ((rc = commit_rows(c, p, e)) ||
	    (rc = upd_state_raise_channel(c->st, p->channel, p->sequence, e)) ||
	    (rc = upd_state_raise_counter(c->st, "created", p->created, e)) ||
	    (rc = upd_state_raise_counter(c->st, "root_version", p->root_version, e)) ||
	    (rc = upd_state_add_history(c->st, &ev, c->cfg->mirror_socket != NULL, e)) ||
	    (rc = upd_state_journal_clear(c->st, e))) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

static void gc_models(upd_ctx *c, const upd_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		exai_error ignored;
		if (op->kind != UPD_K_MODEL || op->skip)
			continue;
		if (upd_models_gc(c->st, c->cfg->dirs[EXAI_C_MODEL], op->name,
				  (size_t)c->cfg->models_keep, op->new_loc,
				  op->old_loc[0] ? op->old_loc : NULL, &ignored))
			continue; /* what GC left is removed by the next one */
	}
}

/* What @op does, in versions ("software/app: from 1.5.0 to 1.6.0"), never slot letters. */
static void op_words(const upd_op *op, char *buf, size_t cap)
{
	const char *t = exai_ctype_name(op->type);

	if (op->skip)
		snprintf(buf, cap, "%s/%s %s: unchanged (already active)", t, op->name,
			 op->version);
	else if (!op->old_loc[0])
		snprintf(buf, cap, "%s/%s: %s, new here", t, op->name, op->version);
	else if (!op->old_version[0]) /* a journal from before old_version was kept */
		snprintf(buf, cap, "%s/%s: to %s", t, op->name, op->version);
	else if (!strcmp(op->old_version, op->version))
		snprintf(buf, cap, "%s/%s: %s again, with different content", t, op->name,
			 op->version);
	else
		snprintf(buf, cap, "%s/%s: from %s to %s%s", t, op->name, op->old_version,
			 op->version, op->reuse ? " (already on disk)" : "");
}

static void describe_changes(upd_result *r, const upd_plan *p, const char *prefix)
{
	for (size_t i = 0; i < p->n; i++) {
		char words[3 * EXAI_NAME_MAX + 64];
		op_words(&p->ops[i], words, sizeof(words));
		upd_result_change(r, "%s%s", prefix, words);
	}
}

/* The version active before @op's apply (a revert goes back to it): the installed row,
 * which that apply has not replaced; "" when the component was new. */
static void version_before(upd_ctx *c, const upd_op *op, char *out, size_t cap)
{
	upd_installed in;
	bool found = false;
	exai_error ignored;

	out[0] = '\0';
	if (!op->old_loc[0])
		return;
	if (op->kind == UPD_K_MODEL)
		snprintf(out, cap, "%s", op->old_loc);
	else if (!upd_state_get_installed(c->st, exai_ctype_name(op->type), op->name, &in, &found,
					  &ignored) &&
		 found)
		snprintf(out, cap, "%s", in.cur.version);
	else
		snprintf(out, cap, "the version in %s", op->old_loc);
}

/* A revert in words: "health check failed: switched software/app back from 1.6.0 to 1.5.0". */
static void describe_revert(upd_ctx *c, upd_result *r, const upd_plan *p, const char *cause)
{
	for (size_t i = 0; i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		const char *t = exai_ctype_name(op->type);
		char before[EXAI_NAME_MAX + UPD_LOC_MAX + 16];
		if (op->skip) {
			upd_result_change(r, "%s/%s %s: unchanged", t, op->name, op->version);
			continue;
		}
		version_before(c, op, before, sizeof(before));
		if (!before[0])
			upd_result_change(r, "%s: removed %s/%s %s again (it was new here)", cause,
					  t, op->name, op->version);
		else
			upd_result_change(r, "%s: switched %s/%s back from %s to %s", cause, t,
					  op->name, op->version, before);
	}
}

/*
 * Switches one op back (a revert, or the switch of a rollback, which also goes to the
 * previous version). When that cannot finish (something that is not our symlink sits at
 * `current`, a staging tree cannot be removed), what blocks it is quarantined and the switch
 * back is tried once more: a revert always ends with the old version active, unless the disk
 * itself fails. @moved collects the quarantined names.
 */
exai_status upd_back_op(upd_ctx *c, const upd_plan *p, const upd_op *op, bool rollback, char *moved,
			size_t cap, exai_error *e)
{
	char tag[17];
	size_t before = strlen(moved);
	exai_error qe;
	exai_status rc = rollback ? upd_op_switch(c->cfg, op, e) : upd_op_revert(c->cfg, op, e);

	if (!rc || op->kind == UPD_K_ROOTFS)
		return rc;
	snprintf(tag, sizeof(tag), "%.16s", p->bundle_id);
	if (upd_op_quarantine(op, tag[0] ? tag : "unknown", moved, cap, &qe) ||
	    strlen(moved) == before)
		return rc; /* nothing was in the way: the first error stands */
	return rollback ? upd_op_switch(c->cfg, op, e) : upd_op_revert(c->cfg, op, e);
}

/* Switches back every op, reloads policy, records why. The slot that held the previous
 * version now holds the failed one, so it stops being a rollback target. */
static void revert_all(upd_ctx *c, const upd_plan *p, const char *hist_op, const char *cause,
		       const exai_error *why, upd_result *r)
{
	char moved[1024] = "", reason[EXAI_ERROR_MSG_MAX + 1100];
	upd_event ev = plan_event(p, hist_op, "reverted", why->msg);
	exai_error e;
	exai_status rc = journal_phase(c, "reverting", &e);

	for (size_t i = p->n; !rc && i-- > 0;)
		rc = upd_back_op(c, p, &p->ops[i], false, moved, sizeof(moved), &e);
	if (moved[0]) {
		snprintf(reason, sizeof(reason), "%s; quarantined %s", why->msg, moved);
		ev.outcome = "quarantined";
		ev.reason = reason;
	}
	if (!rc && upd_plan_has(p, EXAI_C_POLICY) &&
	    upd_apply_hook(c, c->cfg->policy_reload, "policy reload", &e) != EXAI_OK)
		rc = EXAI_OK; /* the old policy is in place; a failing reload is reported below */
	if (!rc && !(rc = upd_state_begin(c->st, &e))) {
		for (size_t i = 0; !rc && i < p->n; i++) {
			const upd_op *op = &p->ops[i];
			upd_installed in;
			bool found;
			if (op->kind == UPD_K_MODEL && !op->skip && !op->reuse &&
			    strcmp(op->new_loc, op->old_loc)) {
				/* upd_op_revert removed that version's tree */
				rc = upd_state_del_files(c->st, exai_ctype_name(op->type), op->name,
							 op->new_loc, &e);
				continue;
			}
			if (op->kind != UPD_K_SLOT || op->skip)
				continue;
			rc = upd_state_get_installed(c->st, exai_ctype_name(op->type), op->name,
						     &in, &found, &e);
			if (!rc && found && in.has_prev) {
				in.has_prev = false;
				rc = upd_state_put_installed(c->st, &in, &e);
			}
		}
		if (!rc &&
		    !(rc = upd_state_add_history(c->st, &ev, c->cfg->mirror_socket != NULL, &e)))
			rc = upd_state_journal_clear(c->st, &e);
		if (rc)
			upd_state_rollback(c->st);
		else
			rc = upd_state_commit(c->st, &e);
	}
	if (rc) {
		exai_error_prefix(&e, "%s; switching back also failed (run exai-update recover)",
				  why->msg);
		upd_set_result(r, UPD_PENDING, "revert-failed", &e);
		return;
	}
	describe_revert(c, r, p, cause);
	if (moved[0]) {
		upd_result_change(r, "quarantined (inspect, then remove): %s", moved);
		exai_error_set(&e, why->code, "%s", reason);
		upd_set_result(r, UPD_REVERTED, "quarantined", &e);
		return;
	}
	upd_set_result(r, UPD_REVERTED, "reverted", why);
}

/* From the commit point on: switch, reload, health check, final commit (or revert). */
static void finish_forward(upd_ctx *c, upd_plan *p, const char *hist_op, upd_result *r)
{
	const char *cause = "switching failed";
	exai_error e;
	exai_status rc = EXAI_OK;

	upd_state_activity(c->st, hist_op, "switching", 0);
	phase(hist_op, "switching to bundle %.16s (channel %s, sequence %llu)", p->bundle_id,
	      p->channel, (unsigned long long)p->sequence);
	for (size_t i = 0; !rc && i < p->n; i++)
		if ((rc = upd_op_switch(c->cfg, &p->ops[i], &e)))
			exai_error_prefix(&e, "switch %s/%s", exai_ctype_name(p->ops[i].type),
					  p->ops[i].name);
	if (!rc && upd_plan_has(p, EXAI_C_POLICY)) {
		cause = "policy reload failed";
		if (c->cfg->policy_reload[0])
			phase(hist_op, "policy reload: %s", c->cfg->policy_reload[0]);
		rc = upd_apply_hook(c, c->cfg->policy_reload, "policy reload", &e);
	}
	if (!rc) {
		cause = "health check failed";
		upd_state_activity(c->st, hist_op, "health check", 0);
		if (c->cfg->health_check[0])
			phase(hist_op, "health check: %s", c->cfg->health_check[0]);
		rc = upd_apply_hook(c, c->cfg->health_check, "health check", &e);
	}
	if (rc) {
		revert_all(c, p, hist_op, cause, &e, r);
		return;
	}
	if ((rc =
		 commit_apply(c, p, hist_op, !strcmp(hist_op, "apply") ? "ok" : "completed", &e))) {
		exai_error_prefix(&e, "final commit (run exai-update recover)");
		upd_set_result(r, UPD_PENDING, "commit-failed", &e);
		return;
	}
	gc_models(c, p);
	describe_changes(r, p, "");
	upd_set_result(r, UPD_OK, !strcmp(hist_op, "apply") ? "applied" : "completed", NULL);
}

/* ---- commands ---- */

bool upd_apply_pending(upd_ctx *c, upd_result *r)
{
	upd_journal j;
	exai_error e;

	if (upd_state_journal_get(c->st, &j, &e)) {
		upd_set_result(r, UPD_FAILED, "failed", &e);
		return true;
	}
	if (!j.present)
		return false;
	exai_error_set(&e, EXAI_EREFUSED,
		       "an interrupted %s (phase %s, bundle %.16s) must be finished first: run "
		       "'exai-update recover'",
		       j.op, j.phase, j.bundle_id);
	upd_journal_free(&j);
	upd_set_result(r, UPD_PENDING, "pending", &e);
	return true;
}

void upd_apply_refuse(upd_ctx *c, const char *op, upd_result *r, const exai_error *e)
{
	exai_error ignored;

	upd_set_result(r, UPD_REFUSED, "refused", e);
	if (upd_record(c, op, r, &ignored))
		return; /* the refusal stands; history is best effort here */
}

/* verify and apply --dry-run: select the bundle, then stream every chunk and component
 * through the checks, with one phase line per step on stderr as apply prints (@cmd names
 * the command in them). On failure the refusal is recorded (as "verify") and false is
 * returned; *b and *p are the caller's to free either way. */
static bool verify_media(upd_ctx *c, const char *cmd, const char *media, exai_bundle **b,
			 upd_plan **p, upd_result *r)
{
	exai_progress prog;
	exai_error e;
	exai_status rc;
	uint64_t bytes = 0;
	char size[32];

	phase(cmd, "verifying %s", media);
	if (upd_select(c, media, b, p, r, &e)) {
		upd_apply_refuse(c, "verify", r, &e);
		return false;
	}
	phase(cmd,
	      "verified the signatures of bundle %.16s (channel %s, sequence %llu, signed "
	      "by %s)",
	      (*p)->bundle_id, (*p)->channel, (unsigned long long)(*p)->sequence,
	      (*p)->signers[0] ? (*p)->signers : "no key");
	for (size_t i = 0; i < (*b)->manifest->n; i++)
		bytes += (*b)->manifest->c[i].size;
	exai_format_bytes(size, sizeof(size), (double)bytes);
	phase(cmd, "checking every chunk and the plaintext hash of %zu %s (%s); writing nothing",
	      (*b)->manifest->n, exai_plural((*b)->manifest->n, "component", "components"), size);
	exai_progress_start(&prog, "verify", exai_index_file_get((*b)->index, "payload")->size);
	rc = upd_check_stream(c, *b, &prog, &e);
	exai_progress_finish(&prog);
	if (rc) {
		upd_apply_refuse(c, "verify", r, &e);
		return false;
	}
	return true;
}

void upd_cmd_verify(upd_ctx *c, const char *media, upd_result *r)
{
	exai_bundle *b = NULL;
	upd_plan *p = NULL;
	exai_error ignored;

	if (verify_media(c, "verify", media, &b, &p, r)) {
		describe_changes(r, p, "");
		upd_set_result(r, UPD_OK, "verified", NULL);
		if (upd_record(c, "verify", r, &ignored))
			fprintf(stderr, "exai-update: history: %s\n", ignored.msg);
	}
	upd_plan_free(p);
	exai_bundle_free(b);
}

void upd_cmd_dry_run(upd_ctx *c, const char *media, upd_result *r)
{
	exai_bundle *b = NULL;
	upd_plan *p = NULL;
	exai_error e, ignored;

	if (upd_apply_pending(c, r)) {
		if (r->outcome == UPD_PENDING) /* refused like verify: exit 1 */
			upd_apply_refuse(c, "verify", r, &r->err);
		return;
	}
	if (!verify_media(c, "apply", media, &b, &p, r))
		goto out;
	describe_changes(r, p, "plan: ");
	if (upd_check_space_report(b->manifest, p, r, &e)) {
		upd_apply_refuse(c, "verify", r, &e);
	} else {
		snprintf(
		    r->summary, sizeof(r->summary),
		    "dry run, nothing was changed: %s (bundle %.16s, channel %s, sequence %llu) "
		    "verified; apply would do this",
		    r->bundle, r->bundle_id, r->channel, (unsigned long long)r->sequence);
		upd_set_result(r, UPD_OK, "dry-run", NULL);
		if (upd_record(c, "verify", r, &ignored))
			fprintf(stderr, "exai-update: history: %s\n", ignored.msg);
	}
out:
	upd_plan_free(p);
	exai_bundle_free(b);
}

/*
 * A signal before the commit point: undo at once (staging removed when @staged, journal
 * cleared, a history row), so nothing is left for recover. Ratchets are not touched.
 */
static void undo_interrupted(upd_ctx *c, const upd_plan *p, bool staged, upd_result *r)
{
	char reason[160];
	const char *sig = signal_name(upd_apply_signal());
	upd_event ev;
	exai_error e, e2;

	if (staged)
		discard_all(p);
	snprintf(reason, sizeof(reason), "interrupted before switch (%s): %snothing was changed",
		 sig, staged ? "staging removed, " : "");
	ev = plan_event(p, "apply", "interrupted", reason);
	exai_error_set(&e, EXAI_EREFUSED,
		       "interrupted by %s before the switch: %snothing was changed (the installed "
		       "versions and the ratchets are as before)",
		       sig, staged ? "staging removed, journal cleared, " : "");
	upd_set_result(r, UPD_FAILED, "interrupted", &e);
	if (record(c, &ev, staged, &e2)) {
		exai_error_prefix(&e2,
				  "interrupted by %s; recording it failed (run exai-update "
				  "recover)",
				  sig);
		upd_set_result(r, UPD_PENDING, "interrupted", &e2);
	}
}

void upd_cmd_apply(upd_ctx *c, const char *media, upd_result *r)
{
	exai_bundle *b = NULL;
	upd_plan *p = NULL;
	upd_filelist *files = NULL;
	exai_error e;

	if (upd_apply_pending(c, r))
		return;
	upd_state_activity(c->st, "apply", "verifying", 0);
	phase("apply", "verifying %s", media);
	if (upd_select(c, media, &b, &p, r, &e)) {
		upd_apply_refuse(c, "apply", r, &e);
		return;
	}
	phase("apply",
	      "verified the signatures of bundle %.16s (channel %s, sequence %llu, signed "
	      "by %s)",
	      p->bundle_id, p->channel, (unsigned long long)p->sequence,
	      p->signers[0] ? p->signers : "no key");
	if (upd_apply_signal()) {
		undo_interrupted(c, p, false, r);
		goto out;
	}
	if (upd_check_space(b->manifest, p, &e)) {
		upd_apply_refuse(c, "apply", r, &e);
		goto out;
	}
	if (!(files = calloc(p->n ? p->n : 1, sizeof(*files)))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		upd_set_result(r, UPD_FAILED, "failed", &e);
		goto out;
	}
	if (begin_staging(c, p, &e)) {
		upd_set_result(r, UPD_FAILED, "failed", &e);
		goto out;
	}
	if (stage_all(c, b, p, files, &e) || upd_apply_signal()) {
		/* a refusal found while staging (a version installed with other content, a tar
		 * over its ratio limit) is recorded as one: nothing changed, as for any refusal */
		const char *what = e.code == EXAI_EREFUSED ? "refused" : "failed";
		upd_event ev = plan_event(p, "apply", what, e.msg);
		exai_error e2;
		if (upd_apply_signal()) {
			undo_interrupted(c, p, true, r);
			goto out;
		}
		discard_all(p);
		upd_set_result(r, e.code == EXAI_EREFUSED ? UPD_REFUSED : UPD_FAILED, what, &e);
		if (record(c, &ev, true, &e2))
			upd_set_result(r, UPD_PENDING, what, &e2);
		goto out;
	}
	exai_bundle_free(b); /* the media is not touched again */
	b = NULL;
	if (switch_point(c, p, files, &e)) {
		/* Not committed: still wholly old. */
		upd_event ev = plan_event(p, "apply", "failed", e.msg);
		exai_error e2;
		discard_all(p);
		upd_set_result(r, UPD_FAILED, "failed", &e);
		if (record(c, &ev, true, &e2))
			upd_set_result(r, UPD_PENDING, "failed", &e2);
		goto out;
	}
	signals_past_commit();
	free_lists(files, p->n);
	files = NULL;
	finish_forward(c, p, "apply", r);
out:
	free_lists(files, p ? p->n : 0);
	upd_plan_free(p);
	exai_bundle_free(b);
}

/* What undoing an apply interrupted while staging really did: nothing had been switched. */
static void describe_undone_staging(upd_result *r, const upd_plan *p)
{
	upd_result_change(r, "the interrupted apply had not reached its switch: nothing had "
			     "changed; its staging was removed");
	for (size_t i = 0; i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		if (op->skip || op->reuse)
			continue;
		if (op->old_loc[0])
			upd_result_change(r,
					  "%s/%s %s: staged copy removed (never switched in); "
					  "%s stays active",
					  exai_ctype_name(op->type), op->name, op->version,
					  op->old_loc);
		else
			upd_result_change(r,
					  "%s/%s %s: staged copy removed (never switched in); "
					  "nothing was installed before",
					  exai_ctype_name(op->type), op->name, op->version);
	}
}

void upd_cmd_recover(upd_ctx *c, upd_result *r)
{
	upd_journal j;
	upd_plan *p = NULL;
	exai_error e;

	if (upd_state_journal_get(c->st, &j, &e)) {
		upd_set_result(r, UPD_FAILED, "failed", &e);
		return;
	}
	if (!j.present) {
		upd_set_result(r, UPD_OK, "clean", NULL);
		return;
	}
	if (upd_plan_from_json(j.plan, &p, &e)) {
		upd_set_result(r, UPD_FAILED, "failed", &e);
		upd_journal_free(&j);
		return;
	}
	upd_note_plan(r, p);
	if (!strcmp(j.op, "rollback")) {
		upd_recover_rollback(c, p, r);
	} else if (!strcmp(j.phase, "staging")) {
		upd_event ev = plan_event(p, "recover", "undone",
					  "interrupted while staging (before the switch): staging "
					  "removed, nothing had changed");
		discard_all(p);
		if (record(c, &ev, true, &e))
			upd_set_result(r, UPD_FAILED, "failed", &e);
		else {
			describe_undone_staging(r, p);
			upd_set_result(r, UPD_OK, "undone", NULL);
		}
	} else if (!strcmp(j.phase, "switching")) {
		finish_forward(c, p, "recover", r);
	} else {
		exai_error_set(&e, EXAI_EREFUSED, "interrupted while switching back");
		revert_all(c, p, "recover", "finishing an interrupted switch back", &e, r);
		if (r->outcome == UPD_REVERTED && strcmp(r->what, "quarantined"))
			r->outcome = UPD_OK; /* finishing a revert is what was asked for */
	}
	upd_plan_free(p);
	upd_journal_free(&j);
}
