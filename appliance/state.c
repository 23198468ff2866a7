/*
 * state: the SQLite state database: opening (fail closed), provisioning, the lock and the
 * running operation, transactions, and the ratchets with their second record. The rows the
 * operations read and write (installed, history, journal, outbox, files) are in
 * state_rows.c. See state.h for the tables and durability rules.
 *
 * Every statement is prepared per call (the workload is a handful of rows per operation),
 * every text value is bound, never spliced into SQL.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/secmem.h"
#include "exai/sqlite.h"
#include "ratchets.h"
#include "state_db.h"

/* The tables, shared with every reader of this database (exai/update_state.h). */
static const char *const schema = EXAI_UPD_STATE_SQL;

uint64_t upd_now(void)
{
	return (uint64_t)time(NULL);
}

exai_status upd_db_err(upd_state *s, exai_error *e, const char *what)
{
	int code = sqlite3_errcode(s->db) & 0xff; /* the primary code (extended codes are on) */

	return exai_error_set(e, code == SQLITE_FULL ? EXAI_ENOSPC : EXAI_EIO, "state db: %s: %s",
			      what, sqlite3_errmsg(s->db));
}

/*
 * Prepares @sql and binds arguments described by @types: 't' text (const char *, NULL binds
 * NULL), 'i' integer (uint64_t, stored as int64).
 */
exai_status upd_db_prep(upd_state *s, sqlite3_stmt **st, exai_error *e, const char *sql,
			const char *types, ...)
{
	va_list ap;
	int i = 1;

	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		return upd_db_err(s, e, "prepare");
	va_start(ap, types);
	for (const char *t = types; *t; t++, i++) {
		int r;
		if (*t == 't') {
			const char *v = va_arg(ap, const char *);
			r = v ? sqlite3_bind_text(*st, i, v, -1, SQLITE_TRANSIENT)
			      : sqlite3_bind_null(*st, i);
		} else {
			r = sqlite3_bind_int64(*st, i, (sqlite3_int64)va_arg(ap, uint64_t));
		}
		if (r != SQLITE_OK) {
			va_end(ap);
			sqlite3_finalize(*st);
			*st = NULL;
			return upd_db_err(s, e, "bind");
		}
	}
	va_end(ap);
	return EXAI_OK;
}

/* Runs a statement that returns no rows. */
exai_status upd_db_run(upd_state *s, sqlite3_stmt *st, exai_error *e)
{
	int r = sqlite3_step(st);

	sqlite3_finalize(st);
	if (r != SQLITE_DONE)
		return upd_db_err(s, e, "write");
	return EXAI_OK;
}

exai_status upd_db_exec(upd_state *s, const char *sql, exai_error *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		exai_status rc = exai_error_set(e, EXAI_EIO, "state db: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return rc;
	}
	return EXAI_OK;
}

/* A state file this user may not read or write: say so, and what to do (not SQLite's
 * "unable to open database file"). */
static exai_status denied(const char *path, exai_error *e)
{
	return exai_error_set(e, EXAI_ECONFIG,
			      "%s: permission denied: the state of exai-update belongs to root "
			      "(state_dir is 0700, its files 0600) and this is uid %ld: run "
			      "exai-update as root (e.g. with sudo)",
			      path, (long)geteuid());
}

