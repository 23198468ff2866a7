/*
 * cmd_verify: `exai-mirror verify [--config FILE] [--vkey FILE] [--json]`, the auditor's
 * check of a whole store, on a read-only connection. It recomputes the tree from the stored
 * leaves and checks, naming the entry index of each problem:
 *   - indexes are dense from 0 (a gap is a removed row);
 *   - each row's leaf is SHA-256(nonce || payload) and its columns are its payload's
 *     (a pruned payload, NULL, keeps its leaf and is reported as pruned, not as a problem);
 *   - each stored tree node (levels 4, 8, ...) is the recomputed one, and none is missing or
 *     extra (a leaf that differs names the 16 entries of its level-4 node: an altered,
 *     inserted or reordered row); rows past the tree's size (meta) are inserted ones;
 *   - each checkpoint's note verifies with the vkey, says what its row says, and its root is
 *     the recomputed root of that many entries.
 * Exit 0 when all holds, 1 with the list of problems otherwise.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exai/cli.h"
#include "exai/hash.h"
#include "exai/json.h"
#include "exai/sqlite.h"
#include "mir_cli.h"
#include "note.h"
#include "store.h"
#include "tree.h"
#include "verify_rows.h"

#define SHOW_MAX 50

const char mir_verify_help[] =
    "usage: exai-mirror verify [--config FILE] [--vkey FILE] [--json]\n"
    "\n"
    "Recomputes the log from the stored entries and checks every node and checkpoint;\n"
    "names the index of every altered, inserted, removed or reordered entry (exit 1).\n";

enum { O_VKEY = MIR_O_FIRST };

typedef struct vctx {
	sqlite3 *db;
	mir_vkey vk;
	mir_vrows rows;	  /* the row pass: per-entry findings, level 0 (lv[0] is its leaves) */
	mir_hash *lv[64]; /* recomputed tree: level l has len[l] complete subtrees */
	uint64_t len[64];
	uint64_t n; /* entries (the highest index + 1) */
	uint64_t checkpoints, last_cp, problems;
	json_t *list;
	bool json;
} vctx;

static void problem(vctx *v, int64_t index, const char *fmt, ...) EXAI_PRINTF(3, 4);
static void problem(vctx *v, int64_t index, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v->problems++ >= SHOW_MAX)
		return;
	if (v->json)
		json_array_append_new(v->list,
				      json_pack("{s:o,s:s}", "index",
						index >= 0 ? json_integer(index) : json_null(),
						"problem", msg));
	else
		printf("%s\n", msg);
}

/* The row pass's findings as problems, in index order (a gap, then each row's own). */
static void row_problems(vctx *v)
{
	const uint8_t *f = v->rows.flags;

	if (v->rows.negative)
		problem(v, -1, "%llu entries with an index below 0, the first %lld (inserted)",
			(unsigned long long)v->rows.negative, (long long)v->rows.first_negative);
	for (uint64_t i = 0; i < v->n; i++) {
		if (!(f[i] & MIR_VR_PRESENT)) {
			uint64_t j = i;
			while (j + 1 < v->n && !(f[j + 1] & MIR_VR_PRESENT))
				j++;
			problem(v, (int64_t)i, "entries %llu to %llu: missing (removed)",
				(unsigned long long)i, (unsigned long long)j);
			i = j;
		} else if (f[i] & MIR_VR_BADSIZE) {
			problem(v, (int64_t)i,
				"entry %llu: nonce or leaf of the wrong size (altered)",
				(unsigned long long)i);
		} else if (f[i] & MIR_VR_PAYLOAD) {
			problem(v, (int64_t)i,
				"entry %llu: its payload does not match its leaf (altered)",
				(unsigned long long)i);
		} else if (f[i] & MIR_VR_COLUMNS) {
			problem(
			    v, (int64_t)i,
			    "entry %llu: its class, tenant or time columns differ from its payload "
			    "(altered)",
			    (unsigned long long)i);
		}
	}
}

/* Level l + 1 from level l, EXAI_SHA256_MULTI_MAX nodes at a time. */
static exai_status hash_level(const mir_hash *lo, mir_hash *up, uint64_t n, exai_error *e)
{
	const size_t w = EXAI_SHA256_MULTI_MAX;
	exai_status rc;

	for (uint64_t i = 0; i < n; i += w) {
		uint8_t in[EXAI_SHA256_MULTI_MAX][1 + 2 * 32];
		const uint8_t *data[EXAI_SHA256_MULTI_MAX];
		size_t len[EXAI_SHA256_MULTI_MAX], k = n - i < w ? (size_t)(n - i) : w;

		for (size_t j = 0; j < k; j++) {
			in[j][0] = 0x01;
			memcpy(in[j] + 1, lo[2 * (i + j)], 2 * 32);
			data[j] = in[j];
			len[j] = sizeof(in[j]);
		}
		if ((rc = exai_sha256_multi(k, data, len, up + i, e)))
			return rc;
	}
	return EXAI_OK;
}

