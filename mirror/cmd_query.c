/*
 * cmd_query: `exai-mirror query [--class C] [--since T] [--until T] [--tenant X] [--limit N]
 * [--json]` and `exai-mirror stats [--json]`, on read-only connections.
 *
 * query prints the matching entries oldest first (by time, then index), at most --limit (default
 * 100, at most 100000). T is unix seconds or an ISO 8601 UTC time (2026-12-02T03:00:00Z) and
 * compares with the entry's time, the order shown (the record's own time, else its ingest second);
 * --since is inclusive, --until exclusive. The filters are served by the indexes on (class, time),
 * (tenant, time) and (time). A pruned entry (payload deleted by retention) is shown as pruned,
 * never left out. --explain prints SQLite's query plan for the filters instead of rows.
 *
 * --where FIELD=VALUE (at most WHERE_MAX, all must hold) compares a field of the stored payload:
 * FIELD is "body" or "body.<key>[.<key>]..." or "attributes.<key>[...]" (keys of A-Z a-z 0-9 _ -),
 * VALUE its value as text (a number as written in JSON, true/false as 1/0, a string unquoted).
 * No index serves it: it is checked on each row the indexed filters select (json_extract on the
 * payload), which --explain shows as the plan's scan or index search. A pruned entry cannot be
 * compared and is shown (as pruned) among the rows the other filters select.
 *
 * stats prints the entries per class and tenant, the counters (dropped:<class> for classes
 * never stored, refused:<reason>, scrubbed:<kind>), the queue depth (the bytes that waited for
 * the writer behind its last commit, a gauge it sets in that commit) and the last checkpoint.
 */
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/json.h"
#include "exai/sqlite.h"
#include "exai/text.h"
#include "mir_cli.h"

#define LIMIT_MAX 100000
#define WAITING	  "queue:waiting_bytes"
#define WHERE_MAX 8
#define FIELD_MAX 128

const char mir_query_help[] =
    "usage: exai-mirror query [--config FILE] [--class C] [--tenant X] [--since T] [--until T]\n"
    "                         [--where FIELD=VALUE]... [--limit N] [--json] [--explain]\n"
    "                         [--follow]\n"
    "\n"
    "Prints the matching entries oldest first (at most --limit, default 100, at most\n"
    "100000). T: unix seconds or YYYY-MM-DDTHH:MM:SSZ (--since inclusive, --until\n"
    "exclusive). --where (up to 8, all must hold): FIELD is body, body.KEY[.KEY]... or\n"
    "attributes.KEY[.KEY]..., VALUE its value as text; it is checked on the rows the\n"
    "indexed filters (class, tenant, time) select, not served by an index. A pruned\n"
    "entry is shown as pruned. --explain prints the query plan. --follow: then prints\n"
    "each matching entry as it is committed, until SIGINT (exit 0); with --json one\n"
    "compact JSON object a line.\n";
const char mir_stats_help[] =
    "usage: exai-mirror stats [--config FILE] [--json]\n"
    "\n"
    "Entries per class and tenant, refusals by reason, scrubber hits, the last checkpoint.\n";

enum { O_CLASS = MIR_O_FIRST, O_TENANT, O_SINCE, O_UNTIL, O_LIMIT, O_EXPLAIN, O_WHERE, O_FOLLOW };

static bool parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	uint64_t v;
	const char *end;

	if (exai_parse_u64_canon(s, &v) && v < ((uint64_t)1 << 62)) {
		*out = (int64_t)v;
		return true;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

static void iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)t);
}

typedef struct qargs {
	mir_common c;
	const char *cls, *tenant;
	int64_t since, until;
	bool has_since, has_until, explain;
	uint64_t limit;
	bool follow;
	int64_t after; /* with --follow, after the first round: only entries past this index */
	size_t n_where;
	char where_path[WHERE_MAX][FIELD_MAX + 2]; /* "$.body.op" */
	const char *where_value[WHERE_MAX];
} qargs;

/* The SELECT for @a: only the filters given, so SQLite picks the index that serves them;
 * values are bound (?1 class, ?2 tenant, ?3 since, ?4 until, ?5 limit, then per --where its
 * path and value), never pasted. Ordered by (time, idx), the order of every index's entries,
 * so no sort is needed. */
