/*
 * scan_lit_scan: the hot loop of `scan` (see scan_lit_impl.h for the table).
 *
 * The AVX-512 VBMI loop tests 64 positions per step against exact byte classes, the AVX2 loop
 * 32 against the Teddy nibble masks; a position that passes is checked against the exact
 * bigram bitmap, then its literals are compared. The scalar loop (no AVX2, or tests) skips
 * the masks and tests the bigram bit of every position. All find exactly the same
 * occurrences: the masks only ever let through a superset.
 *
 * Occurrences are found in window order; a literal whose window is k bytes in starts k bytes
 * before it is found. To hand them out in start order, found ones wait in a small sorted list
 * until the scan is more than max_anchor bytes past their start. Nothing reads outside
 * [p, p + n): the vector loops stop 34 (66) bytes before the end and the rest is copied into
 * a zero-padded block (positions past the end are dropped; their windows cannot fit).
 */
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "scan_lit_impl.h"

typedef struct hit {
	size_t start;
	uint32_t lit;
} hit;

/* Where found occurrences go: straight to the callback, or through the ordering list. */
typedef struct sink {
	const vf_lits *l;
	vf_lit_cb cb;
	void *arg;
	hit *v; /* pending: v[head..n), sorted by (start, lit) */
	size_t head, n, cap;
	bool oom;
	hit local[64];
} sink;

static void sink_init(sink *k, const vf_lits *l, vf_lit_cb cb, void *arg)
{
	k->l = l;
	k->cb = cb;
	k->arg = arg;
	k->v = k->local;
	k->head = k->n = 0;
	k->cap = sizeof(k->local) / sizeof(*k->local);
	k->oom = false;
}

/* Hands out the pending occurrences that start before @below. */
static void sink_flush(sink *k, size_t below)
{
	while (k->head < k->n && k->v[k->head].start < below) {
		k->cb(k->arg, &k->l->lit[k->v[k->head].lit], k->v[k->head].start);
		k->head++;
	}
	if (k->head == k->n)
		k->head = k->n = 0;
}

/* Room for one more: the handed-out front is dropped first, then the list grows. Not
 * exai_grow: the first growth moves the list from the inline local[] to the heap. */
static bool sink_grow(sink *k)
{
	size_t nc = k->cap * 2;

	if (k->head) {
		memmove(k->v, k->v + k->head, (k->n - k->head) * sizeof(*k->v));
		k->n -= k->head;
		k->head = 0;
		return true;
	}
	hit *nv = k->v == k->local ? malloc(nc * sizeof(*nv)) : realloc(k->v, nc * sizeof(*nv));

	if (!nv)
		return false;
	if (k->v == k->local)
		memcpy(nv, k->local, k->n * sizeof(*nv));
	k->v = nv;
	k->cap = nc;
	return true;
}

static void sink_add(sink *k, size_t start, uint32_t lit)
{
	size_t i;

	if (k->l->max_anchor == 0) { /* found in start order already */
		k->cb(k->arg, &k->l->lit[lit], start);
		return;
	}
	if (k->n == k->cap && !sink_grow(k)) {
		k->oom = true;
		return;
	}
	for (i = k->n; i > k->head && (k->v[i - 1].start > start ||
				       (k->v[i - 1].start == start && k->v[i - 1].lit > lit));
	     i--)
		k->v[i] = k->v[i - 1];
	k->v[i] = (hit){start, lit};
	k->n++;
}

static bool sink_finish(sink *k)
{
	sink_flush(k, SIZE_MAX);
	if (k->v != k->local)
		free(k->v);
	return !k->oom;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v; /* byte j in bits 8j..8j+7: used on little-endian machines only */
}

/* The literal of @e occurs at @q, which has @avail >= e->len bytes. */
static inline bool ent_eq(const vf_lits *l, const vf_lit_ent *e, const uint8_t *q, size_t avail)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (avail >= 8) {
		if (((load64(q) | e->fold) & e->mask) != e->head)
			return false;
		return e->len <= 8 || vf_lit_eq(&l->lit[e->lit], q);
	}