static exai_status take_lock(upd_state *s, const char *dir, exai_error *e)
{
	char *path = exai_path_join(dir, "lock");

	if (!path)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (s->lock_fd < 0 && errno == EACCES) {
		char lp[4200];
		snprintf(lp, sizeof(lp), "%s/lock", dir);
		return denied(lp, e);
	}
	if (s->lock_fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s/lock: open", dir);
	/* A status probing the lock holds it shared for a moment: try for half a second. */
	for (int i = 0; flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0; i++) {
		if (errno != EWOULDBLOCK)
			return exai_error_sys(e, EXAI_EIO, "%s/lock: flock", dir);
		if (i == 50) {
			upd_activity a;
			upd_state_probe(dir, &a);
			if (a.running && a.pid > 0)
				return exai_error_set(
				    e, EXAI_EEXIST,
				    "another exai-update is running (%s, pid %ld, "
				    "phase %s; %s/lock is held)",
				    a.command, a.pid, a.phase, dir);
			return exai_error_set(e, EXAI_EEXIST,
					      "another exai-update is running (%s/lock is held)",
					      dir);
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "pid %ld\n", (long)getpid());
	if (pwrite(s->lock_fd, pid, (size_t)n, 0) == n) /* for status; see upd_state_probe */
		(void)!ftruncate(s->lock_fd, n);
	return EXAI_OK;
}

/* ---- the running operation (see state.h) ---- */

static struct {
	int fd; /* the lock file of the open state, -1 when none */
	char command[16], phase[32];
	uint64_t done, total, since, written;
	pthread_mutex_t mu;
} act = {.fd = -1, .mu = PTHREAD_MUTEX_INITIALIZER};

/* Called with act.mu held. */
static void activity_write(void)
{
	char buf[256];
	int n;

	if (act.fd < 0)
		return;
	n = snprintf(buf, sizeof(buf),
		     "pid %ld\ncommand %s\nphase %s\ndone %llu\ntotal %llu\nsince %llu\n",
		     (long)getpid(), act.command, act.phase, (unsigned long long)act.done,
		     (unsigned long long)act.total, (unsigned long long)act.since);
	if (n > 0 && pwrite(act.fd, buf, (size_t)n, 0) == n)
		(void)!ftruncate(act.fd, n);
	act.written = act.done;
}

void upd_state_activity(upd_state *s, const char *command, const char *phase, uint64_t total)
{
	pthread_mutex_lock(&act.mu);
	act.fd = s ? s->lock_fd : -1;
	if (strcmp(act.command, command))
		act.since = upd_now();
	snprintf(act.command, sizeof(act.command), "%s", command);
	snprintf(act.phase, sizeof(act.phase), "%s", phase);
	act.done = 0;
	act.total = total;
	activity_write();
	pthread_mutex_unlock(&act.mu);
}

void upd_state_activity_add(uint64_t n)
{
	pthread_mutex_lock(&act.mu);
	act.done += n;
	if (act.done - act.written >= (8u << 20) || act.done >= act.total)
		activity_write();
	pthread_mutex_unlock(&act.mu);
}

static uint64_t field_u64(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	unsigned long long v = 0;

	if (p && (p == buf || p[-1] == '\n'))
		v = strtoull(p + strlen(key), NULL, 10);
	return (uint64_t)v;
}

static void field_word(const char *buf, const char *key, char *out, size_t cap)
{
	const char *p = strstr(buf, key);
	size_t n = 0;

	if (p && (p == buf || p[-1] == '\n')) {
		p += strlen(key);
		while (p[n] && p[n] != '\n' && n + 1 < cap)
			n++;
		memcpy(out, p, n);
	}
	out[n] = '\0';
}

void upd_state_probe(const char *dir, upd_activity *a)
{
	char path[4200], buf[512];
	ssize_t n;
	int fd;

	memset(a, 0, sizeof(*a));
	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0 || errno != EWOULDBLOCK) {
		close(fd); /* nobody holds it (closing drops our shared lock at once) */
		return;
	}
	a->running = true;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	a->pid = (long)field_u64(buf, "pid ");
	field_word(buf, "command ", a->command, sizeof(a->command));
	field_word(buf, "phase ", a->phase, sizeof(a->phase));
	a->done = field_u64(buf, "done ");
	a->total = field_u64(buf, "total ");
	a->since = field_u64(buf, "since ");
	if (!a->command[0])
		snprintf(a->command, sizeof(a->command), "unknown");
	if (!a->phase[0])
		snprintf(a->phase, sizeof(a->phase), "starting");
}

/* The text of the one meta row @key into @out; false when the row or the table is missing. */
static bool meta_text(upd_state *s, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) ==
		SQLITE_OK &&
	    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		ok = true;
	}
	sqlite3_finalize(st);
	return ok;
}