static void build_sql(const qargs *a, char *sql, size_t cap)
{
	size_t n = (size_t)snprintf(
	    sql, cap,
	    "%sSELECT idx, class, tenant, time, ingest_ms, payload FROM entries WHERE 1%s%s%s%s",
	    a->explain ? "EXPLAIN QUERY PLAN " : "", a->cls ? " AND class = ?1" : "",
	    a->tenant ? " AND tenant = ?2" : "", a->has_since ? " AND time >= ?3" : "",
	    a->has_until ? " AND time < ?4" : "");

	for (size_t i = 0; i < a->n_where && n < cap; i++)
		n += (size_t)snprintf(sql + n, cap - n,
				      " AND (payload IS NULL OR CAST(json_extract(CAST(payload AS "
				      "TEXT), ?%zu) AS TEXT) = ?%zu)",
				      6 + 2 * i, 7 + 2 * i);
	if (n < cap && a->after >= 0) /* --follow: what was committed since, in log order */
		snprintf(sql + n, cap - n, " AND idx > ?30 ORDER BY idx");
	else if (n < cap)
		snprintf(sql + n, cap - n, " ORDER BY time, idx LIMIT ?5");
}

/* FIELD=VALUE into @a's next --where; a refusal names what is wrong. */
static int add_where(const exai_cli_call *call, qargs *a, const char *v)
{
	const char *eq = strchr(v, '='), *k;
	size_t flen = eq ? (size_t)(eq - v) : 0;
	bool body, need_key = false;

	if (a->n_where == WHERE_MAX)
		return exai_cli_refuse(call, "at most %d --where", WHERE_MAX);
	if (!eq || flen == 0 || flen > FIELD_MAX)
		return exai_cli_refuse(
		    call, "--where wants FIELD=VALUE (FIELD at most %d bytes), not '%s'", FIELD_MAX,
		    v);
	body = flen >= 4 && !strncmp(v, "body", 4) && (flen == 4 || v[4] == '.');
	if (!body && !(flen > 11 && !strncmp(v, "attributes.", 11)))
		return exai_cli_refuse(
		    call, "--where field '%.*s': body, body.KEY... or attributes.KEY...", (int)flen,
		    v);
	for (k = v + (body ? 4 : 10); k < eq; k++) { /* (".KEY")*, each KEY not empty */
		if (*k == '.' ? need_key : !(isalnum((unsigned char)*k) || *k == '_' || *k == '-'))
			break;
		need_key = *k == '.';
	}
	if (k < eq || need_key)
		return exai_cli_refuse(call, "--where field '%.*s': keys are A-Z a-z 0-9 _ -",
				       (int)flen, v);
	snprintf(a->where_path[a->n_where], sizeof(a->where_path[0]), "$.%.*s", (int)flen, v);
	a->where_value[a->n_where++] = eq + 1;
	return 0;
}

static json_t *entry_json(sqlite3_stmt *st)
{
	json_t *o =
	    json_pack("{s:I,s:s,s:s,s:I,s:I}", "index", (json_int_t)sqlite3_column_int64(st, 0),
		      "class", (const char *)sqlite3_column_text(st, 1), "tenant",
		      (const char *)sqlite3_column_text(st, 2), "time",
		      (json_int_t)sqlite3_column_int64(st, 3), "ingest_ms",
		      (json_int_t)sqlite3_column_int64(st, 4));
	json_t *p = NULL;

	if (!o)
		return NULL;
	if (sqlite3_column_type(st, 5) == SQLITE_NULL) {
		json_object_set_new(o, "pruned", json_true());
		return o;
	}
	p = json_loadb(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5), 0, NULL);
	json_object_set(o, "body", p ? json_object_get(p, "body") : json_null());
	if (p && json_object_get(p, "attributes"))
		json_object_set(o, "attributes", json_object_get(p, "attributes"));
	json_decref(p);
	return o;
}

static void print_text(sqlite3_stmt *st)
{
	char when[32];
	json_t *o = entry_json(st);
	char *body = NULL;

	iso(sqlite3_column_int64(st, 3), when);
	if (o && json_object_get(o, "body"))
		body = json_dumps(json_object_get(o, "body"), JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%lld  %s  %s  %s  %s\n", (long long)sqlite3_column_int64(st, 0), when,
	       (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 2),
	       body ? body : "(pruned)");
	free(body);
	json_decref(o);
}

/* One entry of --follow: a text line, or with --json one compact JSON line. */
static void print_line(sqlite3_stmt *st, bool json)
{
	json_t *o;
	char *txt;

	if (!json) {
		print_text(st);
		return;
	}
	o = entry_json(st);
	txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (txt)
		printf("%s\n", txt);
	free(txt);
	json_decref(o);
}

