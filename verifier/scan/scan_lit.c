/*
 * scan_lit: building the multi-literal prefilter (see scan_lit.h, scan_lit_impl.h).
 *
 * A literal's window is the 3-byte substring (2 for a 2-byte literal) that a static model of
 * real text says is rarest: byte frequencies and the most common byte pairs of a sample of
 * source code, configuration and documentation, trigrams estimated as a Markov chain. The
 * windows are then grouped into Teddy buckets so that the union of the byte-class products of
 * each bucket (what the vector test lets through) weighs as little as possible under the same
 * model. Building is a startup cost (a few milliseconds); scanning is scan_lit_scan.c.
 */
#include "scan_lit_impl.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"

#define MAX_ITEMS 256 /* windows grouped exactly; more are first merged pairwise */

/* Bytes per million in a sample of source code, headers, scripts, configuration and
 * documentation (Python, C headers, shell, /etc, JSON/YAML/XML/HTML/JS, docs; 177 MB). */
static const uint32_t byte_freq[256] = {
    1,	   1,	  1,	 1,	1,	1,     1,     1,     1,	   3702, 24318, 1,     1,     1,
    1,	   1,	  1,	 1,	1,	1,     1,     1,     1,	   1,	 1,	1,     1,     1,
    1,	   1,	  1,	 1,	162726, 183,   8343,  4483,  223,  169,	 608,	3743,  9594,  9611,
    9669,  408,	  10094, 6808,	6687,	11341, 6009,  4094,  3099, 1927, 1240,	2140,  1308,  706,
    1143,  2047,  4059,	 3413,	5905,	4374,  6143,  123,   438,  7903, 2783,	8181,  4349,  11846,
    3677,  3319,  1802,	 8984,	407,	1786,  8508,  4112,  8590, 8419, 6993,	335,   8232,  14381,
    10078, 3070,  1904,	 972,	2881,	1378,  310,   671,   1127, 665,	 49,	33903, 296,   31959,
    7278,  23694, 20553, 62761, 14541,	8816,  13260, 35492, 1031, 6786, 23397, 13486, 36742, 31598,
    17348, 755,	  31249, 38260, 45712,	13980, 5268,  3759,  5177, 7608, 1007,	977,   391,   972,
    102,   1,	  61,	 38,	47,	65,    19,    17,    14,   23,	 21,	9,     11,    13,
    12,	   10,	  6,	 20,	13,	14,    9,     12,    35,   18,	 29,	9,     17,    23,
    9,	   12,	  22,	 15,	12,	45,    387,   35,    10,   13,	 18,	8,     13,    18,
    17,	   36,	  16,	 10,	10,	21,    8,     13,    46,   30,	 16,	26,    23,    39,
    18,	   16,	  58,	 22,	31,	27,    34,    36,    36,   19,	 1,	1,     386,   102,
    25,	   20,	  1,	 1,	1,	2,     1,     1,     1,	   1,	 63,	25,    300,   115,
    5,	   1,	  1,	 1,	4,	63,    35,    26,    1,	   1,	 1,	1,     1,     1,
    32,	   27,	  66,	 39,	5,	15,    14,    8,     6,	   4,	 2,	9,     15,    6,
    1,	   4,	  34,	 1,	1,	1,     1,     1,     1,	   1,	 1,	1,     1,     1,
    1,	   1,	  1,	 1,
};

/* The 256 most frequent byte pairs of the same sample, most frequent first, and their
 * frequency per million pairs. */
static const char common_pairs[] =
    "  \n ine , det eronrest *coennt ttethheatneseor is  cefannsesfi stin meetarpe ad trleal--"
    "edssr \n#isskliioitndeck_ ongas;\nSSL_ch\n\nri_s* lacttyypf to_ctaSLra</ampa,\nnc) #dsi f"
    "unce_Cro=\"omodnaha)\ncl (ve_ticel pe(llidENgeERckos** \" r_S);ex>\nifurINil Sma lop// b d"
    "ptfomp(s\t\t__diloca: t_acsl <o  n.\ny utsprtpr _l_ O><NSusou 'a igeaof e= PEST/\n09e_\n\t"
    "tu)) w50luRE m 0\">/* u*/hirnrsX5CTOPocl  A =_OE_g  T /noemASP_T_ueibplad vIOul9_otpobe1_"
    "va C_PtsTRON00TEoiee),_Aum\n/0xsool hblmm/ wi_f:\nkefuimai_IDER_SNryag# . pps._pttie";
