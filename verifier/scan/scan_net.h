/*
 * scan_net: URL / hostname / IP literal parsing and the "is it local" test.
 */
#ifndef VF_SCAN_NET_H
#define VF_SCAN_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "scan_rules.h"

exai_status vf_net_cidr_parse(const char *s, vf_cidr *out) EXAI_WUR;
bool vf_net_cidrs_contain(const vf_cidrs *cs, const uint8_t addr[16]);
/* Parses an IPv4 or IPv6 literal (exactly @len bytes) into the 128-bit form. */
bool vf_net_ip_parse(const char *s, size_t len, uint8_t out[16]);
/* Host name or IP literal (no port, no brackets) is local: loopback, private, link-local,
 * local suffixes, allowed hosts, or a single label. Ignored hosts count as local too. */
bool vf_net_host_is_local(const vf_settings *set, const char *host, size_t len);
/* Case-insensitive: @host equals @suffix or ends with "." @suffix. */
bool vf_net_host_has_suffix(const char *host, size_t len, const char *suffix);

#endif
