/*
 * host_servers: resolvers and time servers must be local.
 *
 * Read under the root, each bounded:
 *   DNS  /etc/resolv.conf (nameserver), /etc/systemd/resolved.conf and its .d/NAME.conf drop-ins
 *        ([Resolve] DNS=, FallbackDNS=)
 *   NTP  /etc/systemd/timesyncd.conf and .d/NAME.conf ([Time] NTP=, FallbackNTP=; the last
 *        assignment wins, as in systemd), /etc/chrony/chrony.conf, /etc/chrony.conf,
 *        /etc/chrony/conf.d/NAME.conf, /etc/chrony/sources.d/NAME.sources, /etc/ntp.conf,
 *        /etc/ntpsec/ntp.conf (server, pool, peer)
 * A server is local by address class or name (host_net.c) or by the config's dns.allow /
 * ntp.allow. Each one that is not is a finding at file:line:column of the server.
 *
 * systemd-timesyncd falls back to servers compiled into it (Debian: *.debian.pool.ntp.org)
 * when NTP= is empty and FallbackNTP= is never assigned: that is reported too, at the
 * timesyncd.conf, since it is where the fix goes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "host.h"

typedef struct srv_check {
	vf_host *h;
	const vf_host_allow *allow;
	const char *rule;
	vf_severity sev;
	const char *kind; /* "resolver", "time server" */
	const char *hint;
} srv_check;

static const char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* The host part of a systemd server spec: "1.1.1.1#name", "[::1]:53%eth0#x", "a:53". */
static void server_host(const char *spec, char *out, size_t cap)
{
	char buf[VF_HOST_LINE_MAX + 1], *p;

	snprintf(buf, sizeof(buf), "%s", spec);
	if ((p = strchr(buf, '#')))
		*p = '\0';
	p = buf;
	if (*p == '[') {
		char *end = strchr(p, ']');
		p++;
		if (end)
			*end = '\0';
	} else {
		char *c = strchr(p, ':');
		if (c && !strchr(c + 1, ':'))
			*c = '\0'; /* IPv4 or name with a port */
	}
	if (strchr(p, '%'))
		*strchr(p, '%') = '\0';
	snprintf(out, cap, "%s", p);
}

static exai_status check_server(const srv_check *sc, const char *path, unsigned line, unsigned col,
				const char *server, const char *evidence, exai_error *e)
{
	char host[VF_HOST_LINE_MAX + 1], msg[VF_HOST_LINE_MAX + 64];

	server_host(server, host, sizeof(host));
	if (vf_host_server_local(sc->allow, host))
		return EXAI_OK;
	snprintf(msg, sizeof(msg), "%s %s is not local", sc->kind, host);
	return vf_host_finding(sc->h, sc->rule, sc->sev, path, line, col, evidence, msg, sc->hint,
			       e);
}

/* Calls @fn for each line of @buf with a mutable copy; over-long lines make the file
 * incomplete. */
typedef exai_status (*conf_line_fn)(void *arg, const char *path, unsigned no, char *line,
				    const char *orig, exai_error *e);
static exai_status each_line(vf_host *h, const char *path, const char *buf, size_t len,
			     conf_line_fn fn, void *arg, exai_error *e)
{
	char line[VF_HOST_LINE_MAX + 1], orig[VF_HOST_LINE_MAX + 1];
	size_t pos = 0;
	unsigned no = 0;
	exai_status rc = EXAI_OK;

	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		no++;
		if (l > VF_HOST_LINE_MAX || memchr(buf + pos, '\0', l)) {
			rc = vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM, path, no, 0,
					     "line too long or holds a NUL byte",
					     "the rest of the file was not checked", "fix the file",
					     e);
			break;
		}
		memcpy(line, buf + pos, l);
		line[l] = '\0';
		memcpy(orig, line, l + 1);
		rc = fn(arg, path, no, line, trim(orig), e);
		pos += l + 1;
	}
	return rc;
}

/* Reads @path under the root and runs @fn over its lines; missing: *found = false. */
static exai_status conf_file(vf_host *h, const char *path, conf_line_fn fn, void *arg, bool *found,
			     exai_error *e)
{
	char *buf = NULL;
	size_t len;
	exai_error re;
	exai_status rc = vf_host_read(&h->root, path, VF_HOST_CONF_MAX, &buf, &len, &re);

	if (found)
		*found = rc != EXAI_ENOENT;
	if (rc == EXAI_ENOENT)
		return EXAI_OK;
	if (rc)
		return vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM, path, 0, 0, re.msg,
				       "could not be read: its servers were not checked",
				       "make it readable by the verifier (run as root)", e);
	rc = each_line(h, path, buf, len, fn, arg, e);
	free(buf);
	return rc;
}

/* Whitespace tokens of @line with their 1-based columns; '#' starts a comment (and ';' at the
 * start of a line). */
