/*
 * host_drift: every installed file re-hashed against exai-update's state database.
 *
 * exai-update records each tree it installs, entry by entry, in its state database (table
 * installed_file, schema 2; see docs/update.md): path, kind, mode, size, SHA-256, symlink
 * target, keyed by (type, name, loc). For each installed component this walks the active tree
 * <install dir>/<name>/<loc> and reports what differs: host.drift.modified (content, size or
 * kind), .missing, .extra, .mode, .link (a symlink's target, or the component's `current`
 * link not pointing at the active loc). A rootfs is one raw record: the first SIZE bytes of
 * its slot are re-hashed.
 *
 * Trust: the config and the database are the appliance's own (trusted, still bounded). The
 * installed tree is not: it is walked from a directory fd with openat(O_NOFOLLOW) at every
 * step, symlinks are read (readlinkat) never followed, files are opened O_NOFOLLOW|O_NONBLOCK
 * and must still be the regular file lstat saw; depth, entries per tree and bytes hashed (the
 * recorded size) are capped. The database is opened read-only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/grow.h"
#include "exai/hash.h"
#include "exai/update_state.h"
#include "host.h"
#include "host_update.h"

#define HASH_BUF (1u << 20)

typedef struct rec {
	char *path;
	char kind; /* 'f' file, 'd' dir, 'l' link, 'r' raw */
	uint32_t mode;
	uint64_t size;
	char sha[EXAI_SHA256_HEX];
	char *target;
	bool seen;
} rec;

typedef struct tree {
	vf_host *h;
	const char *base; /* appliance path of the tree root, for locations */
	rec *r;
	size_t n;
	size_t entries, extras;
	bool truncated;
	uint8_t *buf; /* HASH_BUF */
} tree;

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const rec *)a)->path, ((const rec *)b)->path);
}

static void recs_free(rec *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].path);
		free(r[i].target);
	}
	free(r);
}

static char kind_char(const char *s)
{
	return !s		    ? 0
	       : !strcmp(s, "file") ? 'f'
	       : !strcmp(s, "dir")  ? 'd'
	       : !strcmp(s, "link") ? 'l'
	       : !strcmp(s, "raw")  ? 'r'
				    : 0;
}

/* The records of one tree, sorted by path. */
static exai_status load_recs(sqlite3 *db, const char *type, const char *name, const char *loc,
			     rec **out, size_t *n, exai_error *e)
{
	sqlite3_stmt *st = NULL;
	rec *r = NULL;
	size_t cnt = 0, cap = 0;
	exai_status rc = EXAI_OK;
	int s;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, EXAI_UPD_SQL_FILES, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, loc, -1, SQLITE_STATIC) != SQLITE_OK) {
		rc = exai_error_set(e, EXAI_EIO, "state db: %s", sqlite3_errmsg(db));
		goto out;
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		const char *sha = (const char *)sqlite3_column_text(st, 4);
		const char *tg = (const char *)sqlite3_column_text(st, 5);
		if (cnt == VF_HOST_TREE_MAX) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "state db: %s/%s: over %u records",
					    type, name, VF_HOST_TREE_MAX);
			goto out;
		}
		if ((rc = EXAI_GROW(&r, &cap, cnt, 1, VF_HOST_TREE_MAX, e)))
			goto out;
		memset(&r[cnt], 0, sizeof(r[cnt]));
		r[cnt].kind = kind_char((const char *)sqlite3_column_text(st, 1));
		r[cnt].mode = (uint32_t)sqlite3_column_int64(st, 2) & 07777;
		r[cnt].size = (uint64_t)sqlite3_column_int64(st, 3);
		snprintf(r[cnt].sha, sizeof(r[cnt].sha), "%s", sha ? sha : "");
		if (!p || !r[cnt].kind) {
			rc = exai_error_set(e, EXAI_EFORMAT, "state db: %s/%s: bad file record",
					    type, name);
			goto out;
		}
		if (!(r[cnt].path = strdup(p)) || (tg && !(r[cnt].target = strdup(tg)))) {
			free(r[cnt].path);
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto out;
		}
		cnt++;
	}
	if (s != SQLITE_DONE)
		rc = exai_error_set(e, EXAI_EIO, "state db: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	if (rc) {
		recs_free(r, cnt);
		return rc;
	}
	if (cnt)
		qsort(r, cnt, sizeof(*r), rec_cmp);
	*out = r;
	*n = cnt;
	return EXAI_OK;
}

