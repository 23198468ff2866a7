/*
 * run_allow: the run mode's `--allow CIDR:PORT` rules and their matching.
 *
 * Forms: "10.0.0.0/8:443", "192.0.2.7:53" (a host), "[2001:db8::/32]:443", "[::1]:*",
 * "2001:db8::/32:443" (an IPv6 CIDR needs brackets unless it has a /LEN). PORT is 1-65535 or
 * "*". A CIDR with bits set past its prefix is refused rather than silently widened. An attempt
 * without a port (ICMP, other protocols, fragments) matches only a rule whose port is "*".
 */
#ifndef VF_RUN_ALLOW_H
#define VF_RUN_ALLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define VF_ALLOW_TEXT 80

typedef struct vf_allow {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
	int port;		  /* 1-65535, or -1 for any */
	char text[VF_ALLOW_TEXT]; /* as given, for the report */
} vf_allow;

/* Parses one rule; errors name the rule and what is wrong with it. */
exai_status vf_allow_parse(const char *s, vf_allow *out, exai_error *e) EXAI_WUR;

/* True if @a covers an attempt to @addr (4 or 16 bytes by @family) at @port (@has_port false:
 * no port known). */
bool vf_allow_match(const vf_allow *a, int family, const uint8_t *addr, bool has_port,
		    uint16_t port);

/* The first rule of @n that matches, or NULL. */
const vf_allow *vf_allow_find(const vf_allow *rules, size_t n, int family, const uint8_t *addr,
			      bool has_port, uint16_t port);

#endif
