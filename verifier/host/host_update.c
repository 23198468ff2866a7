/*
 * host_update: exai-update's config and state db, read-only, under the root. See
 * host_update.h.
 *
 * The database is opened at the real path of the state dir as resolved inside the root
 * (openat2 RESOLVE_IN_ROOT, then its /proc/self/fd link), with SQLITE_OPEN_READONLY and
 * NOFOLLOW: nothing is written, and a symlink cannot redirect the read elsewhere.
 */
#include "host_update.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/sqlite.h"
#include "exai/update_state.h"
#include "exai/yaml.h"

#define UPD_CONFIG_MAX (256u << 10)

/* exai-update's install keys, schema and queries: exai/update_state.h, shared with it. */
#define NDIRS EXAI_UPD_INSTALL_DIRS

typedef struct upd_paths {
	char *state_dir;
	char *dirs[NDIRS];
	char *slot[2];
} upd_paths;

static void paths_free(upd_paths *p)
{
	free(p->state_dir);
	for (size_t i = 0; i < NDIRS; i++)
		free(p->dirs[i]);
	free(p->slot[0]);
	free(p->slot[1]);
}

/* Only the keys the verifier needs; exai-update itself validates the rest. */
static exai_status load_paths(const vf_host_root *r, const char *config, upd_paths *p, bool *found,
			      exai_error *e)
{
	char *buf = NULL;
	size_t len;
	exai_yaml *y = NULL;
	exai_ynode *root, *m;
	exai_status rc = vf_host_read(r, config, UPD_CONFIG_MAX, &buf, &len, e);

	*found = rc != EXAI_ENOENT;
	if (rc)
		return rc == EXAI_ENOENT ? EXAI_OK : rc;
	rc = exai_yaml_load_buf(config, buf, len, EXAI_YAML_STRICT, &y, e);
	free(buf);
	if (rc)
		return rc;
	root = exai_yaml_root(y);
	if ((rc = exai_yaml_expect_map(y, root, "exai-update config", e)) ||
	    (rc = exai_yaml_get_abspath(y, root, "state_dir", true, &p->state_dir, e)))
		goto out;
	m = exai_yaml_get(y, root, "install");
	for (size_t i = 0; !rc && i < NDIRS; i++)
		if (m && exai_yaml_is_map(m))
			rc = exai_yaml_get_abspath(y, m, exai_upd_install_dirs[i].key, false,
						   &p->dirs[i], e);
	m = exai_yaml_get(y, root, "rootfs");
	if (!rc && m && exai_yaml_is_map(m) &&
	    !(rc = exai_yaml_get_abspath(y, m, "slot_a", false, &p->slot[0], e)))
		rc = exai_yaml_get_abspath(y, m, "slot_b", false, &p->slot[1], e);
out:
	exai_yaml_free(y);
	return rc;
}

static exai_status open_db(const vf_host_root *r, vf_upd *u, exai_error *e)
{
	char link[64], path[4096];
	exai_status rc;
	ssize_t n;
	int fd;

	if ((rc = vf_host_open(r, u->state_dir, O_RDONLY | O_DIRECTORY, &fd, e)))
		return rc;
	if (faccessat(fd, "state.db", F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		close(fd);
		return EXAI_ENOENT;
	}
	/* The state dir as resolved inside the root, as a real path SQLite can open (it also
	 * names the -wal/-shm files after it); NOFOLLOW refuses a symlinked state.db. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - sizeof("/state.db"));
	if (n <= 0 || (size_t)n >= sizeof(path) - sizeof("/state.db")) {
		close(fd);
		return exai_error_sys(e, EXAI_EIO, "%s: resolve", u->state_dir);
	}
	memcpy(path + n, "/state.db", sizeof("/state.db"));
	/* Read-only, never created, a symlink refused, a busy timeout (lib's exai_sqlite). */
	rc = exai_sqlite_open_ro(path, &u->db, e);
	close(fd); /* SQLite holds its own fd on the file now */
	return rc;
}

/* One-value query; false when no row. */
static bool query_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		ok = true;
	}
	sqlite3_finalize(st);
	return ok;
}

static const char *dir_for(const upd_paths *p, const char *type)
{
	for (size_t i = 0; i < NDIRS; i++)
		if (!strcmp(exai_ctype_name(exai_upd_install_dirs[i].type), type))
			return p->dirs[i];
	return NULL;
}

