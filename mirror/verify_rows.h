/*
 * verify_rows: the row pass of `exai-mirror verify`. It reads every row of `entries` once, in
 * index order, with one statement, and finds for each entry index:
 *   - whether a row is there (a gap is a removed row);
 *   - whether its nonce and leaf have their sizes;
 *   - whether its leaf is SHA-256(nonce || payload) (pruned rows, payload NULL, have none);
 *   - whether its class, tenant, time and ingest_ms columns are the payload's;
 * and computes the leaf hashes, level 0 of the recomputed tree. The SQLite reading stays on
 * the calling thread; the SHA-256 work (four rows at a time, exai_sha256_multi) runs in a
 * worker thread fed with chunks of rows, so the two overlap on two cores (without a thread,
 * the caller hashes each chunk itself; the findings are the same).
 *
 * The columns check compares bytes, not a parsed tree: the writer stores the payload in
 * canonical form (record.h: compact, keys sorted), whose last four members are always
 *   ,"class":"<class>","ingest_ms":<n>,"tenant":"<tenant>","time":<n>}
 * with names that need no escaping (A-Z a-z 0-9 . _ + -), so the payload must end with
 * exactly the bytes the row's columns make. A payload that is not what the writer wrote
 * fails its leaf check first (or, re-leafed, the tree and checkpoint checks).
 */
#ifndef MIR_VERIFY_ROWS_H
#define MIR_VERIFY_ROWS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "tree.h"

/* What the row pass found for one entry index (a byte each). */
enum {
	MIR_VR_PRESENT = 1, /* a row has this index */
	MIR_VR_BADSIZE = 2, /* its nonce or leaf has the wrong size (leaf hash left zero) */
	MIR_VR_PRUNED = 4,  /* its payload is NULL */
	MIR_VR_PAYLOAD = 8, /* SHA-256(nonce || payload) is not its leaf */
	MIR_VR_COLUMNS = 16 /* its class, tenant, time or ingest_ms column is not the payload's */
			    /* 32 was MIR_VR_IN_TREE (schema 1: node (0, index) seen), now unused */
};

typedef struct mir_vrows {
	uint64_t n;	   /* entry indexes: the highest + 1 (0 for an empty table) */
	uint8_t *flags;	   /* n bytes of MIR_VR_* */
	mir_hash *leaves;  /* n leaf hashes SHA-256(0x00 || leaf column); zero where no row */
	uint64_t pruned;   /* rows with a NULL payload */
	uint64_t negative; /* rows with an index below 0 (never a leaf: inserted) */
	int64_t first_negative;
} mir_vrows;

/* Reads every row of entries on @db (call it inside a read transaction, so the rows are one
 * snapshot). On success @out holds the findings (freed with mir_vrows_free); on failure
 * (EXAI_ENOMEM for more indexes than memory holds, EXAI_EIO from SQLite) it is freed. */
exai_status mir_vrows_read(sqlite3 *db, mir_vrows *out, exai_error *e) EXAI_WUR;
void mir_vrows_free(mir_vrows *v);

/* Whether @payload (@len bytes) ends with the canonical members that the columns @cls,
 * @tenant (@cls_len, @ten_len bytes: exai names, at most MIR_NAME_MAX), @time and
 * @ingest_ms make. A column that is not such a name never matches. */
bool mir_payload_matches(const uint8_t *payload, size_t len, const char *cls, size_t cls_len,
			 const char *tenant, size_t ten_len, int64_t time, int64_t ingest_ms);

#endif