/*
 * Brings an existing database to UPD_STATE_SCHEMA, inside the opening transaction (the schema
 * text has already created any missing table). 1 -> 2 adds installed_file: trees installed
 * before it have no per-file records until they are replaced (airgap-verifier host reports
 * them as unrecorded rather than guessing from what is on disk now). A newer schema than this
 * binary knows is refused: an older exai-update must not half-understand a newer state.
 */
static exai_status migrate(upd_state *s, exai_error *e)
{
	char text[32];
	uint64_t v = 0;

	if (!meta_text(s, "schema", text, sizeof(text)) || !exai_parse_u64(text, &v) || v == 0)
		return exai_error_set(e, EXAI_EFORMAT, "state db: unreadable schema version");
	if (v > UPD_STATE_SCHEMA)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "state db: schema version %llu is newer than this exai-update "
		    "(%d)",
		    (unsigned long long)v, UPD_STATE_SCHEMA);
	if (v == UPD_STATE_SCHEMA)
		return EXAI_OK;
	return upd_db_exec(
	    s, "UPDATE meta SET value = '" EXAI_UPD_STATE_SCHEMA_STR "' WHERE key = 'schema';", e);
}

#define NOT_PROVISIONED                                                                       \
	"a new appliance is provisioned once with 'exai-update init'; on a provisioned one, " \
	"restore state_dir from a backup (exai-update never starts over with empty ratchets)"

/*
 * Before SQLite sees the file: a regular file (not a link) that starts with the SQLite header.
 * SQLite would treat a missing or empty file as a new, empty database and write to it.
 */
static exai_status check_db_file(const char *path, exai_error *e)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return errno == ENOENT	 ? exai_error_set(e, EXAI_ECONFIG,
							  "%s is missing: " NOT_PROVISIONED, path)
		       : errno == EACCES ? denied(path, e)
					 : exai_error_sys(e, EXAI_EIO, "%s", path);
	if (!S_ISREG(st.st_mode))
		return exai_error_set(e, EXAI_ECONFIG, "%s is not a regular file", path);
	if (st.st_size < 512)
		return exai_error_set(e, EXAI_ECONFIG,
				      "%s is %lld bytes, too short for a state database "
				      "(truncated?): " NOT_PROVISIONED,
				      path, (long long)st.st_size);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == EACCES ? denied(path, e)
				       : exai_error_sys(e, EXAI_EIO, "%s: open", path);
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic)))
		return exai_error_set(e, EXAI_ECONFIG,
				      "%s is not an SQLite database: " NOT_PROVISIONED, path);
	/* Readable but not writable: SQLite would open it read-only and fail later with
	 * "attempt to write a readonly database", which reads like damage. */
	if (access(path, R_OK | W_OK) != 0 && errno == EACCES)
		return denied(path, e);
	return EXAI_OK;
}

/* Journal mode, integrity, and the rows only init writes. */
static exai_status check_db(upd_state *s, const char *path, exai_error *e)
{
	char ok[64], v[64];
	sqlite3_stmt *st = NULL;
	bool intact = false;

	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL) != SQLITE_OK)
		return exai_error_set(e, EXAI_ECONFIG, "%s is damaged (%s): " NOT_PROVISIONED, path,
				      sqlite3_errmsg(s->db));
	if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		snprintf(ok, sizeof(ok), "%s", (const char *)sqlite3_column_text(st, 0));
		intact = !strcmp(ok, "ok");
	} else {
		snprintf(ok, sizeof(ok), "%s", sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(st);
	if (!intact)
		return exai_error_set(e, EXAI_ECONFIG, "%s is damaged (%s): " NOT_PROVISIONED, path,
				      ok);
	if (!meta_text(s, "provisioned", v, sizeof(v)) || !meta_text(s, "state_id", v, sizeof(v)))
		return exai_error_set(e, EXAI_ECONFIG,
				      "%s was not provisioned by 'exai-update init' (no "
				      "provisioning row): " NOT_PROVISIONED,
				      path);
	return EXAI_OK;
}

static exai_status get_u63(sqlite3_stmt *st, int col, uint64_t *out, exai_error *e)
{
	sqlite3_int64 v = sqlite3_column_int64(st, col);

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER || v < 0)
		return exai_error_set(e, EXAI_EFORMAT, "state db: a ratchet is not a number >= 0");
	*out = (uint64_t)v;
	return EXAI_OK;
}

