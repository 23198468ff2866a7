/* Check suite for appliance/state.c: ratchets only rise, rows round-trip, the journal, the
 * outbox, an injected commit failure leaves nothing behind, and the run lock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "testutil.h"

static upd_state *open_state(const char *dir, bool lock)
{
	upd_state *s = NULL;
	exai_error e;

	ck_assert_msg(upd_state_open(dir, lock, &s, &e) == EXAI_OK, "%s", e.msg);
	return s;
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
	upd_event ev = {.op = "apply",
			.bundle_id = "ab",
			.channel = "c",
			.sequence = 3,
			.signers = "K1",
			.outcome = "ok",
			.reason = ""};
	upd_outbox_item *items;
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
	upd_state *s = open_state(dir, true);
	exai_error e;
	uint64_t v;
	bool found;

	setenv("EXAI_FAULT", "db.commit:1:fail", 1);
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
	suite_add_tcase(s, tc);
	return tu_run(s);
}
