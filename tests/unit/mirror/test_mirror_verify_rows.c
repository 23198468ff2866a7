/*
 * mirror verify_rows: the row pass of `exai-mirror verify` (mirror/verify_rows.c).
 *   - the columns check by bytes agrees with a jansson parse of the payloads the writer
 *     really makes (record.c, an exai-update event, bodies that hold "class" and "time"
 *     themselves), and refuses every altered column, a column that is not a name, a column
 *     with a NUL byte in it, and a payload cut short;
 *   - on a real store (store.c's writer, 5000 entries: three chunks of the hashing pipeline),
 *     every row is found, each leaf hash is the writer's own node (0, i), and each tampered
 *     row (in the first, second and last chunk) is flagged with exactly its own problem.
 * Run twice: with the SHA extensions and with EXAI_SHA_GENERIC=1 (the OpenSSL path).
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/event.h"
#include "exai/hash.h"
#include "exai/secmem.h"
#include "exai/sqlite.h"
#include "exai/file.h"
#include "record.h"
#include "scrub.h"
#include "store.h"
#include "mirror_fixture.h"
#include "testutil.h"
#include "verify_rows.h"

#define ROWS 5000

static mir_config cfg;
static mir_scrubber *scrubber;
static char *dir;

static void setup(void)
{
	mir_test_setup(&cfg, &scrubber);
	dir = tu_tempdir();
}

static void teardown(void)
{
	mir_scrubber_free(scrubber);
	tu_rmtree(dir);
	free(dir);
}

static void parse(const char *line, const char *tenant, int64_t ms, mir_record *r)
{
	exai_error e;

	ck_assert_msg(mir_record_parse(&cfg, scrubber, tenant, ms, line, strlen(line), r, &e) ==
			  EXAI_OK,
		      "%s: %s", line, e.msg);
	ck_assert(!r->dropped);
}

static bool matches(const mir_record *r, const char *cls, const char *tenant, int64_t time,
		    int64_t ms)
{
	return mir_payload_matches((const uint8_t *)r->payload, r->payload_len, cls, strlen(cls),
				   tenant, strlen(tenant), time, ms);
}

/* What jansson reads in @r's payload agrees with the columns @r would be stored with. */
static void agrees_with_jansson(const mir_record *r, const char *tenant)
{
	json_t *o = json_loadb(r->payload, r->payload_len, JSON_REJECT_DUPLICATES, NULL);

	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "class")), r->cls->name);
	ck_assert_str_eq(json_string_value(json_object_get(o, "tenant")), tenant);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "time")), r->time);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ingest_ms")), r->ingest_ms);
	json_decref(o);
}

START_TEST(writer_payloads_match_their_columns)
{
	static const char *const lines[] = {
	    "{\"class\":\"telemetry\",\"time\":1796000000,\"body\":{\"cpu\":0.5},"
	    "\"attributes\":{\"host\":\"n1\"}}",
	    "{\"class\":\"telemetry\",\"body\":\"no time, no attributes\"}",
	    "{\"class\":\"audit\",\"time\":0,\"body\":{\"class\":\"x\",\"time\":5,\"tenant\":\"y\"}"
	    "}",
	    "{\"body\":\"\\\",\\\"class\\\":\\\"audit\\\"}\",\"class\":\"telemetry\",\"time\":9}",
	    "{\"class\":\"telemetry\",\"time\":9223372036854775807,\"body\":[1,2,{\"z\":null}]}",
	};
	char *ev_line;
	exai_event ev = {.time = 1796000123, .sequence = 6};
	mir_record r;
	exai_error e;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		parse(lines[i], "system", 1796000000999, &r);
		agrees_with_jansson(&r, "system");
		ck_assert_msg(matches(&r, r.cls->name, "system", r.time, r.ingest_ms), "%s",
			      r.payload);
		mir_record_clear(&r);
	}
	strcpy(ev.source, "exai-update");
	strcpy(ev.op, "apply");
	strcpy(ev.outcome, "ok");
	strcpy(ev.channel, "stable");
	ck_assert_ptr_nonnull(ev_line = exai_event_line(&ev, &e));
	parse(ev_line, "root.tenant-1", 7, &r);
	agrees_with_jansson(&r, "root.tenant-1");
	ck_assert_str_eq(r.cls->name, "audit");
	ck_assert(matches(&r, "audit", "root.tenant-1", 1796000123, 7));
	mir_record_clear(&r);
	free(ev_line);
}
END_TEST

