/*
 * compile: a parsed policy (policy.h) turned into the entries of one policy trie
 * (egress.h): one META entry (generation, mode), one WORKLOAD marker per workload (the same
 * generation and mode), and one entry per distinct (family, protocol, workload, prefix) with
 * its port ranges. The trie id of META and the markers is left 0 for the loader to set once
 * the kernel made the map (install.c).
 *
 * The trie answers with the LONGEST matching prefix only, so each entry also carries the port
 * ranges of every shorter prefix of the same family, protocol and workload that covers it
 * ("push-down"): a /32 rule for port 80 inside a /8 rule for port 443 allows both ports. The
 * kernel looks up the socket's protocol and then "any", so the two never need merging.
 * Ranges are sorted and merged; an entry that still needs more than EGRESS_MAX_RANGES is
 * refused, naming the rule.
 */
#ifndef EXAI_EGRESS_COMPILE_H
#define EXAI_EGRESS_COMPILE_H

#include "policy.h"

typedef struct egress_entry {
	struct egress_key key;
	struct egress_val val;
} egress_entry;

typedef struct egress_compiled {
	egress_entry *entries;
	size_t n;
} egress_compiled;

/* Compiles @p for policy generation @generation in mode @mode into *@out (entries freed with
 * egress_compiled_free). Fails only on a bound (ranges per entry) or memory. */
exai_status egress_compile(const egress_policy *p, uint32_t generation, int mode,
			   egress_compiled *out, exai_error *e) EXAI_WUR;
void egress_compiled_free(egress_compiled *c);

/* Key helpers shared with the loader. */
void egress_key_set_cgid(struct egress_key *k, uint64_t id);
uint64_t egress_key_cgid(const struct egress_key *k);
void egress_key_meta(struct egress_key *k);

#endif
