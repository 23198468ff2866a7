/*
 * fuzz_dnstcp: libFuzzer harness for the DNS-over-TCP framing of run mode's sink
 * (vf_run_sink_tcp_frames in verifier/run/run_sink.c; the DNS parser under it is fuzz_dns's).
 *
 * Input: byte 0 picks how the rest arrives (one byte per recv, all at once, or pseudo-random
 * recv sizes seeded by byte 1); the rest is the byte stream of TCP clients: when the sink
 * closes a connection, the remaining bytes are the next client's. Each recv is what
 * service_tcp would read (never more than the free space in the client's buffer).
 *
 * Contracts checked against an independent model of the framing (abort when broken): the
 * buffer keeps exactly the model's unconsumed bytes and never fills up; the connection closes
 * exactly when the model sees a length over VF_SINK_TCP_MAX; no more replies than complete
 * frames; every reply is length-prefixed and parses as a DNS response.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "run_dns.h"
#include "run_log.h"
#include "run_sink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

typedef struct model {
	uint8_t buf[2 + VF_SINK_TCP_MAX];
	size_t n;
	size_t frames, replies;
} model;

static bool on_reply(void *arg, const uint8_t *frame, size_t len)
{
	static vf_dns_query q;
	model *m = arg;

	CHECK(len >= 2 + VF_DNS_HEADER_LEN);
	CHECK(((size_t)frame[0] << 8 | frame[1]) == len - 2);
	CHECK(vf_dns_parse(frame + 2, len - 2, &q, NULL) == EXAI_OK && q.is_response);
	m->replies++;
	return true;
}

/* The model's framing: consumes complete frames; false where the sink must close. */
static bool model_frames(model *m)
{
	while (m->n >= 2) {
		size_t len = (size_t)m->buf[0] << 8 | m->buf[1];

		if (len > VF_SINK_TCP_MAX)
			return false;
		if (m->n < 2 + len)
			return true;
		memmove(m->buf, m->buf + 2 + len, m->n - 2 - len);
		m->n -= 2 + len;
		m->frames++;
	}
	return true;
}

static size_t next_chunk(uint8_t how, uint32_t *rng)
{
	if (how % 4 == 0)
		return 1;
	if (how % 4 == 1)
		return SIZE_MAX;
	*rng = *rng * 1103515245u + 12345u;
	return 1 + (*rng >> 8) % (how % 4 == 2 ? 16 : 5000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vf_sink_conn c;
	static model m;
	vf_run_log log;
	exai_status st = EXAI_OK;
	exai_error e;
	uint32_t rng;
	uint8_t how;
	size_t off = 2;

	if (size < 2)
		return 0;
	how = data[0];
	rng = data[1];
	vf_run_log_init(&log);
	c.fd = -1;
	c.n = 0;
	memset(&m, 0, sizeof(m));
	while (off < size) {
		size_t want = next_chunk(how, &rng), space = sizeof(c.buf) - c.n, k;
		bool keep, mkeep;

		CHECK(space > 0);
		k = size - off;
		if (k > want)
			k = want;
		if (k > space)
			k = space;
		memcpy(c.buf + c.n, data + off, k);
		memcpy(m.buf + m.n, data + off, k);
		c.n += k;
		m.n += k;
		off += k;
		keep = vf_run_sink_tcp_frames(&log, &c, on_reply, &m, &st, &e);
		CHECK(st == EXAI_OK || st == EXAI_ENOMEM);
		if (st != EXAI_OK)
			break;
		mkeep = model_frames(&m);
		CHECK(keep == mkeep);
		CHECK(m.replies <= m.frames);
		if (!keep) { /* closed: the rest is the next client's */
			c.n = 0;
			m.n = 0;
			continue;
		}
		CHECK(c.n == m.n && c.n < sizeof(c.buf));
		CHECK(memcmp(c.buf, m.buf, c.n) == 0);
	}
	vf_run_log_free(&log);
	return 0;
}
