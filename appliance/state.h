/*
 * state: exai-update's state database (SQLite, state_dir/state.db).
 *
 * Tables: ratchets (highest sequence per channel; newest signed creation time; root version),
 * installed components (what is active and what the previous slot/version holds), model
 * versions present on disk, history (every verify, apply, refusal, rollback, recover), the
 * journal of the operation in progress (at most one row), the outbox of events for the
 * mirror, and (schema 2) installed_file: every entry of every installed tree, keyed by
 * (type, name, loc, path), where loc is the slot / model version / rootfs slot the tree sits
 * in. A tree's records are written in the transaction that reaches the apply's commit point
 * (journal "switching"), so they always describe what the switch puts at that loc; the rows
 * of the active tree of a component are those with loc = installed.loc. airgap-verifier host
 * reads this table (read-only) to find drift: its columns are a documented contract
 * (docs/update.md).
 *
 * meta.schema holds the schema version; opening an older database migrates it, a newer one
 * is refused.
 *
 * Fails closed: the database is created only by upd_state_init() (`exai-update init`), which
 * also writes meta.provisioned, a random meta.state_id and the ratchet record
 * (state_dir/ratchets, ratchets.h). upd_state_open() never creates anything: a missing, empty,
 * short, non-SQLite, damaged (quick_check) or unprovisioned database, or a missing, altered or
 * disagreeing ratchet record, is EXAI_ECONFIG, never a fresh start.
 *
 * The two ratchet records: every commit of a transaction that raised a ratchet or cleared the
 * journal first replaces the record file with the ratchets the database holds inside that
 * transaction, then commits. So after a crash the file is either equal to the database or
 * ahead of it by exactly what the pending journal's apply commits (its channel sequence, signed
 * time and root version); open accepts that one difference (recover then finishes the apply,
 * or its revert brings the file back to the database), and refuses every other.
 *
 * Durability: WAL with synchronous=FULL, so a committed transaction survives a power cut and
 * an uncommitted one vanishes. Each multi-row change is one transaction; the fault point
 * "db.commit" sits right before every COMMIT (and before the record write it may need) so
 * tests can die at each one.
 */
#ifndef UPD_STATE_H
#define UPD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/text.h"
#include "exai/update_state.h"
#include "files.h"

typedef struct upd_state upd_state;

#define UPD_STATE_SCHEMA EXAI_UPD_STATE_SCHEMA

#define UPD_LOC_MAX 160

typedef struct upd_comp_ver {
	char version[EXAI_NAME_MAX + 1];
	char sha256[65];
	char loc[UPD_LOC_MAX]; /* slot "a"/"b", model version dir, rootfs slot "A"/"B" */
	char bundle_id[65];
	uint64_t sequence;
} upd_comp_ver;

typedef struct upd_installed {
	char type[16];
	char name[EXAI_NAME_MAX + 1];
	uint64_t time;
	upd_comp_ver cur;
	bool has_prev;
	upd_comp_ver prev;
} upd_installed;

typedef struct upd_event {
	const char *op;	       /* verify, apply, rollback, recover */
	const char *bundle_id; /* hex or "" */
	const char *channel;
	uint64_t sequence;
	const char *signers; /* comma-separated key ids */
	const char *outcome; /* ok, refused, failed, reverted, ... */
	const char *reason;
} upd_event;

typedef struct upd_journal {
	bool present;
	char op[32];
	char phase[32];
	char bundle_id[65];
	char *plan; /* JSON text, malloc'ed */
	uint64_t started;
} upd_journal;

/* Opens the provisioned state_dir/state.db and checks it and the ratchet record (above):
 * EXAI_ECONFIG with a message naming the file when either is missing or unusable. @lock takes
 * an exclusive lock on state_dir/lock first (EXAI_EEXIST if another exai-update holds it). */
exai_status upd_state_open(const char *dir, bool lock, upd_state **out, exai_error *e) EXAI_WUR;
/* Provisions @dir (created 0700 if needed): a new state.db with the schema and the
 * provisioning rows, then the ratchet record, all ratchets 0. EXAI_EEXIST when a database, its
 * WAL or a ratchet record is already there: init never replaces a state. @id gets the new
 * state id (hex). */
exai_status upd_state_init(const char *dir, char id[33], exai_error *e) EXAI_WUR;
void upd_state_close(upd_state *s);

exai_status upd_state_begin(upd_state *s, exai_error *e) EXAI_WUR;
/* Commits; the fault point "db.commit" comes first (a "fail" there rolls back). */
exai_status upd_state_commit(upd_state *s, exai_error *e) EXAI_WUR;
void upd_state_rollback(upd_state *s);

/* Ratchets. A missing channel reads as found = false. */
exai_status upd_state_channel_seq(upd_state *s, const char *channel, uint64_t *seq, bool *found,
				  exai_error *e) EXAI_WUR;
exai_status upd_state_raise_channel(upd_state *s, const char *channel, uint64_t seq,
				    exai_error *e) EXAI_WUR;
/* Named counters: "created" (newest signed creation time), "root_version". 0 if unset. */
exai_status upd_state_counter(upd_state *s, const char *key, uint64_t *out, exai_error *e) EXAI_WUR;
/* Sets @key to max(current, @v). */
exai_status upd_state_raise_counter(upd_state *s, const char *key, uint64_t v,
				    exai_error *e) EXAI_WUR;

