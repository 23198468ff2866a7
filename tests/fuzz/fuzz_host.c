/*
 * fuzz_host: libFuzzer harness for airgap-verifier host's readers of the live host, each run
 * the way `airgap-verifier host --root DIR` runs it, against a root in /dev/shm made from the
 * input (removed after each input).
 *
 * Byte 0 (modulo 12) picks the file; the rest is split into records on "\n=====\n":
 *   0-5  /proc/net/{route,ipv6_route,tcp,tcp6,udp,udp6} (host_proc.c, host_checks.c): the
 *        parser straight on the bytes, with its contracts checked, then the check
 *   6    /etc/resolv.conf                 7  /etc/systemd/resolved.conf, then drop-ins
 *   8    /etc/systemd/timesyncd.conf, then drop-ins (.conf.d/N.conf)
 *   9    /etc/chrony/chrony.conf, then conf.d/N.conf and sources.d/N.sources, alternating
 *   10   /etc/ntp.conf, then /etc/ntpsec/ntp.conf, /etc/chrony.conf
 *   11   the drift walker (host_drift.c): one installed software component "app" at loc A
 *        under /opt/sw (exai-update's config and a schema-2 state database written here).
 *        Record 0: its installed_file rows, one a line: "KIND MODE SIZE SHA PATH [TARGET]"
 *        (KIND file, dir, link or raw, as exai-update writes them; SHA "@": the hash of
 *        the tree file of that path). Records 1..: the installed tree /opt/sw/app/A: a
 *        line "f PATH [MODE]", "d PATH [MODE]" (octal, at most 0777, owner rwx kept for
 *        directories), "l PATH TARGET" or "c TARGET" (the `current` link), then a file's
 *        bytes.
 * The host config allows dns/ntp servers "*.site.example" and 10.1.0.0/16.
 *
 * Checked beyond "no crash": parsed routes and sockets are in range; every check returns OK
 * (a finding is not an error) or a refusal with a message. FUZZ_PRINT=1 prints the findings.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exai/hash.h"
#include "fuzz_common.h"
#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)
#define SEP "\n=====\n"

static exai_status on_route(void *arg, const vf_route *r, exai_error *e)
{
	(void)e;
	CHECK(r->line >= 1 && r->line <= *(unsigned *)arg);
	CHECK(r->plen <= 128 && (r->v6 || r->plen <= 32));
	CHECK(memchr(r->iface, '\0', sizeof(r->iface)));
	(void)vf_route_is_default(r);
	return EXAI_OK;
}

static exai_status on_sock(void *arg, const vf_sock *s, exai_error *e)
{
	char text[64];

	(void)e;
	CHECK(s->line >= 1 && s->line <= *(unsigned *)arg);
	vf_host_ip_str(s->local, text, sizeof(text));
	CHECK(strlen(text) < sizeof(text));
	(void)vf_sock_is_listener(s);
	return EXAI_OK;
}

static void proc_direct(unsigned mode, const uint8_t *p, size_t n)
{
	vf_proc_stats st = {0};
	unsigned lines = 1;
	exai_error e;
	exai_status rc;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	if (mode < 2)
		rc = vf_proc_routes((const char *)p, n, mode == 1, on_route, &lines, &st, &e);
	else
		rc = vf_proc_socks((const char *)p, n, mode == 3 || mode == 5, mode >= 4, on_sock,
				   &lines, &st, &e);
	if (rc)
		CHECK(e.msg[0]);
	CHECK(st.records + st.bad <= lines);
	CHECK(!st.bad || (st.first_bad >= 1 && st.first_bad <= lines));
}

static void put(const char *root, const char *rel, const void *p, size_t n)
{
	CHECK(fuzz_write(root, rel, p, n));
}

/* Records from @off of @data at DIR/NN.SUFFIX, taking @dirs[] (each "DIR/|.SUFFIX") in
 * turn; a @dirs[] entry without '|' is one file. */
static void dropins(const char *root, const uint8_t *data, size_t size, size_t off,
		    const char *const *dirs, size_t ndirs)
{
	const uint8_t *p;
	size_t n;
	char rel[256];

	for (unsigned i = 0; i < 64 && fuzz_next(data, size, SEP, &off, &p, &n); i++) {
		const char *d = dirs[i % ndirs], *bar = strchr(d, '|');
		if (bar)
			snprintf(rel, sizeof(rel), "%.*s%02u%s", (int)(bar - d), d, i, bar + 1);
		else
			snprintf(rel, sizeof(rel), "%s", d);
		put(root, rel, p, n);
	}
}

static void sqlite_exec(sqlite3 *db, const char *sql)
{
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
}

static const uint8_t *tree_file(const uint8_t *data, size_t size, size_t off, const char *path,
				size_t *len)
{
	const uint8_t *p;
	size_t n;

	while (fuzz_next(data, size, SEP, &off, &p, &n)) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t hl = nl ? (size_t)(nl - p) : n;
		size_t pl = strlen(path);
		if (hl >= pl + 2 && p[0] == 'f' && p[1] == ' ' && !memcmp(p + 2, path, pl) &&
		    (hl == pl + 2 || p[pl + 2] == ' ')) {
			*len = nl ? n - hl - 1 : 0;
			return nl ? nl + 1 : p + n;
		}
	}
	return NULL;
}

