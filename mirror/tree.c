/*
 * tree: the Merkle tree over the nodes table, and proof checks. See tree.h.
 *
 * Invariant: nodes holds (level, idx) exactly for the complete subtrees at the stored levels
 * (mir_tree_stored) of the leaves appended so far; every hash read comes from there, from
 * entries.leaf (level 0), or is computed from the stored level below (a missing node or
 * entry means a damaged store and is an error, never a recomputation from other leaves). The right
 * edge an append uses is a copy of nodes of that table, valid for edge_size leaves only: it is
 * loaded from the table whenever an append's index is another size, so a rolled-back append never
 * leaves a stale copy in use.
 */
#include "tree.h"

#include <string.h>

#include "exai/hash.h"
#include "exai/sqlite.h"

/* One short message through exai_sha256_multi (the SHA extensions, no EVP context per hash:
 * the writer hashes two or three of these per entry). */
static exai_status hash_one(const uint8_t *buf, size_t len, mir_hash out, exai_error *e)
{
	const uint8_t *d[1] = {buf};
	size_t n[1] = {len};

	return exai_sha256_multi(1, d, n, (uint8_t(*)[EXAI_SHA256_LEN])out, e);
}

exai_status mir_hash_leaf(const void *data, size_t len, mir_hash out, exai_error *e)
{
	uint8_t buf[1 + 256];
	exai_sha256 h;
	exai_status rc;
	uint8_t zero = 0;

	if (len < sizeof(buf)) {
		buf[0] = 0;
		if (len)
			memcpy(buf + 1, data, len);
		return hash_one(buf, 1 + len, out, e);
	}
	if ((rc = exai_sha256_init(&h, e)))
		return rc;
	exai_sha256_update(&h, &zero, 1);
	exai_sha256_update(&h, data, len);
	exai_sha256_final(&h, out);
	return EXAI_OK;
}

exai_status mir_hash_children(const mir_hash l, const mir_hash r, mir_hash out, exai_error *e)
{
	uint8_t buf[65];

	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	return hash_one(buf, sizeof(buf), out, e);
}

exai_status mir_tree_open(sqlite3 *db, mir_tree *t, exai_error *e)
{
	exai_status rc;

	memset(t, 0, sizeof(*t));
	t->db = db;
	if ((rc = exai_sqlite_prepare(db, "SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2",
				      "prepare node read", &t->get, e)) ||
	    (rc = exai_sqlite_prepare(db, "SELECT leaf FROM entries WHERE idx = ?1",
				      "prepare leaf read", &t->leaf, e)))
		mir_tree_close(t);
	return rc;
}

void mir_tree_close(mir_tree *t)
{
	sqlite3_finalize(t->get);
	sqlite3_finalize(t->put);
	sqlite3_finalize(t->leaf);
	t->get = t->put = t->leaf = NULL;
}

/* Leaf hash @idx: SHA-256(0x00 || entries.leaf). */
static exai_status leaf_get(mir_tree *t, uint64_t idx, mir_hash out, exai_error *e)
{
	exai_status rc;
	bool row = false;

	sqlite3_bind_int64(t->leaf, 1, (sqlite3_int64)idx);
	rc = exai_sqlite_step(t->leaf, "read leaf", &row, e);
	if (!rc && (!row || sqlite3_column_type(t->leaf, 0) != SQLITE_BLOB))
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "entry %llu (a leaf of the tree) is %s: the "
				    "store is damaged",
				    (unsigned long long)idx, row ? "without a leaf" : "missing");
	if (!rc)
		rc = mir_hash_leaf(sqlite3_column_blob(t->leaf, 0),
				   (size_t)sqlite3_column_bytes(t->leaf, 0), out, e);
	sqlite3_reset(t->leaf);
	return rc;
}

static exai_status node_get(mir_tree *t, unsigned level, uint64_t idx, mir_hash out, exai_error *e)
{
	exai_status rc;
	bool row = false;

	if (level == 0)
		return leaf_get(t, idx, out, e);
	if (!mir_tree_stored(level)) {
		mir_hash l, r;
		if ((rc = node_get(t, level - 1, 2 * idx, l, e)) ||
		    (rc = node_get(t, level - 1, 2 * idx + 1, r, e)))
			return rc;
		return mir_hash_children(l, r, out, e);
	}

	sqlite3_bind_int(t->get, 1, (int)level);
	sqlite3_bind_int64(t->get, 2, (sqlite3_int64)idx);
	rc = exai_sqlite_step(t->get, "read node", &row, e);
	if (!rc && (!row || sqlite3_column_bytes(t->get, 0) != 32))
		rc = exai_error_set(
		    e, EXAI_EFORMAT, "tree node (level %u, index %llu) is %s: the store is damaged",
		    level, (unsigned long long)idx, row ? "not 32 bytes" : "missing");
	if (!rc)
		memcpy(out, sqlite3_column_blob(t->get, 0), 32);
	sqlite3_reset(t->get);
	return rc;
}

