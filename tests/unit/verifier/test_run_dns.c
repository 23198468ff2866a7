/* Check suite for verifier/run/run_dns.c: the run mode's DNS query parser and NXDOMAIN answers. */
#include <stdlib.h>
#include <string.h>

#include "run_dns.h"
#include "testutil.h"

/* A message under construction. */
typedef struct msg {
	uint8_t b[1024];
	size_t n;
} msg;

static void put(msg *m, const void *p, size_t n)
{
	ck_assert_uint_le(m->n + n, sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put16(msg *m, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(m, b, 2);
}

static void header(msg *m, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
		   unsigned ar)
{
	m->n = 0;
	put16(m, id);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, ns);
	put16(m, ar);
}

/* A query for @wire_name (wire form, NUL included in @len) of @qtype, class IN. */
static void query(msg *m, const char *wire_name, size_t len, unsigned qtype)
{
	header(m, 0x1234, 0x0100, 1, 0, 0, 0);
	put(m, wire_name, len);
	put16(m, qtype);
	put16(m, 1);
}

#define EXAMPLE_COM   \
	"\x07"        \
	"example\x03" \
	"com"

START_TEST(parses_a_plain_query)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	query(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM), 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_uint_eq(q.id, 0x1234);
	ck_assert(!q.is_response);
	ck_assert_uint_eq(q.opcode, 0);
	ck_assert_uint_eq(q.qdcount, 1);
	ck_assert_str_eq(q.q[0].name, "example.com");
	ck_assert_uint_eq(q.q[0].qtype, 1);
	ck_assert_uint_eq(q.q[0].qclass, 1);
	ck_assert_uint_eq(q.q[0].wire_len, sizeof(EXAMPLE_COM));
	ck_assert_mem_eq(q.q[0].wire, EXAMPLE_COM, sizeof(EXAMPLE_COM));
}
END_TEST

START_TEST(parses_edns_opt_record)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	header(&m, 7, 0x0120, 1, 0, 0, 1);
	put(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM));
	put16(&m, 28);
	put16(&m, 1);
	/* OPT: root name, type 41, payload size 1232, ttl 0, rdata: one 4-byte option */
	put(&m, "\0", 1);
	put16(&m, 41);
	put16(&m, 1232);
	put16(&m, 0);
	put16(&m, 0);
	put16(&m, 8);
	put(&m,
	    "\x00\x0a\x00\x04"
	    "abcd",
	    8);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_str_eq(q.q[0].name, "example.com");
	ck_assert_uint_eq(q.q[0].qtype, 28);
	/* rdata one byte short */
	m.n--;
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_ESHORT);
	ck_assert_uint_eq(q.qdcount, 0);
}
END_TEST

START_TEST(follows_backward_compression_pointers)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	header(&m, 1, 0, 2, 0, 0, 0);
	put(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM)); /* at offset 12 */
	put16(&m, 1);
	put16(&m, 1);
	put(&m, "\x03www\xc0\x0c", 6); /* www + pointer to 12 */
	put16(&m, 65);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_uint_eq(q.qdcount, 2);
	ck_assert_str_eq(q.q[1].name, "www.example.com");
	ck_assert_uint_eq(q.q[1].qtype, 65);
	/* the wire copy is uncompressed */
	ck_assert_uint_eq(q.q[1].wire_len, 4 + sizeof(EXAMPLE_COM));
	ck_assert_mem_eq(q.q[1].wire, "\x03www" EXAMPLE_COM, q.q[1].wire_len);
}
END_TEST

