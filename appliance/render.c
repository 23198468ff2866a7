/*
 * render: text and JSON renderings. JSON goes to stdout as one document; text results go to
 * stdout, and reasons for refusals and failures to stderr.
 */
#include "render.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exai/grow.h"
#include "exai/json.h"
#include "exai/progress.h"
#include "install.h"

static json_t *signers_json(const char *s)
{
	json_t *a = json_array();
	char buf[sizeof(((upd_result *)0)->signers)];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

static void print_json_result(const char *cmd, const upd_result *r)
{
	json_t *o = json_object(), *ch = json_array(), *sk = json_array();

	exai_json_set(o, "ok", json_boolean(r->outcome == UPD_OK));
	exai_json_set(o, "command", json_string(cmd));
	exai_json_set(o, "outcome", json_string(r->what ? r->what : "ok"));
	if (r->bundle[0])
		exai_json_set(o, "bundle", json_string(r->bundle));
	if (r->bundle_id[0]) {
		exai_json_set(o, "bundle_id", json_string(r->bundle_id));
		exai_json_set(o, "channel", json_string(r->channel));
		exai_json_set(o, "sequence", json_integer((json_int_t)r->sequence));
		exai_json_set(o, "signers", signers_json(r->signers));
	}
	for (size_t i = 0; i < r->n_changes; i++)
		json_array_append_new(ch, json_string(r->changes[i]));
	exai_json_set(o, "changes", ch);
	if (r->n_changes_omitted)
		exai_json_set(o, "changes_omitted", json_integer((json_int_t)r->n_changes_omitted));
	for (size_t i = 0; i < r->n_skipped; i++)
		json_array_append_new(sk, json_pack("{s:s,s:s}", "bundle", r->skipped[i].path,
						    "reason", r->skipped[i].reason));
	exai_json_set(o, "skipped", sk);
	if (r->outcome != UPD_OK)
		exai_json_set(o, "error",
			      json_pack("{s:s,s:s}", "code", exai_status_name(r->err.code),
					"message", r->err.msg));
	exai_json_emit(o, stdout);
}

void upd_print_result(const char *cmd, const upd_result *r, bool json)
{
	if (json) {
		print_json_result(cmd, r);
		return;
	}
	for (size_t i = 0; i < r->n_skipped; i++)
		fprintf(stderr, "exai-update %s: skipped %s: %s\n", cmd, r->skipped[i].path,
			r->skipped[i].reason);
	if (r->summary[0])
		printf("exai-update %s: %s\n", cmd, r->summary);
	else if (r->bundle[0] && r->bundle_id[0])
		printf("exai-update %s: %s %s (bundle %.16s, channel %s, sequence %llu)\n", cmd,
		       r->what, r->bundle, r->bundle_id, r->channel,
		       (unsigned long long)r->sequence);
	else if (r->bundle_id[0])
		printf("exai-update %s: %s (bundle %.16s, channel %s, sequence %llu)\n", cmd,
		       r->what, r->bundle_id, r->channel, (unsigned long long)r->sequence);
	else
		printf("exai-update %s: %s\n", cmd, r->what);
	for (size_t i = 0; i < r->n_changes; i++)
		printf("  %s\n", r->changes[i]);
	if (r->n_changes_omitted)
		printf(
		    "  ... and %zu more changes not listed here (exai-bundle inspect lists every "
		    "component)\n",
		    r->n_changes_omitted);
	if (r->outcome != UPD_OK &&
	    (r->summary[0] || !strncmp(r->err.msg, r->what, strlen(r->what))))
		fprintf(stderr, "exai-update %s: %s\n", cmd, r->err.msg); /* says it already */
	else if (r->outcome != UPD_OK)
		fprintf(stderr, "exai-update %s: %s: %s\n", cmd, r->what, r->err.msg);
}

static void add_channel(void *arg, const char *channel, uint64_t seq)
{
	json_object_set_new(arg, channel, json_integer((json_int_t)seq));
}

static json_t *ver_json(const upd_comp_ver *v)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I}", "version", v->version, "sha256", v->sha256,
			 "location", v->loc, "bundle_id", v->bundle_id, "sequence",
			 (json_int_t)v->sequence);
}

static json_t *journal_json(const upd_journal *j)
{
	return json_pack("{s:s,s:s,s:s,s:I}", "op", j->op, "phase", j->phase, "bundle_id",
			 j->bundle_id, "started", (json_int_t)j->started);
}