static rec *find_rec(tree *t, const char *path)
{
	rec key = {.path = (char *)path};

	return t->n ? bsearch(&key, t->r, t->n, sizeof(*t->r), rec_cmp) : NULL;
}

/* The appliance path of @rel inside the tree. */
static void full_path(const tree *t, const char *rel, char *out, size_t cap)
{
	if (!strcmp(rel, "."))
		snprintf(out, cap, "%s", t->base);
	else
		snprintf(out, cap, "%s/%s", t->base, rel);
}

static exai_status drift(tree *t, const char *rule, vf_severity sev, const char *rel,
			 const char *evidence, const char *message, const char *hint, exai_error *e)
{
	char p[4200];

	full_path(t, rel, p, sizeof(p));
	return vf_host_finding(t->h, rule, sev, p, 0, 0, evidence, message, hint, e);
}

static const char *kind_name(char k)
{
	return k == 'f'	  ? "a regular file"
	       : k == 'd' ? "a directory"
	       : k == 'l' ? "a symlink"
			  : "?";
}

static char st_kind(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : 'o';
}

/* SHA-256 (hex) of the first @max bytes of @fd; *short_read when it ends before. */
static exai_status hash_fd(tree *t, int fd, uint64_t max, char hex[EXAI_SHA256_HEX],
			   bool *short_read, exai_error *e)
{
	uint8_t md[EXAI_SHA256_LEN];
	exai_sha256 h;
	uint64_t got = 0;
	exai_status rc;

	if ((rc = exai_sha256_init(&h, e)))
		return rc;
	while (got < max) {
		size_t want_n = max - got < HASH_BUF ? (size_t)(max - got) : HASH_BUF;
		ssize_t k = read(fd, t->buf, want_n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		exai_sha256_update(&h, t->buf, (size_t)k);
		got += (uint64_t)k;
	}
	exai_sha256_final(&h, md);
	exai_hex_encode(md, sizeof(md), hex);
	*short_read = got != max;
	return EXAI_OK;
}

/* SHA-256 (hex) of the regular file @name in @dfd (the file lstat saw as @want), at most @max
 * bytes; *changed when it was replaced in between or came up short. */
static exai_status hash_at(tree *t, int dfd, const char *name, const struct stat *want,
			   uint64_t max, char hex[EXAI_SHA256_HEX], bool *changed, exai_error *e)
{
	struct stat st;
	exai_status rc;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	*changed = false;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != want->st_ino ||
	    st.st_dev != want->st_dev) {
		if (fd >= 0)
			close(fd);
		*changed = true;
		return EXAI_OK;
	}
	rc = hash_fd(t, fd, max, hex, changed, e);
	close(fd);
	return rc;
}

