/*
 * Check suite for bpf/policy.c and bpf/compile.c: the egress policy parser (canonical CIDRs,
 * ports, protocols, every refusal at its file:line:column) and the compiler into trie
 * entries (merged ranges, the push-down of wider rules into narrower ones, the META and
 * WORKLOAD entries, the bound on ranges). Workloads name the cgroup2 root (".") so nothing is
 * created; without a cgroup2 mount the cases that need one pass vacuously.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "policy.h"
#include "testutil.h"

static char cgroot[256];

static bool have_cgroup2(void)
{
	exai_error e = {0};

	return egress_cgroup2_root(cgroot, sizeof(cgroot), &e) == EXAI_OK;
}

/* Parses @text (the workloads' rules part after a fixed header) with name "p.yaml". */
static exai_status parse(const char *rules, egress_policy **out, exai_error *e)
{
	char buf[4096];

	snprintf(
	    buf, sizeof(buf),
	    "version: 1\ndefault: deny\nworkloads:\n  - name: w\n    cgroup: .\n    rules:\n%s",
	    rules);
	return egress_policy_parse("p.yaml", buf, strlen(buf), cgroot, out, e);
}

static void expect_refused(const char *rules, const char *msg)
{
	egress_policy *p = NULL;
	exai_error e = {0};

	ck_assert_int_ne(parse(rules, &p, &e), EXAI_OK);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(e.msg, msg) != NULL, "'%s' not in '%s'", msg, e.msg);
}

START_TEST(parses_rules_canonically)
{
	egress_policy *p = NULL;
	exai_error e = {0};
	const egress_rule *r;
	uint8_t v6[16];

	if (!have_cgroup2())
		return;
	ck_assert_int_eq(
	    parse("      - {cidr: 10.1.0.0/16, protocol: tcp, ports: [443, 8000-8100]}\n"
		  "      - {cidr: \"fd00::1\", protocol: any}\n"
		  "      - {cidr: 192.0.2.7, protocol: udp, ports: 53}\n",
		  &p, &e),
	    EXAI_OK);
	ck_assert_int_eq(p->nworkloads, 1);
	ck_assert_int_eq(p->nrules, 3);
	ck_assert_int_eq(p->mode, EGRESS_MODE_ENFORCE);
	r = &p->workloads[0].rules[0];
	ck_assert_int_eq(r->family, 4);
	ck_assert_int_eq(r->plen, 16);
	ck_assert_int_eq(r->proto, EGRESS_PROTO_TCP);
	ck_assert_int_eq(r->nranges, 2);
	ck_assert_int_eq(r->r[0].lo, 443);
	ck_assert_int_eq(r->r[1].lo, 8000);
	ck_assert_int_eq(r->r[1].hi, 8100);
	r = &p->workloads[0].rules[1];
	inet_pton(AF_INET6, "fd00::1", v6);
	ck_assert_int_eq(r->family, 6);
	ck_assert_int_eq(r->plen, 128);
	ck_assert_int_eq(r->proto, EGRESS_PROTO_ANY);
	ck_assert_mem_eq(r->addr, v6, 16);
	ck_assert_int_eq(r->r[0].lo, 0);
	ck_assert_int_eq(r->r[0].hi, 65535);
	ck_assert_int_eq(p->workloads[0].rules[2].plen, 32);
	egress_policy_free(p);
}
END_TEST

START_TEST(refuses_with_position)
{
	if (!have_cgroup2())
		return;
	expect_refused("      - {cidr: 10.1.0.1/16, protocol: tcp}\n",
		       "p.yaml:7:16: cidr '10.1.0.1/16': host bits are set");
	expect_refused("      - {cidr: \"::ffff:10.0.0.1\", protocol: tcp}\n",
		       "write the IPv4 form");
	expect_refused("      - {cidr: 10.0.0.0/33, protocol: tcp}\n", "too long for the address");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: sctp}\n",
		       "p.yaml:7:38: protocol 'sctp': one of tcp, udp, icmp, any");
	expect_refused("      - {cidr: 10.0.0.0/8}\n", "protocol");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: icmp, ports: 1}\n",
		       "ports need protocol tcp or udp");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: 0}\n", "out of range");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: 90-80}\n", "out of range");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: 65536}\n", "out of range");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: []}\n", "allows nothing");
	expect_refused("      - {cidr: 10.0.0.0/8, protocol: tcp, port: 80}\n", "port");
	expect_refused(
	    "      - {cidr: 10.0.0.0/8, protocol: tcp, ports: [1,2,3,4,5,6,7,8,9,10,11,12,"
	    "13,14,15,16,17]}\n",
	    "at most 16 per rule");
}
END_TEST