/* A running operation (lock held) as JSON, with the journal it has written so far. */
static json_t *running_json(const upd_activity *a, const upd_journal *j)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:I,s:I,s:I}", "pid", (json_int_t)a->pid, "command",
			      a->command, "phase", a->phase, "done", (json_int_t)a->done, "total",
			      (json_int_t)a->total, "since", (json_int_t)a->since);
	exai_json_set(o, "journal", j->present ? journal_json(j) : json_null());
	return o;
}

/* The text line of a running operation: who, since when, what phase, how far. */
static void print_running(const upd_activity *a, const upd_journal *j)
{
	char since[32] = "?", done[32], total[32];
	time_t t = (time_t)a->since;
	struct tm tm;

	if (a->since && gmtime_r(&t, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("RUNNING: %s (pid %ld, since %s), phase %s", a->command, a->pid, since, a->phase);
	if (a->total) {
		exai_format_bytes(done, sizeof(done), (double)a->done);
		exai_format_bytes(total, sizeof(total), (double)a->total);
		printf(", %s of %s (%llu%%)", done, total,
		       (unsigned long long)(a->done * 100 / a->total));
	}
	printf("\n");
	if (j->present)
		printf("  its journal: %s, phase %s, bundle %.16s (in progress, not interrupted: "
		       "do not run recover while it runs)\n",
		       j->op, j->phase, j->bundle_id);
}

/* ---- status ---- */

/* ISO 8601 UTC ("2026-12-01T21:40:52Z") into @buf; "-" for 0 (never set). */
static const char *iso_time(uint64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return "-";
	return buf;
}

static json_t *iso_json(uint64_t t)
{
	char buf[32];

	return t ? json_string(iso_time(t, buf)) : json_null();
}

/*
 * A table of @rows rows (the first one the header) of @ncol malloc'ed cells each, printed
 * with @indent and columns aligned (two spaces between them; the last is not padded).
 * A cell that is NULL or empty shows as "-". table_free releases the cells.
 */
typedef struct table {
	size_t ncol, nrows, cap;
	char **cells;
	bool oom;
} table;

static void table_add(table *t, ...)
{
	va_list ap;

	/* A row of ncol cells is one element. */
	if (exai_grow(&t->cells, &t->cap, t->nrows, 1, t->ncol * sizeof(*t->cells), EXAI_GROW_NOCAP,
		      NULL)) {
		t->oom = true;
		return;
	}
	va_start(ap, t);
	for (size_t i = 0; i < t->ncol; i++) {
		const char *v = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncol + i] = strdup(v && v[0] ? v : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(table *t, const char *indent)
{
	size_t w[16] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncol && i < 16; i++) {
			const char *v = t->cells[r * t->ncol + i];
			size_t len = v ? strlen(v) : 0;
			w[i] = len > w[i] ? len : w[i];
		}
	for (size_t r = 0; r < t->nrows; r++) {
		printf("%s", indent);
		for (size_t i = 0; i < t->ncol; i++) {
			const char *v = t->cells[r * t->ncol + i];
			if (i + 1 == t->ncol)
				printf("%s\n", v ? v : "?");
			else
				printf("%-*s  ", (int)w[i < 16 ? i : 15], v ? v : "?");
		}
	}
	if (t->oom)
		printf("%s... (out of memory: rows left out)\n", indent);
}

static void table_free(table *t)
{
	for (size_t k = 0; k < t->nrows * t->ncol; k++)
		free(t->cells[k]);
	free(t->cells);
}

static void add_channel_row(void *arg, const char *channel, uint64_t seq)
{
	char n[24];

	snprintf(n, sizeof(n), "%llu", (unsigned long long)seq);
	table_add(arg, channel, n);
}

/* The trust root in force, where it came from, and whether the ratchet accepts it. */
typedef struct trust_info {
	bool ok;
	uint64_t version, configured;
	bool persisted;
	char persisted_path[PATH_MAX];
	exai_error err;
} trust_info;

static void trust_get(const upd_ctx *c, uint64_t ratchet, trust_info *ti)
{
	exai_root *root = NULL;

	memset(ti, 0, sizeof(*ti));
	snprintf(ti->persisted_path, sizeof(ti->persisted_path), "%s/root", c->cfg->state_dir);
	if (upd_trust_root_pick(c->cfg, &root, &ti->persisted, &ti->configured, &ti->err))
		return;
	ti->ok = true;
	ti->version = root->version;
	free(root);
	if (ti->version < ratchet) {
		ti->ok = false;
		exai_error_set(&ti->err, EXAI_EREFUSED,
			       "version %llu is older than the root version ratchet %llu: verify "
			       "and apply refuse (was %s replaced?)",
			       (unsigned long long)ti->version, (unsigned long long)ratchet,
			       ti->persisted_path);
	}
}

static json_t *trust_json(const upd_ctx *c, const trust_info *ti)
{
	json_t *o = json_object();

	if (ti->version) {
		exai_json_set(o, "version", json_integer((json_int_t)ti->version));
		exai_json_set(o, "source",
			      json_string(ti->persisted ? "state_dir/root" : "trust_root"));
		exai_json_set(o, "path",
			      json_string(ti->persisted ? ti->persisted_path : c->cfg->trust_root));
	}
	exai_json_set(o, "configured_path", json_string(c->cfg->trust_root));
	exai_json_set(o, "configured_version",
		      ti->configured ? json_integer((json_int_t)ti->configured) : json_null());
	exai_json_set(o, "error", ti->ok ? json_null() : json_string(ti->err.msg));
	return o;
}

static void print_trust(const upd_ctx *c, const trust_info *ti)
{
	if (!ti->version)
		printf("trust root:  unusable: %s\n", ti->err.msg);
	else if (ti->persisted)
		printf(
		    "trust root:  version %llu from state_dir/root %s (newer than trust_root %s, "
		    "version %llu)\n",
		    (unsigned long long)ti->version, ti->persisted_path, c->cfg->trust_root,
		    (unsigned long long)ti->configured);
	else
		printf("trust root:  version %llu from trust_root %s\n",
		       (unsigned long long)ti->version, c->cfg->trust_root);
	if (ti->version && !ti->ok)
		printf("  refused: %s\n", ti->err.msg);
}

static void print_components(const upd_installed *rows, size_t n)
{
	table t = {.ncol = 8};

	if (!n) {
		printf("components:  none installed\n");
		return;
	}
	printf("components:\n");
	table_add(&t, "TYPE", "NAME", "VERSION", "LOCATION", "BUNDLE", "SEQUENCE", "INSTALLED",
		  "PREVIOUS");
	for (size_t i = 0; i < n; i++) {
		char id[17], seq[24], when[32], prev[EXAI_NAME_MAX + UPD_LOC_MAX + 8] = "";
		snprintf(id, sizeof(id), "%.16s", rows[i].cur.bundle_id);
		snprintf(seq, sizeof(seq), "%llu", (unsigned long long)rows[i].cur.sequence);
		if (rows[i].has_prev)
			snprintf(prev, sizeof(prev), "%s at %s", rows[i].prev.version,
				 rows[i].prev.loc);
		table_add(&t, rows[i].type, rows[i].name, rows[i].cur.version, rows[i].cur.loc, id,
			  seq, iso_time(rows[i].time, when), prev);
	}
	table_print(&t, "  ");
	table_free(&t);
}

static exai_status status_json(upd_ctx *c, exai_error *e)
{
	json_t *o = json_object(), *rat = json_object(), *chans = json_object(), *comps;
	upd_installed *rows = NULL;
	upd_journal j;
	uint64_t created = 0, rootv = 0;
	size_t n = 0;
	exai_status rc;

	if ((rc = upd_state_journal_get(c->st, &j, e)) ||
	    (rc = upd_state_counter(c->st, "created", &created, e)) ||
	    (rc = upd_state_counter(c->st, "root_version", &rootv, e)) ||
	    (rc = upd_state_channels(c->st, add_channel, chans, e)) ||
	    (rc = upd_state_list_installed(c->st, &rows, &n, e))) {
		json_decref(o);
		json_decref(rat);
		json_decref(chans);
		return rc;
	}
	upd_activity a;
	upd_state_probe(c->cfg->state_dir, &a);
	exai_json_set(o, "ok", json_true());
	/* pending: an interrupted operation that recover must finish; running: lock held. */
	exai_json_set(o, "pending", j.present && !a.running ? journal_json(&j) : json_null());
	exai_json_set(o, "running", a.running ? running_json(&a, &j) : json_null());
	exai_json_set(rat, "channels", chans);
	exai_json_set(rat, "created", json_integer((json_int_t)created));
	exai_json_set(rat, "created_utc", iso_json(created));
	exai_json_set(rat, "root_version", json_integer((json_int_t)rootv));
	exai_json_set(o, "ratchets", rat);
	trust_info ti;
	trust_get(c, rootv, &ti);
	exai_json_set(o, "trust_root", trust_json(c, &ti));
	comps = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *cj = json_pack("{s:s,s:s,s:o,s:o}", "type", rows[i].type, "name",
				       rows[i].name, "current", ver_json(&rows[i].cur), "previous",
				       rows[i].has_prev ? ver_json(&rows[i].prev) : json_null());
		json_array_append_new(comps, cj);
	}
	exai_json_set(o, "components", comps);
	if (c->cfg->boot_selector) {
		char slot[2];
		exai_error ignored;
		if (upd_selector_read(c->cfg, slot, &ignored) == EXAI_OK)
			exai_json_set(o, "rootfs_active_slot", json_string(slot));
	}
	upd_journal_free(&j);
	free(rows);
	exai_json_emit(o, stdout);
	return EXAI_OK;
}

exai_status upd_print_status(upd_ctx *c, bool json, exai_error *e)
{
	upd_installed *rows = NULL;
	upd_journal j;
	uint64_t created = 0, rootv = 0;
	size_t n = 0;
	table chans = {.ncol = 2};
	trust_info ti;
	char when[32];
	exai_status rc;

	if (json)
		return status_json(c, e);
	if ((rc = upd_state_journal_get(c->st, &j, e)) ||
	    (rc = upd_state_counter(c->st, "created", &created, e)) ||
	    (rc = upd_state_counter(c->st, "root_version", &rootv, e)) ||
	    (rc = upd_state_list_installed(c->st, &rows, &n, e)))
		return rc;
	upd_activity a;
	upd_state_probe(c->cfg->state_dir, &a);
	if (a.running)
		print_running(&a, &j);
	else if (j.present)
		printf("PENDING: interrupted %s (phase %s, bundle %.16s): run 'exai-update "
		       "recover'\n",
		       j.op, j.phase, j.bundle_id);
	trust_get(c, rootv, &ti);
	print_trust(c, &ti);
	table_add(&chans, "CHANNEL", "SEQUENCE");
	if ((rc = upd_state_channels(c->st, add_channel_row, &chans, e)))
		goto out;
	if (!created && !rootv && chans.nrows == 1)
		printf("ratchets:    none yet (no bundle applied)\n");
	else
		printf("ratchets:    newest signed time %s, root version %llu\n",
		       iso_time(created, when), (unsigned long long)rootv);
	if (chans.nrows > 1) {
		printf("channels:\n");
		table_print(&chans, "  ");
	}
	if (c->cfg->boot_selector) {
		char slot[2];
		if (upd_selector_read(c->cfg, slot, e) == EXAI_OK)
			printf("rootfs:      boot slot %s (slot A %s, slot B %s)\n", slot,
			       c->cfg->rootfs_slot[0], c->cfg->rootfs_slot[1]);
		else
			printf("rootfs:      boot selector unreadable: %s\n", e->msg);
	}
	print_components(rows, n);
out:
	table_free(&chans);
	upd_journal_free(&j);
	free(rows);
	return rc;
}

/* ---- history ---- */

typedef struct hist_ctx {
	bool json;
	json_t *arr;
	table t;
} hist_ctx;

static void history_row(void *arg, int64_t id, uint64_t t, const upd_event *ev)
{
	hist_ctx *h = arg;
	char ids[24], bid[17], seq[24], when[32];

	if (h->json) {
		json_t *o = json_pack(
		    "{s:I,s:I,s:s,s:s,s:s,s:I,s:o,s:s,s:s}", "id", (json_int_t)id, "time",
		    (json_int_t)t, "op", ev->op, "bundle_id", ev->bundle_id, "channel", ev->channel,
		    "sequence", (json_int_t)ev->sequence, "signers", signers_json(ev->signers),
		    "outcome", ev->outcome, "reason", ev->reason);
		exai_json_set(o, "time_utc", iso_json(t));
		json_array_append_new(h->arr, o);
		return;
	}
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	snprintf(bid, sizeof(bid), "%.16s", ev->bundle_id);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)ev->sequence);
	table_add(&h->t, ids, iso_time(t, when), ev->op, ev->outcome, bid, ev->channel,
		  ev->bundle_id[0] ? seq : "-", ev->signers, ev->reason);
}

exai_status upd_print_history(upd_ctx *c, size_t limit, bool json, exai_error *e)
{
	hist_ctx h = {.json = json, .arr = json ? json_array() : NULL, .t = {.ncol = 9}};
	exai_status rc;

	if (!json)
		table_add(&h.t, "ID", "TIME", "OP", "OUTCOME", "BUNDLE", "CHANNEL", "SEQUENCE",
			  "SIGNERS", "REASON");
	rc = upd_state_history(c->st, limit, history_row, &h, e);
	if (!json && !rc && h.t.nrows == 1)
		printf("history: empty\n");
	else if (!json && !rc)
		table_print(&h.t, "");
	table_free(&h.t);
	if (rc) {
		json_decref(h.arr);
		return rc;
	}
	if (json)
		exai_json_emit(json_pack("{s:b,s:o}", "ok", 1, "history", h.arr), stdout);
	return EXAI_OK;
}
