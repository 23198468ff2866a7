/*
 * run_sink: DNS sink (UDP + TCP) and TUN reader for the run mode.
 *
 * Invariants: every socket is non-blocking and close-on-exec, so the command never inherits
 * one; a TCP client's buffer never holds more than 2 + VF_SINK_TCP_MAX bytes; nothing is ever
 * written to the TUN device, so no packet read from it goes anywhere; replies go only to the
 * address a query came from, which is inside the namespace.
 */
#include "run_sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_dns.h"
#include "run_pkt.h"

static void conn_close(vf_sink_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->n = 0;
}

void vf_run_sink_free(vf_run_sink *s)
{
	size_t i;

	if (!s)
		return;
	if (s->udp_fd >= 0)
		close(s->udp_fd);
	if (s->tcp_fd >= 0)
		close(s->tcp_fd);
	for (i = 0; i < VF_SINK_MAX_CONNS; i++)
		conn_close(&s->conns[i]);
	free(s);
}

static exai_status bind_one(int type, const struct sockaddr_in *sa, int *fd_out, exai_error *e)
{
	const char *what = type == SOCK_DGRAM ? "udp" : "tcp";
	int one = 1, fd;

	fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "dns sink: %s socket", what);
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 16) < 0)) {
		exai_status st = exai_error_sys(e, EXAI_EIO, "dns sink: %s bind", what);
		close(fd);
		return st;
	}
	*fd_out = fd;
	return EXAI_OK;
}