START_TEST(altered_columns_do_not_match)
{
	mir_record r;
	const char nul_cls[] = "telemetry\0x";

	parse("{\"class\":\"telemetry\",\"time\":1796000000,\"body\":1}", "bench", 1796000000500,
	      &r);
	ck_assert(matches(&r, "telemetry", "bench", 1796000000, 1796000000500));
	ck_assert(!matches(&r, "audit", "bench", 1796000000, 1796000000500));
	ck_assert(!matches(&r, "telemetr", "bench", 1796000000, 1796000000500));
	ck_assert(!matches(&r, "telemetry", "bencH", 1796000000, 1796000000500));
	ck_assert(!matches(&r, "telemetry", "bench", 1796000001, 1796000000500));
	ck_assert(!matches(&r, "telemetry", "bench", 1796000000, 1796000000501));
	ck_assert(!matches(&r, "telemetry", "bench", -1796000000, 1796000000500));
	ck_assert(!matches(&r, "telemetry", "", 1796000000, 1796000000500));
	/* a NUL inside the column: its bytes are not the name strcmp would see */
	ck_assert(!mir_payload_matches((const uint8_t *)r.payload, r.payload_len, nul_cls,
				       sizeof(nul_cls) - 1, "bench", 5, 1796000000, 1796000000500));
	/* not names: a quote, or one byte over MIR_NAME_MAX */
	ck_assert(!matches(&r, "tele\"metry", "bench", 1796000000, 1796000000500));
	{
		char long_name[MIR_NAME_MAX + 2];
		memset(long_name, 'a', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		ck_assert(!matches(&r, long_name, "bench", 1796000000, 1796000000500));
	}
	/* the payload cut by its last byte, or starting elsewhere than '{' */
	ck_assert(!mir_payload_matches((const uint8_t *)r.payload, r.payload_len - 1, "telemetry",
				       9, "bench", 5, 1796000000, 1796000000500));
	r.payload[0] = '[';
	ck_assert(!matches(&r, "telemetry", "bench", 1796000000, 1796000000500));
	ck_assert(!mir_payload_matches((const uint8_t *)"}", 1, "telemetry", 9, "bench", 5,
				       1796000000, 1796000000500));
	mir_record_clear(&r);
}
END_TEST

/* A store of ROWS entries made by the writer's own code. */
static char *make_store(void)
{
	char *path = exai_path_join(dir, "mirror.db");
	mir_store *s = NULL;
	exai_error e;
	char line[256];

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(mir_store_open(path, "test.example/log", &s, &e), EXAI_OK);
	ck_assert_int_eq(mir_store_begin(s, &e), EXAI_OK);
	for (int i = 0; i < ROWS; i++) {
		mir_record r;
		uint64_t idx;
		snprintf(
		    line, sizeof(line),
		    "{\"class\":\"telemetry\",\"time\":%d,\"body\":{\"seq\":%d,\"msg\":\"entry "
		    "%d\"},\"attributes\":{\"host\":\"n%d\"}}",
		    1796000000 + i, i, i, i % 7);
		parse(line, i % 2 ? "odd" : "even", 1796000000000 + i, &r);
		ck_assert_int_eq(mir_store_append(s, &r, i % 2 ? "odd" : "even", &idx, &e),
				 EXAI_OK);
		ck_assert_int_eq(idx, i);
		mir_record_clear(&r);
	}
	ck_assert_int_eq(mir_store_commit(s, &e), EXAI_OK);
	mir_store_close(s);
	return path;
}

static void tamper(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	exai_error e;

	ck_assert_int_eq(exai_sqlite_open_rw(path, false, &db, &e), EXAI_OK);
	ck_assert_msg(exai_sqlite_exec(db, sql, "tamper", &e) == EXAI_OK, "%s", e.msg);
	exai_sqlite_close(db);
}

static void read_rows(const char *path, mir_vrows *v, sqlite3 **db)
{
	exai_error e;

	ck_assert_int_eq(mir_store_open_ro(path, db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(*db, "BEGIN", "begin", &e), EXAI_OK);
	ck_assert_msg(mir_vrows_read(*db, v, &e) == EXAI_OK, "%s", e.msg);
}

/* Each leaf hash of a row with a leaf of the right size is the tree's leaf hash of its leaf
 * (tree.c's mir_hash_leaf, one hash at a time); missing and wrong-size rows have none (zero). */
static void leaves_are_the_writers(sqlite3 *db, const mir_vrows *v)
{
	static const uint8_t zero[32];
	sqlite3_stmt *st = NULL;
	uint64_t n = 0, present = 0;

	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "SELECT idx, leaf FROM entries WHERE idx >= 0", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t i = (uint64_t)sqlite3_column_int64(st, 0);
		bool has = (v->flags[i] & MIR_VR_PRESENT) && !(v->flags[i] & MIR_VR_BADSIZE);
		mir_hash lh;
		exai_error e;
		ck_assert_uint_lt(i, v->n);
		ck_assert_int_eq(mir_hash_leaf(sqlite3_column_blob(st, 1),
					       (size_t)sqlite3_column_bytes(st, 1), lh, &e),
				 EXAI_OK);
		ck_assert_msg(!memcmp(has ? lh : zero, v->leaves[i], 32), "leaf hash %llu",
			      (unsigned long long)i);
		n++;
	}
	sqlite3_finalize(st);
	for (uint64_t i = 0; i < v->n; i++)
		present += (v->flags[i] & MIR_VR_PRESENT) != 0;
	ck_assert_uint_eq(n, present);
}

START_TEST(a_good_store_has_no_findings)
{
	char *path = make_store();
	sqlite3 *db = NULL;
	mir_vrows v;

	read_rows(path, &v, &db);
	ck_assert_uint_eq(v.n, ROWS);
	ck_assert_uint_eq(v.pruned, 0);
	ck_assert_uint_eq(v.negative, 0);
	for (uint64_t i = 0; i < v.n; i++)
		ck_assert_msg(v.flags[i] == MIR_VR_PRESENT, "entry %llu: flags %u",
			      (unsigned long long)i, v.flags[i]);
	leaves_are_the_writers(db, &v);
	mir_vrows_free(&v);
	mir_vrows_free(&v); /* freeing twice is harmless */
	exai_sqlite_close(db);
	free(path);
}
END_TEST

START_TEST(each_tampered_row_is_flagged)
{
	char *path = make_store();
	sqlite3 *db = NULL;
	mir_vrows v;

	tamper(
	    path,
	    "UPDATE entries SET payload = replace(payload, 'entry 1', 'entry X') WHERE idx = 1;"
	    "UPDATE entries SET payload = replace(payload, 'entry 2100', 'entry 2101') "
	    "WHERE idx = 2100;"
	    "UPDATE entries SET payload = NULL WHERE idx = 2500;"
	    "UPDATE entries SET time = time + 1 WHERE idx = 3000;"
	    "UPDATE entries SET ingest_ms = ingest_ms - 1 WHERE idx = 3001;"
	    "UPDATE entries SET class = 'audit' WHERE idx = 3002;"
	    "UPDATE entries SET tenant = 'odd' WHERE idx = 3004;"
	    "UPDATE entries SET time = time || 'x' WHERE idx = 3006;"
	    "UPDATE entries SET tenant = CAST('even' || X'00' || 'x' AS TEXT) WHERE idx = 3008;"
	    "UPDATE entries SET nonce = X'00' WHERE idx = 4000;"
	    "DELETE FROM entries WHERE idx IN (4500, 4501);"
	    "UPDATE entries SET payload = replace(payload, 'entry 4999', 'entry 4998') "
	    "WHERE idx = 4999;"
	    "INSERT INTO entries SELECT -5, class, tenant, time, ingest_ms, nonce, payload, leaf "
	    "FROM entries WHERE idx = 7;");
	read_rows(path, &v, &db);
	ck_assert_uint_eq(v.n, ROWS);
	ck_assert_uint_eq(v.pruned, 1);
	ck_assert_uint_eq(v.negative, 1);
	ck_assert_int_eq(v.first_negative, -5);
	for (uint64_t i = 0; i < v.n; i++) {
		unsigned want = MIR_VR_PRESENT;
		switch (i) {
		case 1:
		case 2100:
		case 4999:
			want |= MIR_VR_PAYLOAD; /* the columns still match: only the body changed */
			break;
		case 2500:
			want |= MIR_VR_PRUNED;
			break;
		case 3000:
		case 3001:
		case 3002:
		case 3004:
		case 3006:
		case 3008:
			want |= MIR_VR_COLUMNS;
			break;
		case 4000:
			want |= MIR_VR_BADSIZE;
			break;
		case 4500:
		case 4501:
			want = 0;
			break;
		default:
			break;
		}
		ck_assert_msg(v.flags[i] == want, "entry %llu: flags %u, want %u",
			      (unsigned long long)i, v.flags[i], want);
	}
	leaves_are_the_writers(db, &v);
	mir_vrows_free(&v);
	exai_sqlite_close(db);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mirror_verify_rows");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, writer_payloads_match_their_columns);
	tcase_add_test(tc, altered_columns_do_not_match);
	tcase_add_test(tc, a_good_store_has_no_findings);
	tcase_add_test(tc, each_tampered_row_is_flagged);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
