/*
 * prove_loop: times exai-mirror's inclusion proof inside one process, without the process
 * start `exai-mirror prove` pays on every run. It links mirror/tree.c, opens the store
 * read-only as the command does, and for R entries spread over the log takes the root of the
 * latest checkpoint's size and the inclusion path (mir_tree_root, mir_tree_inclusion: the
 * O(log n) point reads of nodes and entries, schema 2), then checks the path against the root
 * (mir_check_inclusion) with the entry's stored leaf.
 *
 *   prove_loop DB R      prints: proofs <R> seconds <S> per_proof_s <S/R> size <n>
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exai/sqlite.h"
#include "tree.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int leaf_of(sqlite3_stmt *st, uint64_t idx, mir_hash lh, exai_error *e)
{
	int ok = 0;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32)
		ok = !mir_hash_leaf(sqlite3_column_blob(st, 0), 32, lh, e);
	sqlite3_reset(st);
	return ok;
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *cp = NULL;
	mir_tree t = {0};
	mir_hash proof[MIR_PROOF_MAX], root, lh;
	exai_error e;
	uint64_t size = 0, r;
	size_t n;
	double t0, t1;

	if (argc != 3 || !(r = strtoull(argv[2], NULL, 10))) {
		fprintf(stderr, "usage: prove_loop DB R\n");
		return 2;
	}
	if (exai_sqlite_open_ro(argv[1], &db, &e) || mir_tree_open(db, &t, &e) ||
	    sqlite3_prepare_v2(db, "SELECT leaf FROM entries WHERE idx = ?1", -1, &st, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT max(size) FROM checkpoints", -1, &cp, NULL) ||
	    sqlite3_step(cp) != SQLITE_ROW || !(size = (uint64_t)sqlite3_column_int64(cp, 0))) {
		fprintf(stderr, "prove_loop: %s: cannot open the store or read its checkpoint\n",
			argv[1]);
		return 1;
	}
	t0 = now_s();
	for (uint64_t i = 0; i < r; i++) {
		uint64_t idx = (i * 7919 + 12345) % size;
		if (!leaf_of(st, idx, lh, &e) || mir_tree_root(&t, size, root, &e) ||
		    mir_tree_inclusion(&t, idx, size, proof, &n, &e) ||
		    mir_check_inclusion(lh, idx, size, proof, n, root, &e)) {
			fprintf(stderr, "prove_loop: entry %llu: no valid proof\n",
				(unsigned long long)idx);
			return 1;
		}
	}
	t1 = now_s();
	printf("proofs\t%llu\tseconds\t%.6f\tper_proof_s\t%.9f\tsize\t%llu\n",
	       (unsigned long long)r, t1 - t0, (t1 - t0) / (double)r, (unsigned long long)size);
	sqlite3_finalize(st);
	sqlite3_finalize(cp);
	mir_tree_close(&t);
	exai_sqlite_close(db);
	return 0;
}