static const uint32_t common_pair_freq[256] = {
    76698, 12289, 10495, 10258, 7435, 7268, 6967, 6800, 6746, 6281, 6224, 6018, 5521, 5472, 5406,
    5387,  5200,  4945,	 4934,	4781, 4719, 4704, 4596, 4527, 4430, 4410, 4337, 4125, 4035, 3998,
    3964,  3928,  3873,	 3862,	3849, 3712, 3695, 3646, 3614, 3598, 3576, 3561, 3499, 3474, 3409,
    3391,  3221,  3137,	 3091,	3071, 3059, 2978, 2942, 2909, 2903, 2894, 2891, 2852, 2817, 2801,
    2765,  2760,  2758,	 2727,	2724, 2684, 2639, 2633, 2599, 2541, 2496, 2448, 2432, 2413, 2393,
    2386,  2349,  2343,	 2310,	2283, 2273, 2269, 2262, 2228, 2227, 2206, 2160, 2144, 2142, 2120,
    2084,  2033,  2032,	 2023,	2010, 2008, 1956, 1951, 1950, 1926, 1918, 1886, 1861, 1853, 1846,
    1835,  1834,  1826,	 1822,	1820, 1815, 1810, 1793, 1792, 1746, 1743, 1742, 1739, 1734, 1733,
    1703,  1690,  1660,	 1658,	1652, 1651, 1646, 1642, 1627, 1604, 1603, 1579, 1553, 1551, 1550,
    1548,  1533,  1532,	 1529,	1521, 1505, 1478, 1477, 1466, 1464, 1462, 1455, 1444, 1430, 1415,
    1414,  1402,  1397,	 1394,	1393, 1386, 1378, 1372, 1343, 1336, 1332, 1329, 1323, 1314, 1302,
    1290,  1279,  1279,	 1278,	1276, 1274, 1273, 1272, 1272, 1270, 1269, 1262, 1257, 1255, 1230,
    1229,  1220,  1214,	 1213,	1207, 1205, 1194, 1194, 1187, 1186, 1181, 1176, 1169, 1157, 1147,
    1142,  1132,  1132,	 1124,	1119, 1114, 1113, 1095, 1091, 1088, 1077, 1076, 1073, 1061, 1060,
    1059,  1044,  1040,	 1040,	1037, 1015, 1013, 1001, 1001, 1000, 997,  993,	985,  984,  979,
    972,   970,	  961,	 961,	955,  949,  936,  929,	926,  917,  906,  895,	895,  890,  888,
    887,   886,	  874,	 865,	855,  855,  854,  854,	852,  852,  846,  845,	843,  839,  835,
    835,
};
_Static_assert(sizeof(common_pairs) == 2 * 256 + 1, "256 pairs");

/* ---- the frequency model (per million bytes) ---- */

typedef struct model {
	float pair[VF_LIT_NBIGRAMS]; /* estimated frequency of each byte pair */
	/* half[h][k][v]: the weight of the bytes with high nibble h and a low nibble in
	 * bit set v (of nibbles 0-7 for k = 0, 8-15 for k = 1), as a fraction of all bytes */
	double half[16][2][256];
} model;

static model the_model;
static pthread_once_t model_once = PTHREAD_ONCE_INIT;

static void model_init(void)
{
	model *m = &the_model;
	float floor_f = (float)common_pair_freq[255];

	for (unsigned v = 0; v < VF_LIT_NBIGRAMS; v++) {
		float ind = (float)byte_freq[v & 255] * (float)byte_freq[v >> 8] / 1e6f;
		m->pair[v] =
		    ind < floor_f ? ind : floor_f; /* listed pairs are the only common ones */
	}
	for (unsigned i = 0; i < 256; i++) {
		unsigned a = (unsigned char)common_pairs[2 * i],
			 b = (unsigned char)common_pairs[2 * i + 1];
		m->pair[a | b << 8] = (float)common_pair_freq[i];
	}
	for (unsigned h = 0; h < 16; h++)
		for (unsigned k = 0; k < 2; k++)
			for (unsigned v = 0; v < 256; v++) {
				double sum = 0;
				for (unsigned x = 0; x < 8; x++)
					if (v >> x & 1)
						sum +=
						    (double)byte_freq[h << 4 | (k * 8 + x)] / 1e6;
				m->half[h][k][v] = sum;
			}
}

