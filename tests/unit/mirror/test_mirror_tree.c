/*
 * mirror tree: the RFC 6962 tree over SQLite (mirror/tree.c). Roots against the RFC 6962
 * test vectors of certificate-transparency (the 8 leaves "", 00, 10, 2021, ...), and every
 * inclusion and consistency proof up to 70 leaves checked by the RFC 9162 verifiers, which
 * must also refuse a proof with one flipped bit or for the wrong index or size.
 */
#include <sqlite3.h>
#include <string.h>

#include "exai/hash.h"
#include "exai/secmem.h"
#include "testutil.h"
#include "tree.h"

static sqlite3 *db;
static mir_tree t;

static void setup(void)
{
	exai_error e;

	ck_assert_int_eq(exai_init(&e), EXAI_OK);
	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, MIR_TREE_SCHEMA, NULL, NULL, NULL), SQLITE_OK);
	/* The leaves the tree reads (level 0 is entries.leaf: tree.h). */
	ck_assert_int_eq(sqlite3_exec(db,
				      "CREATE TABLE entries(idx INTEGER PRIMARY KEY, leaf BLOB)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(mir_tree_open(db, &t, &e), EXAI_OK);
}

/* Stores entry @i with leaf data @data (as the store does) and appends its leaf hash *lh. */
static exai_status put_leaf(uint64_t i, const void *data, size_t len, mir_hash lh, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	static const uint8_t none;

	ck_assert_int_eq(mir_hash_leaf(data, len, lh, e), EXAI_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO entries VALUES(?1, ?2)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
	sqlite3_bind_blob(st, 2, len ? data : &none, (int)len, SQLITE_TRANSIENT);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	return mir_tree_append(&t, i, lh, e);
}

static void teardown(void)
{
	mir_tree_close(&t);
	sqlite3_close(db);
}

static void hex(const mir_hash h, char out[65])
{
	exai_hex_encode(h, 32, out);
}

START_TEST(rfc6962_vectors)
{
	static const char *const leaves[] = {"",
					     "00",
					     "10",
					     "2021",
					     "3031",
					     "40414243",
					     "5051525354555657",
					     "606162636465666768696a6b6c6d6e6f"};
	static const char *const roots[] = {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
	exai_error e;

	for (size_t i = 0; i < 8; i++) {
		uint8_t data[16];
		size_t n = strlen(leaves[i]) / 2;
		mir_hash lh, root;
		char got[65];

		ck_assert_int_eq(exai_hex_decode(leaves[i], data, n, &e), EXAI_OK);
		ck_assert_int_eq(put_leaf(i, data, n, lh, &e), EXAI_OK);
		ck_assert_int_eq(mir_tree_root(&t, i + 1, root, &e), EXAI_OK);
		hex(root, got);
		ck_assert_str_eq(got, roots[i]);
	}
}
END_TEST

#define N 70

static mir_hash leafh[N], roots[N + 1];

static void build(void)
{
	exai_error e;

	for (uint64_t i = 0; i < N; i++) {
		ck_assert_int_eq(put_leaf(i, &i, sizeof(i), leafh[i], &e), EXAI_OK);
		ck_assert_int_eq(mir_tree_root(&t, i + 1, roots[i + 1], &e), EXAI_OK);
	}
}

START_TEST(every_inclusion_proof)
{
	mir_hash p[MIR_PROOF_MAX];
	size_t n;
	exai_error e;

	build();
	for (uint64_t size = 1; size <= N; size++)
		for (uint64_t i = 0; i < size; i++) {
			ck_assert_int_eq(mir_tree_inclusion(&t, i, size, p, &n, &e), EXAI_OK);
			ck_assert_int_eq(
			    mir_check_inclusion(leafh[i], i, size, p, n, roots[size], &e), EXAI_OK);
			/* Another leaf, another index, another size: refused. */
			ck_assert_int_ne(
			    mir_check_inclusion(leafh[(i + 1) % N], i, size, p, n, roots[size], &e),
			    EXAI_OK);
			if (size > 1)
				ck_assert_int_ne(mir_check_inclusion(leafh[i], (i + 1) % size, size,
								     p, n, roots[size], &e),
						 EXAI_OK);
			if (n > 0) {
				p[n - 1][5] ^= 0x10;
				ck_assert_int_eq(
				    mir_check_inclusion(leafh[i], i, size, p, n, roots[size], &e),
				    EXAI_EVERIFY);
				/* One hash short. */
				ck_assert_int_ne(mir_check_inclusion(leafh[i], i, size, p, n - 1,
								     roots[size], &e),
						 EXAI_OK);
			}
		}
	ck_assert_int_eq(mir_tree_inclusion(&t, 5, 5, p, &n, &e), EXAI_EINVAL);
}
END_TEST

START_TEST(every_consistency_proof)
{
	mir_hash p[MIR_PROOF_MAX];
	size_t n;
	exai_error e;

	build();
	for (uint64_t size = 1; size <= N; size++)
		for (uint64_t old = 1; old <= size; old++) {
			ck_assert_int_eq(mir_tree_consistency(&t, old, size, p, &n, &e), EXAI_OK);
			ck_assert_int_eq(
			    mir_check_consistency(old, size, roots[old], roots[size], p, n, &e),
			    EXAI_OK);
			if (old < size)
				ck_assert_int_ne(mir_check_consistency(old, size, roots[old + 1],
								       roots[size], p, n, &e),
						 EXAI_OK);
			if (n > 0) {
				p[0][0] ^= 1;
				ck_assert_int_ne(mir_check_consistency(old, size, roots[old],
								       roots[size], p, n, &e),
						 EXAI_OK);
			}
		}
	ck_assert_int_eq(mir_tree_consistency(&t, 0, 3, p, &n, &e), EXAI_EINVAL);
	ck_assert_int_eq(mir_tree_consistency(&t, 4, 3, p, &n, &e), EXAI_EINVAL);
}
END_TEST

START_TEST(missing_node_is_damage)
{
	mir_hash root;
	sqlite3_int64 n = 0;
	sqlite3_stmt *st = NULL;
	exai_error e;

	build();
	/* Only the levels 4, 8, ... are rows: 70 leaves make 4 nodes at level 4, none above. */
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT count(*), min(level), max(level) FROM nodes",
					    -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 4);
	ck_assert_int_eq(sqlite3_column_int(st, 2), 4);
	sqlite3_finalize(st);
	ck_assert_int_eq(
	    sqlite3_exec(db, "DELETE FROM nodes WHERE level = 4 AND idx = 0", NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(mir_tree_root(&t, 16, root, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "level 4, index 0"));
	ck_assert_int_eq(mir_tree_root(&t, 8, root, &e), EXAI_OK);
	/* A leaf (entries row) missing under a level the tree computes is damage too. */
	ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM entries WHERE idx = 5", NULL, NULL, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(mir_tree_root(&t, 8, root, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "entry 5"));
	ck_assert_int_eq(mir_tree_load(&t, 8, &e), EXAI_EFORMAT);
	ck_assert_int_eq(mir_tree_root(&t, 4, root, &e), EXAI_OK);
}
END_TEST

/* The right edge an append uses is only a copy of the table: after a rolled-back append, and
 * for a tree opened on a table that already holds leaves, it is loaded from the table, so
 * the nodes are those of a tree that never saw the rolled-back leaves. */
START_TEST(append_after_rollback_and_reopen)
{
	mir_hash bogus, root;
	char got[65], want[65];
	exai_error e;

	build(); /* roots[] of the reference tree, then start again on an empty table */
	ck_assert_int_eq(
	    sqlite3_exec(db, "DELETE FROM nodes; DELETE FROM entries", NULL, NULL, NULL),
	    SQLITE_OK);
	mir_tree_close(&t);
	ck_assert_int_eq(mir_tree_open(db, &t, &e), EXAI_OK);
	for (uint64_t i = 0; i < 23; i++)
		ck_assert_int_eq(put_leaf(i, &i, sizeof(i), leafh[i], &e), EXAI_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	memset(bogus, 0xAB, sizeof(bogus));
	for (uint64_t i = 23; i < 40; i++) {
		mir_hash lh;
		ck_assert_int_eq(put_leaf(i, bogus, sizeof(bogus), lh, &e), EXAI_OK);
	}
	ck_assert_int_eq(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	for (uint64_t i = 23; i < 45; i++)
		ck_assert_int_eq(put_leaf(i, &i, sizeof(i), leafh[i], &e), EXAI_OK);
	/* A second handle on the same table (as after a restart) goes on from its end. */
	mir_tree_close(&t);
	ck_assert_int_eq(mir_tree_open(db, &t, &e), EXAI_OK);
	for (uint64_t i = 45; i < N; i++)
		ck_assert_int_eq(put_leaf(i, &i, sizeof(i), leafh[i], &e), EXAI_OK);
	for (uint64_t size = 1; size <= N; size++) {
		ck_assert_int_eq(mir_tree_root(&t, size, root, &e), EXAI_OK);
		hex(root, got);
		hex(roots[size], want);
		ck_assert_msg(!strcmp(got, want), "root of %llu", (unsigned long long)size);
	}
	/* An append whose left siblings are not in the tables is refused (a damaged store). */
	ck_assert_int_eq(mir_tree_append(&t, N + 3, leafh[0], &e), EXAI_EFORMAT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mirror_tree");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rfc6962_vectors);
	tcase_add_test(tc, every_inclusion_proof);
	tcase_add_test(tc, every_consistency_proof);
	tcase_add_test(tc, missing_node_is_damage);
	tcase_add_test(tc, append_after_rollback_and_reopen);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
