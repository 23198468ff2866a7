/* Check suite for appliance/state.c: ratchets only rise, rows round-trip, the journal, the
 * outbox, an injected commit failure leaves nothing behind, and the run lock. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/event.h"
#include "exai/update_state.h"
#include "ratchets.h"
#include "state.h"
#include "testutil.h"

/* Opens the state in @dir, provisioning it first when it has none. */
static upd_state *open_state(const char *dir, bool lock)
{
	upd_state *s = NULL;
	char path[4200], id[33];
	exai_error e;

	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (access(path, F_OK) != 0)
		ck_assert_msg(upd_state_init(dir, id, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_msg(upd_state_open(dir, lock, &s, &e) == EXAI_OK, "%s", e.msg);
	return s;
}

/* Runs the shell command @tmpl with @dir for every '@'. */
static int sh(const char *tmpl, const char *dir)
{
	char cmd[16384];
	size_t n = 0, dl = strlen(dir);

	for (const char *p = tmpl; *p && n + dl + 1 < sizeof(cmd); p++) {
		if (*p == '@') {
			memcpy(cmd + n, dir, dl);
			n += dl;
		} else {
			cmd[n++] = *p;
		}
	}
	cmd[n] = '\0';
	return system(cmd);
}

static exai_status try_open(const char *dir, exai_error *e)
{
	upd_state *s = NULL;
	exai_status rc = upd_state_open(dir, false, &s, e);

	upd_state_close(s);
	return rc;
}

START_TEST(ratchets_only_rise)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true);
	exai_error e;
	uint64_t v;
	bool found;

	ck_assert_int_eq(upd_state_channel_seq(s, "stable", &v, &found, &e), EXAI_OK);
	ck_assert(!found);
	ck_assert_int_eq(upd_state_raise_channel(s, "stable", 7, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_raise_channel(s, "stable", 3, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_channel_seq(s, "stable", &v, &found, &e), EXAI_OK);
	ck_assert(found);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(upd_state_raise_counter(s, "created", 100, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_raise_counter(s, "created", 50, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_counter(s, "created", &v, &e), EXAI_OK);
	ck_assert_uint_eq(v, 100);
	upd_state_close(s);
	/* survives a reopen */
	s = open_state(dir, false);
	ck_assert_int_eq(upd_state_channel_seq(s, "stable", &v, &found, &e), EXAI_OK);
	ck_assert_uint_eq(v, 7);
	upd_state_close(s);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(installed_round_trip)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true);
	upd_installed in = {.type = "software", .name = "app", .time = 5}, out, *rows;
	size_t n;
	bool found;
	exai_error e;

	strcpy(in.cur.version, "2");
	strcpy(in.cur.loc, "b");
	in.cur.sequence = 9;
	in.has_prev = true;
	strcpy(in.prev.version, "1");
	strcpy(in.prev.loc, "a");
	in.prev.sequence = 4;
	ck_assert_int_eq(upd_state_put_installed(s, &in, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_get_installed(s, "software", "app", &out, &found, &e), EXAI_OK);
	ck_assert(found && out.has_prev);
	ck_assert_str_eq(out.cur.loc, "b");
	ck_assert_str_eq(out.prev.version, "1");
	ck_assert_uint_eq(out.prev.sequence, 4);
	in.has_prev = false;
	ck_assert_int_eq(upd_state_put_installed(s, &in, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_list_installed(s, &rows, &n, &e), EXAI_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert(!rows[0].has_prev);
	free(rows);
	upd_state_close(s);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(journal_and_outbox)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true);
	/* A refusal that quotes a hostile, non-UTF-8 entry name: the event must still be queued
	 * (jansson refuses such bytes; this once failed as "out of memory" and lost the row). */
	upd_event ev = {.op = "apply",
			.bundle_id =
			    "abababababababababababababababababababababababababababababababab",
			.channel = "c",
			.sequence = 3,
			.signers = "1C51780E3E465257",
			.outcome = "refused",
			.reason = "entry 'mod\xff"
				  "el.bin' is not part of the format"};
	upd_outbox_item *items;
	exai_event parsed;
	upd_journal j;
	size_t n;
	exai_error e;

	ck_assert_int_eq(upd_state_journal_set(s, "apply", "staging", "ab", "{}", &e), EXAI_OK);
	ck_assert_int_eq(upd_state_journal_phase(s, "switching", &e), EXAI_OK);
	ck_assert_int_eq(upd_state_journal_get(s, &j, &e), EXAI_OK);
	ck_assert(j.present);
	ck_assert_str_eq(j.phase, "switching");
	ck_assert_str_eq(j.plan, "{}");
	upd_journal_free(&j);
	ck_assert_int_eq(upd_state_journal_clear(s, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_journal_get(s, &j, &e), EXAI_OK);
	ck_assert(!j.present);

	ck_assert_int_eq(upd_state_add_history(s, &ev, true, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_add_history(s, &ev, false, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_outbox(s, 10, &items, &n, &e), EXAI_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(items[0].line, "\"op\":\"apply\""));
	ck_assert_int_eq(exai_event_parse(items[0].line, strlen(items[0].line), &parsed, &e),
			 EXAI_OK);
	ck_assert_str_eq(parsed.reason, "entry 'mod\xef\xbf\xbd"
					"el.bin' is not part of the format");
	ck_assert_str_eq(parsed.source, "exai-update");
	/* An event the line format cannot hold is refused by name, and no row is half-kept. */
	ev.channel = "not a name";
	ck_assert_int_eq(upd_state_add_history(s, &ev, true, &e), EXAI_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'channel'"));
	ck_assert_int_eq(
	    sh("test \"$(sqlite3 @/state.db 'SELECT count(*) FROM history')\" = 2", dir), 0);
	ck_assert_int_eq(
	    sh("sqlite3 @/state.db 'SELECT reason FROM history' | grep -q 'mod\xef\xbf\xbd"
	       "el.bin'",
	       dir),
	    0);
	ev.channel = "c";
	ck_assert_int_eq(upd_state_outbox_delete(s, items[0].id, &e), EXAI_OK);
	upd_outbox_free(items, n);
	ck_assert_int_eq(upd_state_outbox(s, 10, &items, &n, &e), EXAI_OK);
	ck_assert_uint_eq(n, 0);
	upd_outbox_free(items, n);
	upd_state_close(s);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(injected_commit_failure_keeps_nothing)
{
	char *dir = tu_tempdir();
	upd_state *s;
	exai_error e;
	uint64_t v;
	bool found;

	setenv("EXAI_FAULT", "db.commit:1:fail", 1); /* read at the first fault point */
	s = open_state(dir, true);
	ck_assert_int_eq(upd_state_begin(s, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_raise_channel(s, "stable", 5, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_commit(s, &e), EXAI_EIO);
	ck_assert_int_eq(upd_state_channel_seq(s, "stable", &v, &found, &e), EXAI_OK);
	ck_assert(!found);
	upd_state_close(s);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(second_locked_open_is_refused)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true), *s2 = NULL;
	exai_error e;

	ck_assert_int_eq(upd_state_open(dir, true, &s2, &e), EXAI_EEXIST);
	ck_assert_ptr_nonnull(strstr(e.msg, "another exai-update is running"));
	s2 = open_state(dir, false); /* readers do not lock */
	upd_state_close(s2);
	upd_state_close(s);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Per-file records: put replaces a tree's rows, reading them back gives the same records
 * (sorted), del removes one tree only; a schema-1 database is migrated, a newer one refused. */
START_TEST(file_records_round_trip_and_migrate)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true);
	upd_filelist l = {0}, back = {0};
	uint8_t md[EXAI_SHA256_LEN];
	exai_error e;

	memset(md, 0xab, sizeof(md));
	ck_assert_int_eq(upd_filelist_add(&l, "bin/run", UPD_F_FILE, 0755, 12, md, NULL, &e), 0);
	ck_assert_int_eq(upd_filelist_add(&l, ".", UPD_F_DIR, 0755, 0, NULL, NULL, &e), 0);
	ck_assert_int_eq(upd_filelist_add(&l, "bin", UPD_F_DIR, 0700, 0, NULL, NULL, &e), 0);
	ck_assert_int_eq(upd_filelist_add(&l, "lib/x.so", UPD_F_LINK, 0, 6, NULL, "x.so.1", &e), 0);
	ck_assert_int_eq(upd_state_put_files(s, "software", "app", "a", &l, &e), EXAI_EINTERNAL);
	ck_assert_int_eq(upd_filelist_finish(&l, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_put_files(s, "software", "app", "a", &l, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_put_files(s, "software", "app", "b", &l, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_put_files(s, "software", "app", "a", &l, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_files(s, "software", "app", "a", &back, &e), EXAI_OK);
	ck_assert_uint_eq(back.n, 4);
	ck_assert_str_eq(back.v[0].path, ".");
	ck_assert_str_eq(back.v[2].path, "bin/run");
	ck_assert_uint_eq(back.v[2].mode, 0755);
	ck_assert_uint_eq(back.v[2].size, 12);
	ck_assert_mem_eq(back.v[2].sha256, md, sizeof(md));
	ck_assert_str_eq(back.v[3].target, "x.so.1");
	upd_filelist_clear(&back);
	ck_assert_int_eq(upd_state_del_files(s, "software", "app", "a", &e), EXAI_OK);
	ck_assert_int_eq(upd_state_files(s, "software", "app", "a", &back, &e), EXAI_OK);
	ck_assert_uint_eq(back.n, 0);
	ck_assert_int_eq(upd_state_files(s, "software", "app", "b", &back, &e), EXAI_OK);
	ck_assert_uint_eq(back.n, 4);
	upd_filelist_clear(&back);
	upd_state_close(s);

	/* back to schema 1 by hand, as an older exai-update left it */
	char cmd[4200];
	snprintf(cmd, sizeof(cmd),
		 "sqlite3 %s/state.db \"DROP TABLE installed_file; UPDATE meta SET value = '1' "
		 "WHERE key = 'schema'\"",
		 dir);
	ck_assert_int_eq(system(cmd), 0);
	s = open_state(dir, false);
	ck_assert_int_eq(upd_state_files(s, "software", "app", "b", &back, &e), EXAI_OK);
	ck_assert_uint_eq(back.n, 0);
	ck_assert_int_eq(upd_state_put_files(s, "software", "app", "b", &l, &e), EXAI_OK);
	upd_state_close(s);
	snprintf(cmd, sizeof(cmd),
		 "test \"$(sqlite3 %s/state.db \"SELECT value FROM meta WHERE key = 'schema'\")\" "
		 "= 2 && "
		 "sqlite3 %s/state.db \"UPDATE meta SET value = '3' WHERE key = 'schema'\"",
		 dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(upd_state_open(dir, false, &s, &e), EXAI_EREFUSED);
	ck_assert_ptr_nonnull(strstr(e.msg, "schema version 3 is newer"));
	upd_filelist_clear(&l);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* Only init creates a state; every damaged or missing part is refused, never a fresh start. */
START_TEST(state_fails_closed)
{
	char *dir = tu_tempdir();
	char sub[4200], id[33];
	upd_state *s;
	exai_error e;

	snprintf(sub, sizeof(sub), "%s/st", dir);
	ck_assert_int_eq(try_open(sub, &e), EXAI_ECONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "is missing"));
	ck_assert_int_eq(access(sub, F_OK), -1); /* open created nothing */
	ck_assert_int_eq(upd_state_init(sub, id, &e), EXAI_OK);
	ck_assert_uint_eq(strlen(id), 32);
	ck_assert_int_eq(upd_state_init(sub, id, &e), EXAI_EEXIST);
	ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
	s = open_state(sub, true);
	ck_assert_int_eq(upd_state_raise_channel(s, "stable", 4, &e), EXAI_OK);
	upd_state_close(s);
	ck_assert_int_eq(sh("cp -a @/st @/good", dir), 0);
#define CASE(cmd, needle)                                                         \
	do {                                                                      \
		ck_assert_int_eq(sh("rm -rf @/st && cp -a @/good @/st", dir), 0); \
		ck_assert_int_eq(sh(cmd, sub), 0);                                \
		ck_assert_int_eq(try_open(sub, &e), EXAI_ECONFIG);                \
		ck_assert_msg(strstr(e.msg, needle), "%s: %s", cmd, e.msg);       \
	} while (0)
	CASE("rm @/state.db", "state.db is missing");
	CASE(": > @/state.db", "0 bytes");
	CASE("truncate -s 1 @/state.db", "1 bytes");
	CASE("head -c 8192 /dev/urandom > @/state.db", "not an SQLite database");
	CASE("rm @/state.db && sqlite3 @/state.db 'CREATE TABLE meta(key PRIMARY KEY, value)'",
	     "not provisioned");
	CASE("sqlite3 @/state.db \"DELETE FROM meta WHERE key = 'provisioned'\"",
	     "not provisioned");
	CASE("rm @/ratchets", "ratchet record");
	CASE("sed -i 's/^channel stable 4$/channel stable 3/' @/ratchets", "checksum mismatch");
	CASE("echo junk >> @/ratchets", "ratchet record");
	CASE("sqlite3 @/state.db \"UPDATE channel_ratchet SET sequence = 2\"",
	     "says channel stable sequence 4, the state db says 2");
	CASE("sqlite3 @/state.db \"UPDATE meta SET value = '00' WHERE key = 'state_id'\"",
	     "state id");
#undef CASE
	tu_rmtree(dir);
	free(dir);
}
END_TEST

/* The record may be ahead of the database by exactly the pending apply's raise (the crash
 * window of the final commit), and by nothing else. */
START_TEST(record_ahead_only_by_the_journal)
{
	char *dir = tu_tempdir();
	upd_state *s = open_state(dir, true);
	upd_ratchets r;
	char path[4200];
	exai_error e;

	ck_assert_int_eq(upd_state_raise_channel(s, "stable", 4, &e), EXAI_OK);
	ck_assert_int_eq(upd_state_journal_set(s, "apply", "switching", "ab",
					       "{\"channel\":\"stable\",\"sequence\":6,"
					       "\"created\":100,\"root_version\":1}",
					       &e),
			 EXAI_OK);
	upd_state_close(s);
	snprintf(path, sizeof(path), "%s/ratchets", dir);
	ck_assert_int_eq(upd_ratchets_load(path, &r, &e), EXAI_OK);
	ck_assert_uint_eq(upd_ratchets_channel(&r, "stable"), 4);
	/* what the final commit writes first */
	ck_assert_int_eq(upd_ratchets_raise_channel(&r, "stable", 6, &e), EXAI_OK);
	r.created = 100;
	r.root_version = 1;
	ck_assert_int_eq(upd_ratchets_store(path, &r, &e), EXAI_OK);
	/* not while the apply is still staging (its final commit cannot have started) */
	ck_assert_int_eq(sh("sqlite3 @/state.db \"UPDATE journal SET phase = 'staging'\"", dir), 0);
	ck_assert_int_eq(try_open(dir, &e), EXAI_ECONFIG);
	ck_assert_int_eq(sh("sqlite3 @/state.db \"UPDATE journal SET phase = 'reverting'\"", dir),
			 0);
	s = open_state(dir, true);
	upd_state_close(s);
	/* not by more than the plan raises */
	r.created = 101;
	ck_assert_int_eq(upd_ratchets_store(path, &r, &e), EXAI_OK);
	ck_assert_int_eq(try_open(dir, &e), EXAI_ECONFIG);
	r.created = 100;
	ck_assert_int_eq(upd_ratchets_store(path, &r, &e), EXAI_OK);
	s = open_state(dir, true);
	/* the revert of that apply ends the journal and brings the record back */
	ck_assert_int_eq(upd_state_journal_clear(s, &e), EXAI_OK);
	upd_state_close(s);
	upd_ratchets_free(&r);
	ck_assert_int_eq(upd_ratchets_load(path, &r, &e), EXAI_OK);
	ck_assert_uint_eq(upd_ratchets_channel(&r, "stable"), 4);
	ck_assert_uint_eq(r.created, 0);
	/* ahead without a journal: refused */
	ck_assert_int_eq(upd_ratchets_raise_channel(&r, "stable", 6, &e), EXAI_OK);
	ck_assert_int_eq(upd_ratchets_store(path, &r, &e), EXAI_OK);
	ck_assert_int_eq(try_open(dir, &e), EXAI_ECONFIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "disagree"));
	upd_ratchets_free(&r);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(ratchet_record_format)
{
	upd_ratchets r = {0}, back;
	char *text;
	size_t len;
	exai_error e;

	memset(r.state_id, 'a', 32);
	r.created = 1700000000;
	r.root_version = 2;
	ck_assert_int_eq(upd_ratchets_raise_channel(&r, "stable", 9, &e), EXAI_OK);
	ck_assert_int_eq(upd_ratchets_raise_channel(&r, "beta", 3, &e), EXAI_OK);
	ck_assert_int_eq(upd_ratchets_raise_channel(&r, "stable", 5, &e), EXAI_OK);
	ck_assert_ptr_nonnull(text = upd_ratchets_format(&r, &len));
	ck_assert_int_eq(upd_ratchets_parse(text, len, "t", &back, &e), EXAI_OK);
	ck_assert(upd_ratchets_equal(&r, &back, "a", "b", NULL, 0));
	ck_assert_str_eq(back.ch[0].name, "beta");
	ck_assert_uint_eq(back.ch[1].seq, 9);
	upd_ratchets_free(&back);
	for (size_t cut = 0; cut < len; cut++)
		ck_assert_int_ne(upd_ratchets_parse(text, cut, "t", &back, &e), EXAI_OK);
	text[5] ^= 1;
	ck_assert_int_eq(upd_ratchets_parse(text, len, "t", &back, &e), EXAI_EFORMAT);
	free(text);
	r.created = (uint64_t)INT64_MAX + 1; /* the database cannot hold it: never written */
	ck_assert_ptr_nonnull(text = upd_ratchets_format(&r, &len));
	ck_assert_int_eq(upd_ratchets_parse(text, len, "t", &back, &e), EXAI_EFORMAT);
	free(text);
	upd_ratchets_free(&r);
}
END_TEST

/* The readers of this database (airgap-verifier host) run the queries of exai/update_state.h:
 * each must prepare against a database exai-update really made, so a renamed table or column
 * fails here; and the schema row says the version both sides were built for. */
START_TEST(reader_queries_match_the_schema)
{
	static const char *const q[] = {EXAI_UPD_SQL_SCHEMA, EXAI_UPD_SQL_JOURNAL,
					EXAI_UPD_SQL_INSTALLED, EXAI_UPD_SQL_FILES};
	char *dir = tu_tempdir(), path[4200];
	upd_state *s = open_state(dir, false);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	upd_state_close(s);
	snprintf(path, sizeof(path), "%s/" EXAI_UPD_STATE_DB, dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		ck_assert_msg(sqlite3_prepare_v2(db, q[i], -1, &st, NULL) == SQLITE_OK,
			      "reader query %zu does not fit the schema: %s", i,
			      sqlite3_errmsg(db));
		sqlite3_finalize(st);
	}
	ck_assert_int_eq(sqlite3_prepare_v2(db, EXAI_UPD_SQL_SCHEMA, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), EXAI_UPD_STATE_SCHEMA_STR);
	sqlite3_finalize(st);
	/* And the check would catch a drift: a query naming a column the schema lacks fails. */
	ck_assert_int_ne(sqlite3_prepare_v2(db, "SELECT digest FROM installed_file", -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_finalize(st);
	sqlite3_close(db);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("update_state");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, ratchets_only_rise);
	tcase_add_test(tc, installed_round_trip);
	tcase_add_test(tc, journal_and_outbox);
	tcase_add_test(tc, injected_commit_failure_keeps_nothing);
	tcase_add_test(tc, second_locked_open_is_refused);
	tcase_add_test(tc, file_records_round_trip_and_migrate);
	tcase_add_test(tc, state_fails_closed);
	tcase_add_test(tc, record_ahead_only_by_the_journal);
	tcase_add_test(tc, ratchet_record_format);
	tcase_add_test(tc, reader_queries_match_the_schema);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