/* The state db's rows from record 0 (@p/@n); a SHA of "@" is the tree file's hash. */
static void make_db(const char *root, const uint8_t *p, size_t n, const uint8_t *data, size_t size,
		    size_t tree_off)
{
	char path[4096], line[1024];
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/var/lib/exai/state.db", root);
	put(root, "var/lib/exai/.keep", "", 0);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite_exec(db,
		    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
		    "INSERT INTO meta VALUES('schema', '2');"
		    "CREATE TABLE installed(type TEXT NOT NULL, name TEXT NOT NULL, time INTEGER,"
		    " version TEXT, sha256 TEXT, loc TEXT NOT NULL, bundle_id TEXT,"
		    " sequence INTEGER, PRIMARY KEY(type, name));"
		    "INSERT INTO installed VALUES('software', 'app', 1, '1.0', '', 'A', 'b', 1);"
		    "CREATE TABLE journal(id INTEGER PRIMARY KEY, op TEXT, phase TEXT);"
		    "CREATE TABLE installed_file(type TEXT NOT NULL, name TEXT NOT NULL,"
		    " loc TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, mode INTEGER"
		    " NOT NULL, size INTEGER NOT NULL, sha256 TEXT, target TEXT,"
		    " PRIMARY KEY(type, name, loc, path)) WITHOUT ROWID;");
	CHECK(sqlite3_prepare_v2(db,
				 "INSERT OR IGNORE INTO installed_file VALUES('software', 'app', "
				 "'A', ?, ?, ?, ?, ?, ?)",
				 -1, &st, NULL) == SQLITE_OK);
	for (const uint8_t *q = p, *end = p + n; q < end;) {
		const uint8_t *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);
		char kind[8], sha[80], fpath[512], target[512] = "";
		long long mode, fsize;
		int k;
		if (len < sizeof(line)) {
			memcpy(line, q, len);
			line[len] = '\0';
			k = sscanf(line, "%7s %lli %lli %79s %511s %511s", kind, &mode, &fsize, sha,
				   fpath, target);
			if (k >= 5) {
				char hex[EXAI_SHA256_HEX];
				size_t fl;
				const uint8_t *f;
				if (!strcmp(sha, "@") &&
				    (f = tree_file(data, size, tree_off, fpath, &fl))) {
					uint8_t md[EXAI_SHA256_LEN];
					exai_error e;
					if (exai_sha256_buf(f, fl, md, &e) == EXAI_OK) {
						exai_hex_encode(md, sizeof(md), hex);
						snprintf(sha, sizeof(sha), "%s", hex);
					}
				}
				sqlite3_bind_text(st, 1, fpath, -1, SQLITE_TRANSIENT);
				sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
				sqlite3_bind_int64(st, 3, mode);
				sqlite3_bind_int64(st, 4, fsize);
				sqlite3_bind_text(st, 5, sha, -1, SQLITE_TRANSIENT);
				if (k == 6)
					sqlite3_bind_text(st, 6, target, -1, SQLITE_TRANSIENT);
				else
					sqlite3_bind_null(st, 6);
				sqlite3_step(st);
				sqlite3_reset(st);
			}
		}
		q = nl ? nl + 1 : end;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A directory or symlink @leaf-named at @rel under @root (no symlink followed). */
static void tree_node(const char *root, const char *rel, char kind, const char *arg)
{
	const char *leaf;
	int pfd = fuzz_open_parent(root, rel, &leaf), fd;

	if (pfd < 0)
		return;
	if (kind == 'd' && mkdirat(pfd, leaf, 0755) == 0 && arg[0] &&
	    (fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		(void)fchmod(fd, ((mode_t)strtoul(arg, NULL, 8) & 0777) | 0700);
		close(fd);
	} else if (kind == 'l') {
		(void)symlinkat(arg, pfd, leaf);
	}
	close(pfd);
}

/* The installed tree from records @off.. of @data. Nothing in it is followed while it is
 * built: a planted symlink never sends a later record outside the root. */
static void make_tree(const char *root, const uint8_t *data, size_t size, size_t off)
{
	const uint8_t *p;
	size_t n;
	char path[4096];
	bool current = false;

	CHECK(fuzz_write(root, "opt/sw/app/A/.x", "", 0));
	snprintf(path, sizeof(path), "%s/opt/sw/app/A/.x", root);
	CHECK(unlink(path) == 0);
	for (unsigned i = 0; i < 256 && fuzz_next(data, size, SEP, &off, &p, &n); i++) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t hl = nl ? (size_t)(nl - p) : n;
		char head[600], a[512], b[512] = "", rel[600];
		if (hl < 3 || hl >= sizeof(head) || p[1] != ' ')
			continue;
		memcpy(head, p, hl);
		head[hl] = '\0';
		if (sscanf(head + 2, "%511s %511s", a, b) < 1)
			continue;
		snprintf(rel, sizeof(rel), "opt/sw/app/A/%s", a);
		if (head[0] == 'f')
			(void)fuzz_write_mode(root, rel, nl ? nl + 1 : p + n, nl ? n - hl - 1 : 0,
					      b[0] ? (mode_t)strtoul(b, NULL, 8) & 0777 : 0644);
		else if (head[0] == 'd')
			tree_node(root, rel, 'd', b);
		else if (head[0] == 'l' && b[0])
			tree_node(root, rel, 'l', b);
		else if (head[0] == 'c' && !current) {
			snprintf(path, sizeof(path), "%s/opt/sw/app/current", root);
			current = symlink(a, path) == 0;
		}
	}
	if (!current) {
		snprintf(path, sizeof(path), "%s/opt/sw/app/current", root);
		CHECK(symlink("A", path) == 0);
	}
}

static void drift(const char *root, const uint8_t *data, size_t size)
{
	static const char cfg[] = "state_dir: /var/lib/exai\ninstall:\n  software_dir: /opt/sw\n";
	const uint8_t *p;
	size_t off = 0, n;

	put(root, "etc/exai/update.yaml", cfg, sizeof(cfg) - 1);
	if (!fuzz_next(data, size, SEP, &off, &p, &n))
		return;
	make_tree(root, data, size, off);
	make_db(root, p, n, data, size, off);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const procs[] = {"proc/net/route", "proc/net/ipv6_route",
					    "proc/net/tcp",   "proc/net/tcp6",
					    "proc/net/udp",   "proc/net/udp6"};
	static const char *const resolved[] = {"etc/systemd/resolved.conf.d/|.conf"};
	static const char *const timesyncd[] = {"etc/systemd/timesyncd.conf.d/|.conf"};
	static const char *const chrony[] = {"etc/chrony/conf.d/|.conf",
					     "etc/chrony/sources.d/|.sources"};
	static const char *const ntp[] = {"etc/ntpsec/ntp.conf", "etc/chrony.conf"};
	vf_host_config cfg;
	vf_host h = {0};
	const uint8_t *p;
	size_t off = 0, n;
	const char *root;
	unsigned mode;
	exai_error e;
	exai_status rc = EXAI_OK;
	bool oom = false;

	if (!size)
		return 0;
	mode = data[0] % 12;
	data++;
	size--;
	root = fuzz_dir();
	vf_host_config_init(&cfg);
	CHECK(vf_host_allow_add(&cfg.dns, "*.site.example", &oom));
	CHECK(vf_host_allow_add(&cfg.ntp, "10.1.0.0/16", &oom));
	h.cfg = &cfg;
	CHECK((h.report = vf_report_new("host")));
	CHECK(vf_host_declare_rules(h.report, &e) == EXAI_OK);
	if (mode < 6) {
		proc_direct(mode, data, size);
		put(root, procs[mode], data, size);
	} else if (mode == 11) {
		drift(root, data, size);
	} else if (fuzz_next(data, size, SEP, &off, &p, &n)) {
		static const char *const mains[] = {"etc/resolv.conf", "etc/systemd/resolved.conf",
						    "etc/systemd/timesyncd.conf",
						    "etc/chrony/chrony.conf", "etc/ntp.conf"};
		put(root, mains[mode - 6], p, n);
		if (mode == 7)
			dropins(root, data, size, off, resolved, 1);
		else if (mode == 8)
			dropins(root, data, size, off, timesyncd, 1);
		else if (mode == 9)
			dropins(root, data, size, off, chrony, 2);
		else if (mode == 10)
			dropins(root, data, size, off, ntp, 2);
	}
	CHECK(vf_host_root_open(&h.root, root, &e) == EXAI_OK);
	if (mode < 2)
		rc = vf_host_check_routes(&h, &e);
	else if (mode < 6)
		rc = vf_host_check_listen(&h, &e);
	else if (mode < 8)
		rc = vf_host_check_dns(&h, &e);
	else if (mode < 11)
		rc = vf_host_check_ntp(&h, &e);
	else
		rc = vf_host_check_drift(&h, &e);
	/* refusals (a file over its cap, too many drop-ins, a bad state db) carry a message */
	CHECK(rc == EXAI_OK || e.msg[0]);
	if (getenv("FUZZ_PRINT")) { /* to see what a seed reaches */
		for (size_t i = 0; i < vf_report_size(h.report); i++) {
			const vf_finding *f = vf_report_get(h.report, i);
			fprintf(stderr, "%s %s:%u %s\n", f->rule_id, f->path, (unsigned)f->line,
				f->evidence ? f->evidence : "");
		}
		if (rc)
			fprintf(stderr, "error: %s\n", e.msg);
	}
	vf_host_root_close(&h.root);
	vf_report_free(h.report);
	vf_host_config_free(&cfg);
	fuzz_dir_done();
	return 0;
}
