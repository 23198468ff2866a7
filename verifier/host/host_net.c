/*
 * host_net: which resolvers and time servers count as local, and the allowlists of the host
 * config (servers, listeners).
 *
 * Local, without any allowlist: loopback (127/8, ::1), RFC 1918 (10/8, 172.16/12,
 * 192.168/16), link-local (169.254/16, fe80::/10), IPv6 ULA (fc00::/7), the unspecified
 * address, and the names "localhost" and anything under .localhost, .local or .internal.
 * Everything else (a public address, any other host name) is not. Addresses are compared in
 * their 16-byte form; IPv4 is IPv4-mapped, so an IPv4 CIDR /n is kept as /(96+n).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exai/grow.h"
#include "exai/text.h"
#include "host.h"

static const vf_host_cidr local_nets[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127}, 104},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10}, 104},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 172, 16}, 108},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168}, 112},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254}, 112},
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, 128}, /* 0.0.0.0 */
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},	   /* ::1 */
    {{0}, 128},							   /* :: */
    {{0xfe, 0x80}, 10},
    {{0xfc}, 7},
};

static bool in_cidr(const uint8_t ip[16], const vf_host_cidr *c)
{
	unsigned full = c->plen / 8, rest = c->plen % 8;

	if (memcmp(ip, c->addr, full))
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - rest));
	return (ip[full] & m) == (c->addr[full] & m);
}

bool vf_host_ip_parse(const char *s, uint8_t out[16])
{
	struct in_addr a4;

	if (!s || !*s || strlen(s) > 45)
		return false;
	if (!strchr(s, ':')) {
		if (inet_pton(AF_INET, s, &a4) != 1)
			return false;
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, s, out) == 1;
}