#endif
	(void)avail;
	return vf_lit_eq(&l->lit[e->lit], q);
}

/* Position @i of p[0..n) (i + 1 < n) passed the bigram test: compare its literals (a 2-byte
 * literal is its own window, filed under exactly the bigrams it matches). */
static inline __attribute__((always_inline)) void verify(sink *k, const uint8_t *p, size_t n,
							 size_t i)
{
	const vf_lits *l = k->l;
	unsigned b = p[i] | p[i + 1] << 8;

	if (k->n && i >= l->max_anchor && k->v[k->head].start < i - l->max_anchor)
		sink_flush(k, i - l->max_anchor);
	for (uint32_t x = l->start[b]; x < l->start[b + 1]; x++) {
		const vf_lit_ent *e = &l->ent[x];
		size_t st;
		if (i < e->anchor)
			continue;
		st = i - e->anchor;
		if (e->len > n - st)
			continue;
		if (e->len == 2 || ent_eq(l, e, p + st, n - st))
			sink_add(k, st, e->lit);
	}
}

static inline bool bigram_hit(const vf_lits *l, const uint8_t *q)
{
	unsigned b = q[0] | q[1] << 8;

	return l->bits[b >> 3] >> (b & 7) & 1;
}

/* Positions i.. of p[0..n), one bigram bit each. */
static void scan_scalar(sink *k, const uint8_t *p, size_t n, size_t i)
{
	const uint8_t *bits = k->l->bits;

	for (;;) {
		while (i + 4 < n) { /* unrolled by four */
			unsigned b0 = p[i] | p[i + 1] << 8, b1 = p[i + 1] | p[i + 2] << 8;
			unsigned b2 = p[i + 2] | p[i + 3] << 8, b3 = p[i + 3] | p[i + 4] << 8;
			if ((bits[b0 >> 3] >> (b0 & 7) & 1) | (bits[b1 >> 3] >> (b1 & 7) & 1) |
			    (bits[b2 >> 3] >> (b2 & 7) & 1) | (bits[b3 >> 3] >> (b3 & 7) & 1))
				break;
			i += 4;
		}
		if (i + 1 >= n)
			return;
		if (bigram_hit(k->l, p + i))
			verify(k, p, n, i);
		i++;
	}
}

/* Eight bytes at a time: a byte of x ^ c is zero exactly where x has c. */
static size_t count_byte_scalar(const uint8_t *p, size_t n, uint8_t c)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, rep = 0x0101010101010101ull * c;
	size_t i = 0, cnt = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, t;
		memcpy(&x, p + i, 8);
		t = x ^ rep;
		cnt += (size_t)__builtin_popcountll(~(((t & lo7) + lo7) | t | lo7));
	}
	for (; i < n; i++)
		cnt += p[i] == c;
	return cnt;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* The Teddy masks of one set, broadcast to both 128-bit lanes (pshufb works per lane). */
typedef struct tset {
	__m256i m[3][2];
} tset;

/* The window at q + i may be in one of the 8 buckets of @t (per byte: nonzero). */
AVX2 static inline __attribute__((always_inline)) __m256i teddy_set(const tset *t, __m256i lo0,
								    __m256i hi0, __m256i lo1,
								    __m256i hi1, __m256i lo2,
								    __m256i hi2)
{
	__m256i a = _mm256_and_si256(_mm256_shuffle_epi8(t->m[0][0], lo0),
				     _mm256_shuffle_epi8(t->m[0][1], hi0));
	__m256i b = _mm256_and_si256(_mm256_shuffle_epi8(t->m[1][0], lo1),
				     _mm256_shuffle_epi8(t->m[1][1], hi1));
	__m256i c = _mm256_and_si256(_mm256_shuffle_epi8(t->m[2][0], lo2),
				     _mm256_shuffle_epi8(t->m[2][1], hi2));

	return _mm256_and_si256(_mm256_and_si256(a, b), c);
}