static exai_status list_comps(vf_upd *u, const upd_paths *p, size_t *skipped, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	exai_status rc = EXAI_OK;
	size_t cap = 0;
	int s;

	if (sqlite3_prepare_v2(u->db, EXAI_UPD_SQL_INSTALLED, -1, &st, NULL) != SQLITE_OK)
		return exai_error_set(e, EXAI_EIO, "state db: %s", sqlite3_errmsg(u->db));
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		vf_upd_comp c = {0};
		const char *dir;
		for (int i = 0; i < 4; i++)
			if (!sqlite3_column_text(st, i))
				goto bad;
		snprintf(c.type, sizeof(c.type), "%s", sqlite3_column_text(st, 0));
		snprintf(c.name, sizeof(c.name), "%s", sqlite3_column_text(st, 1));
		snprintf(c.version, sizeof(c.version), "%s", sqlite3_column_text(st, 2));
		snprintf(c.loc, sizeof(c.loc), "%s", sqlite3_column_text(st, 3));
		if (strchr(c.name, '/') || strchr(c.loc, '/') || !strcmp(c.loc, "..") ||
		    !strcmp(c.name, ".."))
			goto bad;
		if (!strcmp(c.type, "rootfs")) {
			const char *slot = !strcmp(c.loc, "B") ? p->slot[1] : p->slot[0];
			if (!slot) {
				(*skipped)++;
				continue;
			}
			snprintf(c.tree, sizeof(c.tree), "%s", slot);
		} else if ((dir = dir_for(p, c.type))) {
			snprintf(c.base, sizeof(c.base), "%s/%s", dir, c.name);
			snprintf(c.tree, sizeof(c.tree), "%s/%s", c.base, c.loc);
		} else {
			(*skipped)++;
			continue;
		}
		if ((rc = EXAI_GROW(&u->comps, &cap, u->ncomps, 1, EXAI_GROW_NOCAP, e)))
			break;
		u->comps[u->ncomps++] = c;
	}
	if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
		rc = exai_error_set(e, EXAI_EIO, "state db: %s", sqlite3_errmsg(u->db));
	sqlite3_finalize(st);
	return rc;
bad:
	sqlite3_finalize(st);
	return exai_error_set(e, EXAI_EFORMAT, "state db: malformed installed row");
}

exai_status vf_upd_load(const vf_host_root *r, const char *config, vf_upd *u, bool *found,
			size_t *skipped, exai_error *e)
{
	upd_paths p = {0};
	char v[32], op[64];
	exai_status rc;

	memset(u, 0, sizeof(*u));
	*skipped = 0;
	if ((rc = load_paths(r, config, &p, found, e)) || !*found)
		goto out;
	u->state_dir = p.state_dir;
	p.state_dir = NULL;
	if ((rc = open_db(r, u, e))) {
		if (rc == EXAI_ENOENT)
			rc = EXAI_OK; /* nothing installed yet */
		goto out;
	}
	u->schema = query_text(u->db, EXAI_UPD_SQL_SCHEMA, v, sizeof(v)) ? atoi(v) : 0;
	if (u->schema < 1) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s/state.db: not an exai-update state db",
				    u->state_dir);
		goto out;
	}
	/* A newer schema may have moved what is read here: refuse, never half-read it. */
	if (u->schema > EXAI_UPD_STATE_SCHEMA) {
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "%s/state.db: schema version %d is newer than this "
				    "airgap-verifier reads (up to %d): update airgap-verifier",
				    u->state_dir, u->schema, EXAI_UPD_STATE_SCHEMA);
		goto out;
	}
	if (query_text(u->db, EXAI_UPD_SQL_JOURNAL, op, sizeof(op)))
		snprintf(u->pending, sizeof(u->pending), "%s", op);
	rc = list_comps(u, &p, skipped, e);
out:
	paths_free(&p);
	if (rc)
		vf_upd_free(u);
	return rc;
}

void vf_upd_free(vf_upd *u)
{
	if (u->db)
		exai_sqlite_close(u->db);
	free(u->comps);
	free(u->state_dir);
	memset(u, 0, sizeof(*u));
}
