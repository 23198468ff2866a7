/*
 * policy: the egress policy file (YAML) as exai-egress reads it, checked strictly, every
 * error at "file:line:column". docs/egress.md describes the format:
 *
 *   version: 1
 *   default: deny                  # the only default there is; required, to be explicit
 *   mode: enforce                  # or audit (optional; apply --mode overrides it)
 *   sequence: 7                    # optional; a signed policy must not go below the last
 *   workloads:
 *     - name: inference
 *       cgroup: /sys/fs/cgroup/unified/exai/inference   # absolute, or under the cgroup2 mount
 *       rules:
 *         - {cidr: 10.1.0.0/16, protocol: tcp, ports: [443, 8000-8100]}
 *         - {cidr: "::1", protocol: any}
 *
 * A parsed policy names each workload's cgroup by its id (the cgroup must exist) and holds
 * its rules with canonical CIDRs (host bits zero; IPv4-mapped IPv6 refused: write IPv4).
 * Bounds: EGRESS_POLICY_MAX_BYTES of file, EGRESS_MAX_WORKLOADS workloads,
 * EGRESS_POLICY_MAX_RULES rules in all, EGRESS_MAX_RANGES port ranges per rule; reaching one
 * refuses the policy.
 */
#ifndef EXAI_EGRESS_POLICY_H
#define EXAI_EGRESS_POLICY_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress.h"
#include "exai/error.h"

/* 8 MiB: a policy of 100,000 rules (issue 16's size) fits with room for rules of up to 80
 * bytes each ("      - {cidr: 10.1.2.3/32, protocol: tcp, ports: [443, 8000-8100]}" is 65;
 * a /32 with protocol any, 46), where the 4 MiB of other YAML files held about 90,000. Loading
 * costs about 1 KiB of memory a rule (the YAML document, then rules and trie entries). */
#define EGRESS_POLICY_MAX_BYTES (8u << 20)
#define EGRESS_POLICY_MAX_RULES 200000u
#define EGRESS_NAME_MAX		64
#define EGRESS_CGROUP_PATH_MAX	512

typedef struct egress_rule {
	uint8_t family; /* 4 or 6 */
	uint8_t proto;	/* EGRESS_PROTO_* */
	uint8_t plen;	/* prefix length */
	uint8_t nranges;
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	struct egress_ports r[EGRESS_MAX_RANGES];
	unsigned long line, col; /* where the rule is, for compile errors */
} egress_rule;

typedef struct egress_workload {
	char name[EGRESS_NAME_MAX];
	char cgroup[EGRESS_CGROUP_PATH_MAX]; /* absolute path */
	uint64_t cgid;
	egress_rule *rules;
	size_t nrules;
} egress_workload;

typedef struct egress_policy {
	int mode;	   /* EGRESS_MODE_* */
	uint64_t sequence; /* 0: none given */
	egress_workload *workloads;
	size_t nworkloads;
	size_t nrules; /* over all workloads */
} egress_policy;

/* Parses the policy in @buf (@len bytes, named @name in errors) into *@out (free with
 * egress_policy_free). @cgroot is the cgroup2 mount, against which a relative cgroup path is
 * resolved; every workload's cgroup must be a directory under it. */
exai_status egress_policy_parse(const char *name, const void *buf, size_t len, const char *cgroot,
				egress_policy **out, exai_error *e) EXAI_WUR;
void egress_policy_free(egress_policy *p);

/* The cgroup2 mount point from /proc/mounts into @out (@size bytes). */
exai_status egress_cgroup2_root(char *out, size_t size, exai_error *e) EXAI_WUR;
/* The cgroup id of directory @path on a cgroup2 mount. */
exai_status egress_cgroup_id(const char *path, uint64_t *out, exai_error *e) EXAI_WUR;

/* Parses "a.b.c.d[/n]" or "x::y[/n]" into a rule's family, addr and plen; false with
 * @why set when malformed or host bits are set. */
bool egress_parse_cidr(const char *s, egress_rule *r, const char **why);

#endif