/* The model, computed once per process. */
static const model *model_get(void)
{
	pthread_once(&model_once, model_init);
	return &the_model;
}

/* Estimated frequency of the exact bytes w[0..len), len 2 or 3. */
static double window_freq(const model *m, const uint8_t *w, size_t len)
{
	double ab = m->pair[w[0] | w[1] << 8];

	if (len == 2)
		return ab;
	return ab * m->pair[w[1] | w[2] << 8] / (double)byte_freq[w[1]];
}

/* The byte and its other case, if any: returns 1 or 2. */
static int case_variants(uint8_t c, bool icase, uint8_t out[2])
{
	out[0] = c;
	if (!icase || tolower(c) == toupper(c))
		return 1;
	out[0] = (uint8_t)tolower(c);
	out[1] = (uint8_t)toupper(c);
	return 2;
}

/* Summed over case variants when @icase. */
static double window_freq_ci(const model *m, const char *s, size_t len, bool icase)
{
	uint8_t v[3][2], w[3];
	int nv[3] = {1, 1, 1};
	double sum = 0;

	for (size_t j = 0; j < len; j++)
		nv[j] = case_variants((uint8_t)s[j], icase, v[j]);
	for (int a = 0; a < nv[0]; a++)
		for (int b = 0; b < nv[1]; b++)
			for (int c = 0; c < (len == 3 ? nv[2] : 1); c++) {
				w[0] = v[0][a];
				w[1] = v[1][b];
				w[2] = v[2][c];
				sum += window_freq(m, w, len);
			}
	return sum;
}

/* The offset of @l's rarest window (the first of equals), within VF_LIT_MAX_ANCHOR. */
static void pick_window(const model *m, vf_lit *l)
{
	size_t last = l->len - l->wlen;
	double best = 0;

	if (last > VF_LIT_MAX_ANCHOR)
		last = VF_LIT_MAX_ANCHOR;
	l->anchor = 0;
	for (size_t i = 0; i <= last; i++) {
		double f = window_freq_ci(m, l->s + i, l->wlen, l->icase);
		if (i == 0 || f < best) {
			best = f;
			l->anchor = (uint32_t)i;
		}
	}
}

/* ---- Teddy buckets ---- */

/* A group of windows (a Teddy bucket, scan_lit_impl.h). */
typedef vf_lit_group group;

/* Weight of the bytes with a low nibble in @lo and a high nibble in @hi (all: 1). */
static double class_mass(const model *m, uint16_t lo, uint16_t hi)
{
	double sum = 0;

	if (lo == 0xffff && hi == 0xffff)
		return 1.0;
	/* the set high nibbles in increasing order (a window byte has one or two): the same sum
	 * as a loop over all 16, in the same order, for a fraction of the lookups */
	for (unsigned v = hi; v; v &= v - 1) {
		unsigned h = (unsigned)__builtin_ctz(v);
		sum += m->half[h][0][lo & 0xff] + m->half[h][1][lo >> 8];
	}
	return sum;
}

/* How often the vector test passes for a bucket holding @g (bytes taken as independent). */
static double group_cost(const model *m, const group *g)
{
	return class_mass(m, g->lo[0], g->hi[0]) * class_mass(m, g->lo[1], g->hi[1]) *
	       class_mass(m, g->lo[2], g->hi[2]);
}

static group group_union(const group *a, const group *b)
{
	group u;

	for (int j = 0; j < 3; j++) {
		u.lo[j] = (uint16_t)(a->lo[j] | b->lo[j]);
		u.hi[j] = (uint16_t)(a->hi[j] | b->hi[j]);
		u.ascii[j][0] = a->ascii[j][0] | b->ascii[j][0];
		u.ascii[j][1] = a->ascii[j][1] | b->ascii[j][1];
	}
	u.wide = a->wide || b->wide;
	return u;
}

static group group_of(const vf_lit *l)
{
	group g;
	uint8_t v[2];

	memset(&g, 0, sizeof(g));
	for (int j = 0; j < 3; j++) {
		if (j >= l->wlen) { /* any byte */
			g.lo[j] = g.hi[j] = 0xffff;
			g.ascii[j][0] = g.ascii[j][1] = ~0ull;
			continue;
		}
		for (int k = case_variants((uint8_t)l->s[l->anchor + j], l->icase, v); k-- > 0;) {
			g.lo[j] = (uint16_t)(g.lo[j] | 1u << (v[k] & 15));
			g.hi[j] = (uint16_t)(g.hi[j] | 1u << (v[k] >> 4));
			if (v[k] < 128)
				g.ascii[j][v[k] >> 6] |= 1ull << (v[k] & 63);
			else
				g.wide = true;
		}
	}
	return g;
}

