/*
 * compile.c: policy to trie entries (compile.h). Entries are sorted by (kind, proto,
 * workload, address, prefix length): identical keys are then neighbours and merge, and every
 * entry comes after the shorter prefixes that cover it, so the push-down is one pass with a
 * stack (push_down). O(n log n) for the sort, O(n) after it, whatever the prefix lengths.
 */
#include "compile.h"

#include <stdlib.h>
#include <string.h>

void egress_key_set_cgid(struct egress_key *k, uint64_t id)
{
	for (int i = 0; i < 8; i++)
		k->cgid[i] = (uint8_t)(id >> (8 * i));
}

uint64_t egress_key_cgid(const struct egress_key *k)
{
	uint64_t id = 0;

	for (int i = 7; i >= 0; i--)
		id = (id << 8) | k->cgid[i];
	return id;
}

void egress_key_meta(struct egress_key *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = EGRESS_KEY_FULL_BITS;
	k->kind = EGRESS_KIND_META;
}

void egress_compiled_free(egress_compiled *c)
{
	if (!c)
		return;
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
}

static int cmp_key(const struct egress_key *a, const struct egress_key *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (memcmp(a->cgid, b->cgid, sizeof(a->cgid)) != 0)
		return memcmp(a->cgid, b->cgid, sizeof(a->cgid));
	if (memcmp(a->addr, b->addr, sizeof(a->addr)) != 0)
		return memcmp(a->addr, b->addr, sizeof(a->addr));
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return cmp_key(&((const egress_entry *)a)->key, &((const egress_entry *)b)->key);
}