exai_status vf_run_sink_open(const char *addr, uint16_t port, vf_run_log *log, vf_run_sink **out,
			     exai_error *e)
{
	struct sockaddr_in sa;
	vf_run_sink *s;
	exai_status st;
	size_t i;

	*out = NULL;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return exai_error_set(e, EXAI_EINVAL, "dns sink: bad address %s", addr);
	s = calloc(1, sizeof(*s));
	if (!s)
		return exai_error_set(e, EXAI_ENOMEM, "dns sink: out of memory");
	s->udp_fd = s->tcp_fd = -1;
	for (i = 0; i < VF_SINK_MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->log = log;
	st = bind_one(SOCK_DGRAM, &sa, &s->udp_fd, e);
	if (st == EXAI_OK)
		st = bind_one(SOCK_STREAM, &sa, &s->tcp_fd, e);
	if (st != EXAI_OK) {
		exai_error_prefix(e, "%s:%u", addr, port);
		vf_run_sink_free(s);
		return st;
	}
	*out = s;
	return EXAI_OK;
}

size_t vf_run_sink_pollfds(const vf_run_sink *s, struct pollfd *p, size_t cap)
{
	size_t n = 0, i;

	if (n < cap)
		p[n++] = (struct pollfd){.fd = s->udp_fd, .events = POLLIN};
	if (n < cap)
		p[n++] = (struct pollfd){.fd = s->tcp_fd, .events = POLLIN};
	for (i = 0; i < VF_SINK_MAX_CONNS && n < cap; i++)
		if (s->conns[i].fd >= 0)
			p[n++] = (struct pollfd){.fd = s->conns[i].fd, .events = POLLIN};
	return n;
}

exai_status vf_run_sink_query(vf_run_log *log, const uint8_t *msg, size_t len, const char *via,
			      uint8_t *answer, size_t cap, size_t *answer_len, exai_error *e)
{
	vf_dns_query q;
	exai_error perr;
	exai_status st = EXAI_OK;
	uint8_t rcode;
	size_t i;

	if (answer_len)
		*answer_len = 0;
	if (vf_dns_parse(msg, len, &q, &perr) != EXAI_OK) {
		log->malformed_dns++;
		if (len < VF_DNS_HEADER_LEN || q.is_response)
			return EXAI_OK;
		rcode = VF_DNS_RCODE_FORMERR;
	} else {
		if (q.is_response)
			return EXAI_OK;
		for (i = 0; i < q.qdcount && st == EXAI_OK; i++)
			st = vf_run_log_lookup(log, q.q[i].name, q.q[i].qtype, via, e);
		if (st != EXAI_OK)
			return st;
		rcode = q.opcode != 0	 ? VF_DNS_RCODE_NOTIMP
			: q.qdcount == 0 ? VF_DNS_RCODE_FORMERR
					 : VF_DNS_RCODE_NXDOMAIN;
	}
	if (answer && answer_len)
		*answer_len = vf_dns_build_answer(&q, rcode, answer, cap);
	return EXAI_OK;
}

static exai_status service_udp(vf_run_sink *s, exai_error *e)
{
	uint8_t answer[VF_DNS_HEADER_LEN + VF_DNS_WIRE_NAME + 4];
	size_t i, alen;

	for (i = 0; i < VF_SINK_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n =
		    recvfrom(s->udp_fd, s->buf, sizeof(s->buf), 0, (struct sockaddr *)&from, &flen);
		exai_status st;

		if (n < 0)
			break; /* EAGAIN, or an ICMP error queued for the socket: nothing to do */
		st = vf_run_sink_query(s->log, s->buf, (size_t)n, "sink/udp", answer,
				       sizeof(answer), &alen, e);
		if (st != EXAI_OK)
			return st;
		if (alen && sendto(s->udp_fd, answer, alen, MSG_DONTWAIT, (struct sockaddr *)&from,
				   flen) == (ssize_t)alen)
			s->answered++;
	}
	return EXAI_OK;
}

static void accept_conns(vf_run_sink *s)
{
	size_t i, k;

	for (k = 0; k < VF_SINK_BATCH; k++) {
		int fd = accept4(s->tcp_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		for (i = 0; i < VF_SINK_MAX_CONNS && s->conns[i].fd >= 0; i++)
			;
		if (i == VF_SINK_MAX_CONNS) {
			s->refused_conns++;
			close(fd);
			continue;
		}
		s->conns[i].fd = fd;
		s->conns[i].n = 0;
	}
}

bool vf_run_sink_tcp_frames(vf_run_log *log, vf_sink_conn *c, vf_sink_reply_fn reply, void *arg,
			    exai_status *st, exai_error *e)
{
	uint8_t answer[2 + VF_DNS_HEADER_LEN + VF_DNS_WIRE_NAME + 4];

	while (c->n >= 2) {
		size_t mlen = ((size_t)c->buf[0] << 8) | c->buf[1], alen;

		if (mlen > VF_SINK_TCP_MAX) {
			log->malformed_dns++;
			return false;
		}
		if (c->n < 2 + mlen)
			return true;
		*st = vf_run_sink_query(log, c->buf + 2, mlen, "sink/tcp", answer + 2,
					sizeof(answer) - 2, &alen, e);
		if (*st != EXAI_OK)
			return false;
		memmove(c->buf, c->buf + 2 + mlen, c->n - 2 - mlen);
		c->n -= 2 + mlen;
		if (!alen)
			continue;
		answer[0] = (uint8_t)(alen >> 8);
		answer[1] = (uint8_t)alen;
		if (!reply(arg, answer, alen + 2))
			return false;
	}
	return true;
}

typedef struct tcp_reply_ctx {
	vf_run_sink *s;
	vf_sink_conn *c;
} tcp_reply_ctx;

/* Sends one framed reply on the connection, all of it or nothing (then it closes). */
static bool tcp_send(void *arg, const uint8_t *frame, size_t len)
{
	tcp_reply_ctx *x = arg;

	if (send(x->c->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)len)
		return false;
	x->s->answered++;
	return true;
}

/* Answers every complete framed query in @c's buffer; false when the connection must close. */
static bool tcp_answer(vf_run_sink *s, vf_sink_conn *c, exai_status *st, exai_error *e)
{
	tcp_reply_ctx x = {s, c};

	return vf_run_sink_tcp_frames(s->log, c, tcp_send, &x, st, e);
}

static exai_status service_tcp(vf_run_sink *s, exai_error *e)
{
	exai_status st = EXAI_OK;
	size_t i;

	accept_conns(s);
	for (i = 0; i < VF_SINK_MAX_CONNS && st == EXAI_OK; i++) {
		vf_sink_conn *c = &s->conns[i];
		ssize_t n;

		if (c->fd < 0)
			continue;
		n = recv(c->fd, c->buf + c->n, sizeof(c->buf) - c->n, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			conn_close(c);
			continue;
		}
		c->n += (size_t)n;
		if (!tcp_answer(s, c, &st, e))
			conn_close(c);
	}
	return st;
}

exai_status vf_run_sink_service(vf_run_sink *s, exai_error *e)
{
	exai_status st = service_udp(s, e);

	return st == EXAI_OK ? service_tcp(s, e) : st;
}

/* A UDP packet to a DNS port outside: record its questions too (it gets no answer). Payloads
 * that are not DNS are just the attempt already recorded. */
static exai_status direct_dns(vf_run_sink *s, const vf_pkt *p, exai_error *e)
{
	char addr[VF_PKT_ADDR_TEXT], via[VF_RUN_VIA_TEXT];
	exai_status st = EXAI_OK;
	exai_error perr;
	vf_dns_query q;
	size_t i;

	if (p->proto != IPPROTO_UDP || !p->has_ports || !p->payload ||
	    (p->dport != 53 && p->dport != 5353))
		return EXAI_OK;
	if (vf_dns_parse(p->payload, p->payload_len, &q, &perr) != EXAI_OK || q.is_response)
		return EXAI_OK;
	vf_pkt_dst_text(p, addr, sizeof(addr));
	snprintf(via, sizeof(via), p->family == AF_INET6 ? "[%s]:%u/udp" : "%s:%u/udp", addr,
		 p->dport);
	for (i = 0; i < q.qdcount && st == EXAI_OK; i++)
		st = vf_run_log_lookup(s->log, q.q[i].name, q.q[i].qtype, via, e);
	return st;
}

exai_status vf_run_sink_tun(vf_run_sink *s, int tun_fd, int *more, exai_error *e)
{
	size_t i;

	*more = 0;
	for (i = 0; i < VF_SINK_BATCH; i++) {
		ssize_t n = read(tun_fd, s->buf, sizeof(s->buf));
		exai_error perr;
		exai_status st;
		vf_pkt p;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return EXAI_OK;
		if (vf_pkt_parse(s->buf, (size_t)n, &p, &perr) != EXAI_OK) {
			s->log->bad_packets++;
			continue;
		}
		if (vf_pkt_is_link_chatter(&p)) {
			s->log->link_chatter++;
			continue;
		}
		st = vf_run_log_packet(s->log, &p, e);
		if (st == EXAI_OK)
			st = direct_dns(s, &p, e);
		if (st != EXAI_OK)
			return st;
	}
	*more = 1;
	return EXAI_OK;
}