START_TEST(refuses_pointer_loops_and_forward_pointers)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	/* pointer to itself */
	header(&m, 1, 0, 1, 0, 0, 0);
	put(&m, "\xc0\x0c", 2);
	put16(&m, 1);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "backwards"));
	/* label then pointer back to the same name's start: a loop */
	header(&m, 1, 0, 1, 0, 0, 0);
	put(&m,
	    "\x01"
	    "a\xc0\x0c",
	    4);
	put16(&m, 1);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	/* pointer forwards, to a name that follows */
	header(&m, 1, 0, 1, 0, 0, 1);
	put(&m, "\xc0\x12", 2); /* -> 18 */
	put16(&m, 1);
	put16(&m, 1);
	put(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM));
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	/* pointer into the header */
	header(&m, 1, 0, 1, 0, 0, 0);
	put(&m, "\xc0\x02", 2);
	put16(&m, 1);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	/* two names pointing at each other: the second is fine, the first points forwards */
	header(&m, 1, 0, 2, 0, 0, 0);
	put(&m,
	    "\x01"
	    "a\xc0\x14",
	    4); /* 12: a -> 20 */
	put16(&m, 1);
	put16(&m, 1);
	put(&m,
	    "\x01"
	    "b\xc0\x0c",
	    4); /* 20: b -> 12 */
	put16(&m, 1);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	/* a truncated pointer */
	header(&m, 1, 0, 1, 0, 0, 0);
	put(&m, "\xc0", 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_ESHORT);
}
END_TEST

START_TEST(chained_backward_pointers_resolve)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	header(&m, 1, 0, 3, 0, 0, 0);
	put(&m,
	    "\x03"
	    "com\0",
	    5); /* 12 */
	put16(&m, 1);
	put16(&m, 1);
	put(&m,
	    "\x07"
	    "example\xc0\x0c",
	    10); /* 21 */
	put16(&m, 1);
	put16(&m, 1);
	put(&m,
	    "\x03"
	    "api\xc0\x15",
	    6); /* api -> 21 -> 12 */
	put16(&m, 28);
	put16(&m, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_str_eq(q.q[2].name, "api.example.com");
}
END_TEST

/* Three 63-octet labels and one of @last octets; returns the wire length. */
static size_t long_name(uint8_t *name, size_t last)
{
	size_t i, n = 0;

	for (i = 0; i < 4; i++) {
		size_t l = i < 3 ? 63 : last;
		name[n++] = (uint8_t)l;
		memset(name + n, 'a' + (int)i, l);
		n += l;
	}
	name[n++] = 0;
	return n;
}

START_TEST(refuses_bad_labels_and_long_names)
{
	msg m;
	uint8_t name[300];
	vf_dns_query q;
	exai_error e;
	size_t n;

	/* label type 01 (0x40) and 10 (0x80) */
	query(&m, "\x41x", 3, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	query(&m, "\x81x", 3, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	/* exactly 255 octets: 63+63+63+61 with length octets and the root */
	n = long_name(name, 61);
	ck_assert_uint_eq(n, 255);
	query(&m, (const char *)name, n, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_uint_eq(strlen(q.q[0].name), 63 * 3 + 61 + 3);
	/* 256 octets */
	n = long_name(name, 62);
	ck_assert_uint_eq(n, 256);
	query(&m, (const char *)name, n, 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_ETOOBIG);
}
END_TEST

START_TEST(refuses_truncation_trailing_bytes_and_big_counts)
{
	msg m;
	vf_dns_query q;
	exai_error e;
	size_t cut;

	query(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM), 1);
	for (cut = 0; cut < m.n; cut++) {
		exai_status st = vf_dns_parse(m.b, cut, &q, &e);
		ck_assert_msg(st == EXAI_ESHORT, "prefix of %zu bytes: %d (%s)", cut, st, e.msg);
	}
	put(&m, "x", 1);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "trailing"));
	/* header is still reported for FORMERR */
	ck_assert_uint_eq(q.id, 0x1234);
	header(&m, 9, 0, 5, 0, 0, 0);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_ETOOBIG);
	header(&m, 9, 0, 1, 10, 10, 10);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_ETOOBIG);
	ck_assert_uint_eq(q.id, 9);
}
END_TEST

START_TEST(escapes_unprintable_and_special_octets)
{
	msg m;
	vf_dns_query q;
	exai_error e;

	query(&m,
	      "\x04"
	      "a.b\x07\x03"
	      "c d\0",
	      10, 16);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_str_eq(q.q[0].name, "a\\046b\\007.c\\032d");
	query(&m, "\0", 1, 2);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	ck_assert_str_eq(q.q[0].name, ".");
}
END_TEST