static int cmp_ports(const void *a, const void *b)
{
	const struct egress_ports *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Adds @n ranges to @dst (scratch of up to 2*EGRESS_MAX_RANGES), merging; false if the merged
 * set does not fit in EGRESS_MAX_RANGES. */
static bool merge_ranges(struct egress_val *dst, const struct egress_ports *src, size_t n)
{
	struct egress_ports all[2 * EGRESS_MAX_RANGES];
	size_t cnt = dst->nranges, out = 0;

	memcpy(all, dst->r, cnt * sizeof(all[0]));
	memcpy(all + cnt, src, n * sizeof(all[0]));
	cnt += n;
	qsort(all, cnt, sizeof(all[0]), cmp_ports);
	for (size_t i = 0; i < cnt; i++) {
		if (out && (uint32_t)all[i].lo <= (uint32_t)all[out - 1].hi + 1) {
			if (all[i].hi > all[out - 1].hi)
				all[out - 1].hi = all[i].hi;
			continue;
		}
		all[out++] = all[i];
	}
	if (out > EGRESS_MAX_RANGES)
		return false;
	memcpy(dst->r, all, out * sizeof(all[0]));
	dst->nranges = (uint8_t)out;
	return true;
}

static void rule_key(const egress_workload *w, const egress_rule *r, struct egress_key *k)
{
	memset(k, 0, sizeof(*k));
	k->kind = r->family == 4 ? EGRESS_KIND_V4 : EGRESS_KIND_V6;
	k->proto = r->proto;
	egress_key_set_cgid(k, w->cgid);
	memcpy(k->addr, r->addr, sizeof(k->addr));
	k->prefixlen = EGRESS_KEY_FIXED_BITS + r->plen;
}

static void mask_addr(uint8_t *addr, unsigned plen)
{
	for (unsigned b = plen; b < 128; b++)
		addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
}

static exai_status range_bound(const egress_compiled *c, size_t i, const egress_policy *p,
			       exai_error *e)
{
	uint64_t id = egress_key_cgid(&c->entries[i].key);
	const char *name = "?";

	for (size_t w = 0; w < p->nworkloads; w++)
		if (p->workloads[w].cgid == id)
			name = p->workloads[w].name;
	return exai_error_set(e, EXAI_ETOOBIG,
			      "workload '%s': a destination needs more than %d port ranges "
			      "(its own and those of the wider CIDRs around it): merge rules",
			      name, EGRESS_MAX_RANGES);
}

/* Sorts, merges equal keys (ranges joined) in place. */
static exai_status dedup(egress_compiled *c, const egress_policy *p, exai_error *e)
{
	size_t out = 0;

	qsort(c->entries, c->n, sizeof(c->entries[0]), cmp_entry);
	for (size_t i = 0; i < c->n; i++) {
		if (out && cmp_key(&c->entries[out - 1].key, &c->entries[i].key) == 0) {
			if (!merge_ranges(&c->entries[out - 1].val, c->entries[i].val.r,
					  c->entries[i].val.nranges))
				return range_bound(c, i, p, e);
			continue;
		}
		c->entries[out++] = c->entries[i];
	}
	c->n = out;
	return EXAI_OK;
}

/* Whether entry @p is a shorter prefix of the same kind, protocol and workload that covers
 * entry @q's address. */
static bool covers(const egress_entry *p, const egress_entry *q)
{
	unsigned plen = p->key.prefixlen - EGRESS_KEY_FIXED_BITS;
	uint8_t a[16];

	if (p->key.kind != q->key.kind || p->key.proto != q->key.proto ||
	    memcmp(p->key.cgid, q->key.cgid, sizeof(p->key.cgid)) != 0 ||
	    p->key.prefixlen >= q->key.prefixlen)
		return false;
	memcpy(a, q->key.addr, sizeof(a));
	mask_addr(a, plen);
	return memcmp(a, p->key.addr, sizeof(a)) == 0;
}

/* Push-down: each rule entry takes the ranges of every covering entry (shorter prefixes of
 * the same kind, proto and workload). CIDRs nest or are disjoint, and in the sort order
 * (address, then prefix length) each one comes after all that cover it, with only entries
 * inside its block before the next one outside it. So one pass with a stack of the open
 * blocks finds them: pop what does not cover the entry; what remains is its chain of covering
 * prefixes, and the top already carries the ranges of all of them. O(n) after the sort (the
 * stack is at most 129 deep: one entry per prefix length). */
static exai_status push_down(egress_compiled *c, const egress_policy *p, exai_error *e)
{
	size_t stack[129];
	size_t depth = 0;

	for (size_t i = 0; i < c->n; i++) {
		egress_entry *en = &c->entries[i];

		if (en->key.kind > EGRESS_KIND_V6)
			continue;
		while (depth && !covers(&c->entries[stack[depth - 1]], en))
			depth--;
		if (depth) {
			const struct egress_val *up = &c->entries[stack[depth - 1]].val;

			if (!merge_ranges(&en->val, up->r, up->nranges))
				return range_bound(c, i, p, e);
		}
		if (depth == sizeof(stack) / sizeof(stack[0])) /* a chain is one entry per length */
			return exai_error_set(e, EXAI_EINVAL, "compile: prefix chain over 129");
		stack[depth++] = i;
	}
	return EXAI_OK;
}

exai_status egress_compile(const egress_policy *p, uint32_t generation, int mode,
			   egress_compiled *out, exai_error *e)
{
	size_t cap = p->nrules + p->nworkloads + 1, n = 0;
	exai_status st;

	out->n = 0;
	out->entries = calloc(cap, sizeof(*out->entries));
	if (!out->entries)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory for %zu policy entries", cap);
	egress_key_meta(&out->entries[n].key);
	out->entries[n].val.generation = generation;
	out->entries[n++].val.mode = (uint8_t)mode;
	for (size_t w = 0; w < p->nworkloads; w++) {
		const egress_workload *wl = &p->workloads[w];
		egress_entry *m = &out->entries[n++];

		m->key.prefixlen = EGRESS_KEY_FULL_BITS;
		m->key.kind = EGRESS_KIND_WORKLOAD;
		egress_key_set_cgid(&m->key, wl->cgid);
		m->val.generation = generation; /* a decision reads these from the marker */
		m->val.mode = (uint8_t)mode;
		for (size_t r = 0; r < wl->nrules; r++) {
			egress_entry *en = &out->entries[n++];

			rule_key(wl, &wl->rules[r], &en->key);
			en->val.generation = generation;
			/* sorted and merged: at most as many ranges as the rule has */
			(void)merge_ranges(&en->val, wl->rules[r].r, wl->rules[r].nranges);
		}
	}
	out->n = n;
	if ((st = dedup(out, p, e)) != EXAI_OK || (st = push_down(out, p, e)) != EXAI_OK)
		egress_compiled_free(out);
	return st;
}