static exai_status compare(tree *t, int dfd, const char *name, const char *rel,
			   const struct stat *st, rec *r, exai_error *e)
{
	char ev[640], hex[EXAI_SHA256_HEX];
	char k = st_kind(st->st_mode);
	exai_status rc = EXAI_OK;
	bool changed;

	r->seen = true;
	if (k != r->kind) {
		snprintf(ev, sizeof(ev), "now %s, installed as %s",
			 k == 'o' ? "a device, FIFO or socket" : kind_name(k), kind_name(r->kind));
		return drift(
		    t, "host.drift.modified", VF_SEV_HIGH, rel, ev,
		    "installed entry replaced by another kind of file",
		    "reinstall the component (exai-update apply) and find out who changed it", e);
	}
	if (k == 'l') {
		char tg[4097];
		ssize_t n = readlinkat(dfd, name, tg, sizeof(tg) - 1);
		tg[n < 0 ? 0 : n] = '\0';
		if (n < 0 || !r->target || strcmp(tg, r->target)) {
			snprintf(ev, sizeof(ev), "-> %.300s, installed -> %.300s", tg,
				 r->target ? r->target : "");
			rc = drift(t, "host.drift.link", VF_SEV_HIGH, rel, ev, "symlink retargeted",
				   "reinstall the component", e);
		}
		return rc;
	}
	if ((st->st_mode & 07777) != r->mode) {
		snprintf(ev, sizeof(ev), "mode %04o, installed %04o", st->st_mode & 07777, r->mode);
		if ((rc = drift(t, "host.drift.mode", VF_SEV_MEDIUM, rel, ev, "permissions changed",
				"restore the mode (or reinstall the component)", e)))
			return rc;
	}
	if (k != 'f')
		return EXAI_OK;
	if ((uint64_t)st->st_size != r->size) {
		snprintf(ev, sizeof(ev), "size %llu, installed %llu",
			 (unsigned long long)st->st_size, (unsigned long long)r->size);
		return drift(t, "host.drift.modified", VF_SEV_HIGH, rel, ev,
			     "installed file modified",
			     "reinstall the component and find out who changed it", e);
	}
	if ((rc = hash_at(t, dfd, name, st, r->size, hex, &changed, e)))
		return rc;
	if (changed || strcmp(hex, r->sha)) {
		snprintf(ev, sizeof(ev), "sha256 %.16s..., installed %.16s...",
			 changed ? "(changed while read)" : hex, r->sha);
		rc =
		    drift(t, "host.drift.modified", VF_SEV_HIGH, rel, ev, "installed file modified",
			  "reinstall the component and find out who changed it", e);
	}
	return rc;
}

static exai_status extra(tree *t, const char *rel, const struct stat *st, exai_error *e)
{
	char ev[128];

	if (++t->extras > VF_HOST_EXTRA_SHOW)
		return EXAI_OK;
	snprintf(ev, sizeof(ev), "%s, mode %04o, %llu bytes", kind_name(st_kind(st->st_mode)),
		 st->st_mode & 07777, (unsigned long long)st->st_size);
	return drift(t, "host.drift.extra", VF_SEV_HIGH, rel, ev,
		     "file in an installed tree that exai-update never installed",
		     "remove it (and find out how it got there)", e);
}

/* Walks directory @dfd, whose tree path is rel[0..rlen) ("" for the root), never following
 * a symlink. Takes @dfd. */
static exai_status walk(tree *t, int dfd, char *rel, size_t rlen, unsigned depth, exai_error *e)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	exai_status rc = EXAI_OK;

	if (!d) {
		close(dfd);
		return exai_error_sys(e, EXAI_EIO, "%s/%s: opendir", t->base, rel);
	}
	while (!rc && (de = readdir(d))) {
		const char *nm = de->d_name;
		size_t nl = strlen(nm), nrl = rlen ? rlen + 1 + nl : nl;
		struct stat st;
		rec *r;
		if (!strcmp(nm, ".") || !strcmp(nm, ".."))
			continue;
		if (++t->entries > VF_HOST_TREE_MAX || nrl >= 4096) {
			t->truncated = true;
			break;
		}
		if (rlen)
			rel[rlen] = '/';
		memcpy(rel + (rlen ? rlen + 1 : 0), nm, nl + 1);
		if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			r = find_rec(t, rel);
			rc = r ? compare(t, dirfd(d), nm, rel, &st, r, e) : extra(t, rel, &st, e);
			/* an extra directory is one finding; what it holds is not walked */
			if (!rc && r && S_ISDIR(st.st_mode)) {
				int sub = -1;
				if (depth + 1 > VF_HOST_DEPTH_MAX)
					t->truncated = true;
				else
					sub =
					    openat(dirfd(d), nm,
						   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0)
					rc = walk(t, sub, rel, nrl, depth + 1, e);
			}
		} /* else: gone while walking, reported as missing if it was recorded */
		rel[rlen] = '\0';
	}
	closedir(d);
	return rc;
}