/* Calls @fn for every channel ratchet, by channel name. */
typedef void (*upd_channel_fn)(void *arg, const char *channel, uint64_t seq);
exai_status upd_state_channels(upd_state *s, upd_channel_fn fn, void *arg, exai_error *e) EXAI_WUR;

exai_status upd_state_get_installed(upd_state *s, const char *type, const char *name,
				    upd_installed *out, bool *found, exai_error *e) EXAI_WUR;
exai_status upd_state_put_installed(upd_state *s, const upd_installed *in, exai_error *e) EXAI_WUR;
/* All rows (malloc'ed array, ordered by type and name). */
exai_status upd_state_list_installed(upd_state *s, upd_installed **out, size_t *n,
				     exai_error *e) EXAI_WUR;

/* Model versions present on disk, for keep-N garbage collection. */
exai_status upd_state_add_model_version(upd_state *s, const char *name, const char *version,
					exai_error *e) EXAI_WUR;
exai_status upd_state_del_model_version(upd_state *s, const char *name, const char *version,
					exai_error *e) EXAI_WUR;
/* Versions of @name, newest first (malloc'ed array of malloc'ed strings). */
exai_status upd_state_model_versions(upd_state *s, const char *name, char ***out, size_t *n,
				     exai_error *e) EXAI_WUR;
void upd_strv_free(char **v, size_t n);

/* Appends a history row (and, with @outbox, the same event to the mirror outbox). */
exai_status upd_state_add_history(upd_state *s, const upd_event *ev, bool outbox,
				  exai_error *e) EXAI_WUR;
/* Calls @fn for the newest @limit history rows, oldest first. */
typedef void (*upd_history_fn)(void *arg, int64_t id, uint64_t time, const upd_event *ev);
exai_status upd_state_history(upd_state *s, size_t limit, upd_history_fn fn, void *arg,
			      exai_error *e) EXAI_WUR;
/* The newest history row with op "apply" and outcome "ok"; found = false if none. */
exai_status upd_state_last_apply(upd_state *s, char bundle_id[65], bool *found,
				 exai_error *e) EXAI_WUR;

/* The channel and signers of the newest apply (or completed recover) of @bundle_id, for a
 * history row about that bundle (a rollback back to it); found = false if none. */
exai_status upd_state_bundle_seen(upd_state *s, const char *bundle_id, char channel[],
				  size_t channel_cap, char signers[], size_t signers_cap,
				  bool *found, exai_error *e) EXAI_WUR;

exai_status upd_state_journal_set(upd_state *s, const char *op, const char *phase,
				  const char *bundle_id, const char *plan, exai_error *e) EXAI_WUR;
exai_status upd_state_journal_phase(upd_state *s, const char *phase, exai_error *e) EXAI_WUR;
exai_status upd_state_journal_get(upd_state *s, upd_journal *out, exai_error *e) EXAI_WUR;
exai_status upd_state_journal_clear(upd_state *s, exai_error *e) EXAI_WUR;
void upd_journal_free(upd_journal *j);

/* Outbox: the oldest @max events (id, JSON line); deleting sent ones. */
typedef struct upd_outbox_item {
	int64_t id;
	char *line;
} upd_outbox_item;
exai_status upd_state_outbox(upd_state *s, size_t max, upd_outbox_item **out, size_t *n,
			     exai_error *e) EXAI_WUR;
exai_status upd_state_outbox_delete(upd_state *s, int64_t upto_id, exai_error *e) EXAI_WUR;
/* Deletes the one outbox event @id (none there: not an error). */
exai_status upd_state_outbox_delete_one(upd_state *s, int64_t id, exai_error *e) EXAI_WUR;
void upd_outbox_free(upd_outbox_item *items, size_t n);

/* Per-file records of the tree at (@type, @name, @loc): replaced by a finished @l; deleted;
 * read back (appended to @out, which is finished on return). Call put/del inside a
 * transaction with the change they describe. */
exai_status upd_state_put_files(upd_state *s, const char *type, const char *name, const char *loc,
				const upd_filelist *l, exai_error *e) EXAI_WUR;
exai_status upd_state_del_files(upd_state *s, const char *type, const char *name, const char *loc,
				exai_error *e) EXAI_WUR;
exai_status upd_state_files(upd_state *s, const char *type, const char *name, const char *loc,
			    upd_filelist *out, exai_error *e) EXAI_WUR;

/*
 * The running operation. The process that holds state_dir/lock (apply, rollback, recover,
 * init) also writes into that file what it is doing: "pid N", "command C", "phase P",
 * "done D", "total T", "since S" (one per line). upd_state_activity sets the command and
 * phase (and the total bytes of that phase) of the process's one open state;
 * upd_state_activity_add counts done bytes (any thread; the file is rewritten every 8 MiB and
 * at the end). upd_state_probe tells status whether such a process is alive: it is when the
 * lock is held (a shared non-blocking flock fails); then *@a holds what the file says.
 * A lock file that nobody holds, or that cannot be read, means nothing is running.
 */
typedef struct upd_activity {
	bool running;
	long pid;
	char command[16];
	char phase[32];
	uint64_t done, total, since;
} upd_activity;
void upd_state_activity(upd_state *s, const char *command, const char *phase, uint64_t total);
void upd_state_activity_add(uint64_t n);
void upd_state_probe(const char *dir, upd_activity *a);

/* The event as its audit line (exai/event.h; no newline), malloc'ed; NULL with @e set. */
char *upd_event_json(uint64_t time, const upd_event *ev, exai_error *e);

uint64_t upd_now(void);

#endif
