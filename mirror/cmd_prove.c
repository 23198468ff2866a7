/*
 * cmd_prove: `exai-mirror prove --index N [--size S]` and `prove --from A --to B`, on a
 * read-only connection. Both proofs are checked here before they are printed.
 *
 * Inclusion, in the C2SP tlog-proof format (c2sp.org/tlog-proof):
 *   c2sp.org/tlog-proof@v1
 *   extra <base64(nonce || payload)>   the entry's 16-byte nonce and payload (absent when the
 *                                      payload was pruned): leaf data = SHA-256 of these bytes
 *   index <N>
 *   <base64 hash>...                   RFC 6962 inclusion path, leaf's sibling first
 *   (empty line)
 *   <the signed checkpoint of size S, verbatim>   (S: the latest checkpoint by default)
 *
 * Consistency (tlog-proof has no consistency form; this one follows its layout):
 *   exai-mirror/consistency@v1
 *   old <A>
 *   new <B>
 *   <base64 hash>...                   RFC 6962 consistency proof from A to B
 *   (empty line)
 *   <the checkpoint of size A>
 *   (empty line)
 *   <the checkpoint of size B>
 * A and B must be sizes of checkpoints the log signed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/hash.h"
#include "exai/sqlite.h"
#include "exai/text.h"
#include "mir_cli.h"
#include "store.h"
#include "tree.h"

const char mir_prove_help[] =
    "usage: exai-mirror prove [--config FILE] [--json] --index N [--size S]\n"
    "       exai-mirror prove [--config FILE] [--json] --from A --to B\n"
    "\n"
    "Prints an inclusion proof of entry N in the checkpoint of size S (default: the latest),\n"
    "or a consistency proof between the checkpoints of sizes A and B. --json: errors as a\n"
    "JSON document on stdout (the proof itself is text).\n";

/* The numeric options' ids, in the order of prove's v[] and set[]. */
enum { O_INDEX = MIR_O_FIRST, O_SIZE, O_FROM, O_TO };

/* The checkpoint of @size (0: the latest): *size, root, note (malloc'ed). */
static exai_status get_checkpoint(sqlite3 *db, uint64_t *size, mir_hash root, char **note,
				  exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row = false;

	*note = NULL;
	if ((rc = exai_sqlite_prepare(
		 db,
		 *size ? "SELECT size, root, note FROM checkpoints WHERE size = ?1"
		       : "SELECT size, root, note FROM checkpoints ORDER BY size "
			 "DESC LIMIT 1",
		 "read checkpoint", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)*size);
	if ((rc = exai_sqlite_step(st, "read checkpoint", &row, e)))
		goto out;
	if (!row) {
		rc = *size ? exai_error_set(e, EXAI_EREFUSED,
					    "no checkpoint of size %llu was signed (prove against "
					    "a checkpoint's size)",
					    (unsigned long long)*size)
			   : exai_error_set(e, EXAI_EREFUSED, "the log has no checkpoint yet");
		goto out;
	}
	*size = (uint64_t)sqlite3_column_int64(st, 0);
	if (sqlite3_column_bytes(st, 1) != 32 || !sqlite3_column_text(st, 2)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "checkpoint %llu: damaged row",
				    (unsigned long long)*size);
		goto out;
	}
	memcpy(root, sqlite3_column_blob(st, 1), 32);
	if (!(*note = strdup((const char *)sqlite3_column_text(st, 2))))
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
out:
	sqlite3_finalize(st);
	return rc;
}

