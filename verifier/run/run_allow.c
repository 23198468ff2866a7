/*
 * run_allow: parsing and matching of `--allow CIDR:PORT`.
 *
 * Invariant of a parsed rule: every address bit past @prefix is zero, so matching is a plain
 * prefix compare.
 */
#include "run_allow.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A decimal number of 1-5 digits, no sign, spaces or leading zeros, at most @max. */
static bool parse_dec(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (s[0] == '0' && s[1] != '\0')
		return false;
	for (i = 0; s[i]; i++) {
		if (i >= 5 || s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (i == 0 || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_port(const char *s, int *out)
{
	unsigned v;

	if (!strcmp(s, "*")) {
		*out = -1;
		return true;
	}
	if (!parse_dec(s, 65535, &v) || v < 1)
		return false;
	*out = (int)v;
	return true;
}

static bool host_bits_clear(const uint8_t *addr, size_t len, unsigned prefix)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned bit0 = (unsigned)i * 8;
		uint8_t keep;

		if (bit0 >= prefix)
			keep = 0;
		else if (prefix - bit0 >= 8)
			keep = 0xFF;
		else
			keep = (uint8_t)(0xFF << (8 - (prefix - bit0)));
		if (addr[i] & (uint8_t)~keep)
			return false;
	}
	return true;
}

/* Parses "ADDR" or "ADDR/LEN" (@cidr is modified). */
static exai_status parse_cidr(char *cidr, vf_allow *out, const char *rule, exai_error *e)
{
	char *slash = strchr(cidr, '/');
	unsigned max, len;

	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, cidr, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, cidr, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return exai_error_set(
		    e, EXAI_EINVAL, "--allow %s: '%s' is not an IPv4 or IPv6 address", rule, cidr);
	}
	out->prefix = max;
	if (slash) {
		if (!parse_dec(slash + 1, max, &len))
			return exai_error_set(e, EXAI_EINVAL,
					      "--allow %s: prefix length '%s' is not 0-%u", rule,
					      slash + 1, max);
		out->prefix = len;
	}
	if (!host_bits_clear(out->addr, max / 8, out->prefix))
		return exai_error_set(e, EXAI_EINVAL,
				      "--allow %s: address has bits set past /%u (did you mean the "
				      "network address?)",
				      rule, out->prefix);
	return EXAI_OK;
}

exai_status vf_allow_parse(const char *s, vf_allow *out, exai_error *e)
{
	char buf[VF_ALLOW_TEXT];
	char *addr, *port;

	memset(out, 0, sizeof(*out));
	if (strlen(s) >= sizeof(buf))
		return exai_error_set(e, EXAI_EINVAL, "--allow: rule of %zu characters is too long",
				      strlen(s));
	memcpy(buf, s, strlen(s) + 1);
	memcpy(out->text, s, strlen(s) + 1);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (!close || close[1] != ':')
			return exai_error_set(e, EXAI_EINVAL, "--allow %s: expected [ADDR]:PORT",
					      s);
		*close = '\0';
		addr = buf + 1;
		port = close + 2;
	} else {
		char *colon = strrchr(buf, ':');

		if (!colon)
			return exai_error_set(e, EXAI_EINVAL, "--allow %s: expected CIDR:PORT", s);
		*colon = '\0';
		addr = buf;
		port = colon + 1;
		if (strchr(addr, ':') && !strchr(addr, '/'))
			return exai_error_set(e, EXAI_EINVAL,
					      "--allow %s: write an IPv6 host as [ADDR]:PORT", s);
	}
	if (!parse_port(port, &out->port))
		return exai_error_set(e, EXAI_EINVAL, "--allow %s: port '%s' is not 1-65535 or *",
				      s, port);
	return parse_cidr(addr, out, s, e);
}

bool vf_allow_match(const vf_allow *a, int family, const uint8_t *addr, bool has_port,
		    uint16_t port)
{
	unsigned full, rest;

	if (a->family != family)
		return false;
	if (a->port >= 0 && (!has_port || port != a->port))
		return false;
	full = a->prefix / 8;
	rest = a->prefix % 8;
	if (memcmp(a->addr, addr, full) != 0)
		return false;
	if (rest && ((a->addr[full] ^ addr[full]) & (uint8_t)(0xFF << (8 - rest))))
		return false;
	return true;
}

const vf_allow *vf_allow_find(const vf_allow *rules, size_t n, int family, const uint8_t *addr,
			      bool has_port, uint16_t port)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vf_allow_match(&rules[i], family, addr, has_port, port))
			return &rules[i];
	return NULL;
}