/* The ratchets as the database holds them (inside the current transaction, if any). */
static exai_status db_ratchets(upd_state *s, upd_ratchets *r, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc;
	int step = SQLITE_DONE;

	memset(r, 0, sizeof(*r));
	if (!meta_text(s, "state_id", r->state_id, sizeof(r->state_id)))
		return exai_error_set(e, EXAI_EFORMAT, "state db: no state id");
	if ((rc = upd_db_prep(s, &st, e, "SELECT key, value FROM counter", "")))
		return rc;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (k && !strcmp(k, "created"))
			rc = get_u63(st, 1, &r->created, e);
		else if (k && !strcmp(k, "root_version"))
			rc = get_u63(st, 1, &r->root_version, e);
	}
	if (!rc && step != SQLITE_DONE)
		rc = upd_db_err(s, e, "read counters");
	sqlite3_finalize(st);
	if (rc ||
	    (rc = upd_db_prep(s, &st, e, "SELECT channel, sequence FROM channel_ratchet", "")))
		goto out;
	while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t v = 0;
		if (!(rc = get_u63(st, 1, &v, e)))
			rc = upd_ratchets_raise_channel(r, (const char *)sqlite3_column_text(st, 0),
							v, e);
	}
	if (!rc && step != SQLITE_DONE)
		rc = upd_db_err(s, e, "read ratchets");
	sqlite3_finalize(st);
out:
	if (rc)
		upd_ratchets_free(r);
	return rc;
}

/* The database's ratchets raised by what the pending journal's plan would commit; false when
 * there is no apply past its commit point ("switching", or "reverting" after it) or its plan
 * does not name a channel. A journal still "staging" never explains a record ahead. */
static bool journal_raise(upd_state *s, upd_ratchets *r)
{
	upd_journal j;
	json_t *p = NULL;
	const char *ch;
	bool ok = false;

	if (upd_state_journal_get(s, &j, NULL) || !j.present || strcmp(j.op, "apply") ||
	    (strcmp(j.phase, "switching") && strcmp(j.phase, "reverting")))
		goto out;
	if (!(p = json_loads(j.plan, 0, NULL)) ||
	    !(ch = json_string_value(json_object_get(p, "channel"))))
		goto out;
	json_int_t seq = json_integer_value(json_object_get(p, "sequence"));
	json_int_t cr = json_integer_value(json_object_get(p, "created"));
	json_int_t rv = json_integer_value(json_object_get(p, "root_version"));
	if (seq < 0 || cr < 0 || rv < 0 || upd_ratchets_raise_channel(r, ch, (uint64_t)seq, NULL))
		goto out;
	if ((uint64_t)cr > r->created)
		r->created = (uint64_t)cr;
	if ((uint64_t)rv > r->root_version)
		r->root_version = (uint64_t)rv;
	ok = true;
out:
	json_decref(p);
	upd_journal_free(&j);
	return ok;
}

static exai_status load_record(upd_state *s, exai_error *e)
{
	exai_status rc = upd_ratchets_load(s->rpath, &s->record, e);
	char msg[EXAI_ERROR_MSG_MAX];

	if (rc == EXAI_ENOENT)
		return exai_error_set(e, EXAI_ECONFIG,
				      "ratchet record %s is missing: " NOT_PROVISIONED, s->rpath);
	if (!rc || rc == EXAI_ENOMEM)
		return rc;
	snprintf(msg, sizeof(msg), "%s", e->msg);
	return exai_error_set(e, EXAI_ECONFIG, "ratchet record unusable: %s: " NOT_PROVISIONED,
			      msg);
}

