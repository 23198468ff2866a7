/*
 * host_checks: routes, listening sockets, exai-egress pins, and the rule table of host mode.
 * (Resolvers and time servers: host_servers.c; drift: host_drift.c.)
 *
 * Each check reads its files under the root, bounded, and adds one finding per offending
 * record, located at the file and line it came from. A file that cannot be read or has
 * malformed lines makes the check fail closed with host.incomplete: a check that did not
 * see everything does not pass silently.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

static const struct {
	const char *id;
	vf_severity sev;
	const char *desc;
} rules[] = {
    {"host.route.default", VF_SEV_HIGH, "a default route gives traffic a way off the site"},
    {"host.listen.unexpected", VF_SEV_MEDIUM, "a listening socket not in the allowlist"},
    {"host.dns.public", VF_SEV_HIGH, "a resolver that is not local"},
    {"host.ntp.public", VF_SEV_MEDIUM, "a time server that is not local"},
    {"host.egress.unpinned", VF_SEV_HIGH, "a configured exai-egress program pin is missing"},
    {"host.drift.modified", VF_SEV_HIGH, "an installed file differs from what was installed"},
    {"host.drift.missing", VF_SEV_HIGH, "an installed file is gone"},
    {"host.drift.extra", VF_SEV_HIGH, "a file in an installed tree that was never installed"},
    {"host.drift.mode", VF_SEV_MEDIUM, "an installed file's permissions changed"},
    {"host.drift.link", VF_SEV_HIGH, "a symlink (or active-version link) points elsewhere"},
    {"host.drift.unrecorded", VF_SEV_MEDIUM,
     "an installed component without per-file records (installed before state schema 2)"},
    {"host.incomplete", VF_SEV_MEDIUM, "something the check needs could not be read fully"},
};

exai_status vf_host_declare_rules(vf_report *r, exai_error *e)
{
	exai_status rc = EXAI_OK;

	for (size_t i = 0; !rc && i < sizeof(rules) / sizeof(rules[0]); i++)
		rc = vf_report_rule(r, rules[i].id, rules[i].sev, rules[i].desc, e);
	return rc;
}

exai_status vf_host_finding(vf_host *h, const char *rule, vf_severity sev, const char *path,
			    unsigned line, unsigned col, const char *evidence, const char *message,
			    const char *hint, exai_error *e)
{
	vf_finding f = {
	    .rule_id = rule,
	    .severity = sev,
	    .path = path,
	    .line = line,
	    .column = col,
	    .evidence = evidence,
	    .message = message,
	    .hint = hint,
	};

	return vf_report_add(h->report, &f, e);
}

exai_status vf_host_note(vf_host *h, exai_error *e, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return vf_report_note(h->report, buf, e);
}

/* Reads @path for a check. A missing file is *missing = true (no error); any other failure
 * is a host.incomplete finding and *buf stays NULL. */
static exai_status read_for(vf_host *h, const char *path, size_t cap, char **buf, size_t *len,
			    bool *missing, exai_error *e)
{
	exai_error re;
	exai_status rc = vf_host_read(&h->root, path, cap, buf, len, &re);

	*missing = rc == EXAI_ENOENT;
	if (!rc || *missing)
		return EXAI_OK;
	return vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM, path, 0, 0, re.msg,
			       "could not be read: this part of the host was not checked",
			       "make it readable by the verifier (run as root)", e);
}

static exai_status bad_lines(vf_host *h, const char *path, const vf_proc_stats *st, exai_error *e)
{
	char ev[96];

	if (!st->bad)
		return EXAI_OK;
	snprintf(ev, sizeof(ev), "%zu malformed line(s), first at line %u", st->bad, st->first_bad);
	return vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM, path, st->first_bad, 0, ev,
			       "lines that do not parse were skipped: they were not checked",
			       "compare the file with the kernel's format; is --root a real "
			       "/proc copy?",
			       e);
}

/* ---- routes ---- */

typedef struct route_ctx {
	vf_host *h;
	const char *path;
} route_ctx;

static exai_status on_route(void *arg, const vf_route *r, exai_error *e)
{
	route_ctx *c = arg;
	char gw[64], ev[192];
	static const uint8_t zero[16];

	if (!vf_route_is_default(r) || c->h->cfg->allow_default_route)
		return EXAI_OK;
	vf_host_ip_str(r->gw, gw, sizeof(gw));
	bool via = r->v6 ? memcmp(r->gw, zero, 16) != 0 : memcmp(r->gw + 12, zero, 4) != 0;
	snprintf(ev, sizeof(ev), "default%s%s dev %s metric %u", via ? " via " : "", via ? gw : "",
		 r->iface, r->metric);
	return vf_host_finding(c->h, "host.route.default", VF_SEV_HIGH, c->path, r->line, 0, ev,
			       r->v6 ? "IPv6 default route: traffic to any address has a way out"
				     : "IPv4 default route: traffic to any address has a way out",
			       "remove the default route; route only the site's prefixes (or set "
			       "routes.allow_default in the host config when a site firewall is "
			       "the boundary)",
			       e);
}

