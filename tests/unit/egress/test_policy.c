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

int main(void)
{
	Suite *s = suite_create("egress_policy");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_rules_canonically);
	tcase_add_test(tc, refuses_with_position);
	tcase_add_test(tc, refuses_bad_headers_and_workloads);
	tcase_add_test(tc, compiles_with_push_down_and_merge);
	tcase_add_test(tc, refuses_an_entry_over_the_range_bound);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
