/* Check suite for verifier/run/run_pkt.c (TUN packet parser) and verifier/run/run_log.c (the
 * tables). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "run_log.h"
#include "run_pkt.h"
#include "testutil.h"

typedef struct pkt {
	uint8_t b[256];
	size_t n;
} pkt;

static void set16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Appends a transport header of @proto to @p at its end: TCP SYN, UDP with @payload bytes, or
 * ICMP echo request of @type. */
static void l4(pkt *p, uint8_t proto, uint16_t dport, uint8_t type, size_t payload)
{
	uint8_t *h = p->b + p->n;

	if (proto == IPPROTO_TCP) {
		memset(h, 0, 20);
		set16(h, 40000);
		set16(h + 2, dport);
		h[12] = 5 << 4;
		h[13] = 0x02; /* SYN */
		p->n += 20;
	} else if (proto == IPPROTO_UDP) {
		memset(h, 0, 8 + payload);
		set16(h, 40001);
		set16(h + 2, dport);
		set16(h + 4, 8 + payload);
		memset(h + 8, 'q', payload);
		p->n += 8 + payload;
	} else {
		memset(h, 0, 8);
		h[0] = type;
		p->n += 8;
	}
}

static void v4(pkt *p, const char *dst, uint8_t proto, uint16_t dport, size_t payload)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = 0x45;
	p->b[8] = 64;
	p->b[9] = proto;
	inet_pton(AF_INET, "192.0.0.8", p->b + 12);
	inet_pton(AF_INET, dst, p->b + 16);
	p->n = 20;
	l4(p, proto, dport, 8, payload);
	set16(p->b + 2, p->n);
}

static void v6(pkt *p, const char *dst, uint8_t proto, uint16_t dport, size_t payload)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = 0x60;
	p->b[6] = proto;
	p->b[7] = 64;
	inet_pton(AF_INET6, "fd00::1", p->b + 8);
	inet_pton(AF_INET6, dst, p->b + 24);
	p->n = 40;
	l4(p, proto, dport, 128, payload);
	set16(p->b + 4, p->n - 40);
}

static const char *dst(const vf_pkt *p)
{
	static char buf[VF_PKT_ADDR_TEXT];
	return vf_pkt_dst_text(p, buf, sizeof(buf));
}