static exai_status build_levels(vctx *v, exai_error *e)
{
	exai_status rc;

	v->lv[0] = v->rows.leaves;
	v->len[0] = v->n;
	for (unsigned l = 0; l < 63 && v->len[l] >= 2; l++) {
		v->len[l + 1] = v->len[l] / 2;
		if (!(v->lv[l + 1] = malloc(v->len[l + 1] * sizeof(mir_hash))))
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		if ((rc = hash_level(v->lv[l], v->lv[l + 1], v->len[l + 1], e)))
			return rc;
	}
	return EXAI_OK;
}

/* The tree's size in meta: entries past it were never appended by the writer (inserted),
 * entries missing below it were removed. */
static exai_status check_size(vctx *v, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc;
	bool row = false;
	uint64_t size;

	if ((rc = exai_sqlite_prepare(v->db, "SELECT value FROM meta WHERE key = 'size'",
				      "read the tree size", &st, e)) ||
	    (rc = exai_sqlite_step(st, "read the tree size", &row, e)))
		goto out;
	if (!row || sqlite3_column_type(st, 0) != SQLITE_TEXT) {
		problem(v, -1, "the tree size (meta 'size') is missing");
		goto out;
	}
	size = strtoull((const char *)sqlite3_column_text(st, 0), NULL, 10);
	for (uint64_t i = size; i < v->n; i++)
		if (v->rows.flags[i] & MIR_VR_PRESENT)
			problem(v, (int64_t)i, "entry %llu: not in the tree (inserted)",
				(unsigned long long)i);
	if (size > v->n)
		problem(v, (int64_t)v->n,
			"the tree has %llu entries, %llu stored (entries %llu to %llu removed)",
			(unsigned long long)size, (unsigned long long)v->n,
			(unsigned long long)v->n, (unsigned long long)size - 1);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Every stored node (levels 4, 8, ...: tree.h) against the recomputed tree; a node at another
 * level, past the entries, or missing is named too. */
static exai_status check_nodes(vctx *v, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t count = 0, want = 0;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(v->db, "SELECT level, idx, hash FROM nodes", "read nodes",
				      &st, e)))
		return rc;
	while (!(rc = exai_sqlite_step(st, "read nodes", &row, e)) && row) {
		int64_t l = sqlite3_column_int64(st, 0), i = sqlite3_column_int64(st, 1);
		if (l < 0 || l > 62 || !mir_tree_stored((unsigned)l)) {
			problem(v, -1,
				"tree node (level %lld, index %lld): not a level the tree keeps "
				"(inserted)",
				(long long)l, (long long)i);
			continue;
		}
		if (i < 0 || (uint64_t)i >= v->len[l]) {
			problem(v, -1,
				"tree node (level %lld, index %lld): beyond the entries stored "
				"(entries removed?)",
				(long long)l, (long long)i);
			continue;
		}
		count++;
		if (sqlite3_column_bytes(st, 2) == 32 &&
		    !memcmp(sqlite3_column_blob(st, 2), v->lv[l][i], 32))
			continue;
		problem(v, (int64_t)((uint64_t)i << l),
			"tree node (level %lld, index %lld) over entries %llu to %llu: not "
			"the hash of those entries (one of them altered, inserted or reordered)",
			(long long)l, (long long)i, (unsigned long long)i << l,
			(unsigned long long)((i + 1) << l) - 1);
	}
	sqlite3_finalize(st);
	for (unsigned l = 0; l < 63; l++)
		if (mir_tree_stored(l))
			want += v->len[l];
	if (!rc && count < want)
		problem(v, -1, "the tree has %llu nodes, %llu entries need %llu (nodes removed)",
			(unsigned long long)count, (unsigned long long)v->n,
			(unsigned long long)want);
	return rc ? rc : check_size(v, e);
}

/* The recomputed root of the first @size entries (1 <= size <= n). */
static exai_status root_of(vctx *v, uint64_t size, mir_hash out, exai_error *e)
{
	mir_hash parts[64];
	int np = 0;
	uint64_t pos = 0;
	exai_status rc;

	for (int l = 63; l >= 0; l--)
		if (size & ((uint64_t)1 << l)) {
			memcpy(parts[np++], v->lv[l][pos >> l], 32);
			pos += (uint64_t)1 << l;
		}
	memcpy(out, parts[np - 1], 32);
	for (int i = np - 2; i >= 0; i--)
		if ((rc = mir_hash_children(parts[i], out, out, e)))
			return rc;
	return EXAI_OK;
}