/*
 * The two records must agree. The one tolerated difference: the file is ahead of the database
 * by exactly what the pending apply commits (its file write happens first; see state.h).
 * Compared in one read snapshot of the database, taken before the file is read:
 * a writer replaces the file before it commits, so a concurrent reader sees the file equal to
 * its snapshot or ahead of it with the explaining journal in that same snapshot, never behind.
 */
static exai_status check_record(upd_state *s, exai_error *e)
{
	upd_ratchets db = {0}, want = {0};
	char why[512];
	exai_status rc;

	if ((rc = upd_db_exec(s, "BEGIN;", e)))
		return rc;
	if ((rc = db_ratchets(s, &db, e)) || (rc = load_record(s, e)))
		goto out;
	if (upd_ratchets_equal(&s->record, &db, "the ratchet record", "the state db", why,
			       sizeof(why)))
		goto out;
	if (!(rc = upd_ratchets_copy(&want, &db, e)) && journal_raise(s, &want) &&
	    upd_ratchets_equal(&s->record, &want, "", "", NULL, 0))
		goto out; /* the crash window of a final commit: recover finishes it */
	if (!rc)
		rc = exai_error_set(e, EXAI_ECONFIG,
				    "the ratchet record %s and the state db disagree (%s): one of "
				    "them was lost, replaced by an older copy or edited; restore "
				    "state_dir from a backup",
				    s->rpath, why);
out:
	upd_state_rollback(s); /* ends the read transaction */
	upd_ratchets_free(&db);
	upd_ratchets_free(&want);
	return rc;
}

/* Opens the database read-write (with @create, making it), through lib's exai_sqlite: a
 * symlink is refused, a busy timeout set. */
static exai_status open_db(upd_state *s, const char *path, bool create, exai_error *e)
{
	exai_status rc = exai_sqlite_open_rw(path, create, &s->db, e);

	if (rc) {
		/* The database, its directory (WAL and shm files are made there) unwritable. */
		char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
		bool acc = access(path, R_OK | W_OK) != 0 && errno == EACCES;
		if (slash) {
			*slash = '\0';
			acc = acc || (access(dir, W_OK | X_OK) != 0 && errno == EACCES);
		}
		free(dir);
		if (acc)
			return denied(path, e);
		return rc;
	}
	return EXAI_OK;
}

static upd_state *state_new(const char *dir)
{
	upd_state *s = calloc(1, sizeof(*s));

	if (s) {
		s->lock_fd = -1;
		if (!(s->rpath = exai_path_join(dir, UPD_RATCHETS_FILE))) {
			free(s);
			s = NULL;
		}
	}
	return s;
}

exai_status upd_state_open(const char *dir, bool lock, upd_state **out, exai_error *e)
{
	upd_state *s = state_new(dir);
	char *path = NULL;
	struct stat st;
	exai_status rc;

	*out = NULL;
	if (!s || !(path = exai_path_join(dir, "state.db"))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		rc = exai_error_set(e, EXAI_ECONFIG, "state dir %s is missing: " NOT_PROVISIONED,
				    dir);
		goto fail;
	}
	if ((lock && (rc = take_lock(s, dir, e))) || (rc = check_db_file(path, e)) ||
	    (rc = open_db(s, path, false, e)) || (rc = check_db(s, path, e)))
		goto fail;
	if ((rc = upd_db_exec(s, "BEGIN IMMEDIATE;", e)))
		goto fail;
	if ((rc = upd_db_exec(s, schema, e)) || (rc = migrate(s, e)) ||
	    (rc = upd_db_exec(s, "COMMIT;", e))) {
		upd_state_rollback(s);
		goto fail;
	}
	if ((rc = check_record(s, e)))
		goto fail;
	free(path);
	*out = s;
	return EXAI_OK;
fail:
	exai_error_prefix(e, "state");
	free(path);
	upd_state_close(s);
	return rc;
}