/* What merging groups @a and @b adds to the pass rate. */
static double merge_cost(const model *m, const group *g, const double *cost, size_t a, size_t b)
{
	group u = group_union(&g[a], &g[b]);

	return group_cost(m, &u) - cost[a] - cost[b];
}

/* The cheapest merge of row @a (partners b > a, the first of equal costs) into rmin/rval. */
static void row_min(const double *d, size_t cap, size_t n, size_t a, size_t *rmin, double *rval)
{
	rmin[a] = SIZE_MAX;
	for (size_t b = a + 1; b < n; b++)
		if (rmin[a] == SIZE_MAX || d[a * cap + b] < rval[a]) {
			rmin[a] = b;
			rval[a] = d[a * cap + b];
		}
}

/* A changed entry (@a, @b): the row's cheapest merge if it is now cheaper, or as cheap and
 * earlier (the order of the full scan). */
static void row_update(const double *d, size_t cap, size_t a, size_t b, size_t *rmin, double *rval)
{
	double v = d[a * cap + b];

	if (rmin[a] == SIZE_MAX || v < rval[a] || (v == rval[a] && b < rmin[a])) {
		rmin[a] = b;
		rval[a] = v;
	}
}

/* Groups @n windows into at most @want buckets: merges the cheapest pair until few enough
 * (the first such pair in row order). Pairwise merge costs are cached, and so is each row's
 * cheapest merge, so a merge costs O(n) row checks plus the rows it invalidates, not a scan of
 * all n^2 pairs (at startup this was most of a small scan's time). */
static exai_status group_windows(const model *m, group *g, size_t *n, size_t want, exai_error *e)
{
	double *d = NULL, *cost = NULL, *rval = NULL;
	size_t *rmin = NULL, cap;
	exai_status rc = EXAI_OK;

	while (*n > MAX_ITEMS) { /* a huge user rule set: merge neighbours first */
		g[*n - 2] = group_union(&g[*n - 2], &g[*n - 1]);
		--*n;
	}
	if (*n <= want)
		return EXAI_OK;
	cap = *n;
	d = malloc(cap * cap * sizeof(*d));
	cost = malloc(cap * sizeof(*cost));
	rval = malloc(cap * sizeof(*rval));
	rmin = malloc(cap * sizeof(*rmin));
	if (!d || !cost || !rval || !rmin) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t a = 0; a < *n; a++)
		cost[a] = group_cost(m, &g[a]);
	for (size_t a = 0; a < *n; a++)
		for (size_t b = a + 1; b < *n; b++)
			d[a * cap + b] = merge_cost(m, g, cost, a, b);
	for (size_t a = 0; a < *n; a++)
		row_min(d, cap, *n, a, rmin, rval);
	while (*n > want) {
		size_t ba = 0, bb, last = *n - 1;
		for (size_t a = 1; a + 1 < *n; a++)
			if (rval[a] < rval[ba])
				ba = a;
		bb = rmin[ba];
		/* ba absorbs bb; the last group moves into bb's place, with its cached costs */
		g[ba] = group_union(&g[ba], &g[bb]);
		cost[ba] = group_cost(m, &g[ba]);
		if (bb != last) {
			g[bb] = g[last];
			cost[bb] = cost[last];
			for (size_t x = 0; x < last; x++)
				if (x != bb)
					d[(x < bb ? x : bb) * cap + (x < bb ? bb : x)] =
					    d[(x < last ? x : last) * cap + (x < last ? last : x)];
		}
		--*n;
		for (size_t x = 0; x < *n; x++)
			if (x != ba)
				d[(x < ba ? x : ba) * cap + (x < ba ? ba : x)] =
				    merge_cost(m, g, cost, x < ba ? x : ba, x < ba ? ba : x);
		/* Rows whose cheapest merge was with a group that changed or moved, and the rows
		 * of those groups, again in full; the others see their two changed entries. */
		for (size_t x = 0; x + 1 < *n; x++) {
			if (x == ba || x == bb || rmin[x] == ba || rmin[x] == bb ||
			    rmin[x] == last || rmin[x] >= *n) {
				row_min(d, cap, *n, x, rmin, rval);
				continue;
			}
			if (x < ba)
				row_update(d, cap, x, ba, rmin, rval);
			if (x < bb && bb < *n)
				row_update(d, cap, x, bb, rmin, rval);
		}
	}
