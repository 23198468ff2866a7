/*
 * run_pkt: a bounded parser for the raw IPv4/IPv6 packets the run mode reads from its TUN
 * device (IFF_NO_PI: each read is one whole IP packet, no link header).
 *
 * It extracts what an egress finding needs (protocol, destination address, port or ICMP type)
 * and, for UDP, where the payload is, so DNS sent straight to an outside resolver can be parsed
 * too. Every length field is checked against the bytes actually read; IPv6 extension headers are
 * walked up to a fixed count; non-first fragments carry no transport header and are reported as
 * such. Nothing is allocated.
 */
#ifndef VF_RUN_PKT_H
#define VF_RUN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define VF_PKT_MAX_EXT_HEADERS 8
#define VF_PKT_ADDR_TEXT       46 /* INET6_ADDRSTRLEN */

typedef struct vf_pkt {
	int family;	 /* AF_INET or AF_INET6 */
	uint8_t proto;	 /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6 or other */
	uint8_t src[16]; /* IPv4 uses the first 4 bytes */
	uint8_t dst[16];
	bool fragment;	/* a non-first fragment: no transport header */
	bool has_ports; /* TCP or UDP header read */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	bool has_icmp; /* ICMP/ICMPv6 header read */
	uint8_t icmp_type, icmp_code;
	const uint8_t *payload; /* UDP payload (inside the caller's buffer), or NULL */
	size_t payload_len;
} vf_pkt;

/* Parses one IP packet of @len bytes. EXAI_ESHORT for a truncated header, EXAI_EFORMAT for a
 * bad version or inconsistent length, each with the offset. */
exai_status vf_pkt_parse(const uint8_t *buf, size_t len, vf_pkt *out, exai_error *e) EXAI_WUR;

/* True for the kernel's own IPv6 link chatter on a freshly raised interface (router and
 * neighbour solicitations, MLD reports to ff02::/16): not an egress attempt of the command. */
bool vf_pkt_is_link_chatter(const vf_pkt *p);

/* "tcp", "udp", "icmp", "icmpv6" or "ip-proto-<n>" into @buf (at least 20 bytes). */
const char *vf_pkt_proto_name(uint8_t proto, char *buf, size_t cap);

/* The destination address as text into @buf (VF_PKT_ADDR_TEXT bytes). */
const char *vf_pkt_dst_text(const vf_pkt *p, char *buf, size_t cap);

#endif