START_TEST(parses_ipv4_tcp_udp_icmp)
{
	pkt p;
	vf_pkt r;
	exai_error e;
	char pb[24];

	v4(&p, "192.0.2.1", IPPROTO_TCP, 443, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_int_eq(r.family, AF_INET);
	ck_assert_str_eq(vf_pkt_proto_name(r.proto, pb, sizeof(pb)), "tcp");
	ck_assert_str_eq(dst(&r), "192.0.2.1");
	ck_assert(r.has_ports);
	ck_assert_uint_eq(r.dport, 443);
	ck_assert_uint_eq(r.sport, 40000);
	ck_assert_uint_eq(r.tcp_flags, 0x02);
	ck_assert(!r.has_icmp && !r.fragment);

	v4(&p, "198.51.100.7", IPPROTO_UDP, 123, 48);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_str_eq(vf_pkt_proto_name(r.proto, pb, sizeof(pb)), "udp");
	ck_assert_uint_eq(r.dport, 123);
	ck_assert_uint_eq(r.payload_len, 48);
	ck_assert_ptr_eq(r.payload, p.b + 28);

	v4(&p, "203.0.113.9", IPPROTO_ICMP, 0, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_str_eq(vf_pkt_proto_name(r.proto, pb, sizeof(pb)), "icmp");
	ck_assert(r.has_icmp && !r.has_ports);
	ck_assert_uint_eq(r.icmp_type, 8);
	ck_assert_str_eq(dst(&r), "203.0.113.9");

	/* IP options (ihl 6) are skipped */
	v4(&p, "192.0.2.1", IPPROTO_TCP, 22, 0);
	memmove(p.b + 24, p.b + 20, 20);
	memset(p.b + 20, 1, 4);
	p.b[0] = 0x46;
	p.n += 4;
	set16(p.b + 2, p.n);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_uint_eq(r.dport, 22);
}
END_TEST

START_TEST(parses_ipv6_with_extension_headers)
{
	pkt p;
	vf_pkt r;
	exai_error e;

	v6(&p, "2001:db8::1", IPPROTO_TCP, 8443, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_int_eq(r.family, AF_INET6);
	ck_assert_uint_eq(r.proto, IPPROTO_TCP);
	ck_assert_str_eq(dst(&r), "2001:db8::1");
	ck_assert_uint_eq(r.dport, 8443);

	v6(&p, "2001:db8::3", IPPROTO_ICMPV6, 0, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(r.has_icmp);
	ck_assert_uint_eq(r.icmp_type, 128);

	/* hop-by-hop (8 bytes) then UDP */
	v6(&p, "2001:db8::2", IPPROTO_UDP, 53, 4);
	memmove(p.b + 48, p.b + 40, p.n - 40);
	memset(p.b + 40, 0, 8);
	p.b[40] = IPPROTO_UDP;
	p.b[6] = 0;
	p.n += 8;
	set16(p.b + 4, p.n - 40);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_uint_eq(r.proto, IPPROTO_UDP);
	ck_assert_uint_eq(r.dport, 53);
	ck_assert_uint_eq(r.payload_len, 4);
}
END_TEST

START_TEST(fragments_carry_no_ports)
{
	pkt p;
	vf_pkt r;
	exai_error e;

	v4(&p, "192.0.2.1", IPPROTO_UDP, 53, 8);
	set16(p.b + 6, 0x0010); /* offset 16*8 */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(r.fragment);
	ck_assert(!r.has_ports);
	ck_assert_uint_eq(r.proto, IPPROTO_UDP);

	v6(&p, "2001:db8::2", IPPROTO_UDP, 53, 8);
	memmove(p.b + 48, p.b + 40, p.n - 40);
	memset(p.b + 40, 0, 8);
	p.b[40] = IPPROTO_UDP;
	set16(p.b + 42, 0x0100); /* offset 32*8 */
	p.b[6] = 44;
	p.n += 8;
	set16(p.b + 4, p.n - 40);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(r.fragment);
	ck_assert(!r.has_ports);
	ck_assert_uint_eq(r.proto, IPPROTO_UDP);
}
END_TEST

/* Every strict prefix of a packet is refused: the length fields never let a read go past it. */
START_TEST(refuses_every_truncation)
{
	pkt all[6];
	vf_pkt r;
	exai_error e;
	size_t i, cut;

	v4(&all[0], "192.0.2.1", IPPROTO_TCP, 443, 0);
	v4(&all[1], "192.0.2.1", IPPROTO_UDP, 53, 12);
	v4(&all[2], "192.0.2.1", IPPROTO_ICMP, 0, 0);
	v6(&all[3], "2001:db8::1", IPPROTO_TCP, 443, 0);
	v6(&all[4], "2001:db8::1", IPPROTO_UDP, 53, 12);
	v6(&all[5], "2001:db8::1", IPPROTO_ICMPV6, 0, 0);
	for (i = 0; i < 6; i++)
		for (cut = 0; cut < all[i].n; cut++) {
			uint8_t *heap = malloc(cut ? cut : 1);

			memcpy(heap, all[i].b, cut);
			ck_assert_msg(vf_pkt_parse(heap, cut, &r, &e) != EXAI_OK,
				      "packet %zu cut at %zu accepted", i, cut);
			free(heap);
		}
}
END_TEST

START_TEST(refuses_inconsistent_headers)
{
	pkt p;
	vf_pkt r;
	exai_error e;
	int i;

	v4(&p, "192.0.2.1", IPPROTO_TCP, 443, 0);
	p.b[0] = 0x55; /* version 5 */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);
	p.b[0] = 0x44; /* ihl 16 bytes */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);
	p.b[0] = 0x45;
	p.b[32] = 4 << 4; /* tcp data offset 16 */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);
	p.b[32] = 15 << 4; /* 60, past the end */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);

	v4(&p, "192.0.2.1", IPPROTO_UDP, 53, 4);
	set16(p.b + 24, 7);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);
	set16(p.b + 24, 13);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);

	/* nine hop-by-hop headers */
	v6(&p, "2001:db8::1", 0, 0, 0);
	p.n = 40;
	for (i = 0; i < 9; i++) {
		memset(p.b + p.n, 0, 8);
		p.n += 8;
	}
	set16(p.b + 4, p.n - 40);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_ETOOBIG);
	/* extension header length past the end */
	v6(&p, "2001:db8::1", 0, 0, 0);
	p.n = 48;
	memset(p.b + 40, 0, 8);
	p.b[41] = 3;
	set16(p.b + 4, 8);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_EFORMAT);
	ck_assert_int_eq(vf_pkt_parse(p.b, 0, &r, &e), EXAI_ESHORT);
}
END_TEST