START_TEST(refuses_bad_headers_and_workloads)
{
	const char *bad[][2] = {
	    {"version: 2\ndefault: deny\nworkloads: []\n", "p.yaml:1:10"},
	    {"version: 1\ndefault: allow\nworkloads: []\n", "the only default is deny"},
	    {"version: 1\ndefault: deny\nmode: log\nworkloads: []\n", "enforce or audit"},
	    {"version: 1\ndefault: deny\nworkloads: []\n", "no workloads"},
	    {"version: 1\ndefault: deny\nworkloads:\n  - {name: a, cgroup: .}\n  - {name: a, "
	     "cgroup: .}\n",
	     "named twice"},
	    {"version: 1\ndefault: deny\nworkloads:\n  - {name: a, cgroup: /tmp}\n",
	     "not under the cgroup2 mount"},
	    {"version: 1\ndefault: deny\nworkloads:\n  - {name: a, cgroup: ./no/such}\n",
	     "p.yaml:4:23: cgroup"},
	    {"version: 1\ndefault: deny\nextra: 1\nworkloads: []\n", "extra"},
	};

	if (!have_cgroup2())
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		egress_policy *p = NULL;
		exai_error e = {0};

		ck_assert_int_ne(
		    egress_policy_parse("p.yaml", bad[i][0], strlen(bad[i][0]), cgroot, &p, &e),
		    EXAI_OK);
		ck_assert_msg(strstr(e.msg, bad[i][1]) != NULL, "case %zu: '%s' not in '%s'", i,
			      bad[i][1], e.msg);
	}
}
END_TEST

/* The entry of @c for (kind, proto, prefix) of the one workload, or NULL. */
static const egress_entry *find(const egress_compiled *c, int kind, int proto, const char *addr,
				unsigned plen)
{
	uint8_t a[16] = {0};

	inet_pton(kind == EGRESS_KIND_V4 ? AF_INET : AF_INET6, addr, a);
	for (size_t i = 0; i < c->n; i++) {
		const struct egress_key *k = &c->entries[i].key;

		if (k->kind == kind && k->proto == proto &&
		    k->prefixlen == EGRESS_KEY_FIXED_BITS + plen && memcmp(k->addr, a, 16) == 0)
			return &c->entries[i];
	}
	return NULL;
}