START_TEST(builds_nxdomain_answer_that_parses_back)
{
	msg m;
	vf_dns_query q, a;
	uint8_t out[512];
	exai_error e;
	size_t n;

	query(&m, EXAMPLE_COM, sizeof(EXAMPLE_COM), 28);
	ck_assert_int_eq(vf_dns_parse(m.b, m.n, &q, &e), EXAI_OK);
	n = vf_dns_build_answer(&q, VF_DNS_RCODE_NXDOMAIN, out, sizeof(out));
	ck_assert_uint_eq(n, m.n);
	ck_assert_uint_eq(out[0], 0x12);
	ck_assert_uint_eq(out[1], 0x34);
	ck_assert_uint_eq(out[2], 0x81); /* QR, RD */
	ck_assert_uint_eq(out[3], 0x83); /* RA, NXDOMAIN */
	ck_assert_mem_eq(out + 4, "\0\1\0\0\0\0\0\0", 8);
	ck_assert_mem_eq(out + 12, m.b + 12, m.n - 12);
	ck_assert_int_eq(vf_dns_parse(out, n, &a, &e), EXAI_OK);
	ck_assert(a.is_response);
	ck_assert_str_eq(a.q[0].name, "example.com");
	/* too small a buffer: nothing */
	ck_assert_uint_eq(vf_dns_build_answer(&q, 3, out, 20), 0);
	ck_assert_uint_eq(vf_dns_build_answer(&q, 3, out, 11), 0);
	/* FORMERR without a question */
	q.qdcount = 0;
	n = vf_dns_build_answer(&q, VF_DNS_RCODE_FORMERR, out, sizeof(out));
	ck_assert_uint_eq(n, 12);
	ck_assert_uint_eq(out[3] & 0x0F, 1);
	ck_assert_uint_eq(out[5], 0);
}
END_TEST

START_TEST(names_query_types)
{
	char buf[16];

	ck_assert_str_eq(vf_dns_type_name(1, buf, sizeof(buf)), "A");
	ck_assert_str_eq(vf_dns_type_name(28, buf, sizeof(buf)), "AAAA");
	ck_assert_str_eq(vf_dns_type_name(65, buf, sizeof(buf)), "HTTPS");
	ck_assert_str_eq(vf_dns_type_name(65280, buf, sizeof(buf)), "TYPE65280");
}
END_TEST

/* Random mutations of a valid message never crash or read out of bounds (ASan build). */
START_TEST(survives_random_mutations)
{
	msg base;
	uint8_t buf[64];
	vf_dns_query q;
	exai_error e;
	unsigned seed = 12345;
	int i, ok = 0;

	header(&base, 1, 0, 2, 0, 0, 0);
	put(&base, EXAMPLE_COM, sizeof(EXAMPLE_COM));
	put16(&base, 1);
	put16(&base, 1);
	put(&base, "\x03www\xc0\x0c", 6);
	put16(&base, 28);
	put16(&base, 1);
	ck_assert_uint_le(base.n, sizeof(buf));
	for (i = 0; i < 200000; i++) {
		size_t n = base.n, k;
		uint8_t *heap;

		memcpy(buf, base.b, base.n);
		for (k = 0; k < 3; k++)
			buf[rand_r(&seed) % n] = (uint8_t)rand_r(&seed);
		n = (size_t)rand_r(&seed) % (base.n + 1);
		heap = malloc(n ? n : 1); /* exact-size copy so ASan sees any overread */
		memcpy(heap, buf, n);
		if (vf_dns_parse(heap, n, &q, &e) == EXAI_OK) {
			ok++;
			ck_assert_uint_le(q.qdcount, VF_DNS_MAX_QUESTION);
		}
		free(heap);
	}
	ck_assert_int_gt(ok, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_dns");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_a_plain_query);
	tcase_add_test(tc, parses_edns_opt_record);
	tcase_add_test(tc, follows_backward_compression_pointers);
	tcase_add_test(tc, refuses_pointer_loops_and_forward_pointers);
	tcase_add_test(tc, chained_backward_pointers_resolve);
	tcase_add_test(tc, refuses_bad_labels_and_long_names);
	tcase_add_test(tc, refuses_truncation_trailing_bytes_and_big_counts);
	tcase_add_test(tc, escapes_unprintable_and_special_octets);
	tcase_add_test(tc, builds_nxdomain_answer_that_parses_back);
	tcase_add_test(tc, names_query_types);
	tcase_add_test(tc, survives_random_mutations);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