/* Bit i: the window at q + i may be in some bucket (q[0..33] readable). */
AVX2 static inline __attribute__((always_inline)) uint32_t teddy32(const tset *t, unsigned nsets,
								   const uint8_t *q)
{
	const __m256i nib = _mm256_set1_epi8(0x0f);
	__m256i v0 = _mm256_loadu_si256((const __m256i *)q);
	__m256i v1 = _mm256_loadu_si256((const __m256i *)(q + 1));
	__m256i v2 = _mm256_loadu_si256((const __m256i *)(q + 2));
	__m256i lo0 = _mm256_and_si256(v0, nib),
		hi0 = _mm256_and_si256(_mm256_srli_epi16(v0, 4), nib);
	__m256i lo1 = _mm256_and_si256(v1, nib),
		hi1 = _mm256_and_si256(_mm256_srli_epi16(v1, 4), nib);
	__m256i lo2 = _mm256_and_si256(v2, nib),
		hi2 = _mm256_and_si256(_mm256_srli_epi16(v2, 4), nib);
	__m256i acc = teddy_set(&t[0], lo0, hi0, lo1, hi1, lo2, hi2);

	if (nsets > 1)
		acc = _mm256_or_si256(acc, teddy_set(&t[1], lo0, hi0, lo1, hi1, lo2, hi2));
	if (nsets > 2)
		acc = _mm256_or_si256(acc, teddy_set(&t[2], lo0, hi0, lo1, hi1, lo2, hi2));
	return ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(acc, _mm256_setzero_si256()));
}

/* Candidates of one step: positions base + bit. */
static inline __attribute__((always_inline)) void candidates(sink *k, const uint8_t *p, size_t n,
							     size_t base, uint32_t m)
{
	while (m) {
		size_t pos = base + (size_t)__builtin_ctz(m);
		m &= m - 1;
		if (bigram_hit(k->l, p + pos))
			verify(k, p, n, pos);
	}
}

AVX2 static inline __attribute__((always_inline)) void scan_avx2_n(sink *k, const uint8_t *p,
								   size_t n, unsigned nsets)
{
	tset t[VF_LIT_SETS_MAX];
	uint8_t tail[64];
	size_t i = 0;

	for (unsigned s = 0; s < nsets; s++)
		for (int j = 0; j < 3; j++)
			for (int h = 0; h < 2; h++)
				t[s].m[j][h] = _mm256_broadcastsi128_si256(
				    _mm_loadu_si128((const __m128i *)k->l->nib[s][j][h]));
	for (; i + 34 <= n; i += 32)
		candidates(k, p, n, i, teddy32(t, nsets, p + i));
	/* The last n - i <= 33 bytes: positions i .. n - 2 (a window needs two bytes). */
	if (i + 1 < n) {
		uint32_t m;
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p + i, n - i);
		m = teddy32(t, nsets, tail);
		if (n - 1 - i < 32)
			m &= (1u << (n - 1 - i)) - 1;
		candidates(k, p, n, i, m);
	}
}

AVX2 static void scan_avx2_1(sink *k, const uint8_t *p, size_t n)
{
	scan_avx2_n(k, p, n, 1);
}

AVX2 static void scan_avx2_2(sink *k, const uint8_t *p, size_t n)
{
	scan_avx2_n(k, p, n, 2);
}

AVX2 static void scan_avx2_3(sink *k, const uint8_t *p, size_t n)
{
	scan_avx2_n(k, p, n, 3);
}

/* What this CPU can do: bit 1 AVX2, bit 2 AVX-512 VBMI (with F and BW). */
static int cpu_caps(void)
{
	static int state; /* 0 unknown, else caps | 1 */
	int s = __atomic_load_n(&state, __ATOMIC_RELAXED);

	if (!s) {
		__builtin_cpu_init();
		s = 1;
		if (__builtin_cpu_supports("avx2"))
			s |= 2;
		if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vbmi"))
			s |= 4;
		__atomic_store_n(&state, s, __ATOMIC_RELAXED);
	}
	return s;
}

AVX2 static size_t count_byte_avx2(const uint8_t *p, size_t n, uint8_t c)
{
	const __m256i rep = _mm256_set1_epi8((char)c);
	size_t i = 0, cnt = 0;

	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
		cnt += (size_t)__builtin_popcount(
		    (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, rep)));
	}
	return cnt + count_byte_scalar(p + i, n - i, c);
}

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vbmi")))