out:
	free(d);
	free(cost);
	free(rval);
	free(rmin);
	return rc;
}

static void fill_masks(vf_lits *l, const group *g, size_t n)
{
	memset(l->nib, 0, sizeof(l->nib));
	memset(l->ascii, 0, sizeof(l->ascii));
	memset(l->any2, 0, sizeof(l->any2));
	l->all_ascii = true;
	for (size_t k = 0; k < n; k++) {
		size_t set = k / 8;
		uint8_t bit = (uint8_t)(1u << (k % 8));
		for (int j = 0; j < 3; j++) {
			for (unsigned x = 0; x < 16; x++) {
				if (g[k].lo[j] >> x & 1)
					l->nib[set][j][0][x] |= bit;
				if (g[k].hi[j] >> x & 1)
					l->nib[set][j][1][x] |= bit;
			}
			for (unsigned x = 0; x < 128; x++)
				if (g[k].ascii[j][x >> 6] >> (x & 63) & 1)
					l->ascii[set][j][x] |= bit;
		}
		if (g[k].lo[2] == 0xffff && g[k].hi[2] == 0xffff)
			l->any2[set] |= bit;
		l->all_ascii &= !g[k].wide;
	}
}

/* ---- plans made ahead of time ---- */

static const vf_lit_plan *const *known_plans;
static size_t nknown_plans;

void vf_lits_use_plans(const vf_lit_plan *const *plans, size_t n)
{
	known_plans = n ? plans : NULL;
	nknown_plans = plans ? n : 0;
}

/* @p was made for exactly @l's literals: the same bytes and case, in the same order. */
static bool plan_is_for(const vf_lit_plan *p, const vf_lits *l)
{
	if (p->n != l->n)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (p->lit[i].icase != l->lit[i].icase || strlen(p->lit[i].s) != l->lit[i].len ||
		    memcmp(p->lit[i].s, l->lit[i].s, l->lit[i].len) != 0)
			return false;
	return true;
}

/* Every byte the window of group @x may hold, @b lets through at the same offset. */
static bool group_covers(const group *b, const group *x)
{
	for (int j = 0; j < 3; j++)
		if ((x->lo[j] & ~b->lo[j]) || (x->hi[j] & ~b->hi[j]) ||
		    (x->ascii[j][0] & ~b->ascii[j][0]) || (x->ascii[j][1] & ~b->ascii[j][1]))
			return false;
	return b->wide || !x->wide;
}

/* Takes @p's windows and buckets into @l when they are sound for it: each window inside its
 * literal within VF_LIT_MAX_ANCHOR, each one's bytes passing some bucket, the buckets fitting
 * the sets. False (then @l is planned, which sets every window again) otherwise. */
static bool plan_take(vf_lits *l, const vf_lit_plan *p)
{
	uint32_t max_anchor = 0;

	if (p->nsets < 1 || p->nsets > VF_LIT_SETS_MAX || p->ngrp < 1 || p->ngrp > 8 * p->nsets)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		vf_lit *x = &l->lit[i];
		group g;
		size_t k = 0;
		if (p->lit[i].anchor > VF_LIT_MAX_ANCHOR || p->lit[i].anchor + x->wlen > x->len)
			return false;
		x->anchor = p->lit[i].anchor;
		if (x->anchor > max_anchor)
			max_anchor = x->anchor;
		g = group_of(x);
		while (k < p->ngrp && !group_covers(&p->grp[k], &g))
			k++;
		if (k == p->ngrp)
			return false;
	}
	l->max_anchor = max_anchor;
	l->nsets = p->nsets;
	memcpy(l->grp, p->grp, p->ngrp * sizeof(*p->grp));
	l->ngrp = p->ngrp;
	fill_masks(l, l->grp, l->ngrp);
	l->from_plan = true;
	return true;
}

/* Picks windows, then buckets: one set of 8 for a few windows, up to VF_LIT_SETS_MAX; or
 * takes them from the plan made ahead of time for these literals. */