/* Checks the tree at <dir>/<name>/<loc> (appliance path @base) against its records. */
static exai_status check_tree(vf_host *h, sqlite3 *db, const vf_upd_comp *c, exai_error *e)
{
	tree t = {.h = h, .base = c->tree};
	char rel[4096] = "";
	struct stat st;
	exai_status rc;
	int fd = -1;

	if ((rc = load_recs(db, c->type, c->name, c->loc, &t.r, &t.n, e)))
		return rc;
	if (!t.n) {
		rc = vf_host_finding(h, "host.drift.unrecorded", VF_SEV_MEDIUM, c->tree, 0, 0,
				     c->version,
				     "no per-file records: installed before exai-update recorded "
				     "files (state schema 2); drift was not checked",
				     "re-apply the current bundle so its files are recorded", e);
		goto out;
	}
	if (!(t.buf = malloc(HASH_BUF))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	rc = vf_host_open(&h->root, c->tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, &fd, e);
	if (rc) {
		rc = drift(&t, "host.drift.missing", VF_SEV_HIGH, ".", e->msg,
			   "the active tree of an installed component is gone",
			   "reinstall the component", e);
		goto out;
	}
	rec *root = find_rec(&t, ".");
	if (root && fstat(fd, &st) == 0 && (rc = compare(&t, fd, ".", ".", &st, root, e)))
		goto out; /* "." compared through fstat of the opened root */
	rc = walk(&t, fd, rel, 0, 0, e);
	fd = -1;
	for (size_t i = 0; !rc && i < t.n; i++) {
		char ev[160];
		if (t.r[i].seen || t.truncated)
			continue;
		snprintf(ev, sizeof(ev), "%s of %llu bytes", kind_name(t.r[i].kind),
			 (unsigned long long)t.r[i].size);
		rc = drift(&t, "host.drift.missing", VF_SEV_HIGH, t.r[i].path, ev,
			   "installed file missing", "reinstall the component", e);
	}
	if (!rc && t.extras > VF_HOST_EXTRA_SHOW)
		rc = vf_host_note(h, e, "drift: %s: %zu more extra entries not listed", c->tree,
				  t.extras - VF_HOST_EXTRA_SHOW);
	if (!rc && t.truncated)
		rc = vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM, c->tree, 0, 0,
				     "over the entry, depth or path length cap",
				     "tree only partly walked: missing files were not reported",
				     "look at the tree by hand", e);
out:
	if (fd >= 0)
		close(fd);
	free(t.buf);
	recs_free(t.r, t.n);
	return rc;
}