static exai_status node_put(mir_tree *t, unsigned level, uint64_t idx, const mir_hash h,
			    exai_error *e)
{
	exai_status rc;

	if (!mir_tree_stored(level))
		return EXAI_OK;
	/* Prepared on the first write: readers (prove, verify) never compile the INSERT. */
	if (!t->put && (rc = exai_sqlite_prepare(
			    t->db, "INSERT INTO nodes(level, idx, hash) VALUES(?1, ?2, ?3)",
			    "prepare node write", &t->put, e)))
		return rc;
	sqlite3_bind_int(t->put, 1, (int)level);
	sqlite3_bind_int64(t->put, 2, (sqlite3_int64)idx);
	sqlite3_bind_blob(t->put, 3, h, 32, SQLITE_STATIC);
	return exai_sqlite_step_done(t->put, "write node", e);
}

/* The right edge of a tree of @size leaves, from the table. */
exai_status mir_tree_load(mir_tree *t, uint64_t size, exai_error *e)
{
	exai_status rc;

	t->edge_size = UINT64_MAX; /* invalid until every node is read */
	for (unsigned l = 0; l < 64; l++)
		if ((size >> l) & 1 && (rc = node_get(t, l, (size >> l) - 1, t->edge[l], e)))
			return rc;
	t->edge_size = size;
	return EXAI_OK;
}

exai_status mir_tree_append(mir_tree *t, uint64_t index, const mir_hash leaf, exai_error *e)
{
	mir_hash h;
	unsigned level = 0;
	uint64_t i = index;
	exai_status rc;

	if (index != t->edge_size && (rc = mir_tree_load(t, index, e)))
		return rc;
	memcpy(h, leaf, 32);
	/* An odd index completes its parent; the parent may complete its own. The left sibling
	 * at each level is the edge's node there (bit level of index is set). */
	while (i & 1) {
		if ((rc = mir_hash_children(t->edge[level], h, h, e)))
			return rc;
		i >>= 1;
		level++;
		if ((rc = node_put(t, level, i, h, e)))
			return rc;
	}
	/* index + 1 has bit level set and none below: h waits there for its right sibling. */
	memcpy(t->edge[level], h, 32);
	t->edge_size = index + 1;
	return EXAI_OK;
}

/* The largest power of two below @n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* The hash of leaves [lo, hi): a stored node when complete and aligned, else split (RFC 6962
 * MTH). Each level of the split reads at most one more node, so O(log n) reads. */
static exai_status range_hash(mir_tree *t, uint64_t lo, uint64_t hi, mir_hash out, exai_error *e)
{
	uint64_t n = hi - lo, k;
	mir_hash l, r;
	exai_status rc;

	if ((n & (n - 1)) == 0 && lo % n == 0)
		return node_get(t, (unsigned)__builtin_ctzll(n), lo / n, out, e);
	k = split_point(n);
	if ((rc = range_hash(t, lo, lo + k, l, e)) || (rc = range_hash(t, lo + k, hi, r, e)))
		return rc;
	return mir_hash_children(l, r, out, e);
}

exai_status mir_tree_root(mir_tree *t, uint64_t size, mir_hash out, exai_error *e)
{
	if (size == 0)
		return exai_error_set(e, EXAI_EINVAL, "the empty tree has no root here");
	return range_hash(t, 0, size, out, e);
}

static exai_status path(mir_tree *t, uint64_t m, uint64_t lo, uint64_t hi, mir_hash *proof,
			size_t *n, exai_error *e)
{
	uint64_t k;
	exai_status rc;

	if (hi - lo == 1)
		return EXAI_OK;
	k = split_point(hi - lo);
	if (m < lo + k) {
		if ((rc = path(t, m, lo, lo + k, proof, n, e)))
			return rc;
		return range_hash(t, lo + k, hi, proof[(*n)++], e);
	}
	if ((rc = path(t, m, lo + k, hi, proof, n, e)))
		return rc;
	return range_hash(t, lo, lo + k, proof[(*n)++], e);
}

exai_status mir_tree_inclusion(mir_tree *t, uint64_t index, uint64_t size,
			       mir_hash proof[MIR_PROOF_MAX], size_t *n, exai_error *e)
{
	*n = 0;
	if (index >= size)
		return exai_error_set(e, EXAI_EINVAL, "index %llu is not in a tree of %llu entries",
				      (unsigned long long)index, (unsigned long long)size);
	return path(t, index, 0, size, proof, n, e);
}

