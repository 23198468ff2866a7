/*
 * host_proc: parsers for /proc/net/{route,ipv6_route,tcp,tcp6,udp,udp6}.
 *
 * Pure functions over a buffer (the caller reads the file, bounded), so they are unit tested
 * and fuzzable without a kernel. The formats are the kernel's fixed seq_file layouts:
 *   route:      Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
 *               (addresses as the raw __be32 printed %08X in host byte order)
 *   ipv6_route: dst plen src plen nexthop metric refcnt use flags iface
 *               (addresses as 32 hex digits in network byte order)
 *   tcp/udp:    sl: local:port remote:port st ... uid timeout inode ...
 *               (IPv4 as above; IPv6 as four 32-bit words each %08X in host byte order)
 * The first line is a header (not in ipv6_route). A line that does not fit its format (wrong field
 * count, a field that is not exactly the expected hex, over VF_HOST_LINE_MAX bytes, a NUL byte) is
 * skipped and counted, never guessed at.
 */
#include <string.h>

#include "host.h"

#define MAX_FIELDS 24

#define RTF_UP_	    0x0001u
#define RTF_REJECT_ 0x0200u

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly @n hex digits (n <= 16) and nothing else. */
static bool hex_n(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = hexval(s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* 1..@max hex digits. */
static bool hex_upto(const char *s, size_t max, uint64_t *out)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && hex_n(s, n, out);
}

static bool dec_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 19)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

static void mapped_v4(uint32_t be_as_host, uint8_t out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &be_as_host, 4); /* the kernel printed the __be32 in host order */
}

/* IPv4 "%08X" as printed by the kernel. */
static bool addr4(const char *s, uint8_t out[16])
{
	uint64_t v;

	if (!hex_n(s, 8, &v))
		return false;
	mapped_v4((uint32_t)v, out);
	return true;
}

/* IPv6 in /proc/net/tcp6: four words, each "%08X" of a host-order u32. */
static bool addr6_words(const char *s, uint8_t out[16])
{
	char w[9];

	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 4; i++) {
		uint64_t v;
		uint32_t u;
		memcpy(w, s + 8 * i, 8);
		w[8] = '\0';
		if (!hex_n(w, 8, &v))
			return false;
		u = (uint32_t)v;
		memcpy(out + 4 * i, &u, 4);
	}
	return true;
}

