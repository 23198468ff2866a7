/*
 * fuzz_dns: libFuzzer harness for the run mode's hand-written parsers of hostile bytes:
 * DNS messages (verifier/run/run_dns.c), IP packets from the TUN device
 * (verifier/run/run_pkt.c), exai-egress's event lines for attribution
 * (verifier/run/run_egress_log.c) and, for good measure, --allow rules
 * (verifier/run/run_allow.c).
 *
 * Beyond "no crash, no out-of-bounds read" (ASan/UBSan), it checks the parsers' contracts:
 * a parsed query has at most VF_DNS_MAX_QUESTION questions with bounded names, and the sink's
 * answer to it parses back as a response to the same question; a parsed packet's UDP payload
 * lies inside the input; an event line is either taken whole (one destination, at most one
 * process, indexes in range) or counted as bad and changes nothing. Any broken contract
 * aborts.
 *
 * Build: cmake -DEXAI_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: build/tests/fuzz_dns
 * tests/fuzz/fuzz_dns_corpus. Without EXAI_FUZZ the seed corpus is replayed as a CTest test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run_allow.h"
#include "run_dns.h"
#include "run_egress_log.h"
#include "run_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static void check_dns(const uint8_t *data, size_t size)
{
	static vf_dns_query q, back;
	uint8_t answer[VF_DNS_HEADER_LEN + VF_DNS_WIRE_NAME + 4];
	size_t i, n;

	if (vf_dns_parse(data, size, &q, NULL) != EXAI_OK)
		return;
	CHECK(q.qdcount <= VF_DNS_MAX_QUESTION);
	for (i = 0; i < q.qdcount; i++) {
		CHECK(strlen(q.q[i].name) < VF_DNS_TEXT_NAME);
		CHECK(q.q[i].wire_len >= 1 && q.q[i].wire_len <= VF_DNS_WIRE_NAME);
		CHECK(q.q[i].wire[q.q[i].wire_len - 1] == 0);
	}
	n = vf_dns_build_answer(&q, VF_DNS_RCODE_NXDOMAIN, answer, sizeof(answer));
	CHECK(n >= VF_DNS_HEADER_LEN);
	CHECK(vf_dns_parse(answer, n, &back, NULL) == EXAI_OK);
	CHECK(back.is_response && back.id == q.id);
	CHECK(back.qdcount == (q.qdcount ? 1u : 0u));
	if (q.qdcount) {
		CHECK(strcmp(back.q[0].name, q.q[0].name) == 0);
		CHECK(back.q[0].qtype == q.q[0].qtype);
	}
}

static void check_pkt(const uint8_t *data, size_t size)
{
	char text[VF_PKT_ADDR_TEXT];
	vf_pkt p;

	if (vf_pkt_parse(data, size, &p, NULL) != EXAI_OK)
		return;
	CHECK(p.family == 2 || p.family == 10); /* AF_INET, AF_INET6 */
	vf_pkt_dst_text(&p, text, sizeof(text));
	(void)vf_pkt_is_link_chatter(&p);
	if (p.payload) {
		CHECK(p.payload >= data && p.payload + p.payload_len <= data + size);
		check_dns(p.payload, p.payload_len);
	}
}

static void check_allow(const uint8_t *data, size_t size)
{
	char s[128];
	vf_allow a;

	if (size >= sizeof(s))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (vf_allow_parse(s, &a, NULL) != EXAI_OK)
		return;
	CHECK(a.prefix <= (a.family == 2 ? 32u : 128u));
	CHECK(vf_allow_match(&a, a.family, a.addr, true, 1) == (a.port < 0 || a.port == 1));
}

static void check_egress(const uint8_t *data, size_t size)
{
	vf_egress_log l;
	const vf_egress_dest *d;
	exai_error e;

	vf_egress_log_init(&l, 0);
	CHECK(vf_egress_log_line(&l, (const char *)data, size, &e) == EXAI_OK);
	CHECK(l.events + l.bad_lines == 1);
	if (l.bad_lines) {
		CHECK(l.ndests == 0 && l.nprocs == 0);
	} else {
		CHECK(size <= VF_EGRESS_LINE_MAX);
		CHECK(l.ndests == 1 && l.nprocs <= 1);
		d = &l.dests[0];
		CHECK(d->family == 0 || d->family == 2 || d->family == 10);
		CHECK(d->events == 1 && d->nprocs == l.nprocs && d->procs_more == 0);
		CHECK(d->nprocs == 0 || d->procs[0] == 0);
		CHECK(strlen(d->hook) < sizeof(d->hook) && strlen(d->reason) < sizeof(d->reason));
		CHECK(l.nprocs == 0 || strlen(l.procs[0].comm) <= VF_EGRESS_COMM);
		CHECK(l.nprocs == 0 || l.procs[0].host_pid != 0);
	}
	vf_egress_log_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_dns(data, size);
	check_pkt(data, size);
	check_allow(data, size);
	check_egress(data, size);
	return 0;
}