static int tokens(char *line, char **tok, unsigned *col, int max)
{
	char *s = line;
	int n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == ';')
		return 0;
	while (*s && *s != '#' && n < max) {
		tok[n] = s;
		col[n] = (unsigned)(s - line) + 1;
		n++;
		while (*s && *s != ' ' && *s != '\t' && *s != '#')
			s++;
		if (*s == '#') {
			*s = '\0';
			break;
		}
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
	}
	return n;
}

/* ---- "directive server" files: resolv.conf, chrony, ntp ---- */

typedef struct directive_ctx {
	const srv_check *sc;
	const char *const *directives;
	size_t seen;
} directive_ctx;

static exai_status on_directive(void *arg, const char *path, unsigned no, char *line,
				const char *orig, exai_error *e)
{
	directive_ctx *c = arg;
	char *tok[4];
	unsigned col[4];
	int n = tokens(line, tok, col, 4);

	if (n < 2)
		return EXAI_OK;
	for (const char *const *d = c->directives; *d; d++)
		if (!strcmp(tok[0], *d)) {
			c->seen++;
			return check_server(c->sc, path, no, col[1], tok[1], orig, e);
		}
	return EXAI_OK;
}

/* ---- systemd INI files: resolved.conf, timesyncd.conf ---- */

typedef struct ini_assign {
	char path[256];
	unsigned line, col; /* of the value */
	char value[VF_HOST_LINE_MAX + 1];
	char orig[VF_HOST_LINE_MAX + 1];
	bool set;
} ini_assign;

/* systemd reads DNS=, NTP= and their Fallback keys as lists: every assignment appends, and
 * only an empty one resets. @last is the latest assignment (set/empty decide the fallback
 * rules); @list every non-empty one since the last reset, all of which are checked. */
typedef struct ini_key {
	ini_assign last;
	ini_assign *list;
	size_t n, cap;
} ini_key;

typedef struct ini_ctx {
	const char *section; /* "[Time]" */
	const char *keys[2];
	ini_key *out[2];
	bool in;
} ini_ctx;

static bool empty_value(const ini_assign *a);

static exai_status on_ini(void *arg, const char *path, unsigned no, char *line, const char *orig,
			  exai_error *e)
{
	ini_ctx *c = arg;
	const char *t = trim(line);
	const char *eq;

	if (*t == '#' || *t == ';' || !*t)
		return EXAI_OK;
	if (*t == '[') {
		c->in = !strcmp(t, c->section);
		return EXAI_OK;
	}
	if (!c->in || !(eq = strchr(t, '=')))
		return EXAI_OK;
	for (int i = 0; i < 2; i++) {
		size_t kl = strlen(c->keys[i]);
		ini_key *k = c->out[i];
		ini_assign *a = &k->last;
		if ((size_t)(eq - t) != kl || strncmp(t, c->keys[i], kl))
			continue;
		snprintf(a->path, sizeof(a->path), "%s", path);
		a->line = no;
		a->col = (unsigned)(eq + 1 - line) + 1;
		snprintf(a->value, sizeof(a->value), "%s", eq + 1);
		snprintf(a->orig, sizeof(a->orig), "%s", orig);
		a->set = true;
		if (empty_value(a)) {
			k->n = 0;
			continue;
		}
		if (EXAI_GROW(&k->list, &k->cap, k->n, 1, EXAI_GROW_NOCAP, e))
			return exai_error_prefix(e, "%s", path);
		k->list[k->n++] = *a;
	}
	return EXAI_OK;
}

static void ini_keys_free(ini_key *k)
{
	for (int i = 0; k && i < 2; i++)
		free(k[i].list);
	free(k);
}

/* Loads @main and its drop-ins @main.d/NAME.conf in order; each key collects its list. */
static exai_status ini_files(vf_host *h, const char *main, ini_ctx *c, bool *found, exai_error *e)
{
	char dir[256], **v = NULL;
	size_t n = 0;
	exai_status rc;
	bool f2;

	if ((rc = conf_file(h, main, on_ini, c, found, e)))
		return rc;
	snprintf(dir, sizeof(dir), "%s.d", main);
	if ((rc = vf_host_list_dir(&h->root, dir, ".conf", &v, &n, e)))
		return rc;
	for (size_t i = 0; i < n && !rc; i++) {
		c->in = false;
		rc = conf_file(h, v[i], on_ini, c, &f2, e);
		*found = *found || f2;
	}
	vf_host_strv_free(v, n);
	return rc;
}

