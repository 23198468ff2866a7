/*
 * scan_net: addresses and names, and whether they stay inside the site.
 *
 * IPv4 addresses are kept in their IPv4-mapped IPv6 form (::ffff:a.b.c.d) so one CIDR table
 * serves both families; an IPv4 CIDR /n becomes /(96+n). Host names compare case-insensitively
 * and label-wise: suffix "internal" matches "internal" and "a.internal", not "xinternal".
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exai/yaml.h"
#include "scan_net.h"

/* Strict dotted-quad IPv4 (no leading '+', 1-3 digits per part, each <= 255). */
static bool ipv4_parse(const char *s, size_t len, uint8_t out[4])
{
	size_t part = 0, digits = 0;
	unsigned v = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (digits == 0 || v > 255 || part > 3)
				return false;
			out[part++] = (uint8_t)v;
			v = 0;
			digits = 0;
		} else if (s[i] >= '0' && s[i] <= '9' && digits < 3) {
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
		} else {
			return false;
		}
	}
	return part == 4;
}

bool vf_net_ip_parse(const char *s, size_t len, uint8_t out[16])
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return false;
	if (s[0] >= '0' && s[0] <= '9' && !memchr(s, ':', len)) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		return ipv4_parse(s, len, out + 12);
	}
	if (!memchr(s, ':', len))
		return false; /* a name, not an address */
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, out) == 1;
}

exai_status vf_net_cidr_parse(const char *s, vf_cidr *out)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	bool v4 = memchr(s, ':', alen) == NULL;
	uint64_t bits = v4 ? 32 : 128;

	if (!vf_net_ip_parse(s, alen, out->addr))
		return EXAI_EFORMAT;
	if (slash && (!exai_parse_u64(slash + 1, &bits) || bits > (v4 ? 32u : 128u)))
		return EXAI_EFORMAT;
	out->bits = (unsigned)(v4 ? bits + 96 : bits);
	return EXAI_OK;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* The address as two big-endian words, so a prefix test is two masked compares. */
static void words(const uint8_t a[16], uint64_t w[2])
{
	w[0] = be64(a);
	w[1] = be64(a + 8);
}

static bool cidr_contains(const vf_cidr *c, const uint64_t a[2])
{
	uint64_t cw[2];
	unsigned bits = c->bits > 128 ? 128 : c->bits;
	uint64_t m0 = bits >= 64 ? ~0ull : bits ? ~0ull << (64 - bits) : 0;
	uint64_t m1 = bits > 64 ? ~0ull << (128 - bits) : 0;

	words(c->addr, cw);
	return ((cw[0] ^ a[0]) & m0) == 0 && ((cw[1] ^ a[1]) & m1) == 0;
}

bool vf_net_cidrs_contain(const vf_cidrs *cs, const uint8_t addr[16])
{
	uint64_t a[2];

	words(addr, a);
	for (size_t i = 0; i < cs->n; i++)
		if (cidr_contains(&cs->v[i], a))
			return true;
	return false;
}

bool vf_net_host_has_suffix(const char *host, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);

	while (len && host[len - 1] == '.') /* absolute name "a.b." */
		len--;
	if (sl > len)
		return false;
	if (strncasecmp(host + len - sl, suffix, sl) != 0)
		return false;
	return sl == len || host[len - sl - 1] == '.';
}

static bool in_list(const vf_strv *sv, const char *host, size_t len)
{
	for (size_t i = 0; i < sv->n; i++) {
		const char *s = sv->v[i];
		if (s[0] == '*' && s[1] == '.')
			s += 2; /* "*.corp" means the same as "corp" */
		if (vf_net_host_has_suffix(host, len, s))
			return true;
	}
	return false;
}

bool vf_net_host_is_local(const vf_settings *set, const char *host, size_t len)
{
	uint8_t a[16];

	if (len == 0)
		return true;
	if (vf_net_ip_parse(host, len, a))
		return vf_net_cidrs_contain(&set->local_cidrs, a) ||
		       in_list(&set->allow_hosts, host, len);
	if (!memchr(host, '.', len))
		return true; /* a single label resolves through the cluster/site search path */
	return in_list(&set->local_suffixes, host, len) || in_list(&set->ignore_hosts, host, len) ||
	       in_list(&set->allow_hosts, host, len);
}