static exai_status plan(vf_lits *l, exai_error *e)
{
	const model *m;
	group *g = NULL;
	size_t ng = 0, want;
	exai_status rc = EXAI_OK;

	for (size_t i = 0; i < nknown_plans && l->n; i++)
		if (plan_is_for(known_plans[i], l) && plan_take(l, known_plans[i]))
			return EXAI_OK;
	m = model_get();
	if (!(g = malloc((l->n + 1) * sizeof(*g)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	l->max_anchor = 0;
	for (size_t i = 0; i < l->n; i++) {
		group x;
		bool dup = false;
		pick_window(m, &l->lit[i]);
		if (l->lit[i].anchor > l->max_anchor)
			l->max_anchor = l->lit[i].anchor;
		x = group_of(&l->lit[i]);
		for (size_t k = 0; k < ng && !dup; k++)
			dup = memcmp(&g[k], &x, sizeof(x)) == 0;
		if (!dup)
			g[ng++] = x;
	}
	l->nsets = ng == 0 ? 0 : ng <= 8 ? 1 : ng <= 40 ? 2 : VF_LIT_SETS_MAX;
	want = 8 * (size_t)l->nsets;
	if ((rc = group_windows(m, g, &ng, want, e)))
		goto out;
	fill_masks(l, g, ng);
	memcpy(l->grp, g, ng * sizeof(*g));
	l->ngrp = ng;
out:
	free(g);
	return rc;
}

/* ---- the literal list and the bigram index ---- */

static exai_status add(vf_lits *l, const char *s, vf_lit_kind kind, uint32_t rule, bool icase,
		       exai_error *e)
{
	size_t len = strlen(s);

	if (len < 2 || len > 4096)
		return exai_error_set(e, EXAI_EINVAL, "literal '%s': length must be 2..4096", s);
	if (EXAI_GROW(&l->lit, &l->cap, l->n, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "literal '%s'", s);
	l->lit[l->n++] = (vf_lit){.s = s,
				  .len = (uint32_t)len,
				  .rule = rule,
				  .kind = (uint8_t)kind,
				  .icase = icase,
				  .wlen = len >= 3 ? 3 : 2};
	return EXAI_OK;
}

static exai_status add_owned(vf_lits *l, const char *prefix, const char *s, vf_lit_kind kind,
			     exai_error *e)
{
	size_t len = strlen(prefix) + strlen(s) + 1;
	char *c = malloc(len);

	if (!c)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	snprintf(c, len, "%s%s", prefix, s);
	if (EXAI_GROW(&l->owned, &l->capowned, l->nowned, 1, EXAI_GROW_NOCAP, e)) {
		free(c);
		return exai_error_prefix(e, "literal '%s%s'", prefix, s);
	}
	l->owned[l->nowned++] = c;
	return add(l, c, kind, 0, false, e);
}

/* The up to 4 bigrams of @l's window's first two bytes (case variants when icase). */
static size_t bigrams_of(const vf_lit *l, uint16_t out[4])
{
	uint8_t av[2], bv[2];
	int na = case_variants((uint8_t)l->s[l->anchor], l->icase, av);
	int nb = case_variants((uint8_t)l->s[l->anchor + 1], l->icase, bv);
	size_t n = 0;

	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			out[n++] = (uint16_t)(av[i] | bv[j] << 8);
	return n;
}

static vf_lit_ent ent_of(const vf_lit *l, uint32_t i)
{
	vf_lit_ent x = {.lit = i, .anchor = l->anchor, .len = l->len};

	for (uint32_t j = 0; j < 8 && j < l->len; j++) {
		uint8_t c = (uint8_t)l->s[j];
		uint64_t fold = l->icase && tolower(c) != toupper(c) ? 0x20 : 0;
		if (fold)
			c = (uint8_t)tolower(c);
		x.head |= (uint64_t)c << (8 * j);
		x.fold |= fold << (8 * j);
		x.mask |= (uint64_t)0xff << (8 * j);
	}
	return x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Files each literal under the bigrams of its window: the (bigram, literal) keys sorted, so
 * that ent is in bigram then literal order and start[] is written in one pass (a count per
 * bigram, in a 65536-entry array, cost start-up more than the rest of indexing). */
static exai_status index_all(vf_lits *l, exai_error *e)
{
	uint64_t *key = NULL;
	size_t total = 0, v = 0;
	uint16_t b[4];
	exai_status rc;

	if ((rc = plan(l, e)))
		return rc;
	if (l->n > SIZE_MAX / (4 * sizeof(*l->ent)) - 1 ||
	    !(key = malloc((4 * l->n + 1) * sizeof(*key))) ||
	    !(l->ent = malloc((4 * l->n + 1) * sizeof(*l->ent)))) {
		free(key);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < l->n; i++) {
		size_t k = bigrams_of(&l->lit[i], b);
		for (size_t j = 0; j < k; j++)
			key[total++] = (uint64_t)b[j] << 32 | i;
	}
	qsort(key, total, sizeof(*key), cmp_u64);
	for (size_t p = 0; p < total;) {
		size_t bg = (size_t)(key[p] >> 32);
		while (v <= bg)
			l->start[v++] = (uint32_t)p;
		l->bits[bg >> 3] |= (uint8_t)(1u << (bg & 7));
		for (; p < total && key[p] >> 32 == bg; p++)
			l->ent[p] = ent_of(&l->lit[(uint32_t)key[p]], (uint32_t)key[p]);
	}
	while (v <= VF_LIT_NBIGRAMS)
		l->start[v++] = (uint32_t)total;
	free(key);
	return EXAI_OK;
}

static exai_status add_rules(vf_lits *l, const vf_rules *rs, bool filtered, exai_error *e)
{
	exai_status rc;

	for (size_t i = 0; i < rs->n; i++) {
		const vf_rule *r = &rs->r[i];
		if (!r->enabled || r->check != VF_CHK_PATTERN || (r->files.n && !filtered))
			continue;
		for (size_t k = 0; k < r->triggers.n; k++)
			if ((rc = add(l, r->triggers.v[k], VF_LIT_RULE, (uint32_t)i, r->icase, e)))
				return rc;
		for (size_t k = 0; k < r->unless.n; k++)
			if ((rc = add(l, r->unless.v[k], VF_LIT_UNLESS, (uint32_t)i, r->icase, e)))
				return rc;
	}
	return EXAI_OK;
}

static exai_status add_net(vf_lits *l, const vf_rules *rs, bool filtered, exai_error *e)
{
	const vf_rule *host = vf_rules_for(rs, VF_CHK_NET_HOST);
	static const char *const digits[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
	exai_status rc;

	if (vf_rules_for(rs, VF_CHK_NET_URL) && (rc = add(l, "://", VF_LIT_URL, 0, false, e)))
		return rc;
	if (vf_rules_for(rs, VF_CHK_NET_IP)) {
		for (int d = 0; d < 10; d++)
			if ((rc = add_owned(l, digits[d], ".", VF_LIT_IPV4, e)))
				return rc;
		if ((rc = add(l, "::", VF_LIT_IPV6, 0, false, e)))
			return rc;
	}
	if (host && (filtered || host->files.n == 0))
		for (size_t i = 0; i < rs->set.public_tlds.n; i++)
			if ((rc = add_owned(l, ".", rs->set.public_tlds.v[i], VF_LIT_HOST, e)))
				return rc;
	return EXAI_OK;
}

void vf_lits_free(vf_lits *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nowned; i++)
		free(l->owned[i]);
	free(l->owned);
	free(l->ent);
	free(l->lit);
	free(l);
}

exai_status vf_lits_build(const vf_rules *rs, bool filtered, vf_lits **out, exai_error *e)
{
	vf_lits *l = calloc(1, sizeof(*l));
	exai_status rc;

	*out = NULL;
	if (!l)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = add_rules(l, rs, filtered, e)) || (rc = add_net(l, rs, filtered, e)) ||
	    (rc = index_all(l, e))) {
		vf_lits_free(l);
		return rc;
	}
	*out = l;
	return EXAI_OK;
}

exai_status vf_lits_build_raw(const char *const *lits, const uint8_t *icase, size_t n,
			      vf_lits **out, exai_error *e)
{
	vf_lits *l = calloc(1, sizeof(*l));
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (!l)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++)
		rc = add(l, lits[i], VF_LIT_RULE, (uint32_t)i, icase && icase[i], e);
	if (rc || (rc = index_all(l, e))) {
		vf_lits_free(l);
		return rc;
	}
	*out = l;
	return EXAI_OK;
}

bool vf_lit_eq(const vf_lit *l, const uint8_t *p)
{
	if (!l->icase)
		return memcmp(p, l->s, l->len) == 0;
	for (uint32_t i = 0; i < l->len; i++)
		if (tolower(p[i]) != tolower((unsigned char)l->s[i]))
			return false;
	return true;
}
