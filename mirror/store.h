/*
 * store: exai-mirror's SQLite database (state_dir/mirror.db), the writer's side. WAL mode,
 * synchronous=FULL: a COMMIT that returned is on disk. Only the writer thread holds a
 * read-write connection; the commands (query, stats, prove, verify) open it read-only.
 *
 * Schema (version 2; docs/mirror.md has it with every column):
 *   meta(key, value)                       schema, origin, size (the leaves in the tree)
 *   entries(idx, class, tenant, time, ingest_ms, nonce, payload, leaf)
 *                                          one row per stored event; idx is the leaf index,
 *                                          dense from 0; leaf = SHA-256(nonce || payload)
 *   counters(name, value)                  dropped:<class>, refused:<reason>, scrubbed:<kind>;
 *                                          and the gauge queue:waiting_bytes (set, not added)
 *   nodes(level, idx, hash)                the Merkle tree's complete subtrees at the levels
 *                                          4, 8, 12, ... (tree.h; level 0 is entries.leaf)
 *   checkpoints(size, root, time_ms, note) every checkpoint signed, the signed note verbatim
 */
#ifndef MIR_STORE_H
#define MIR_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "record.h"
#include "tree.h"

#define MIR_SCHEMA_VERSION "2"
#define MIR_NONCE_LEN	   16
#define MIR_HASH_LEN	   32
/* Nonces drawn from the kernel at once (one getrandom call per this many entries). */
#define MIR_NONCE_POOL 256

typedef struct mir_store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *ins_entry;
	sqlite3_stmt *add_counter;
	sqlite3_stmt *set_gauge;
	uint64_t size;	    /* entries stored (the next leaf index) */
	uint64_t meta_size; /* meta 'size' as committed (set to size by each commit) */
	sqlite3_stmt *set_size;
	mir_tree tree;
	uint64_t cp_size; /* the last checkpoint signed (0: none yet) */
	mir_hash cp_root;
	/* Nonces not yet used, taken from the end; each is wiped once taken, so none is used
	 * twice (a rolled-back entry's nonce is not reused either). */
	uint8_t nonce_pool[MIR_NONCE_POOL * MIR_NONCE_LEN];
	unsigned nonce_left;
} mir_store;

/* Opens (creating it and its schema if missing) @path read-write for the writer. An existing
 * database must pass quick_check, have this schema version and the same @origin, its meta
 * size must be its entries' count, the tree's right edge must be readable and the tree must
 * still have the root of its last signed checkpoint; otherwise it is refused (EXAI_EREFUSED)
 * and left untouched. A schema 1 database is migrated (its level-0 node rows checked against
 * entries.leaf, then the node rows schema 2 does not keep deleted) in one transaction with
 * those checks: committed only when all of them pass. *out is freed with mir_store_close(). */
exai_status mir_store_open(const char *path, const char *origin, mir_store **out,
			   exai_error *e) EXAI_WUR;
void mir_store_close(mir_store *s);

exai_status mir_store_begin(mir_store *s, exai_error *e) EXAI_WUR;
/* COMMIT; when it returns EXAI_OK the transaction is durable (synchronous=FULL). */
exai_status mir_store_commit(mir_store *s, exai_error *e) EXAI_WUR;
/* ROLLBACK (errors ignored) and re-reads the size. */
void mir_store_rollback(mir_store *s);

/* Appends @r (not dropped) for @tenant inside the open transaction: draws the nonce, computes
 * the leaf, inserts the row and the tree nodes; *idx gets the leaf index. */
exai_status mir_store_append(mir_store *s, const mir_record *r, const char *tenant, uint64_t *idx,
			     exai_error *e) EXAI_WUR;
/* Records a signed checkpoint in its own transaction; when it returns EXAI_OK the note is
 * durable and becomes the last checkpoint (cp_size, cp_root). */
exai_status mir_store_put_checkpoint(mir_store *s, uint64_t size, const mir_hash root,
				     int64_t time_ms, const char *note, exai_error *e) EXAI_WUR;

/* Adds @delta to counter @name inside the open transaction. */
exai_status mir_store_count(mir_store *s, const char *name, int64_t delta, exai_error *e) EXAI_WUR;

/* Sets counter @name to @value inside the open transaction (a gauge: queue:waiting_bytes). */
exai_status mir_store_gauge(mir_store *s, const char *name, int64_t value, exai_error *e) EXAI_WUR;

/* The leaf data for @nonce and @payload: SHA-256(nonce || payload). */
exai_status mir_leaf_data(const uint8_t nonce[MIR_NONCE_LEN], const void *payload, size_t len,
			  uint8_t out[MIR_HASH_LEN], exai_error *e) EXAI_WUR;

/* Opens @path read-only for a command and checks its schema version. The connection is for
 * one thread at a time (EXAI_SQLITE_ONE_THREAD: no SQLite mutex on every call). */
exai_status mir_store_open_ro(const char *path, sqlite3 **out, exai_error *e) EXAI_WUR;

#endif
