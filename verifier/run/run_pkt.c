/*
 * run_pkt: bounded IPv4/IPv6 + TCP/UDP/ICMP header parsing for packets read from the TUN device.
 *
 * Invariants: the packet end is the smaller of the bytes read and the IP length field (a
 * length field larger than the read is refused); every header is checked to fit before a byte
 * of it is read; at most VF_PKT_MAX_EXT_HEADERS IPv6 extension headers are walked; a transport
 * header is only read from a first (or unfragmented) fragment.
 */
#include "run_pkt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Reads the transport header at @off of a packet ending at @end. */
static exai_status parse_l4(const uint8_t *buf, size_t off, size_t end, vf_pkt *p, exai_error *e)
{
	size_t avail = end - off;

	switch (p->proto) {
	case IPPROTO_TCP: {
		size_t hlen;

		if (avail < 20)
			return exai_error_set(e, EXAI_ESHORT, "tcp header at %zu: truncated", off);
		hlen = (size_t)(buf[off + 12] >> 4) * 4;
		if (hlen < 20 || hlen > avail)
			return exai_error_set(e, EXAI_EFORMAT, "tcp header at %zu: bad length %zu",
					      off, hlen);
		p->sport = get16(buf + off);
		p->dport = get16(buf + off + 2);
		p->tcp_flags = buf[off + 13];
		p->has_ports = true;
		break;
	}
	case IPPROTO_UDP: {
		size_t ulen;

		if (avail < 8)
			return exai_error_set(e, EXAI_ESHORT, "udp header at %zu: truncated", off);
		ulen = get16(buf + off + 4);
		if (ulen < 8 || ulen > avail)
			return exai_error_set(e, EXAI_EFORMAT, "udp header at %zu: bad length %zu",
					      off, ulen);
		p->sport = get16(buf + off);
		p->dport = get16(buf + off + 2);
		p->has_ports = true;
		p->payload = buf + off + 8;
		p->payload_len = ulen - 8;
		break;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (avail < 4)
			return exai_error_set(e, EXAI_ESHORT, "icmp header at %zu: truncated", off);
		p->icmp_type = buf[off];
		p->icmp_code = buf[off + 1];
		p->has_icmp = true;
		break;
	default:
		break;
	}
	return EXAI_OK;
}

static exai_status parse_v4(const uint8_t *buf, size_t len, vf_pkt *p, exai_error *e)
{
	size_t ihl, total;

	if (len < 20)
		return exai_error_set(e, EXAI_ESHORT, "ipv4 header: %zu bytes", len);
	ihl = (size_t)(buf[0] & 0x0F) * 4;
	total = get16(buf + 2);
	if (ihl < 20 || ihl > len)
		return exai_error_set(e, EXAI_EFORMAT, "ipv4 header: bad length %zu", ihl);
	if (total < ihl || total > len)
		return exai_error_set(e, EXAI_EFORMAT, "ipv4: total length %zu of %zu bytes read",
				      total, len);
	p->family = AF_INET;
	p->proto = buf[9];
	memcpy(p->src, buf + 12, 4);
	memcpy(p->dst, buf + 16, 4);
	if ((get16(buf + 6) & 0x1FFF) != 0) {
		p->fragment = true;
		return EXAI_OK;
	}
	return parse_l4(buf, ihl, total, p, e);
}

static bool is_v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

static exai_status parse_v6(const uint8_t *buf, size_t len, vf_pkt *p, exai_error *e)
{
	size_t off = 40, end, hops = 0;
	uint8_t nh;

	if (len < 40)
		return exai_error_set(e, EXAI_ESHORT, "ipv6 header: %zu bytes", len);
	end = 40 + (size_t)get16(buf + 4);
	if (end > len)
		return exai_error_set(e, EXAI_EFORMAT, "ipv6: payload length %zu of %zu bytes read",
				      end - 40, len - 40);
	p->family = AF_INET6;
	memcpy(p->src, buf + 8, 16);
	memcpy(p->dst, buf + 24, 16);
	nh = buf[6];
	while (is_v6_ext(nh)) {
		size_t hlen;

		if (++hops > VF_PKT_MAX_EXT_HEADERS)
			return exai_error_set(e, EXAI_ETOOBIG, "ipv6: over %d extension headers",
					      VF_PKT_MAX_EXT_HEADERS);
		if (end - off < 8)
			return exai_error_set(e, EXAI_ESHORT,
					      "ipv6 extension header at %zu: truncated", off);
		if (nh == 44) {
			hlen = 8;
			if ((get16(buf + off + 2) & 0xFFF8) != 0)
				p->fragment = true;
		} else if (nh == 51) {
			hlen = ((size_t)buf[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)buf[off + 1] + 1) * 8;
		}
		if (hlen > end - off)
			return exai_error_set(
			    e, EXAI_EFORMAT,
			    "ipv6 extension header at %zu: length %zu past the end", off, hlen);
		nh = buf[off];
		off += hlen;
		if (p->fragment) {
			p->proto = nh;
			return EXAI_OK;
		}
	}
	p->proto = nh;
	return parse_l4(buf, off, end, p, e);
}

exai_status vf_pkt_parse(const uint8_t *buf, size_t len, vf_pkt *out, exai_error *e)
{
	memset(out, 0, sizeof(*out));
	if (len < 1)
		return exai_error_set(e, EXAI_ESHORT, "empty packet");
	switch (buf[0] >> 4) {
	case 4:
		return parse_v4(buf, len, out, e);
	case 6:
		return parse_v6(buf, len, out, e);
	default:
		return exai_error_set(e, EXAI_EFORMAT, "ip version %u", buf[0] >> 4);
	}
}

bool vf_pkt_is_link_chatter(const vf_pkt *p)
{
	if (p->family != AF_INET6 || p->proto != IPPROTO_ICMPV6 || !p->has_icmp)
		return false;
	if (p->dst[0] != 0xFF || (p->dst[1] & 0x0F) != 0x02)
		return false; /* only link-local scope multicast */
	switch (p->icmp_type) {
	case 131: /* MLDv1 report */
	case 132: /* MLDv1 done */
	case 133: /* router solicitation */
	case 135: /* neighbour solicitation (DAD, resolution) */
	case 143: /* MLDv2 report */
		return true;
	default:
		return false;
	}
}

const char *vf_pkt_proto_name(uint8_t proto, char *buf, size_t cap)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, cap, "ip-proto-%u", proto);
		return buf;
	}
}

const char *vf_pkt_dst_text(const vf_pkt *p, char *buf, size_t cap)
{
	if (!inet_ntop(p->family, p->dst, buf, (socklen_t)cap))
		snprintf(buf, cap, "?");
	return buf;
}