static exai_status check_checkpoints(vctx *v, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	uint64_t good = 0;
	exai_status rc;
	bool row;

	if ((rc = exai_sqlite_prepare(v->db,
				      "SELECT size, root, note FROM checkpoints ORDER BY size",
				      "read checkpoints", &st, e)))
		return rc;
	while (!(rc = exai_sqlite_step(st, "read checkpoints", &row, e)) && row) {
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 0), ns = 0;
		const char *note = (const char *)sqlite3_column_text(st, 2);
		mir_hash nr, r;
		exai_error ce;

		v->checkpoints++;
		if (!note || mir_checkpoint_open(note, strlen(note), &v->vk, &ns, nr, &ce)) {
			problem(v, -1, "checkpoint %llu: %s", (unsigned long long)size,
				note ? ce.msg : "no note");
			continue;
		}
		if (ns != size || sqlite3_column_bytes(st, 1) != 32 ||
		    memcmp(nr, sqlite3_column_blob(st, 1), 32)) {
			problem(v, -1, "checkpoint %llu: its row differs from its signed note",
				(unsigned long long)size);
			continue;
		}
		if (size == 0) {
			problem(v, -1, "checkpoint 0: a signed empty tree (never signed here)");
			continue;
		}
		if (size > v->n) {
			problem(
			    v, (int64_t)v->n,
			    "checkpoint %llu: signed over %llu entries, %llu stored (entries %llu "
			    "to %llu removed)",
			    (unsigned long long)size, (unsigned long long)size,
			    (unsigned long long)v->n, (unsigned long long)v->n,
			    (unsigned long long)size - 1);
			continue;
		}
		if ((rc = root_of(v, size, r, e)))
			break;
		if (memcmp(r, nr, 32))
			problem(
			    v, (int64_t)good,
			    "checkpoint %llu: not the root of the stored entries (one of entries "
			    "%llu to %llu was altered, inserted, removed or reordered)",
			    (unsigned long long)size, (unsigned long long)good,
			    (unsigned long long)size - 1);
		else
			good = size;
		v->last_cp = size;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Every check, on one snapshot of the store (one read transaction). */
static exai_status check_all(vctx *v, exai_error *e)
{
	exai_status rc;

	if ((rc = exai_sqlite_exec(v->db, "BEGIN", "begin a read transaction", e)))
		return rc;
	if (!(rc = mir_vrows_read(v->db, &v->rows, e))) {
		v->n = v->rows.n;
		row_problems(v);
		if (!(rc = build_levels(v, e)) && !(rc = check_nodes(v, e)))
			rc = check_checkpoints(v, e);
	}
	if (exai_sqlite_exec(v->db, "COMMIT", "end the read transaction", rc ? NULL : e) && !rc)
		rc = e->code;
	return rc;
}

static int report(vctx *v)
{
	if (v->json) {
		json_t *o =
		    json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:o}", "ok", v->problems == 0, "entries",
			      (json_int_t)v->n, "pruned", (json_int_t)v->rows.pruned, "checkpoints",
			      (json_int_t)v->checkpoints, "last_checkpoint", (json_int_t)v->last_cp,
			      "problem_count", (json_int_t)v->problems, "problems", v->list);
		v->list = NULL;
		exai_json_emit(o, stdout);
	} else if (v->problems) {
		printf("verify: FAILED: %llu problems (%s)\n", (unsigned long long)v->problems,
		       v->problems > SHOW_MAX ? "the first shown above" : "above");
	} else {
		printf("verify: ok: %llu entries (%llu pruned), %llu checkpoints, the last of size "
		       "%llu\n",
		       (unsigned long long)v->n, (unsigned long long)v->rows.pruned,
		       (unsigned long long)v->checkpoints, (unsigned long long)v->last_cp);
	}
	return v->problems ? EXAI_EXIT_FAIL : EXAI_EXIT_OK;
}

int mir_cmd_verify(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    MIR_GLOBAL_OPTS, {"vkey", true, O_VKEY}, {NULL, false, 0}};
	const char *vkey = NULL, *val;
	char *vpath = NULL;
	mir_config *cfg = NULL;
	mir_common c = {0};
	exai_cli_parser p;
	vctx v = {0};
	exai_error e;
	int id, code;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &val)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", val);
		if (id == O_VKEY)
			vkey = val;
		else if (!mir_common_opt(&c, id, val))
			return exai_cli_exit(id);
	}
	v.json = c.json;
	if ((code = mir_open_store("verify", c.config, v.json, &cfg, &v.db)))
		return code;
	v.list = json_array();
	if (!(vpath = mir_vkey_path(cfg, vkey)) || !v.list) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		code = mir_report("verify", &e, v.json, EXAI_EXIT_USAGE);
	} else if (mir_vkey_load(vpath, &v.vk, &e)) {
		code = mir_report("verify", &e, v.json, EXAI_EXIT_USAGE);
	} else if (check_all(&v, &e)) {
		code = mir_report("verify", &e, v.json, mir_exit_code(&e));
	} else {
		code = report(&v);
	}
	for (int l = 1; l < 64; l++)
		free(v.lv[l]);
	mir_vrows_free(&v.rows);
	json_decref(v.list);
	free(vpath);
	exai_sqlite_close(v.db);
	mir_config_free(cfg);
	return code;
}
