/*
 * tree: the log's RFC 6962 (C2SP merkle-tree) Merkle tree, kept in SQLite so that a root, an
 * inclusion proof or a consistency proof is O(log n) point reads, never a recomputation.
 *
 *   leaf hash      = SHA-256(0x00 || leaf data)      (leaf data: 32 bytes, store.h)
 *   interior hash  = SHA-256(0x01 || left || right)
 *
 * The node at (level, idx) is the hash of leaves [idx * 2^level, (idx + 1) * 2^level).
 * Level 0, the leaf hashes, is not stored as nodes: leaf hash i is SHA-256(0x00 || leaf) of
 * entries.leaf at idx = i (the caller stores that row before it appends). Table
 * nodes(level, idx, hash) holds the complete subtrees at the levels MIR_TREE_STRIDE,
 * 2 * MIR_TREE_STRIDE, ... only (schema 2: about one row per 15 entries instead of two per
 * entry); a node at another level is computed from the stored level below it (at most
 * 2^(MIR_TREE_STRIDE - 1) reads). Appending leaf i writes each stored-level node it completes.
 * A tree of any size is the fold of its complete subtrees (the binary digits of its size).
 */
#ifndef MIR_TREE_H
#define MIR_TREE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define MIR_TREE_SCHEMA                                                                         \
	"CREATE TABLE IF NOT EXISTS nodes(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash "  \
	"BLOB NOT NULL, PRIMARY KEY(level, idx)) WITHOUT ROWID;"                                \
	"CREATE TABLE IF NOT EXISTS checkpoints(size INTEGER PRIMARY KEY, root BLOB NOT NULL, " \
	"time_ms INTEGER NOT NULL, note TEXT NOT NULL);"

/* Levels kept in nodes: the positive multiples of this. */
#define MIR_TREE_STRIDE 4

/* Longest proof: one hash per level of a tree of 2^63 leaves, plus one. */
#define MIR_PROOF_MAX 64

typedef uint8_t mir_hash[32];

/* The right edge: for a tree of edge_size leaves, edge[l] is the stored node
 * (l, (edge_size >> l) - 1) for each bit l set in edge_size, the left sibling the next
 * appends will need. A cache of rows this connection wrote (or read), so an append reads no
 * node; an append at any other index than edge_size (after a rollback, say) loads it again
 * from the table first. */
typedef struct mir_tree {
	sqlite3 *db;
	sqlite3_stmt *get, *put, *leaf;
	mir_hash edge[64];
	uint64_t edge_size;
} mir_tree;

/* Reads nodes and entries(idx, leaf) of @db. */
exai_status mir_tree_open(sqlite3 *db, mir_tree *t, exai_error *e) EXAI_WUR;
void mir_tree_close(mir_tree *t);

/* SHA-256(0x00 || data) and SHA-256(0x01 || l || r). */
exai_status mir_hash_leaf(const void *data, size_t len, mir_hash out, exai_error *e) EXAI_WUR;
exai_status mir_hash_children(const mir_hash l, const mir_hash r, mir_hash out,
			      exai_error *e) EXAI_WUR;

/* Appends leaf @index (which must be the current size) with leaf hash @leaf. The left
 * siblings come from the right edge (loaded from the table when @index is not its size). */
exai_status mir_tree_append(mir_tree *t, uint64_t index, const mir_hash leaf,
			    exai_error *e) EXAI_WUR;
/* Loads the right edge of a tree of @size leaves (an error when a node or entry it needs is
 * missing: the store is damaged). */
exai_status mir_tree_load(mir_tree *t, uint64_t size, exai_error *e) EXAI_WUR;
/* Whether level @l is kept in nodes. */
static inline bool mir_tree_stored(unsigned l)
{
	return l > 0 && l % MIR_TREE_STRIDE == 0;
}
/* The root of the first @size leaves (size >= 1). A missing node is EXAI_EFORMAT. */
exai_status mir_tree_root(mir_tree *t, uint64_t size, mir_hash out, exai_error *e) EXAI_WUR;
/* RFC 6962 2.1.1 inclusion proof of leaf @index in the tree of @size leaves. */
exai_status mir_tree_inclusion(mir_tree *t, uint64_t index, uint64_t size,
			       mir_hash proof[MIR_PROOF_MAX], size_t *n, exai_error *e) EXAI_WUR;
/* RFC 6962 2.1.2 consistency proof from @old to @size leaves (0 < old <= size). */
exai_status mir_tree_consistency(mir_tree *t, uint64_t old, uint64_t size,
				 mir_hash proof[MIR_PROOF_MAX], size_t *n, exai_error *e) EXAI_WUR;

/* RFC 9162 2.1.3.2 / 2.1.4.2 verification, independent of the store (for verify and tests). */
exai_status mir_check_inclusion(const mir_hash leaf, uint64_t index, uint64_t size,
				const mir_hash *proof, size_t n, const mir_hash root,
				exai_error *e) EXAI_WUR;
exai_status mir_check_consistency(uint64_t old, uint64_t size, const mir_hash old_root,
				  const mir_hash root, const mir_hash *proof, size_t n,
				  exai_error *e) EXAI_WUR;

#endif