/* A rootfs: one raw record; the slot's first SIZE bytes must hash to it. */
static exai_status check_rootfs(vf_host *h, sqlite3 *db, const vf_upd_comp *c, exai_error *e)
{
	tree t = {.h = h, .base = c->tree};
	char hex[EXAI_SHA256_HEX], ev[160];
	struct stat st;
	bool changed;
	exai_status rc;
	int fd = -1;

	if ((rc = load_recs(db, c->type, c->name, c->loc, &t.r, &t.n, e)))
		return rc;
	if (t.n != 1 || t.r[0].kind != 'r') {
		rc = vf_host_finding(h, "host.drift.unrecorded", VF_SEV_MEDIUM, c->tree, 0, 0,
				     c->version,
				     "rootfs slot without its image record (installed before state "
				     "schema 2): not checked",
				     "re-apply the current bundle", e);
		goto out;
	}
	if (!(t.buf = malloc(HASH_BUF))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (vf_host_open(&h->root, c->tree, O_RDONLY | O_NONBLOCK, &fd, e) || fstat(fd, &st) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		rc = vf_host_finding(h, "host.drift.missing", VF_SEV_HIGH, c->tree, 0, 0,
				     "slot cannot be opened as an image file or block device",
				     "the active rootfs slot is gone", "check the slot", e);
		goto out;
	}
	if ((rc = hash_fd(&t, fd, t.r[0].size, hex, &changed, e)))
		goto out;
	if (changed || strcmp(hex, t.r[0].sha)) {
		snprintf(ev, sizeof(ev), "first %llu bytes: sha256 %.16s..., installed %.16s...",
			 (unsigned long long)t.r[0].size, changed ? "(short read)" : hex,
			 t.r[0].sha);
		rc = vf_host_finding(h, "host.drift.modified", VF_SEV_HIGH, c->tree, 0, 0, ev,
				     "active rootfs slot modified",
				     "reinstall the rootfs (exai-update apply)", e);
	}
out:
	if (fd >= 0)
		close(fd);
	free(t.buf);
	recs_free(t.r, t.n);
	return rc;
}

/* <base>/current must be a symlink to the active loc. */
static exai_status check_current(vf_host *h, const vf_upd_comp *c, exai_error *e)
{
	char path[1200], tg[256], ev[512];
	ssize_t n = -1;
	int fd;

	if (vf_host_open(&h->root, c->base, O_RDONLY | O_DIRECTORY, &fd, e) == EXAI_OK) {
		n = readlinkat(fd, "current", tg, sizeof(tg) - 1);
		close(fd);
	}
	tg[n < 0 ? 0 : n] = '\0';
	if (n >= 0 && !strcmp(tg, c->loc))
		return EXAI_OK;
	snprintf(path, sizeof(path), "%s/current", c->base);
	snprintf(ev, sizeof(ev), "%s%s, exai-update's state says %s",
		 n < 0 ? "not a symlink" : "-> ", tg, c->loc);
	return vf_host_finding(h, "host.drift.link", VF_SEV_HIGH, path, 0, 0, ev,
			       "the active-version link does not point at the installed version",
			       "run exai-update recover, or reinstall the component", e);
}

exai_status vf_host_check_drift(vf_host *h, exai_error *e)
{
	const char *cfgp = h->cfg->update_config ? h->cfg->update_config : VF_HOST_UPDATE_CONFIG;
	vf_upd u;
	size_t skipped = 0;
	bool found;
	exai_status rc = vf_upd_load(&h->root, cfgp, &u, &found, &skipped, e);

	if (rc)
		return exai_error_prefix(e, "drift: exai-update config %s", cfgp);
	if (!found) {
		if (h->cfg->update_config_set)
			return exai_error_set(e, EXAI_ECONFIG,
					      "drift: exai-update config %s not found under %s",
					      cfgp, h->root.path);
		return vf_host_note(h, e, "drift: no exai-update config at %s: not checked", cfgp);
	}
	if (!u.db) {
		rc = vf_host_note(h, e, "drift: no state database in %s: nothing installed",
				  u.state_dir);
		goto out;
	}
	if (u.pending[0] &&
	    (rc = vf_host_note(h, e,
			       "drift: an interrupted exai-update %s is pending: run "
			       "'exai-update recover'; findings may reflect the half-done change",
			       u.pending)))
		goto out;
	if (skipped &&
	    (rc = vf_host_note(h, e, "drift: %zu component(s) of a type with no install dir in %s",
			       skipped, cfgp)))
		goto out;
	for (size_t i = 0; !rc && i < u.ncomps; i++) {
		const vf_upd_comp *c = &u.comps[i];
		if (!strcmp(c->type, "rootfs")) {
			rc = u.schema < 2
				 ? vf_host_finding(h, "host.drift.unrecorded", VF_SEV_MEDIUM,
						   c->tree, 0, 0, c->version,
						   "state schema 1: no per-file records",
						   "upgrade exai-update and re-apply", e)
				 : check_rootfs(h, u.db, c, e);
			continue;
		}
		if ((rc = check_current(h, c, e)))
			break;
		rc = u.schema < 2
			 ? vf_host_finding(h, "host.drift.unrecorded", VF_SEV_MEDIUM, c->tree, 0, 0,
					   c->version, "state schema 1: no per-file records",
					   "upgrade exai-update and re-apply", e)
			 : check_tree(h, u.db, c, e);
	}
	if (!rc)
		rc = vf_host_note(h, e,
				  "drift: %zu installed component(s) checked against %s/state.db",
				  u.ncomps, u.state_dir);
out:
	vf_upd_free(&u);
	return rc;
}