/* One set's exact class tables: [window byte][ASCII 0-63, 64-127]. */
typedef struct xset {
	__m512i c[3][2];
	__m512i any2;
} xset;

/* Bit i: the window at q + i may be in some bucket (q[0..65] readable). A non-ASCII byte is
 * in no class (maskz), except after a 2-byte window (blended to any2). */
AVX512 static inline __attribute__((always_inline)) uint64_t vbmi64(const xset *t, unsigned nsets,
								    const uint8_t *q)
{
	__m512i v0 = _mm512_loadu_si512(q), v1 = _mm512_loadu_si512(q + 1);
	__m512i v2 = _mm512_loadu_si512(q + 2), acc = _mm512_setzero_si512();
	__mmask64 a0 = ~_mm512_movepi8_mask(v0), a1 = ~_mm512_movepi8_mask(v1);
	__mmask64 w2 = _mm512_movepi8_mask(v2);

	for (unsigned s = 0; s < nsets; s++) {
		__m512i x = _mm512_maskz_permutex2var_epi8(a0, t[s].c[0][0], v0, t[s].c[0][1]);
		__m512i y = _mm512_maskz_permutex2var_epi8(a1, t[s].c[1][0], v1, t[s].c[1][1]);
		__m512i z = _mm512_permutex2var_epi8(t[s].c[2][0], v2, t[s].c[2][1]);
		z = _mm512_mask_blend_epi8(w2, z, t[s].any2);
		acc = _mm512_or_si512(acc, _mm512_and_si512(_mm512_and_si512(x, y), z));
	}
	return _mm512_test_epi8_mask(acc, acc);
}

static inline __attribute__((always_inline)) void candidates64(sink *k, const uint8_t *p, size_t n,
							       size_t base, uint64_t m)
{
	while (m) {
		size_t pos = base + (size_t)__builtin_ctzll(m);
		m &= m - 1;
		if (bigram_hit(k->l, p + pos))
			verify(k, p, n, pos);
	}
}

AVX512 static inline __attribute__((always_inline)) void scan_vbmi_n(sink *k, const uint8_t *p,
								     size_t n, unsigned nsets)
{
	xset t[VF_LIT_SETS_MAX];
	uint8_t tail[128];
	size_t i = 0;

	for (unsigned s = 0; s < nsets; s++) {
		for (int j = 0; j < 3; j++)
			for (int h = 0; h < 2; h++)
				t[s].c[j][h] = _mm512_loadu_si512(k->l->ascii[s][j] + 64 * h);
		t[s].any2 = _mm512_set1_epi8((char)k->l->any2[s]);
	}
	for (; i + 66 <= n; i += 64)
		candidates64(k, p, n, i, vbmi64(t, nsets, p + i));
	/* The last n - i <= 65 bytes: positions i .. n - 2. */
	if (i + 1 < n) {
		uint64_t m;
		memset(tail, 0, sizeof(tail));
		memcpy(tail, p + i, n - i);
		m = vbmi64(t, nsets, tail);
		if (n - 1 - i < 64)
			m &= (1ull << (n - 1 - i)) - 1;
		candidates64(k, p, n, i, m);
	}
}

AVX512 static void scan_vbmi_1(sink *k, const uint8_t *p, size_t n)
{
	scan_vbmi_n(k, p, n, 1);
}

AVX512 static void scan_vbmi_2(sink *k, const uint8_t *p, size_t n)
{
	scan_vbmi_n(k, p, n, 2);
}

AVX512 static void scan_vbmi_3(sink *k, const uint8_t *p, size_t n)
{
	scan_vbmi_n(k, p, n, 3);
}

static bool impl_ok(const vf_lits *l, int impl)
{
	return impl == VF_LITS_SCALAR || (impl == VF_LITS_AVX2 && (cpu_caps() & 2)) ||
	       (impl == VF_LITS_AVX512 && (cpu_caps() & 4) && l->all_ascii);
}