START_TEST(compiles_with_push_down_and_merge)
{
	egress_policy *p = NULL;
	egress_compiled c = {0};
	exai_error e = {0};
	const egress_entry *wide, *narrow, *other;
	struct egress_key meta;

	if (!have_cgroup2())
		return;
	ck_assert_int_eq(
	    parse("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: 443}\n"
		  "      - {cidr: 10.1.2.3/32, protocol: tcp, ports: [80, 81-90, 85-100]}\n"
		  "      - {cidr: 10.1.2.3/32, protocol: tcp, ports: 8080}\n"
		  "      - {cidr: 10.1.2.3/32, protocol: udp, ports: 53}\n",
		  &p, &e),
	    EXAI_OK);
	ck_assert_int_eq(egress_compile(p, 7, EGRESS_MODE_AUDIT, &c, &e), EXAI_OK);
	/* META, the workload marker, /8 tcp, /32 tcp (two rules merged), /32 udp */
	ck_assert_int_eq(c.n, 5);
	egress_key_meta(&meta);
	ck_assert_mem_eq(&c.entries[c.n - 1].key, &meta, sizeof(meta));
	ck_assert_int_eq(c.entries[c.n - 1].val.generation, 7);
	ck_assert_int_eq(c.entries[c.n - 1].val.mode, EGRESS_MODE_AUDIT);
	wide = find(&c, EGRESS_KIND_V4, EGRESS_PROTO_TCP, "10.0.0.0", 8);
	narrow = find(&c, EGRESS_KIND_V4, EGRESS_PROTO_TCP, "10.1.2.3", 32);
	other = find(&c, EGRESS_KIND_V4, EGRESS_PROTO_UDP, "10.1.2.3", 32);
	ck_assert_ptr_nonnull(wide);
	ck_assert_ptr_nonnull(narrow);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(wide->val.nranges, 1);
	ck_assert_int_eq(wide->val.r[0].lo, 443);
	/* 80-100 merged, 443 pushed down from the /8, 8080 from the second /32 rule */
	ck_assert_int_eq(narrow->val.nranges, 3);
	ck_assert_int_eq(narrow->val.r[0].lo, 80);
	ck_assert_int_eq(narrow->val.r[0].hi, 100);
	ck_assert_int_eq(narrow->val.r[1].lo, 443);
	ck_assert_int_eq(narrow->val.r[2].lo, 8080);
	/* another protocol takes nothing from the tcp /8 */
	ck_assert_int_eq(other->val.nranges, 1);
	ck_assert_int_eq(other->val.r[0].lo, 53);
	ck_assert_uint_eq(egress_key_cgid(&narrow->key), p->workloads[0].cgid);
	egress_compiled_free(&c);
	egress_policy_free(p);
}
END_TEST

START_TEST(refuses_an_entry_over_the_range_bound)
{
	egress_policy *p = NULL;
	egress_compiled c = {0};
	exai_error e = {0};

	if (!have_cgroup2())
		return;
	ck_assert_int_eq(
	    parse("      - {cidr: 10.0.0.0/8, protocol: tcp, ports: [1,3,5,7,9,11,13,15,"
		  "17,19,21,23,25,27,29,31]}\n"
		  "      - {cidr: 10.0.0.1/32, protocol: tcp, ports: 100}\n",
		  &p, &e),
	    EXAI_OK);
	ck_assert_int_eq(egress_compile(p, 1, EGRESS_MODE_ENFORCE, &c, &e), EXAI_ETOOBIG);
	ck_assert_msg(strstr(e.msg, "workload 'w'") && strstr(e.msg, "more than 16 port ranges"),
		      "%s", e.msg);
	ck_assert_ptr_null(c.entries);
	egress_policy_free(p);
}
END_TEST