/* RFC 6962 SUBPROOF(m, D[lo:hi], b), m counted from lo. */
static exai_status subproof(mir_tree *t, uint64_t m, uint64_t lo, uint64_t hi, bool b,
			    mir_hash *proof, size_t *n, exai_error *e)
{
	uint64_t k;
	exai_status rc;

	if (m == hi - lo)
		return b ? EXAI_OK : range_hash(t, lo, hi, proof[(*n)++], e);
	k = split_point(hi - lo);
	if (m <= k) {
		if ((rc = subproof(t, m, lo, lo + k, b, proof, n, e)))
			return rc;
		return range_hash(t, lo + k, hi, proof[(*n)++], e);
	}
	if ((rc = subproof(t, m - k, lo + k, hi, false, proof, n, e)))
		return rc;
	return range_hash(t, lo, lo + k, proof[(*n)++], e);
}

exai_status mir_tree_consistency(mir_tree *t, uint64_t old, uint64_t size,
				 mir_hash proof[MIR_PROOF_MAX], size_t *n, exai_error *e)
{
	*n = 0;
	if (old == 0 || old > size)
		return exai_error_set(e, EXAI_EINVAL,
				      "no consistency proof from %llu to %llu entries (need 0 < "
				      "from <= to)",
				      (unsigned long long)old, (unsigned long long)size);
	return subproof(t, old, 0, size, true, proof, n, e);
}

exai_status mir_check_inclusion(const mir_hash leaf, uint64_t index, uint64_t size,
				const mir_hash *proof, size_t n, const mir_hash root, exai_error *e)
{
	uint64_t fn = index, sn = size - 1;
	mir_hash r;
	exai_status rc;

	if (index >= size)
		return exai_error_set(e, EXAI_EVERIFY, "index %llu is past the tree size %llu",
				      (unsigned long long)index, (unsigned long long)size);
	memcpy(r, leaf, 32);
	for (size_t i = 0; i < n; i++) {
		if (sn == 0)
			return exai_error_set(e, EXAI_EVERIFY, "inclusion proof: too many hashes");
		if ((fn & 1) || fn == sn) {
			if ((rc = mir_hash_children(proof[i], r, r, e)))
				return rc;
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((rc = mir_hash_children(r, proof[i], r, e))) {
			return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, root, 32))
		return exai_error_set(e, EXAI_EVERIFY,
				      "inclusion proof of index %llu does not lead to the root of "
				      "size %llu",
				      (unsigned long long)index, (unsigned long long)size);
	return EXAI_OK;
}

exai_status mir_check_consistency(uint64_t old, uint64_t size, const mir_hash old_root,
				  const mir_hash root, const mir_hash *proof, size_t n,
				  exai_error *e)
{
	uint64_t fn, sn;
	mir_hash fr, sr;
	size_t i = 0;
	exai_status rc;

	if (old == 0 || old > size)
		return exai_error_set(e, EXAI_EVERIFY, "consistency: need 0 < old <= new");
	if (old == size)
		return n == 0 && !memcmp(old_root, root, 32)
			   ? EXAI_OK
			   : exai_error_set(e, EXAI_EVERIFY, "consistency: same size, other root");
	if ((old & (old - 1)) == 0) {
		/* old is a power of two: its root is the proof's implicit first node. */
		memcpy(fr, old_root, 32);
	} else {
		if (n == 0)
			return exai_error_set(e, EXAI_EVERIFY, "consistency proof is empty");
		memcpy(fr, proof[0], 32);
		i = 1;
	}
	memcpy(sr, fr, 32);
	fn = old - 1;
	sn = size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < n; i++) {
		if (sn == 0)
			return exai_error_set(e, EXAI_EVERIFY,
					      "consistency proof: too many hashes");
		if ((fn & 1) || fn == sn) {
			if ((rc = mir_hash_children(proof[i], fr, fr, e)) ||
			    (rc = mir_hash_children(proof[i], sr, sr, e)))
				return rc;
			if (!(fn & 1))
				while (fn != 0 && !(fn & 1)) {
					fn >>= 1;
					sn >>= 1;
				}
		} else if ((rc = mir_hash_children(sr, proof[i], sr, e))) {
			return rc;
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, old_root, 32) || memcmp(sr, root, 32))
		return exai_error_set(
		    e, EXAI_EVERIFY, "consistency proof from %llu to %llu does not match the roots",
		    (unsigned long long)old, (unsigned long long)size);
	return EXAI_OK;
}
