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
 * stats prints the entries per class and tenant, the counters (dropped:<class> for classes
 * never stored, refused:<reason>) and the last checkpoint.
 */
#include <getopt.h>
#include <jansson.h>
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

static const char query_usage[] =
    "usage: exai-mirror query [--config FILE] [--class C] [--tenant X] [--since T] [--until T]\n"
    "                         [--limit N] [--json] [--explain]\n"
    "  T: unix seconds or YYYY-MM-DDTHH:MM:SSZ. Oldest first; --limit defaults to 100.\n";
static const char stats_usage[] = "usage: exai-mirror stats [--config FILE] [--json]\n";

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
	const char *config, *cls, *tenant;
	int64_t since, until;
	bool has_since, has_until, json, explain;
	uint64_t limit;
} qargs;

/* The SELECT for @a: only the filters given, so SQLite picks the index that serves them;
 * values are bound (?1 class, ?2 tenant, ?3 since, ?4 until, ?5 limit), never pasted. Ordered
 * by (time, idx), the order of every index's entries, so no sort is needed. */
static void build_sql(const qargs *a, char *sql, size_t cap)
{
	snprintf(
	    sql, cap,
	    "%sSELECT idx, class, tenant, time, ingest_ms, payload FROM entries WHERE 1%s%s%s%s "
	    "ORDER BY time, idx LIMIT ?5",
	    a->explain ? "EXPLAIN QUERY PLAN " : "", a->cls ? " AND class = ?1" : "",
	    a->tenant ? " AND tenant = ?2" : "", a->has_since ? " AND time >= ?3" : "",
	    a->has_until ? " AND time < ?4" : "");
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

static exai_status run_query(sqlite3 *db, const qargs *a, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	json_t *list = a->json ? json_array() : NULL;
	char sql[512];
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
	while (!(rc = exai_sqlite_step(st, "query", &row, e)) && row) {
		if (a->explain)
			printf("%s\n", (const char *)sqlite3_column_text(st, 3));
		else if (list)
			json_array_append_new(list, entry_json(st));
		else
			print_text(st);
	}
	if (!rc && list && !a->explain) {
		exai_json_emit(json_pack("{s:b,s:o}", "ok", 1, "entries", list), stdout);
		list = NULL;
	}
out:
	json_decref(list);
	sqlite3_finalize(st);
	return rc;
}

static int parse_query(int argc, char **argv, qargs *a)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"class", required_argument, NULL, 'k'},
	    {"tenant", required_argument, NULL, 't'}, {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},  {"limit", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},	      {"help", no_argument, NULL, 'h'},
	    {"explain", no_argument, NULL, 'x'},      {0}};
	int c;

	a->limit = 100;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 'k':
			a->cls = optarg;
			break;
		case 't':
			a->tenant = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'x':
			a->explain = true;
			break;
		case 's':
		case 'u':
			if (!parse_time(optarg, c == 's' ? &a->since : &a->until))
				return mir_usage_error("query",
						       "'%s' is not unix seconds or "
						       "YYYY-MM-DDTHH:MM:SSZ",
						       optarg);
			*(c == 's' ? &a->has_since : &a->has_until) = true;
			break;
		case 'l':
			if (!exai_parse_u64_canon(optarg, &a->limit) || a->limit == 0 ||
			    a->limit > LIMIT_MAX)
				return mir_usage_error("query", "--limit must be 1 to %d",
						       LIMIT_MAX);
			break;
		case 'h':
			fputs(query_usage, stdout);
			return -1;
		default:
			return mir_bad_option("query", argv);
		}
	}
	if (optind < argc)
		return mir_usage_error("query", "unexpected argument '%s'", argv[optind]);
	return 0;
}

int mir_cmd_query(int argc, char **argv)
{
	qargs a = {0};
	mir_config *cfg = NULL;
	sqlite3 *db = NULL;
	exai_error e;
	int code = parse_query(argc, argv, &a);

	if (code)
		return code < 0 ? EXAI_EXIT_OK : code;
	if ((code = mir_open_store("query", a.config, a.json, &cfg, &db)))
		return code;
	if (run_query(db, &a, &e))
		code = mir_report("query", &e, a.json, EXAI_EXIT_USAGE);
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
	printf("counters:\n");
	json_object_foreach(json_object_get(o, "counters"), k, v)
	    printf("  %-30s %lld\n", k, (long long)json_integer_value(v));
}

int mir_cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {0}};
	const char *config = NULL;
	mir_config *cfg = NULL;
	sqlite3 *db = NULL;
	bool json = false;
	json_t *o = NULL, *byc = json_object(), *ctr = json_object(), *tot = json_object();
	exai_error e;
	int c, code;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c')
			config = optarg;
		else if (c == 'j')
			json = true;
		else if (c == 'h')
			return fputs(stats_usage, stdout), EXAI_EXIT_OK;
		else
			return mir_bad_option("stats", argv);
	}
	if (optind < argc)
		return mir_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	if ((code = mir_open_store("stats", config, json, &cfg, &db)))
		goto out;
	if (collect(db, "SELECT class, tenant, count(*) FROM entries GROUP BY class, tenant", byc,
		    true, &e) ||
	    collect(db, "SELECT name, value FROM counters ORDER BY name", ctr, false, &e) ||
	    collect(db,
		    "SELECT 'entries', count(*) FROM entries UNION ALL SELECT 'size', "
		    "coalesce(max(size), 0) FROM checkpoints",
		    tot, false, &e)) {
		code = mir_report("stats", &e, json, EXAI_EXIT_USAGE);
		goto out;
	}
	o = json_pack("{s:b,s:O,s:O,s:O,s:O}", "ok", 1, "entries", json_object_get(tot, "entries"),
		      "by_class", byc, "counters", ctr, "last_checkpoint",
		      json_object_get(tot, "size"));
	if (json)
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