/* Each server of an assignment's space-separated value. */
static exai_status check_one_assign(const srv_check *sc, const ini_assign *a, exai_error *e)
{
	/* As many tokens as the value can hold (one character and a separator each), so no
	 * server of a long list goes unchecked. */
	enum { MAXTOK = VF_HOST_LINE_MAX / 2 + 1 };
	char val[VF_HOST_LINE_MAX + 1], *tok[MAXTOK];
	unsigned col[MAXTOK];
	int n;

	if (!a->set)
		return EXAI_OK;
	memcpy(val, a->value, sizeof(val));
	n = tokens(val, tok, col, MAXTOK);
	for (int i = 0; i < n; i++) {
		exai_status rc =
		    check_server(sc, a->path, a->line, a->col + col[i] - 1, tok[i], a->orig, e);
		if (rc)
			return rc;
	}
	return EXAI_OK;
}

/* Every server the key's list holds, from every assignment since the last reset. */
static exai_status check_assign(const srv_check *sc, const ini_key *k, exai_error *e)
{
	exai_status rc = EXAI_OK;

	for (size_t i = 0; i < k->n && !rc; i++)
		rc = check_one_assign(sc, &k->list[i], e);
	return rc;
}

static bool empty_value(const ini_assign *a)
{
	for (const char *p = a->value; *p; p++)
		if (*p != ' ' && *p != '\t')
			return false;
	return true;
}

exai_status vf_host_check_dns(vf_host *h, exai_error *e)
{
	static const char *const dirs[] = {"nameserver", NULL};
	srv_check sc = {h,
			&h->cfg->dns,
			"host.dns.public",
			VF_SEV_HIGH,
			"resolver",
			"point it at the site's resolver (or list that resolver under dns.allow "
			"in the host config)"};
	directive_ctx dc = {&sc, dirs, 0};
	ini_key *a = calloc(2, sizeof(*a));
	ini_ctx ic = {"[Resolve]", {"DNS", "FallbackDNS"}, {a, a + 1}, false};
	bool found;
	exai_status rc;

	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (!(rc = conf_file(h, "/etc/resolv.conf", on_directive, &dc, &found, e)) && !found)
		rc = vf_host_note(h, e, "dns: no /etc/resolv.conf");
	if (!rc && !(rc = ini_files(h, "/etc/systemd/resolved.conf", &ic, &found, e)) &&
	    !(rc = check_assign(&sc, &a[0], e)))
		rc = check_assign(&sc, &a[1], e);
	ini_keys_free(a);
	return rc;
}

static exai_status timesyncd(vf_host *h, const srv_check *sc, exai_error *e)
{
	static const char main[] = "/etc/systemd/timesyncd.conf";
	ini_key *a = calloc(2, sizeof(*a));
	ini_ctx ic = {"[Time]", {"NTP", "FallbackNTP"}, {a, a + 1}, false};
	bool found;
	exai_status rc;

	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = ini_files(h, main, &ic, &found, e)) || !found)
		goto out;
	if ((rc = check_assign(sc, &a[0], e)) || (rc = check_assign(sc, &a[1], e)))
		goto out;
	if ((!a[0].last.set || empty_value(&a[0].last)) && !a[1].last.set)
		rc = vf_host_finding(
		    h, sc->rule, sc->sev, main, 0, 0, "NTP= empty and FallbackNTP= never set",
		    "systemd-timesyncd falls back to its compiled-in public time servers",
		    "set NTP= to the site's time server and FallbackNTP= (empty) in timesyncd.conf",
		    e);
out:
	ini_keys_free(a);
	return rc;
}

exai_status vf_host_check_ntp(vf_host *h, exai_error *e)
{
	static const char *const dirs[] = {"server", "pool", "peer", NULL};
	static const char *const files[] = {"/etc/chrony/chrony.conf", "/etc/chrony.conf",
					    "/etc/ntp.conf", "/etc/ntpsec/ntp.conf"};
	static const struct {
		const char *dir, *suffix;
	} dropins[] = {{"/etc/chrony/conf.d", ".conf"}, {"/etc/chrony/sources.d", ".sources"}};
	srv_check sc = {
	    h,
	    &h->cfg->ntp,
	    "host.ntp.public",
	    VF_SEV_MEDIUM,
	    "time server",
	    "use the site's time server (or list it under ntp.allow in the host config)"};
	directive_ctx dc = {&sc, dirs, 0};
	exai_status rc = timesyncd(h, &sc, e);

	for (size_t i = 0; !rc && i < sizeof(files) / sizeof(files[0]); i++)
		rc = conf_file(h, files[i], on_directive, &dc, NULL, e);
	for (size_t i = 0; !rc && i < sizeof(dropins) / sizeof(dropins[0]); i++) {
		char **v = NULL;
		size_t n = 0;
		if ((rc = vf_host_list_dir(&h->root, dropins[i].dir, dropins[i].suffix, &v, &n, e)))
			break;
		for (size_t j = 0; j < n && !rc; j++)
			rc = conf_file(h, v[j], on_directive, &dc, NULL, e);
		vf_host_strv_free(v, n);
	}
	return rc;
}
