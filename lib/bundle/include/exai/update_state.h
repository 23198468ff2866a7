/*
 * update_state: exai-update's on-disk state as other components read it. exai-update
 * (appliance/) writes it; airgap-verifier's host mode (verifier/host/) reads it, read-only.
 * Everything both sides must agree on is here, once: the config keys that place installed
 * trees, the state database's file name, schema version and tables (EXAI_UPD_STATE_SQL is what
 * exai-update creates), and the queries readers run. tests/unit/appliance/test_update_state.c
 * prepares every reader query against a database exai-update made, so renaming a column
 * breaks the build's tests, not an appliance in the field.
 */
#ifndef EXAI_UPDATE_STATE_H
#define EXAI_UPDATE_STATE_H

#include "exai/manifest.h"

#define EXAI_UPD_CONFIG_DEFAULT "/etc/exai/update.yaml"
#define EXAI_UPD_STATE_DB	"state.db" /* in the config's state_dir */

/* The schema this build writes (exai-update) and the newest it can read (every reader):
 * 1 the first; 2 adds installed_file, the per-file records drift is checked against. */
#define EXAI_UPD_STATE_SCHEMA	  2
#define EXAI_UPD_STR_(x)	  #x
#define EXAI_UPD_STR(x)		  EXAI_UPD_STR_(x)
#define EXAI_UPD_STATE_SCHEMA_STR EXAI_UPD_STR(EXAI_UPD_STATE_SCHEMA)

/* install: the config key of each component type's directory (rootfs uses rootfs.slot_a and
 * rootfs.slot_b instead). */
static const struct {
	const char *key;
	exai_ctype type;
} exai_upd_install_dirs[] = {
    {"software_dir", EXAI_C_SOFTWARE}, {"models_dir", EXAI_C_MODEL},
    {"registry_dir", EXAI_C_IMAGES},   {"chart_dir", EXAI_C_CHART},
    {"policy_dir", EXAI_C_POLICY},     {"files_dir", EXAI_C_FILES},
};
#define EXAI_UPD_INSTALL_DIRS (sizeof(exai_upd_install_dirs) / sizeof(exai_upd_install_dirs[0]))

#define EXAI_UPD_STATE_SQL                                                                        \
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"             \
	"CREATE TABLE IF NOT EXISTS channel_ratchet(channel TEXT PRIMARY KEY,"                    \
	" sequence INTEGER NOT NULL);"                                                            \
	"CREATE TABLE IF NOT EXISTS counter(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"       \
	"CREATE TABLE IF NOT EXISTS installed(type TEXT NOT NULL, name TEXT NOT NULL,"            \
	" time INTEGER NOT NULL, version TEXT NOT NULL, sha256 TEXT NOT NULL, loc TEXT NOT NULL," \
	" bundle_id TEXT NOT NULL, sequence INTEGER NOT NULL, prev_version TEXT, prev_sha256 "    \
	"TEXT,"                                                                                   \
	" prev_loc TEXT, prev_bundle_id TEXT, prev_sequence INTEGER, PRIMARY KEY(type, name));"   \
	"CREATE TABLE IF NOT EXISTS model_version(name TEXT NOT NULL, version TEXT NOT NULL,"     \
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, UNIQUE(name, version));"                         \
	"CREATE TABLE IF NOT EXISTS history(id INTEGER PRIMARY KEY AUTOINCREMENT,"                \
	" time INTEGER NOT NULL, op TEXT NOT NULL, bundle_id TEXT NOT NULL, channel TEXT NOT "    \
	"NULL,"                                                                                   \
	" sequence INTEGER NOT NULL, signers TEXT NOT NULL, outcome TEXT NOT NULL,"               \
	" reason TEXT NOT NULL);"                                                                 \
	"CREATE TABLE IF NOT EXISTS journal(id INTEGER PRIMARY KEY CHECK (id = 1),"               \
	" op TEXT NOT NULL, phase TEXT NOT NULL, bundle_id TEXT NOT NULL, plan TEXT NOT NULL,"    \
	" started INTEGER NOT NULL);"                                                             \
	"CREATE TABLE IF NOT EXISTS outbox(id INTEGER PRIMARY KEY AUTOINCREMENT,"                 \
	" line TEXT NOT NULL);" /* schema 2: per-file records of each installed tree (type, name, \
				   loc) */                                                        \
	"CREATE TABLE IF NOT EXISTS installed_file(type TEXT NOT NULL, name TEXT NOT NULL,"       \
	" loc TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, mode INTEGER NOT NULL,"      \
	" size INTEGER NOT NULL, sha256 TEXT, target TEXT, PRIMARY KEY(type, name, loc, path))"   \
	" WITHOUT ROWID;"                                                                         \
	"INSERT OR IGNORE INTO meta VALUES('schema', '" EXAI_UPD_STATE_SCHEMA_STR "');"

/* What readers query (airgap-verifier host). */
#define EXAI_UPD_SQL_SCHEMA    "SELECT value FROM meta WHERE key = 'schema'"
#define EXAI_UPD_SQL_JOURNAL   "SELECT op || ' (phase ' || phase || ')' FROM journal"
#define EXAI_UPD_SQL_INSTALLED "SELECT type, name, version, loc FROM installed ORDER BY type, name"
#define EXAI_UPD_SQL_FILES                                                   \
	"SELECT path, kind, mode, size, sha256, target FROM installed_file " \
	"WHERE type = ? AND name = ? AND loc = ?"

#endif