/* The entry's nonce || payload (malloc'ed; *len 0 and NULL when pruned) and its leaf hash. */
static exai_status get_entry(sqlite3 *db, uint64_t idx, uint8_t **np, size_t *len, mir_hash lh,
			     exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row = false;

	*np = NULL;
	*len = 0;
	if ((rc = exai_sqlite_prepare(db, "SELECT nonce, payload, leaf FROM entries WHERE idx = ?1",
				      "read entry", &st, e)))
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
	if ((rc = exai_sqlite_step(st, "read entry", &row, e)))
		goto out;
	if (!row || sqlite3_column_bytes(st, 0) != MIR_NONCE_LEN ||
	    sqlite3_column_bytes(st, 2) != MIR_HASH_LEN) {
		rc = exai_error_set(e, EXAI_EFORMAT, "entry %llu: %s", (unsigned long long)idx,
				    row ? "damaged row" : "missing");
		goto out;
	}
	if ((rc = mir_hash_leaf(sqlite3_column_blob(st, 2), MIR_HASH_LEN, lh, e)))
		goto out;
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		size_t pl = (size_t)sqlite3_column_bytes(st, 1);
		if (!(*np = malloc(MIR_NONCE_LEN + pl + 1))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(*np, sqlite3_column_blob(st, 0), MIR_NONCE_LEN);
		if (pl)
			memcpy(*np + MIR_NONCE_LEN, sqlite3_column_blob(st, 1), pl);
		*len = MIR_NONCE_LEN + pl;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static exai_status print_hashes(const mir_hash *p, size_t n, exai_error *e)
{
	for (size_t i = 0; i < n; i++) {
		char *b = exai_base64_encode(p[i], 32);
		if (!b)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		printf("%s\n", b);
		free(b);
	}
	return EXAI_OK;
}

static exai_status inclusion(sqlite3 *db, uint64_t idx, uint64_t size, exai_error *e)
{
	mir_hash root, lh, proof[MIR_PROOF_MAX], leafdata;
	uint8_t *np = NULL;
	char *note = NULL, *extra = NULL;
	size_t len = 0, n = 0;
	mir_tree t = {0};
	exai_status rc;

	if ((rc = get_checkpoint(db, &size, root, &note, e)))
		goto out;
	if (idx >= size) {
		rc = exai_error_set(e, EXAI_EREFUSED,
				    "entry %llu is not in the checkpoint of size %llu",
				    (unsigned long long)idx, (unsigned long long)size);
		goto out;
	}
	if ((rc = get_entry(db, idx, &np, &len, lh, e)) || (rc = mir_tree_open(db, &t, e)) ||
	    (rc = mir_tree_inclusion(&t, idx, size, proof, &n, e)) ||
	    (rc = mir_check_inclusion(lh, idx, size, proof, n, root, e)))
		goto out;
	/* The extra bytes must hash to the leaf, or the proof would mislead. exai_sha256_multi:
	 * with the SHA extensions prove hashes nothing through OpenSSL (exai_mirror.c). */
	if (np && (rc = exai_sha256_multi(1, (const uint8_t *const[]){np}, &len, &leafdata, e)))
		goto out;
	if (np && ((rc = mir_hash_leaf(leafdata, 32, leafdata, e)) || memcmp(leafdata, lh, 32))) {
		rc = rc ? rc
			: exai_error_set(e, EXAI_EVERIFY,
					 "entry %llu: its payload does not match its leaf (run "
					 "exai-mirror verify)",
					 (unsigned long long)idx);
		goto out;
	}
	if (np && !(extra = exai_base64_encode(np, len))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	printf("c2sp.org/tlog-proof@v1\n");
	if (extra)
		printf("extra %s\n", extra);
	printf("index %llu\n", (unsigned long long)idx);
	if (!(rc = print_hashes(proof, n, e)))
		printf("\n%s", note);
out:
	mir_tree_close(&t);
	free(extra);
	free(np);
	free(note);
	return rc;
}

static exai_status consistency(sqlite3 *db, uint64_t from, uint64_t to, exai_error *e)
{
	mir_hash r1, r2, proof[MIR_PROOF_MAX];
	char *n1 = NULL, *n2 = NULL;
	size_t n = 0;
	mir_tree t = {0};
	exai_status rc;

	if (from == 0 || from > to) {
		rc = exai_error_set(e, EXAI_EINVAL, "--from must be 1 to --to");
		goto out;
	}
	if ((rc = get_checkpoint(db, &from, r1, &n1, e)) ||
	    (rc = get_checkpoint(db, &to, r2, &n2, e)) || (rc = mir_tree_open(db, &t, e)) ||
	    (rc = mir_tree_consistency(&t, from, to, proof, &n, e)) ||
	    (rc = mir_check_consistency(from, to, r1, r2, proof, n, e)))
		goto out;
	printf("exai-mirror/consistency@v1\nold %llu\nnew %llu\n", (unsigned long long)from,
	       (unsigned long long)to);
	if (!(rc = print_hashes(proof, n, e)))
		printf("\n%s\n%s", n1, n2);
out:
	mir_tree_close(&t);
	free(n1);
	free(n2);
	return rc;
}

static bool num_arg(const char *s, uint64_t *out)
{
	return exai_parse_u64_canon(s, out) && *out < ((uint64_t)1 << 62);
}

int mir_cmd_prove(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {MIR_GLOBAL_OPTS,	    {"index", true, O_INDEX},
					    {"size", true, O_SIZE}, {"from", true, O_FROM},
					    {"to", true, O_TO},	    {NULL, false, 0}};
	uint64_t v[4] = {0};
	bool set[4] = {false};
	mir_config *cfg = NULL;
	mir_common c = {0};
	exai_cli_parser p;
	sqlite3 *db = NULL;
	const char *val;
	exai_error e;
	int id, code;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &val)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", val);
		if (id >= O_INDEX && id <= O_TO) {
			if (!num_arg(val, &v[id - O_INDEX]))
				return exai_cli_refuse(call, "'%s' is not a number", val);
			set[id - O_INDEX] = true;
		} else if (!mir_common_opt(&c, id, val)) {
			return exai_cli_exit(id);
		}
	}
	if (!(set[0] && !set[2] && !set[3]) && !(!set[0] && !set[1] && set[2] && set[3]))
		return exai_cli_refuse(call, "give --index N [--size S], or --from A --to B");
	if (set[1] && v[1] == 0)
		return exai_cli_refuse(call, "--size must be at least 1");
	if ((code = mir_open_store("prove", c.config, c.json, &cfg, &db)))
		return code;
	/* One read transaction: the checkpoint, the entry and every node from one snapshot of
	 * the store (serve may be appending), and one lock of the WAL index instead of one per
	 * statement (about fifty). */
	if (exai_sqlite_exec(db, "BEGIN", "begin reading", &e))
		code = mir_report("prove", &e, c.json, EXAI_EXIT_USAGE);
	else if (set[0] ? inclusion(db, v[0], v[1], &e) : consistency(db, v[2], v[3], &e))
		code = mir_report("prove", &e, c.json, e.code == EXAI_EINVAL ? 2 : 1);
	else if (exai_sqlite_exec(db, "COMMIT", "end reading", &e))
		code = mir_report("prove", &e, c.json, EXAI_EXIT_USAGE);
	exai_sqlite_close(db);
	mir_config_free(cfg);
	return code;
}