START_TEST(tells_link_chatter_from_attempts)
{
	pkt p;
	vf_pkt r;
	exai_error e;
	char pb[24];

	v6(&p, "ff02::16", IPPROTO_ICMPV6, 0, 0);
	p.b[40] = 143; /* MLDv2 report */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(vf_pkt_is_link_chatter(&r));
	p.b[40] = 133; /* router solicitation */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(vf_pkt_is_link_chatter(&r));
	p.b[40] = 128; /* an echo request to all nodes is the program's */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(!vf_pkt_is_link_chatter(&r));
	v6(&p, "ff05::2", IPPROTO_ICMPV6, 0, 0);
	p.b[40] = 143; /* site scope: not link chatter */
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(!vf_pkt_is_link_chatter(&r));
	v6(&p, "ff02::fb", IPPROTO_UDP, 5353, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert(!vf_pkt_is_link_chatter(&r));
	ck_assert_str_eq(vf_pkt_proto_name(47, pb, sizeof(pb)), "ip-proto-47");
}
END_TEST

START_TEST(log_merges_and_caps)
{
	vf_run_log log;
	pkt p;
	vf_pkt r;
	exai_error e;
	uint32_t i;

	vf_run_log_init(&log);
	v4(&p, "192.0.2.1", IPPROTO_TCP, 443, 0);
	ck_assert_int_eq(vf_pkt_parse(p.b, p.n, &r, &e), EXAI_OK);
	ck_assert_int_eq(vf_run_log_packet(&log, &r, &e), EXAI_OK);
	ck_assert_int_eq(vf_run_log_packet(&log, &r, &e), EXAI_OK);
	r.dport = 80;
	ck_assert_int_eq(vf_run_log_packet(&log, &r, &e), EXAI_OK);
	ck_assert_uint_eq(log.nattempts, 2);
	ck_assert_uint_eq(log.attempts[0].packets, 2);
	ck_assert_uint_eq(log.attempts[0].port, 443);
	ck_assert_uint_eq(log.attempts[1].packets, 1);
	for (i = 0; i < VF_RUN_MAX_ATTEMPTS + 10; i++) {
		uint32_t a = htonl(0x0A000000u + i);
		memcpy(r.dst, &a, 4);
		ck_assert_int_eq(vf_run_log_packet(&log, &r, &e), EXAI_OK);
	}
	ck_assert_uint_eq(log.nattempts, VF_RUN_MAX_ATTEMPTS);
	ck_assert_uint_eq(log.lost_attempts, 12);

	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 1, "sink/udp", &e), EXAI_OK);
	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 1, "sink/udp", &e), EXAI_OK);
	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 28, "sink/udp", &e), EXAI_OK);
	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 1, "sink/tcp", &e), EXAI_OK);
	ck_assert_uint_eq(log.nlookups, 3);
	ck_assert_uint_eq(log.lookups[0].count, 2);
	ck_assert_str_eq(log.lookups[2].via, "sink/tcp");
	vf_run_log_free(&log);
	ck_assert_uint_eq(log.nattempts, 0);
	vf_run_log_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_pkt");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_ipv4_tcp_udp_icmp);
	tcase_add_test(tc, parses_ipv6_with_extension_headers);
	tcase_add_test(tc, fragments_carry_no_ports);
	tcase_add_test(tc, refuses_every_truncation);
	tcase_add_test(tc, refuses_inconsistent_headers);
	tcase_add_test(tc, tells_link_chatter_from_attempts);
	tcase_add_test(tc, log_merges_and_caps);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
