/*
 * sqlite_loop: the bare SQLite anchor for the exai-mirror ingest benchmark. Inserts the same
 * records (gen.h) into a table with exai-mirror's entries columns and indexes, with the same
 * pragmas (WAL, synchronous=FULL, secure_delete, auto_vacuum=INCREMENTAL) and the same number
 * of rows per transaction as the client's batch, one prepared INSERT per row and a COMMIT
 * per batch. What it leaves out is what exai-mirror adds: the socket, JSON parsing and
 * re-encoding, scrubbing, the nonce and leaf hashes and the Merkle tree's nodes.
 *
 *   sqlite_loop DB TOTAL BATCH      prints: events <T> seconds <S> rate <EV/S>
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"

static const char schema[] =
    "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
    "PRAGMA secure_delete=ON;"
    "CREATE TABLE entries(idx INTEGER PRIMARY KEY, class TEXT NOT NULL, tenant TEXT NOT NULL,"
    " time INTEGER NOT NULL, ingest_ms INTEGER NOT NULL, nonce BLOB NOT NULL, payload BLOB,"
    " leaf BLOB NOT NULL);"
    "CREATE INDEX entries_class_time ON entries(class, time);"
    "CREATE INDEX entries_tenant_time ON entries(tenant, time);"
    "CREATE INDEX entries_time ON entries(time);"
    "CREATE INDEX entries_class_ingest ON entries(class, ingest_ms);";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(sqlite3 *db, const char *what)
{
	fprintf(stderr, "sqlite_loop: %s: %s\n", what, sqlite3_errmsg(db));
	return 1;
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char nonce[16], leaf[32];
	char line[GEN_LINE_MAX];
	uint64_t total, batch;
	double t0, t1;

	if (argc != 4 || !(total = strtoull(argv[2], NULL, 10)) ||
	    !(batch = strtoull(argv[3], NULL, 10))) {
		fprintf(stderr, "usage: sqlite_loop DB TOTAL BATCH\n");
		return 2;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		return fail(db, argv[1]);
	if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
		return fail(db, "schema");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO entries(idx, class, tenant, time, ingest_ms, nonce, "
			       "payload, leaf) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(db, "prepare");
	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (unsigned char)(i * 37 + 11);
	t0 = now_s();
	for (uint64_t i = 0; i < total;) {
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			return fail(db, "begin");
		for (uint64_t j = 0; j < batch && i < total; j++, i++) {
			int len = gen_record(i, line) - 1; /* without the newline */
			memcpy(leaf, &i, sizeof(i));	   /* distinct bytes, no hashing */
			memset(leaf + sizeof(i), 0x5a, sizeof(leaf) - sizeof(i));
			sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
			sqlite3_bind_text(st, 2, "telemetry", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, "system", -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)(1796000000 + i / 1000));
			sqlite3_bind_int64(st, 5, (sqlite3_int64)(1796000000000 + i));
			sqlite3_bind_blob(st, 6, nonce, sizeof(nonce), SQLITE_STATIC);
			sqlite3_bind_blob(st, 7, line, len, SQLITE_STATIC);
			sqlite3_bind_blob(st, 8, leaf, sizeof(leaf), SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				return fail(db, "insert");
			sqlite3_reset(st);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return fail(db, "commit");
	}
	t1 = now_s();
	printf("events\t%llu\tseconds\t%.6f\trate\t%.0f\n", (unsigned long long)total, t1 - t0,
	       (double)total / (t1 - t0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return 0;
}