/* IPv6 in /proc/net/ipv6_route: 32 hex digits in network byte order. */
static bool addr6_bytes(const char *s, uint8_t out[16])
{
	if (strlen(s) != 32)
		return false;
	for (int i = 0; i < 16; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* "ADDR:PORT" of a socket table. */
static bool endpoint(char *s, bool v6, uint8_t addr[16], uint16_t *port)
{
	char *colon = strchr(s, ':');
	uint64_t p;

	if (!colon)
		return false;
	*colon = '\0';
	if (!hex_n(colon + 1, 4, &p))
		return false;
	*port = (uint16_t)p;
	return v6 ? addr6_words(s, addr) : addr4(s, addr);
}

typedef bool (*line_fn)(char **f, int nf, unsigned line, void *rec);

static int split_ws(char *s, char **f, int max)
{
	int n = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			*s++ = '\0';
		if (!*s)
			break;
		if (n == max)
			return -1;
		f[n++] = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	return n;
}

/*
 * Walks the data lines of @buf (after the header), parsing each into @rec with @parse and
 * handing good ones to @emit. Lines are copied into a bounded buffer, so @buf is not changed.
 */
static exai_status each_line(const char *buf, size_t len, bool header, line_fn parse, void *rec,
			     exai_status (*emit)(void *emit_arg, void *rec, exai_error *e),
			     void *emit_arg, vf_proc_stats *st, exai_error *e)
{
	char line[VF_HOST_LINE_MAX + 1], *f[MAX_FIELDS];
	size_t pos = 0;
	unsigned no = 0;
	exai_status rc = EXAI_OK;

	memset(st, 0, sizeof(*st));
	while (pos < len && !rc) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		bool ok;
		int nf;

		no++;
		if (no == 1 && header) {
			pos += l + 1;
			continue;
		}
		ok = l <= VF_HOST_LINE_MAX && !memchr(buf + pos, '\0', l);
		if (ok) {
			memcpy(line, buf + pos, l);
			line[l] = '\0';
			nf = split_ws(line, f, MAX_FIELDS);
			if (nf == 0) { /* blank line */
				pos += l + 1;
				continue;
			}
			ok = nf > 0 && parse(f, nf, no, rec);
		}
		pos += l + 1;
		if (!ok) {
			if (!st->bad++)
				st->first_bad = no;
			continue;
		}
		st->records++;
		rc = emit(emit_arg, rec, e);
	}
	return rc;
}

static bool parse_route4(char **f, int nf, unsigned line, void *p)
{
	vf_route *r = p;
	uint64_t dst, gw, flags, metric, mask, refcnt, use;
	uint8_t mb[16];

	if (nf != 11 || strlen(f[0]) >= sizeof(r->iface) || !hex_n(f[1], 8, &dst) ||
	    !hex_n(f[2], 8, &gw) || !hex_upto(f[3], 8, &flags) || !dec_u64(f[4], &refcnt) ||
	    !dec_u64(f[5], &use) || !dec_u64(f[6], &metric) || metric > UINT32_MAX ||
	    !hex_n(f[7], 8, &mask))
		return false;
	memset(r, 0, sizeof(*r));
	r->line = line;
	memcpy(r->iface, f[0], strlen(f[0]) + 1);
	mapped_v4((uint32_t)dst, r->dst);
	mapped_v4((uint32_t)gw, r->gw);
	r->flags = (uint32_t)flags;
	r->metric = (uint32_t)metric;
	/* the mask's bytes are in network order like the address: count the leading ones */
	mapped_v4((uint32_t)mask, mb);
	for (int i = 12; i < 16; i++)
		for (int b = 7; b >= 0; b--) {
			if (!(mb[i] >> b & 1))
				return true;
			r->plen++;
		}
	return true;
}

static bool parse_route6(char **f, int nf, unsigned line, void *p)
{
	vf_route *r = p;
	uint64_t plen, splen, metric, refcnt, use, flags;
	uint8_t src[16];

	if (nf != 10 || strlen(f[9]) >= sizeof(r->iface))
		return false;
	memset(r, 0, sizeof(*r));
	if (!addr6_bytes(f[0], r->dst) || !hex_n(f[1], 2, &plen) || plen > 128 ||
	    !addr6_bytes(f[2], src) || !hex_n(f[3], 2, &splen) || !addr6_bytes(f[4], r->gw) ||
	    !hex_n(f[5], 8, &metric) || !hex_n(f[6], 8, &refcnt) || !hex_n(f[7], 8, &use) ||
	    !hex_n(f[8], 8, &flags))
		return false;
	r->line = line;
	r->v6 = true;
	r->plen = (unsigned)plen;
	r->metric = (uint32_t)metric;
	r->flags = (uint32_t)flags;
	memcpy(r->iface, f[9], strlen(f[9]) + 1);
	return true;
}

typedef struct route_emit {
	vf_route_fn fn;
	void *arg;
} route_emit;

static exai_status emit_route(void *a, void *rec, exai_error *e)
{
	route_emit *re = a;
	return re->fn(re->arg, rec, e);
}

exai_status vf_proc_routes(const char *buf, size_t len, bool v6, vf_route_fn fn, void *arg,
			   vf_proc_stats *st, exai_error *e)
{
	vf_route r;
	route_emit re = {fn, arg};

	/* ipv6_route is the one table without a header line */
	return each_line(buf, len, !v6, v6 ? parse_route6 : parse_route4, &r, emit_route, &re, st,
			 e);
}

typedef struct sock_ctx {
	vf_sock s;
	bool v6, udp;
} sock_ctx;

static bool parse_sock(char **f, int nf, unsigned line, void *p)
{
	sock_ctx *c = p;
	vf_sock *s = &c->s;
	uint64_t st, uid, inode, sl;
	size_t l0 = strlen(f[0]);

	if (nf < 10 || l0 < 2 || f[0][l0 - 1] != ':')
		return false;
	f[0][l0 - 1] = '\0';
	memset(s, 0, sizeof(*s));
	if (!dec_u64(f[0], &sl) || !endpoint(f[1], c->v6, s->local, &s->lport) ||
	    !endpoint(f[2], c->v6, s->remote, &s->rport) || !hex_n(f[3], 2, &st) ||
	    !dec_u64(f[7], &uid) || !dec_u64(f[9], &inode))
		return false;
	s->line = line;
	s->v6 = c->v6;
	s->udp = c->udp;
	s->state = (unsigned)st;
	s->uid = uid;
	s->inode = inode;
	return true;
}

typedef struct sock_emit {
	vf_sock_fn fn;
	void *arg;
} sock_emit;

static exai_status emit_sock(void *a, void *rec, exai_error *e)
{
	sock_emit *se = a;
	return se->fn(se->arg, &((sock_ctx *)rec)->s, e);
}

exai_status vf_proc_socks(const char *buf, size_t len, bool v6, bool udp, vf_sock_fn fn, void *arg,
			  vf_proc_stats *st, exai_error *e)
{
	sock_ctx c = {.v6 = v6, .udp = udp};
	sock_emit se = {fn, arg};

	return each_line(buf, len, true, parse_sock, &c, emit_sock, &se, st, e);
}

bool vf_route_is_default(const vf_route *r)
{
	static const uint8_t zero[16];

	if (!(r->flags & RTF_UP_) || (r->flags & RTF_REJECT_) || r->plen != 0)
		return false;
	return r->v6 ? !memcmp(r->dst, zero, 16) : !memcmp(r->dst + 12, zero, 4);
}

bool vf_sock_is_listener(const vf_sock *s)
{
	static const uint8_t zero[16];

	if (!s->udp)
		return s->state == 0x0A;
	/* UDP: bound (a local port) and not connected (no remote) */
	return s->state == 0x07 && s->lport != 0 && s->rport == 0 &&
	       (s->v6 ? !memcmp(s->remote, zero, 16) : !memcmp(s->remote + 12, zero, 4));
}
