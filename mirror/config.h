/*
 * config: exai-mirror's configuration (mirror.yaml), loaded strictly: an unknown key, a
 * missing required key or a value out of range is refused at file:line:column. Every path
 * the daemon touches comes from here, so tests run in a temp dir without root.
 */
#ifndef MIR_CONFIG_H
#define MIR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exai/error.h"

#define MIR_DEFAULT_CONFIG "/etc/exai/mirror.yaml"
#define MIR_MAX_CLASSES	   32
#define MIR_MAX_TENANTS	   256
#define MIR_NAME_MAX	   64

typedef struct mir_class {
	char name[MIR_NAME_MAX + 1];
	uint64_t retention_days; /* 0: never stored (counted and dropped before the writer) */
} mir_class;

typedef struct mir_tenant {
	bool by_gid; /* the entry matches the peer's gid, not its uid */
	uint32_t id;
	char name[MIR_NAME_MAX + 1];
} mir_tenant;

typedef struct mir_config {
	char *path;	 /* the file loaded, for messages */
	char *state_dir; /* holds mirror.db */
	char *log_key;	 /* the signed-note secret key (exai-mirror keygen) */
	char *origin;	 /* the checkpoint origin line, also the key name */
	char *socket_path;
	mode_t socket_mode;
	uint64_t max_line;	 /* bytes of one record line, newline excluded */
	uint64_t max_batch;	 /* lines per batch (one ack each) */
	uint64_t queue_bytes;	 /* bytes queued for the writer before reading stops */
	uint64_t min_free_bytes; /* free disk under state_dir below which reading stops (0: off) */
	uint64_t checkpoint_ms;	 /* how often a checkpoint is signed while entries arrive */
	uint64_t retention_check_s; /* how often the pruning run looks for expired payloads */
	mir_class classes[MIR_MAX_CLASSES];
	size_t nclasses;
	mir_tenant tenants[MIR_MAX_TENANTS];
	size_t ntenants;
} mir_config;

/* The config path: @flag if given, else $EXAI_MIRROR_CONFIG, else MIR_DEFAULT_CONFIG. */
const char *mir_config_path(const char *flag);

/* Loads and checks @path; *out is freed with mir_config_free(). Errors are EXAI_ECONFIG
 * "config: <file>:<line>:<col>: <what>" (EXAI_ENOMEM aside). */
exai_status mir_config_load(const char *path, mir_config **out, exai_error *e) EXAI_WUR;
void mir_config_free(mir_config *c);

/* SIGHUP: loads @c's file again and takes what can change while serving: the tenant map
 * (peers connecting afterwards are mapped by it; a connection keeps the tenant it got). Every
 * other setting needs a restart: those that differ are named in @changed ("" if none). A file
 * that does not load leaves @c as it was and returns its error. Call it only from the thread
 * that maps peers (ingest). */
exai_status mir_config_reload(mir_config *c, char *changed, size_t cap, exai_error *e) EXAI_WUR;

/* The class named @name, or NULL (an unknown class is refused by the caller). */
const mir_class *mir_config_class(const mir_config *c, const char *name);
/* The tenant of a peer: a uid entry first, then a gid entry; NULL when unmapped. */
const char *mir_config_tenant(const mir_config *c, uid_t uid, gid_t gid);
/* The database path state_dir/mirror.db (malloc'ed; NULL on OOM). */
char *mir_config_db_path(const mir_config *c);
/* state_dir/checkpoint: the last signed checkpoint, written beside the database after each
 * one is stored, so a database that is gone is told from a log never started (malloc'ed). */
char *mir_config_cp_path(const mir_config *c);

#endif
