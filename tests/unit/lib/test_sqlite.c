/*
 * sqlite: the shared SQLite helper (exai/sqlite.h): create or not, read-only never creates,
 * symlinks refused, and errors that name the file, the step and SQLite's message.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/sqlite.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
	dir = tu_tempdir();
}

static void teardown(void)
{
	tu_rmtree(dir);
	free(dir);
}

static char *db_at(const char *name)
{
	char *p = exai_path_join(dir, name);

	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(create_exec_prepare_step)
{
	char *p = db_at("a.db");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	exai_error e;
	bool row = false;
	int n = 0;

	ck_assert_int_eq(exai_sqlite_open_rw(p, true, &db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(db, "CREATE TABLE t(x INTEGER); INSERT INTO t VALUES(1);",
					  "schema", &e),
			 EXAI_OK);
	ck_assert_int_eq(exai_sqlite_prepare(db, "INSERT INTO t VALUES(?1)", "insert", &st, &e),
			 EXAI_OK);
	for (int i = 2; i <= 3; i++) {
		sqlite3_bind_int(st, 1, i);
		ck_assert_int_eq(exai_sqlite_step_done(st, "insert", &e), EXAI_OK);
	}
	sqlite3_finalize(st);
	ck_assert_int_eq(exai_sqlite_prepare(db, "SELECT sum(x), count(*) FROM t", "sum", &st, &e),
			 EXAI_OK);
	ck_assert_int_eq(exai_sqlite_step(st, "sum", &row, &e), EXAI_OK);
	ck_assert(row);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 6);
	n = sqlite3_column_int(st, 1);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(exai_sqlite_step(st, "sum", &row, &e), EXAI_OK);
	ck_assert(!row);
	sqlite3_finalize(st);
	exai_sqlite_close(db);
	/* Reopened without create: the rows are there. */
	ck_assert_int_eq(exai_sqlite_open_ro(p, &db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_prepare(db, "SELECT count(*) FROM t", "count", &st, &e),
			 EXAI_OK);
	ck_assert_int_eq(exai_sqlite_step(st, "count", &row, &e), EXAI_OK);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 3);
	sqlite3_finalize(st);
	exai_sqlite_close(db);
	exai_sqlite_close(NULL);
	free(p);
}
END_TEST

START_TEST(missing_is_never_created)
{
	char *p = db_at("missing.db");
	sqlite3 *db = (sqlite3 *)1;
	exai_error e;

	ck_assert_int_eq(exai_sqlite_open_ro(p, &db, &e), EXAI_ENOENT);
	ck_assert_ptr_null(db);
	ck_assert_ptr_nonnull(strstr(e.msg, p));
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_int_eq(exai_sqlite_open_rw(p, false, &db, &e), EXAI_ENOENT);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(access(p, F_OK), -1);
	free(p);
}
END_TEST

START_TEST(symlink_refused)
{
	char *p = db_at("real.db"), *l = db_at("link.db");
	sqlite3 *db = NULL;
	exai_error e;

	ck_assert_int_eq(exai_sqlite_open_rw(p, true, &db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(db, "CREATE TABLE t(x)", "schema", &e), EXAI_OK);
	exai_sqlite_close(db);
	ck_assert_int_eq(symlink(p, l), 0);
	ck_assert_int_eq(exai_sqlite_open_ro(l, &db, &e), EXAI_EUNSAFE);
	ck_assert_ptr_nonnull(strstr(e.msg, "symlink"));
	ck_assert_ptr_null(db);
	ck_assert_int_eq(exai_sqlite_open_rw(l, true, &db, &e), EXAI_EUNSAFE);
	ck_assert_int_eq(exai_sqlite_open_rw(l, false, &db, &e), EXAI_EUNSAFE);
	ck_assert_ptr_null(db);
	/* A directory is no database either. */
	ck_assert_int_eq(exai_sqlite_open_ro(dir, &db, &e), EXAI_EUNSAFE);
	free(p);
	free(l);
}
END_TEST

START_TEST(errors_name_path_step_and_sqlite)
{
	char *p = db_at("b.db");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	exai_error e;

	ck_assert_int_eq(exai_sqlite_open_rw(p, true, &db, &e), EXAI_OK);
	ck_assert_int_eq(
	    exai_sqlite_exec(db, "CREATE TABLE t(x UNIQUE); INSERT INTO t VALUES(1)", "schema", &e),
	    EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(db, "CREATE TABLE t(y)", "make table", &e), EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, p));
	ck_assert_ptr_nonnull(strstr(e.msg, ": make table: "));
	ck_assert_ptr_nonnull(strstr(e.msg, "already exists"));
	ck_assert_int_eq(exai_sqlite_prepare(db, "SELEKT 1", "bad sql", &st, &e), EXAI_EIO);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(e.msg, ": bad sql: "));
	ck_assert_ptr_nonnull(strstr(e.msg, "syntax error"));
	ck_assert_int_eq(exai_sqlite_prepare(db, "INSERT INTO t VALUES(1)", "dup", &st, &e),
			 EXAI_OK);
	ck_assert_int_eq(exai_sqlite_step_done(st, "insert row", &e), EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, ": insert row: "));
	ck_assert_ptr_nonnull(strstr(e.msg, "UNIQUE"));
	sqlite3_finalize(st);
	exai_sqlite_close(db);
	/* Read-only means read-only. */
	ck_assert_int_eq(exai_sqlite_open_ro(p, &db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(db, "INSERT INTO t VALUES(2)", "write", &e), EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "readonly"));
	exai_sqlite_close(db);
	free(p);
}
END_TEST