static bool is_mapped(const uint8_t ip[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(ip, pfx, 12);
}

void vf_host_ip_str(const uint8_t ip[16], char *out, size_t cap)
{
	if (is_mapped(ip))
		inet_ntop(AF_INET, ip + 12, out, (socklen_t)cap);
	else
		inet_ntop(AF_INET6, ip, out, (socklen_t)cap);
}

bool vf_host_ip_local(const uint8_t ip[16])
{
	for (size_t i = 0; i < sizeof(local_nets) / sizeof(local_nets[0]); i++)
		if (in_cidr(ip, &local_nets[i]))
			return true;
	return false;
}

bool vf_host_ip_loopback(const uint8_t ip[16])
{
	return in_cidr(ip, &local_nets[0]) || in_cidr(ip, &local_nets[6]);
}

bool vf_host_ip_unspecified(const uint8_t ip[16])
{
	return in_cidr(ip, &local_nets[5]) || in_cidr(ip, &local_nets[7]);
}

/* @name equals @suffix or ends in ".suffix" (case-insensitive); a trailing dot ignored. */
static bool name_under(const char *name, size_t n, const char *suffix)
{
	size_t s = strlen(suffix);

	if (n == s)
		return !strncasecmp(name, suffix, n);
	return n > s && name[n - s - 1] == '.' && !strncasecmp(name + n - s, suffix, s);
}

bool vf_host_name_local(const char *name)
{
	static const char *const sfx[] = {"localhost", "local", "internal"};
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (name_under(name, n, sfx[i]))
			return true;
	return false;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

bool vf_host_allow_add(vf_host_allow *a, const char *entry, bool *oom)
{
	const char *slash = strchr(entry, '/');
	vf_host_cidr c = {0};
	char ip[64];

	*oom = false;
	if (slash || strchr(entry, ':') || vf_host_ip_parse(entry, c.addr)) {
		size_t alen = slash ? (size_t)(slash - entry) : strlen(entry);
		uint64_t plen;
		if (alen >= sizeof(ip))
			return false;
		memcpy(ip, entry, alen);
		ip[alen] = '\0';
		if (!vf_host_ip_parse(ip, c.addr))
			return false;
		bool v4 = !strchr(ip, ':');
		if (!slash)
			plen = v4 ? 32 : 128;
		else if (!exai_parse_u64_canon(slash + 1, &plen) || plen > (v4 ? 32u : 128u))
			return false;
		c.plen = (unsigned)plen + (v4 ? 96 : 0);
		if (EXAI_GROW(&a->cidrs, &a->capcidrs, a->ncidrs, 1, VF_HOST_LIST_MAX, NULL)) {
			*oom = a->ncidrs < VF_HOST_LIST_MAX;
			return false;
		}
		a->cidrs[a->ncidrs++] = c;
		return true;
	}
	if (!valid_name(entry[0] == '*' && entry[1] == '.' ? entry + 2 : entry))
		return false;
	if (EXAI_GROW(&a->names, &a->capnames, a->nnames, 1, VF_HOST_LIST_MAX, NULL) ||
	    !(a->names[a->nnames] = strdup(entry))) {
		*oom = a->nnames < VF_HOST_LIST_MAX;
		return false;
	}
	a->nnames++;
	return true;
}

bool vf_host_allow_match(const vf_host_allow *a, const char *server)
{
	uint8_t ip[16];
	size_t n = strlen(server);

	if (!a)
		return false;
	if (vf_host_ip_parse(server, ip)) {
		for (size_t i = 0; i < a->ncidrs; i++)
			if (in_cidr(ip, &a->cidrs[i]))
				return true;
		return false;
	}
	if (n && server[n - 1] == '.')
		n--;
	for (size_t i = 0; i < a->nnames; i++) {
		const char *p = a->names[i];
		if (p[0] == '*' && p[1] == '.') {
			if (name_under(server, n, p + 2) && n > strlen(p + 2))
				return true;
		} else if (strlen(p) == n && !strncasecmp(p, server, n)) {
			return true;
		}
	}
	return false;
}

void vf_host_allow_free(vf_host_allow *a)
{
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
	free(a->cidrs);
	memset(a, 0, sizeof(*a));
}

bool vf_host_server_local(const vf_host_allow *a, const char *server)
{
	uint8_t ip[16];

	if (vf_host_allow_match(a, server))
		return true;
	if (vf_host_ip_parse(server, ip))
		return vf_host_ip_local(ip);
	return vf_host_name_local(server);
}

bool vf_host_listen_parse(const char *s, vf_host_listen_rule *out)
{
	char buf[96], *addr, *port, *end;
	size_t n = strlen(s);
	uint64_t p;

	memset(out, 0, sizeof(*out));
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	if (!strncmp(buf, "tcp ", 4))
		out->proto = 't';
	else if (!strncmp(buf, "udp ", 4))
		out->proto = 'u';
	else if (!strncmp(buf, "* ", 2))
		out->proto = '*';
	else
		return false;
	addr = buf + (out->proto == '*' ? 2 : 4);
	if (!(port = strrchr(addr, ':')))
		return false;
	*port++ = '\0';
	if (!strcmp(port, "*"))
		out->any_port = true;
	else if (!exai_parse_u64_canon(port, &p) || p > 65535)
		return false;
	else
		out->port = (uint16_t)p;
	if (!strcmp(addr, "*")) {
		out->any_addr = true;
		return true;
	}
	if (addr[0] == '[') {
		if (!(end = strchr(addr, ']')) || end[1])
			return false;
		*end = '\0';
		addr++;
		return strchr(addr, ':') && vf_host_ip_parse(addr, out->addr);
	}
	return !strchr(addr, ':') && vf_host_ip_parse(addr, out->addr);
}

bool vf_host_listen_match(const vf_host_listen_rule *r, const vf_sock *s)
{
	if (r->proto != '*' && r->proto != (s->udp ? 'u' : 't'))
		return false;
	if (!r->any_port && r->port != s->lport)
		return false;
	return r->any_addr || !memcmp(r->addr, s->local, 16);
}