/* Scans with loop @impl, which impl_ok() allows. */
static void scan_with(sink *k, int impl, const uint8_t *p, size_t n)
{
	unsigned nsets = k->l->nsets;

	if (impl == VF_LITS_AVX512)
		(nsets == 1 ? scan_vbmi_1 : nsets == 2 ? scan_vbmi_2 : scan_vbmi_3)(k, p, n);
	else if (impl == VF_LITS_AVX2)
		(nsets == 1 ? scan_avx2_1 : nsets == 2 ? scan_avx2_2 : scan_avx2_3)(k, p, n);
	else
		scan_scalar(k, p, n, 0);
}

size_t vf_count_byte(const uint8_t *p, size_t n, uint8_t c)
{
	return (cpu_caps() & 2) ? count_byte_avx2(p, n, c) : count_byte_scalar(p, n, c);
}
#else
static bool impl_ok(const vf_lits *l, int impl)
{
	(void)l;
	return impl == VF_LITS_SCALAR;
}

static void scan_with(sink *k, int impl, const uint8_t *p, size_t n)
{
	(void)impl;
	scan_scalar(k, p, n, 0);
}

size_t vf_count_byte(const uint8_t *p, size_t n, uint8_t c)
{
	return count_byte_scalar(p, n, c);
}
#endif

int vf_lits_scan_using(const vf_lits *l, int impl, const uint8_t *p, size_t n, vf_lit_cb cb,
		       void *arg)
{
	sink k;

	if (!impl_ok(l, impl))
		return -1;
	if (n < 2 || l->nsets == 0)
		return 1;
	sink_init(&k, l, cb, arg);
	scan_with(&k, impl, p, n);
	return sink_finish(&k) ? 1 : 0;
}

bool vf_lits_scan_scalar(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg)
{
	return vf_lits_scan_using(l, VF_LITS_SCALAR, p, n, cb, arg) == 1;
}

#ifdef VF_LITS_SELFCHECK
/* Fuzzing builds: every scan also runs every loop this CPU has and a naive search, and aborts
 * unless all hand out the same occurrences in the same order. */
typedef struct rec {
	hit *v;
	size_t n, cap;
	const vf_lits *l;
} rec;

static void rec_cb(void *arg, const vf_lit *lt, size_t pos)
{
	rec *r = arg;

	if (EXAI_GROW(&r->v, &r->cap, r->n, 1, EXAI_GROW_NOCAP, NULL))
		abort();
	r->v[r->n++] = (hit){pos, (uint32_t)(lt - r->l->lit)};
}

static bool rec_same(const rec *a, const rec *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].start != b->v[i].start || a->v[i].lit != b->v[i].lit)
			return false;
	return true;
}

bool vf_lits_scan(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg)
{
	rec naive = {.l = l};
	bool ok = true;

	for (size_t i = 0; n >= 2 && i < n; i++)
		for (size_t x = 0; x < l->n; x++)
			if (l->lit[x].len <= n - i && vf_lit_eq(&l->lit[x], p + i))
				rec_cb(&naive, &l->lit[x], i);
	for (int impl = VF_LITS_SCALAR; impl <= VF_LITS_AVX512; impl++) {
		rec r = {.l = l};
		int rc = vf_lits_scan_using(l, impl, p, n, rec_cb, &r);
		if (rc == 0)
			ok = false;
		else if (rc == 1 && !rec_same(&r, &naive))
			abort();
		free(r.v);
	}
	for (size_t i = 0; i < naive.n; i++)
		cb(arg, &l->lit[naive.v[i].lit], naive.v[i].start);
	free(naive.v);
	return ok;
}
#else
/* The best loop this CPU and table allow. */
bool vf_lits_scan(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg)
{
	sink k;
	int impl = impl_ok(l, VF_LITS_AVX512) ? VF_LITS_AVX512
		   : impl_ok(l, VF_LITS_AVX2) ? VF_LITS_AVX2
					      : VF_LITS_SCALAR;

	if (n < 2 || l->nsets == 0)
		return true;
	sink_init(&k, l, cb, arg);
	scan_with(&k, impl, p, n);
	return sink_finish(&k);
}
#endif