/* EXAI_SQLITE_ONE_THREAD: no connection mutex (SQLITE_OPEN_NOMUTEX), and otherwise the same
 * rules: read-only stays read-only, CREATE only with RW. The default is serialized. */
START_TEST(one_thread_has_no_mutex)
{
	char *p = db_at("c.db");
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	exai_error e;
	bool row = false;

	ck_assert_int_eq(exai_sqlite_open(p, EXAI_SQLITE_CREATE, &db, &e), EXAI_ENOENT);
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_int_eq(
	    exai_sqlite_open(p, EXAI_SQLITE_RW | EXAI_SQLITE_CREATE | EXAI_SQLITE_ONE_THREAD, &db,
			     &e),
	    EXAI_OK);
	ck_assert_ptr_null(sqlite3_db_mutex(db));
	ck_assert_int_eq(
	    exai_sqlite_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(7)", "schema", &e),
	    EXAI_OK);
	exai_sqlite_close(db);
	ck_assert_int_eq(exai_sqlite_open_rw(p, false, &db, &e), EXAI_OK);
	ck_assert_ptr_nonnull(sqlite3_db_mutex(db));
	exai_sqlite_close(db);
	ck_assert_int_eq(exai_sqlite_open(p, EXAI_SQLITE_ONE_THREAD, &db, &e), EXAI_OK);
	ck_assert_ptr_null(sqlite3_db_mutex(db));
	ck_assert_int_eq(exai_sqlite_prepare(db, "SELECT x FROM t", "read", &st, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_step(st, "read", &row, &e), EXAI_OK);
	ck_assert(row);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 7);
	sqlite3_finalize(st);
	ck_assert_int_eq(exai_sqlite_exec(db, "INSERT INTO t VALUES(8)", "write", &e), EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "readonly"));
	exai_sqlite_close(db);
	ck_assert_int_eq(exai_sqlite_open_ro(p, &db, &e), EXAI_OK);
	ck_assert_ptr_nonnull(sqlite3_db_mutex(db));
	exai_sqlite_close(db);
	free(p);
}
END_TEST

START_TEST(not_a_database)
{
	char *p =
	    tu_write(dir, "junk.db", "this is not an sqlite file, just text, long enough\n", 51);
	sqlite3 *db = NULL;
	exai_error e;

	/* SQLite opens lazily: the first statement reports it, naming the file. */
	ck_assert_int_eq(exai_sqlite_open_ro(p, &db, &e), EXAI_OK);
	ck_assert_int_eq(exai_sqlite_exec(db, "SELECT * FROM sqlite_master", "read schema", &e),
			 EXAI_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, p));
	ck_assert_ptr_nonnull(strstr(e.msg, "not a database"));
	exai_sqlite_close(db);
	free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sqlite");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_exec_prepare_step);
	tcase_add_test(tc, missing_is_never_created);
	tcase_add_test(tc, symlink_refused);
	tcase_add_test(tc, errors_name_path_step_and_sqlite);
	tcase_add_test(tc, one_thread_has_no_mutex);
	tcase_add_test(tc, not_a_database);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