/* Refuses when anything of a state is already there: init never overwrites. */
static exai_status nothing_there(const char *dir, exai_error *e)
{
	static const char *const names[] = {"state.db", "state.db-wal", "state.db-journal",
					    UPD_RATCHETS_FILE};
	struct stat st;
	char path[4200];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (lstat(path, &st) == 0)
			return exai_error_set(e, EXAI_EEXIST,
					      "%s already exists: this appliance is provisioned "
					      "(init never replaces a state; remove state_dir by "
					      "hand only to re-provision, which resets every "
					      "ratchet)",
					      path);
		if (errno != ENOENT)
			return exai_error_sys(e, EXAI_EIO, "%s", path);
	}
	return EXAI_OK;
}

/* A new database at @tmp (rollback journal, so the finished file stands alone). */
static exai_status create_db(upd_state *s, const char *tmp, const char *id, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc;

	if ((rc = open_db(s, tmp, true, e)) ||
	    (rc = upd_db_exec(s, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL;", e)) ||
	    (rc = upd_db_exec(s, "BEGIN IMMEDIATE;", e)))
		return rc;
	if ((rc = upd_db_exec(s, schema, e)) ||
	    (rc = upd_db_prep(s, &st, e,
			      "INSERT INTO meta VALUES('provisioned', ?), ('state_id', ?)", "it",
			      upd_now(), id)) ||
	    (rc = upd_db_run(s, st, e)) || (rc = upd_db_exec(s, "COMMIT;", e))) {
		upd_state_rollback(s);
		return rc;
	}
	exai_sqlite_close(s->db);
	s->db = NULL;
	if (chmod(tmp, 0600) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", tmp);
	return EXAI_OK;
}

exai_status upd_state_init(const char *dir, char id[UPD_STATE_ID_HEX + 1], exai_error *e)
{
	upd_state *s = state_new(dir);
	char *path = NULL, *tmp = NULL;
	uint8_t raw[UPD_STATE_ID_HEX / 2];
	upd_ratchets r = {0};
	exai_status rc;

	if (!s || !(path = exai_path_join(dir, "state.db")) ||
	    !(tmp = exai_path_join(dir, "state.db.init"))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = exai_mkdir_p(dir, 0700, e)) || (rc = take_lock(s, dir, e)) ||
	    (rc = nothing_there(dir, e)))
		goto out;
	exai_random(raw, sizeof(raw));
	exai_hex_encode(raw, sizeof(raw), r.state_id);
	if ((unlink(tmp) != 0 && errno != ENOENT) || (rc = create_db(s, tmp, r.state_id, e))) {
		rc = rc ? rc : exai_error_sys(e, EXAI_EIO, "%s: remove", tmp);
		goto out;
	}
	/* The database first, then the record: an init cut short leaves a database without a
	 * record, which every command refuses and init refuses to replace (see docs). */
	if (rename(tmp, path) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: rename into place", path);
		goto out;
	}
	if ((rc = exai_fsync_dir(dir, e)) || (rc = upd_ratchets_store(s->rpath, &r, e)))
		goto out;
	memcpy(id, r.state_id, sizeof(r.state_id));
out:
	if (rc)
		exai_error_prefix(e, "init");
	if (tmp)
		(void)unlink(tmp);
	free(tmp);
	free(path);
	upd_state_close(s);
	return rc;
}

void upd_state_close(upd_state *s)
{
	if (!s)
		return;
	exai_sqlite_close(s->db);
	if (s->lock_fd >= 0) {
		pthread_mutex_lock(&act.mu);
		if (act.fd == s->lock_fd) {
			(void)!ftruncate(s->lock_fd, 0); /* nothing running any more */
			act.fd = -1;
		}
		pthread_mutex_unlock(&act.mu);
		close(s->lock_fd);
	}
	upd_ratchets_free(&s->record);
	free(s->rpath);
	free(s);
}

exai_status upd_state_begin(upd_state *s, exai_error *e)
{
	s->sync = false;
	return upd_db_exec(s, "BEGIN IMMEDIATE;", e);
}

/* Before a commit that may move the ratchets (or end the journal that explains a record
 * ahead of the database): the record is made to hold what the database will hold. */
static exai_status sync_record(upd_state *s, exai_error *e)
{
	upd_ratchets db = {0};
	exai_status rc = db_ratchets(s, &db, e);

	if (rc)
		return rc;
	if (upd_ratchets_equal(&db, &s->record, "", "", NULL, 0)) {
		upd_ratchets_free(&db);
		return EXAI_OK;
	}
	if ((rc = upd_ratchets_store(s->rpath, &db, e))) {
		upd_ratchets_free(&db);
		return exai_error_prefix(e, "ratchet record");
	}
	upd_ratchets_free(&s->record);
	s->record = db;
	return EXAI_OK;
}

exai_status upd_state_commit(upd_state *s, exai_error *e)
{
	bool sync = s->sync;

	s->sync = false;
	if (exai_fault("db.commit")) {
		upd_state_rollback(s);
		return exai_error_sys(e, EXAI_EIO, "state db: commit (injected)");
	}
	if (sync && sync_record(s, e) != EXAI_OK) {
		upd_state_rollback(s);
		return e->code;
	}
	if (upd_db_exec(s, "COMMIT;", e) != EXAI_OK) {
		upd_state_rollback(s);
		return e->code;
	}
	return EXAI_OK;
}

void upd_state_rollback(upd_state *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
}

exai_status upd_state_channel_seq(upd_state *s, const char *channel, uint64_t *seq, bool *found,
				  exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "SELECT sequence FROM channel_ratchet WHERE channel = ?", "t", channel);
	int r;

	if (rc)
		return rc;
	*found = false;
	*seq = 0;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*found = true;
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
	} else if (r != SQLITE_DONE) {
		rc = upd_db_err(s, e, "read ratchet");
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * Runs @st, a write that moves the ratchets or ends the journal, so the commit that makes it
 * durable first brings the ratchet record along (sync_record). Outside a transaction it gets
 * one of its own.
 */
exai_status upd_db_ratchet_write(upd_state *s, sqlite3_stmt *st, exai_error *e)
{
	bool own = sqlite3_get_autocommit(s->db) != 0;
	exai_status rc;

	if (own && (rc = upd_state_begin(s, e))) {
		sqlite3_finalize(st);
		return rc;
	}
	s->sync = true;
	rc = upd_db_run(s, st, e);
	if (own && rc)
		upd_state_rollback(s);
	else if (own)
		rc = upd_state_commit(s, e);
	return rc;
}

exai_status upd_state_raise_channel(upd_state *s, const char *channel, uint64_t seq, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e,
			"INSERT INTO channel_ratchet VALUES(?1, ?2) ON CONFLICT(channel) DO "
			"UPDATE SET sequence = max(sequence, ?2)",
			"ti", channel, seq);

	return rc ? rc : upd_db_ratchet_write(s, st, e);
}

exai_status upd_state_counter(upd_state *s, const char *key, uint64_t *out, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc =
	    upd_db_prep(s, &st, e, "SELECT value FROM counter WHERE key = ?", "t", key);
	int r;

	if (rc)
		return rc;
	*out = 0;
	r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		*out = (uint64_t)sqlite3_column_int64(st, 0);
	else if (r != SQLITE_DONE)
		rc = upd_db_err(s, e, "read counter");
	sqlite3_finalize(st);
	return rc;
}

exai_status upd_state_raise_counter(upd_state *s, const char *key, uint64_t v, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(s, &st, e,
				     "INSERT INTO counter VALUES(?1, ?2) ON CONFLICT(key) DO "
				     "UPDATE SET value = max(value, ?2)",
				     "ti", key, v);

	return rc ? rc : upd_db_ratchet_write(s, st, e);
}

exai_status upd_state_channels(upd_state *s, upd_channel_fn fn, void *arg, exai_error *e)
{
	sqlite3_stmt *st;
	exai_status rc = upd_db_prep(
	    s, &st, e, "SELECT channel, sequence FROM channel_ratchet ORDER BY channel", "");
	int r;

	if (rc)
		return rc;
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		fn(arg, (const char *)sqlite3_column_text(st, 0),
		   (uint64_t)sqlite3_column_int64(st, 1));
	if (r != SQLITE_DONE)
		rc = upd_db_err(s, e, "read ratchets");
	sqlite3_finalize(st);
	return rc;
}