/* Runs @a's query once; *@last gets the highest index printed (unchanged when none). */
static exai_status run_query(sqlite3 *db, const qargs *a, int64_t *last, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	json_t *list = a->c.json && !a->follow ? json_array() : NULL;
	char sql[2048];
	exai_status rc;
	bool row;

	build_sql(a, sql, sizeof(sql));
	if ((rc = exai_sqlite_prepare(db, sql, "query", &st, e)))
		goto out;
	if (a->cls)
		sqlite3_bind_text(st, 1, a->cls, -1, SQLITE_STATIC);
	if (a->tenant)
		sqlite3_bind_text(st, 2, a->tenant, -1, SQLITE_STATIC);
	if (a->has_since)
		sqlite3_bind_int64(st, 3, a->since);
	if (a->has_until)
		sqlite3_bind_int64(st, 4, a->until);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)a->limit);
	for (size_t i = 0; i < a->n_where; i++) {
		sqlite3_bind_text(st, (int)(6 + 2 * i), a->where_path[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(st, (int)(7 + 2 * i), a->where_value[i], -1, SQLITE_STATIC);
	}
	if (a->after >= 0)
		sqlite3_bind_int64(st, 30, a->after);
	while (!(rc = exai_sqlite_step(st, "query", &row, e)) && row) {
		if (sqlite3_column_int64(st, 0) > *last)
			*last = sqlite3_column_int64(st, 0);
		if (a->explain)
			printf("%s\n", (const char *)sqlite3_column_text(st, 3));
		else if (list)
			json_array_append_new(list, entry_json(st));
		else if (a->follow)
			print_line(st, a->c.json);
		else
			print_text(st);
	}
	fflush(stdout);
	if (!rc && list && !a->explain) {
		exai_json_emit(json_pack("{s:b,s:o}", "ok", 1, "entries", list), stdout);
		list = NULL;
	}
out:
	json_decref(list);
	sqlite3_finalize(st);
	return rc;
}

/* One option of query into @a: 0, or what exai_cli_exit makes the exit code of. */
static int query_opt(const exai_cli_call *call, qargs *a, int id, const char *v)
{
	switch (id) {
	case O_CLASS:
		a->cls = v;
		return 0;
	case O_TENANT:
		a->tenant = v;
		return 0;
	case O_EXPLAIN:
		a->explain = true;
		return 0;
	case O_WHERE:
		return add_where(call, a, v);
	case O_FOLLOW:
		a->follow = true;
		return 0;
	case O_SINCE:
	case O_UNTIL:
		if (!parse_time(v, id == O_SINCE ? &a->since : &a->until))
			return exai_cli_refuse(
			    call, "'%s' is not unix seconds or YYYY-MM-DDTHH:MM:SSZ", v);
		*(id == O_SINCE ? &a->has_since : &a->has_until) = true;
		return 0;
	case O_LIMIT:
		if (!exai_parse_u64_canon(v, &a->limit) || a->limit == 0 || a->limit > LIMIT_MAX)
			return exai_cli_refuse(call, "--limit must be 1 to %d", LIMIT_MAX);
		return 0;
	case EXAI_CLI_ARG:
		return exai_cli_refuse(call, "unexpected argument '%s'", v);
	default:
		return mir_common_opt(&a->c, id, v) ? 0 : id;
	}
}

static int parse_query(const exai_cli_call *call, int argc, char **argv, qargs *a)
{
	static const exai_cli_opt opts[] = {MIR_GLOBAL_OPTS,
					    {"class", true, O_CLASS},
					    {"tenant", true, O_TENANT},
					    {"since", true, O_SINCE},
					    {"until", true, O_UNTIL},
					    {"limit", true, O_LIMIT},
					    {"explain", false, O_EXPLAIN},
					    {"where", true, O_WHERE},
					    {"follow", false, O_FOLLOW},
					    {NULL, false, 0}};
	exai_cli_parser p;
	const char *v;
	int id, ret;

	a->limit = 100;
	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END)
		if ((ret = query_opt(call, a, id, v)))
			return ret;
	if (a->follow && a->explain)
		return exai_cli_refuse(call, "--follow and --explain do not go together");
	return 0;
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The log's highest index now (-1: empty). */
static exai_status log_end(sqlite3 *db, int64_t *end, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc = exai_sqlite_prepare(db, "SELECT coalesce(max(idx), -1) FROM entries",
					     "log end", &st, e);
	bool row = false;

	if (!rc && !(rc = exai_sqlite_step(st, "log end", &row, e)) && row)
		*end = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* --follow: the matching entries as usual, then, until SIGINT, each matching entry committed
 * after them, in log order (polled every 200 ms on the read-only connection). The first round
 * and the log's end are read in one read transaction, so nothing is missed or shown twice. */
static exai_status follow(sqlite3 *db, qargs *a, exai_error *e)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	const struct timespec tick = {.tv_nsec = 200 * 1000 * 1000};
	int64_t last = -1, end = -1;
	exai_status rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	a->after = -1;
	if ((rc = exai_sqlite_exec(db, "BEGIN", "follow", e)))
		return rc;
	if (!(rc = run_query(db, a, &last, e)))
		rc = log_end(db, &end, e);
	if (exai_sqlite_exec(db, "COMMIT", "follow", e) && !rc)
		rc = EXAI_EIO;
	a->after = end;
	while (!rc && !interrupted) {
		nanosleep(&tick, NULL);
		if (!interrupted)
			rc = run_query(db, a, &a->after, e);
	}
	return rc;
}

int mir_cmd_query(const exai_cli_call *call, int argc, char **argv)
{
	qargs a = {.after = -1};
	int64_t last = -1;
	mir_config *cfg = NULL;
	sqlite3 *db = NULL;
	exai_error e;
	int code = parse_query(call, argc, argv, &a);

	if (code)
		return exai_cli_exit(code);
	if ((code = mir_open_store("query", a.c.config, a.c.json, &cfg, &db)))
		return code;
	if (a.follow ? follow(db, &a, &e) : run_query(db, &a, &last, &e))
		code = mir_report("query", &e, a.c.json, EXAI_EXIT_USAGE);
	exai_sqlite_close(db);
	mir_config_free(cfg);
	return code;
}

/* Rows of a two- or three-column query into @out as {k: v} or {k: {k2: v}}. */
static exai_status collect(sqlite3 *db, const char *sql, json_t *out, bool nested, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(db, sql, "stats", &st, e)))
		return rc;
	while (!(rc = exai_sqlite_step(st, "stats", &row, e)) && row) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (nested) {
			json_t *m = json_object_get(out, k);
			if (!m)
				json_object_set_new(out, k, m = json_object());
			json_object_set_new(m, (const char *)sqlite3_column_text(st, 1),
					    json_integer(sqlite3_column_int64(st, 2)));
		} else {
			json_object_set_new(out, k, json_integer(sqlite3_column_int64(st, 1)));
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static void print_stats(json_t *o)
{
	const char *k, *k2;
	json_t *v, *v2;

	printf("entries:          %lld\n",
	       (long long)json_integer_value(json_object_get(o, "entries")));
	json_object_foreach(json_object_get(o, "by_class"), k, v) json_object_foreach(v, k2, v2)
	    printf("  %-16s %-16s %lld\n", k, k2, (long long)json_integer_value(v2));
	printf("last checkpoint:  size %lld\n",
	       (long long)json_integer_value(json_object_get(o, "last_checkpoint")));
	printf("queue depth:      %lld bytes waiting for the writer (at its last commit)\n",
	       (long long)json_integer_value(
		   json_object_get(json_object_get(o, "queue"), "waiting_bytes")));
	printf("counters:\n");
	json_object_foreach(json_object_get(o, "counters"), k, v)
	    printf("  %-30s %lld\n", k, (long long)json_integer_value(v));
}

int mir_cmd_stats(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {MIR_GLOBAL_OPTS, {NULL, false, 0}};
	mir_config *cfg = NULL;
	mir_common c = {0};
	exai_cli_parser p;
	sqlite3 *db = NULL;
	const char *v;
	json_t *o = NULL, *byc = json_object(), *ctr = json_object(), *tot = json_object();
	json_int_t wait_b;
	exai_error e;
	int id, code = EXAI_EXIT_OK;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG) {
			code = exai_cli_refuse(call, "unexpected argument '%s'", v);
			goto out;
		}
		if (!mir_common_opt(&c, id, v)) {
			code = exai_cli_exit(id);
			goto out;
		}
	}
	if ((code = mir_open_store("stats", c.config, c.json, &cfg, &db)))
		goto out;
	if (collect(db, "SELECT class, tenant, count(*) FROM entries GROUP BY class, tenant", byc,
		    true, &e) ||
	    collect(db, "SELECT name, value FROM counters ORDER BY name", ctr, false, &e) ||
	    collect(db,
		    "SELECT 'entries', count(*) FROM entries UNION ALL SELECT 'size', "
		    "coalesce(max(size), 0) FROM checkpoints",
		    tot, false, &e)) {
		code = mir_report("stats", &e, c.json, EXAI_EXIT_USAGE);
		goto out;
	}
	/* The queue depth is a gauge the writer sets at each commit, not a counter. */
	wait_b = json_integer_value(json_object_get(ctr, WAITING));
	json_object_del(ctr, WAITING);
	o = json_pack("{s:b,s:O,s:O,s:O,s:O,s:{s:I}}", "ok", 1, "entries",
		      json_object_get(tot, "entries"), "by_class", byc, "counters", ctr,
		      "last_checkpoint", json_object_get(tot, "size"), "queue", "waiting_bytes",
		      (json_int_t)wait_b);
	if (c.json)
		exai_json_emit(json_incref(o), stdout);
	else
		print_stats(o);
out:
	json_decref(o);
	json_decref(byc);
	json_decref(ctr);
	json_decref(tot);
	exai_sqlite_close(db);
	mir_config_free(cfg);
	return code;
}