/* A small deterministic generator (the test must be the same every run). */
static uint32_t lcg(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

/* Whether a rule of (@family, @proto, @addr/@plen) covers (or is) destination key @k. */
static bool rule_covers(const egress_rule *r, const struct egress_key *k)
{
	unsigned klen = k->prefixlen - EGRESS_KEY_FIXED_BITS;

	if ((r->family == 4 ? EGRESS_KIND_V4 : EGRESS_KIND_V6) != k->kind || r->proto != k->proto ||
	    r->plen > klen)
		return false;
	if (memcmp(r->addr, k->addr, r->plen / 8) != 0)
		return false;
	return r->plen % 8 == 0 ||
	       ((r->addr[r->plen / 8] ^ k->addr[r->plen / 8]) & (0xff00u >> (r->plen % 8))) == 0;
}

static void ports_set(uint8_t *bits, uint16_t lo, uint16_t hi)
{
	uint32_t p = lo;

	for (; p <= hi && p % 8; p++)
		bits[p / 8] |= (uint8_t)(1u << (p % 8));
	for (; p + 8 <= (uint32_t)hi + 1; p += 8)
		bits[p / 8] = 0xff;
	for (; p <= hi; p++)
		bits[p / 8] |= (uint8_t)(1u << (p % 8));
}

/* The push-down against a brute-force reference: 3,000 random rules, IPv4 and IPv6, at every
 * prefix length from /4, packed into small address blocks so that most of them nest several
 * levels deep. Each entry must allow exactly the ports of every rule that covers it (its own
 * protocol only), and every rule must have its entry. */
START_TEST(push_down_matches_a_reference)
{
	static const uint16_t ports[] = {22, 53, 80, 443, 8080};
	enum { NRULES = 3000, LINE = 96 };
	char *text = malloc(256 + (size_t)NRULES * LINE);
	uint8_t *want = malloc(8192), *got = malloc(8192);
	egress_policy *p = NULL;
	egress_compiled c = {0};
	exai_error e = {0};
	uint32_t seed = 16;
	size_t len, nrule_entries = 0;

	if (!have_cgroup2())
		goto out;
	ck_assert_ptr_nonnull(text);
	len = (size_t)sprintf(text, "version: 1\ndefault: deny\nworkloads:\n  - name: w\n    "
				    "cgroup: .\n    rules:\n");
	for (int i = 0; i < NRULES; i++) {
		bool v6 = lcg(&seed) % 3 == 0;
		unsigned plen = 4 + lcg(&seed) % (v6 ? 125 : 29);
		uint32_t pick = lcg(&seed) % 7, x = lcg(&seed);
		const char *proto = pick < 3 ? "tcp" : pick < 6 ? "udp" : "any";
		uint8_t a[16] = {0};
		char addr[64], portsyaml[32] = "";
		egress_rule r;
		const char *why;

		if (v6) {
			a[0] = 0xfd; /* fd00::/8, then 6 bits of spread: nested blocks */
			a[1] = (uint8_t)(x & 0xfc);
			for (int b = 2; b < 16; b++)
				a[b] = (uint8_t)lcg(&seed);
			for (unsigned b = plen; b < 128; b++)
				a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
			inet_ntop(AF_INET6, a, addr, sizeof(addr));
		} else {
			a[0] = 10;
			a[1] = (uint8_t)(x & 0x3);
			a[2] = (uint8_t)lcg(&seed);
			a[3] = (uint8_t)lcg(&seed);
			for (unsigned b = plen; b < 32; b++)
				a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
			inet_ntop(AF_INET, a, addr, sizeof(addr));
		}
		ck_assert(egress_parse_cidr(addr, &r, &why)); /* canonical by construction */
		if (pick != 6 && lcg(&seed) % 4 != 0)
			snprintf(portsyaml, sizeof(portsyaml), ", ports: %u",
				 ports[lcg(&seed) % (sizeof(ports) / sizeof(ports[0]))]);
		len += (size_t)sprintf(text + len, "      - {cidr: \"%s/%u\", protocol: %s%s}\n",
				       addr, plen, proto, portsyaml);
	}
	ck_assert_int_eq(egress_policy_parse("p.yaml", text, len, cgroot, &p, &e), EXAI_OK);
	ck_assert_msg(egress_compile(p, 1, EGRESS_MODE_ENFORCE, &c, &e) == EXAI_OK, "%s", e.msg);
	for (size_t i = 0; i < c.n; i++) {
		const egress_entry *en = &c.entries[i];
		const egress_workload *w = &p->workloads[0];
		size_t covering = 0;

		if (en->key.kind > EGRESS_KIND_V6)
			continue;
		nrule_entries++;
		memset(want, 0, 8192);
		memset(got, 0, 8192);
		for (size_t r = 0; r < w->nrules; r++) {
			if (!rule_covers(&w->rules[r], &en->key))
				continue;
			covering++;
			for (int k = 0; k < w->rules[r].nranges; k++)
				ports_set(want, w->rules[r].r[k].lo, w->rules[r].r[k].hi);
		}
		ck_assert_msg(covering > 0, "entry %zu comes from no rule", i);
		for (int k = 0; k < en->val.nranges; k++)
			ports_set(got, en->val.r[k].lo, en->val.r[k].hi);
		ck_assert_msg(
		    memcmp(want, got, 8192) == 0,
		    "entry %zu (/%u, proto %u): ports differ from the %zu rules covering it", i,
		    en->key.prefixlen - EGRESS_KEY_FIXED_BITS, en->key.proto, covering);
	}
	/* every rule has its entry: as many entries as distinct (family, proto, prefix) */
	for (size_t r = 0; r < p->workloads[0].nrules; r++) {
		const egress_rule *ru = &p->workloads[0].rules[r];
		bool found = false;

		for (size_t i = 0; i < c.n && !found; i++)
			found = c.entries[i].key.kind <= EGRESS_KIND_V6 &&
				c.entries[i].key.prefixlen ==
				    EGRESS_KEY_FIXED_BITS + (unsigned)ru->plen &&
				rule_covers(ru, &c.entries[i].key);
		ck_assert_msg(found, "rule %zu has no entry", r);
	}
	ck_assert_uint_gt(nrule_entries, NRULES / 2);
out:
	egress_compiled_free(&c);
	egress_policy_free(p);
	free(text);
	free(want);
	free(got);
}
END_TEST

/* The rule bound: EGRESS_POLICY_MAX_RULES rules (written compactly, to fit the file bound)
 * parse, one more is refused by name; the file bound: exactly EGRESS_POLICY_MAX_BYTES parse
 * (padded with a comment), one byte more is refused before anything is parsed. */
static char *many_rules(size_t n, size_t *len)
{
	char *t = malloc(EGRESS_POLICY_MAX_BYTES + 2);
	size_t off;

	ck_assert_ptr_nonnull(t);
	off = (size_t)sprintf(t, "version: 1\ndefault: deny\nworkloads:\n  - name: w\n    cgroup: "
				 ".\n    rules: [\n");
	for (size_t i = 0; i < n; i++) {
		off += (size_t)sprintf(t + off, "{cidr: 10.%zu.%zu.%zu,protocol: any},\n",
				       i / 65536 % 256, i / 256 % 256, i % 256);
		ck_assert_uint_lt(off, EGRESS_POLICY_MAX_BYTES - 64);
	}
	off += (size_t)sprintf(t + off, "]\n");
	*len = off;
	return t;
}

START_TEST(bounds_exactly_at_and_one_over)
{
	egress_policy *p = NULL;
	exai_error e = {0};
	size_t len;
	char *t;

	if (!have_cgroup2())
		return;
	/* exactly at both: the most rules, padded with a comment to exactly the most bytes */
	t = many_rules(EGRESS_POLICY_MAX_RULES, &len);
	memset(t + len, ' ', EGRESS_POLICY_MAX_BYTES - len);
	t[len] = '#';
	t[EGRESS_POLICY_MAX_BYTES - 1] = '\n';
	ck_assert_msg(egress_policy_parse("p.yaml", t, EGRESS_POLICY_MAX_BYTES, cgroot, &p, &e) ==
			  EXAI_OK,
		      "%s", e.msg);
	ck_assert_uint_eq(p->nrules, EGRESS_POLICY_MAX_RULES);
	egress_policy_free(p);
	p = NULL;
	t[EGRESS_POLICY_MAX_BYTES] = '\n';
	ck_assert_int_eq(
	    egress_policy_parse("p.yaml", t, EGRESS_POLICY_MAX_BYTES + 1, cgroot, &p, &e),
	    EXAI_ETOOBIG);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(e.msg, "p.yaml: 8388609 bytes, a policy has at most 8388608"), "%s",
		      e.msg);
	free(t);
	t = many_rules(EGRESS_POLICY_MAX_RULES + 1, &len);
	ck_assert_int_eq(egress_policy_parse("p.yaml", t, len, cgroot, &p, &e), EXAI_ETOOBIG);
	ck_assert_ptr_null(p);
	ck_assert_msg(strstr(e.msg, "p.yaml:6:12: more than 200000 rules in the policy"), "%s",
		      e.msg);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("egress_policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_rules_canonically);
	tcase_add_test(tc, refuses_with_position);
	tcase_add_test(tc, refuses_bad_headers_and_workloads);
	tcase_add_test(tc, compiles_with_push_down_and_merge);
	tcase_add_test(tc, refuses_an_entry_over_the_range_bound);
	tcase_add_test(tc, push_down_matches_a_reference);
	tcase_add_test(tc, bounds_exactly_at_and_one_over);
	tcase_set_timeout(tc, 120); /* 200,000 rules parsed twice: about 18 s under ASan */
	suite_add_tcase(s, tc);
	return tu_run(s);
}
