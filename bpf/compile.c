/*
 * compile.c: policy to trie entries (compile.h). Entries are sorted by (kind, proto,
 * workload, prefix length, address) so that identical keys merge and each covering prefix is
 * found by binary search: O(n log n) plus, per entry, one search per prefix length in use.
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
	if (a->prefixlen != b->prefixlen)
		return a->prefixlen < b->prefixlen ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
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

/* Push-down: each rule entry takes the ranges of the covering entries (shorter prefixes of
 * the same kind, proto and workload), looked up by binary search per prefix length in use.
 * Ranges are taken from a copy made before any entry changed, so order does not matter. */
static exai_status push_down(egress_compiled *c, const egress_policy *p, exai_error *e)
{
	struct egress_val *orig = malloc(c->n * sizeof(*orig) + 1);
	bool used[129];
	exai_status st = EXAI_OK;

	if (!orig)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory compiling the policy");
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < c->n; i++) {
		orig[i] = c->entries[i].val;
		if (c->entries[i].key.kind <= EGRESS_KIND_V6)
			used[c->entries[i].key.prefixlen - EGRESS_KEY_FIXED_BITS] = true;
	}
	for (size_t i = 0; i < c->n && st == EXAI_OK; i++) {
		egress_entry *en = &c->entries[i];
		unsigned plen = en->key.prefixlen - EGRESS_KEY_FIXED_BITS;

		if (en->key.kind > EGRESS_KIND_V6)
			continue;
		for (unsigned l = 0; l < plen && st == EXAI_OK; l++) {
			egress_entry probe;
			egress_entry *hit;

			if (!used[l])
				continue;
			probe.key = en->key;
			probe.key.prefixlen = EGRESS_KEY_FIXED_BITS + l;
			mask_addr(probe.key.addr, l);
			hit = bsearch(&probe, c->entries, c->n, sizeof(*hit), cmp_entry);
			if (hit && !merge_ranges(&en->val, orig[hit - c->entries].r,
						 orig[hit - c->entries].nranges))
				st = range_bound(c, i, p, e);
		}
	}
	free(orig);
	return st;
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
		m->val.generation = generation;
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