exai_status vf_host_check_routes(vf_host *h, exai_error *e)
{
	static const char *const paths[] = {"/proc/net/route", "/proc/net/ipv6_route"};
	exai_status rc = EXAI_OK;

	for (int v6 = 0; v6 < 2 && !rc; v6++) {
		route_ctx c = {h, paths[v6]};
		vf_proc_stats st;
		char *buf = NULL;
		size_t len;
		bool missing;
		if ((rc = read_for(h, paths[v6], VF_HOST_PROC_MAX, &buf, &len, &missing, e)))
			break;
		if (missing) {
			rc = v6 ? vf_host_note(h, e, "routes: %s absent (IPv6 disabled)", paths[v6])
				: vf_host_finding(
				      h, "host.incomplete", VF_SEV_MEDIUM, paths[v6], 0, 0,
				      "file not found", "routes were not checked",
				      "run on the appliance, or give --root a /proc copy", e);
			continue;
		}
		if (buf && !(rc = vf_proc_routes(buf, len, v6, on_route, &c, &st, e)))
			rc = bad_lines(h, paths[v6], &st, e);
		free(buf);
	}
	return rc;
}

/* ---- listening sockets ---- */

typedef struct listen_ctx {
	vf_host *h;
	const char *path;
	size_t listeners;
} listen_ctx;

static exai_status on_sock(void *arg, const vf_sock *s, exai_error *e)
{
	listen_ctx *c = arg;
	const vf_host_config *cfg = c->h->cfg;
	bool loop = vf_host_ip_loopback(s->local);
	char ip[64], ev[192];

	if (!vf_sock_is_listener(s))
		return EXAI_OK;
	c->listeners++;
	if (loop && cfg->listen_allow_loopback)
		return EXAI_OK;
	for (size_t i = 0; i < cfg->nlisten; i++)
		if (vf_host_listen_match(&cfg->listen[i], s))
			return EXAI_OK;
	vf_host_ip_str(s->local, ip, sizeof(ip));
	snprintf(ev, sizeof(ev), "%s %s%s%s:%u (uid %llu, inode %llu)", s->udp ? "udp" : "tcp",
		 strchr(ip, ':') ? "[" : "", ip, strchr(ip, ':') ? "]" : "", s->lport,
		 (unsigned long long)s->uid, (unsigned long long)s->inode);
	return vf_host_finding(
	    c->h, "host.listen.unexpected", loop ? VF_SEV_LOW : VF_SEV_MEDIUM, c->path, s->line, 0,
	    ev,
	    loop ? "loopback listener not in the allowlist"
		 : "listening socket not in the allowlist: reachable from the network",
	    "stop the service or bind it to what it must serve; if it is intended, add it to "
	    "listen.allow in the host config ('ss -lntup' names the process by inode)",
	    e);
}

exai_status vf_host_check_listen(vf_host *h, exai_error *e)
{
	static const struct {
		const char *path;
		bool v6, udp;
	} files[] = {{"/proc/net/tcp", false, false},
		     {"/proc/net/tcp6", true, false},
		     {"/proc/net/udp", false, true},
		     {"/proc/net/udp6", true, true}};
	exai_status rc = EXAI_OK;
	size_t total = 0;

	for (size_t i = 0; i < 4 && !rc; i++) {
		listen_ctx c = {h, files[i].path, 0};
		vf_proc_stats st;
		char *buf = NULL;
		size_t len;
		bool missing;
		if ((rc = read_for(h, files[i].path, VF_HOST_PROC_MAX, &buf, &len, &missing, e)))
			break;
		if (missing) {
			rc = files[i].v6 ? vf_host_note(h, e, "listen: %s absent (IPv6 disabled)",
							files[i].path)
					 : vf_host_finding(h, "host.incomplete", VF_SEV_MEDIUM,
							   files[i].path, 0, 0, "file not found",
							   "sockets were not checked",
							   "run on the appliance, or give --root "
							   "a /proc copy",
							   e);
			continue;
		}
		if (buf &&
		    !(rc = vf_proc_socks(buf, len, files[i].v6, files[i].udp, on_sock, &c, &st, e)))
			rc = bad_lines(h, files[i].path, &st, e);
		total += c.listeners;
		free(buf);
	}
	return rc ? rc : vf_host_note(h, e, "listen: %zu listening socket(s) seen", total);
}

/* ---- exai-egress pins ---- */

exai_status vf_host_check_egress(vf_host *h, exai_error *e)
{
	const vf_host_config *cfg = h->cfg;
	exai_status rc = EXAI_OK;

	if (!cfg->npins)
		return vf_host_note(h, e,
				    "egress: no exai-egress pin paths configured: not checked");
	for (size_t i = 0; i < cfg->npins && !rc; i++) {
		exai_error oe;
		int fd;
		exai_status orc = vf_host_open(&h->root, cfg->pins[i], O_PATH, &fd, &oe);
		if (!orc) {
			close(fd);
			continue;
		}
		rc = vf_host_finding(h, "host.egress.unpinned", VF_SEV_HIGH, cfg->pins[i], 0, 0,
				     orc == EXAI_ENOENT ? "not present" : oe.msg,
				     "exai-egress program pin missing: egress may not be filtered",
				     "start exai-egress (it loads, attaches and pins its programs "
				     "at boot) and check "
				     "its journal",
				     e);
	}
	return rc;
}
