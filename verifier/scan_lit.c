/*
 * scan_lit: bigram-bitmap prefilter over many literals (see scan_lit.h).
 *
 * Invariants: every literal is at least 2 bytes; `start` has 65537 entries and the literals of
 * bucket b are idx[start[b] .. start[b+1]); a bit is set in `bits` iff its bucket is not empty.
 * The scan never reads outside [p, p+n).
 */
#include "scan_lit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 65536u

struct vf_lits {
	uint8_t bits[NBUCKETS / 8];
	/* Nibble tables (shufti): byte x can start an anchor iff lo1[x & 15] & hi1[x >> 4];
	 * likewise lo2/hi2 for the anchor's second byte. Supersets, never missing a byte. */
	uint8_t lo1[16], hi1[16], lo2[16], hi2[16];
	uint32_t start[NBUCKETS + 1];
	uint32_t *idx;
	vf_lit *lit;
	size_t n, cap;
	char **owned; /* strings this table allocated (".com", "0.") */
	size_t nowned;
};

/* The 768 most frequent byte pairs in a sample of Python, C headers and English text,
 * most frequent first (generated once; any reasonable sample gives a similar list). */
static const char common_pairs[] =
    "  ine \n ,  *t deonerstrene tntheteth__at i==nseffis orseenco c-- s\n#d tietskn r ;\nk_ed"
    "ar a_spe* trSSesL_ecal o _annd) ischSL\n\n_cle#dssit_t_Cioct//yprif ng (tymeto);sili)\nun"
    " fERasENta**_Sic Se(INrahavel_ceidnc/\n p rosckifro))ll/* Omamp*/ur(s.\nloNS\n/amt_il,\nge"
    " bclofopSTexRE d TPElay utfosle_CT A u /ig09pt50 l v_OOPnadi/ \t\to _AX5P_E_AScaT_elrntuou"
    " n 0paIOON m1_ac_musrt_aomg  Chi_PTRTE_il  wprodoi e9_lu I(_bu= ea_pDE_I),rsplSN_fot \\gn"
    "O_N1eeuiR_em =adOREC0xLIS_ts12InTIALRIuek)novopoESa SE. ibd_\n\t(caiATol PARocNTbl {_b 1be"
    " Lvawilt00_r_EE ulfuOSTAD_ieN_rm32NG\\\nsh_M_vt,_Re,niITze B_Dagnun_t(((imReBI_d(oumso X_T"
    "Co_N_FrrruSIr)iz: OFME2_G__nh frsuucttCSryCE()*\n D N_Vxtm ho{\nIDR  EiaThETMPe\nepubCMCO"
    "T EXc ow FRTs.oo}\nAC_e_gNETH \"ke16py hab < 2mor_sadabi Rt); PRCKrgRAcrICnfEDbomiLEe)TXs,"
    "s_HES lyGE_LspddNFwairdoaplsege.#i:\n MANLAPK GSPLip_::cid( ULL_uTOffpp*)CR gD POCAc_20X_"
    "k,AM_XivK_ }OC.hhtN RRL (SpuNUvi_ofl64MAF_IS\nimmM_ROevStcm_BNOrc_Gupx0ftFOtcpibyrvUT3_ -"
    "AGewLOUL @ld_l# bagh\n}r(udDINArd2 x)sc0\nnl28 WFIy_gs(is)r,MSm_>\ngiNCs\n*cY_bjx,ay)(_Utx"
    "VEeyn.RSov#e)OXTn)> Se51KCeq6_s(msbs &*sp PAip\n_MaTTdsl(fen,Y TY0 t\nf\nd,UNduAPc)\t Tc_H"
    "SCOBmbTyquNDsvILcuHA V0,C_EV4_KE1 CLF(oaPI(p->faIMSAGN*pODIPTLX d)ADPrIBe:(X01YP1,CHBJrpt."
    "PT(vdrUSauO G d.RLg_s/ #k whOT8_t1twNoi \ntIGp)\"\nrlLSobUEo_RYxptlEMgo\nsA_fnysp,h_r. '(t"
    "n(jetdEPvmDeA I_ExLU 310OL)_t;i)HOURPL\nvlfn\ne;GeufEFPtp(v_yr2.lvsyRP4 mut3gra,cc- eiw_av"
    "VAtpFoVaEQ25{ F (OPas:V_MICInvWAGLABIFFL*ar\ndxl/_ B_(*IEd\nuaSHRMFi19(At8T,BU(Cxam57_JEUI"
    "g)Ch_(m1RNxce/\neSRSiGOUP8 ps |LTOIEGy(d:BLH_we xOpEY";

/* A rough frequency of each byte in source code and text: lower is rarer. Only breaks ties
 * between pairs that are not in common_pairs. */
static unsigned byte_freq(unsigned char c)
{
	if (c == ' ')
		return 100;
	if (c && strchr("etaoinsr", c))
		return 45;
	if (c && strchr("hldcum\n\t", c))
		return 30;
	if (c >= 'a' && c <= 'z')
		return 15;
	if (c >= '0' && c <= '9')
		return 12;
	if (c && strchr(".,;()_\"=-:/'", c))
		return 12;
	if (c >= 'A' && c <= 'Z')
		return 6;
	if (c >= 0x21 && c < 0x7f)
		return 3;
	return 2;
}

/* How common the pair (a, b) is: common pairs score by rank, others far below. */
static unsigned long pair_score(unsigned char a, unsigned char b)
{
	size_t n = sizeof(common_pairs) - 1;

	for (size_t i = 0; i + 1 < n; i += 2)
		if ((unsigned char)common_pairs[i] == a && (unsigned char)common_pairs[i + 1] == b)
			return 100000ul * (n / 2 - i / 2);
	return byte_freq(a) * byte_freq(b);
}

static unsigned long pair_score_ci(unsigned char a, unsigned char b, bool icase)
{
	unsigned char av[2] = {a, a}, bv[2] = {b, b};
	unsigned long sum = 0;

	if (!icase)
		return pair_score(a, b);
	av[0] = (unsigned char)tolower(a);
	av[1] = (unsigned char)toupper(a);
	bv[0] = (unsigned char)tolower(b);
	bv[1] = (unsigned char)toupper(b);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++)
			if ((i == 0 || av[1] != av[0]) && (j == 0 || bv[1] != bv[0]))
				sum += pair_score(av[i], bv[j]);
	return sum;
}

/* The offset of the least common pair in @s: the literal's anchor. */
static uint32_t pick_anchor(const char *s, size_t len, bool icase)
{
	uint32_t best = 0;
	unsigned long best_score = ~0ul;

	for (size_t i = 0; i + 1 < len; i++) {
		unsigned long sc =
		    pair_score_ci((unsigned char)s[i], (unsigned char)s[i + 1], icase);
		if (sc < best_score) {
			best_score = sc;
			best = (uint32_t)i;
		}
	}
	return best;
}

static exai_status add(vf_lits *l, const char *s, vf_lit_kind kind, uint32_t rule, bool icase,
		       exai_error *e)
{
	size_t len = strlen(s);

	if (len < 2 || len > 4096)
		return exai_error_set(e, EXAI_EINVAL, "literal '%s': length must be 2..4096", s);
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		vf_lit *nv = realloc(l->lit, nc * sizeof(*nv));
		if (!nv)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		l->lit = nv;
		l->cap = nc;
	}
	l->lit[l->n++] = (vf_lit){.s = s,
				  .len = (uint32_t)len,
				  .anchor = pick_anchor(s, len, icase),
				  .rule = rule,
				  .kind = (uint8_t)kind,
				  .icase = icase};
	return EXAI_OK;
}

static exai_status add_owned(vf_lits *l, const char *prefix, const char *s, vf_lit_kind kind,
			     exai_error *e)
{
	size_t len = strlen(prefix) + strlen(s) + 1;
	char *c = malloc(len), **nv;

	if (!c)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	snprintf(c, len, "%s%s", prefix, s);
	nv = realloc(l->owned, (l->nowned + 1) * sizeof(*nv));
	if (!nv) {
		free(c);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	l->owned = nv;
	l->owned[l->nowned++] = c;
	return add(l, c, kind, 0, false, e);
}

/* The up to 4 bucket numbers of @l's anchor (case variants when icase). */
static size_t buckets_of(const vf_lit *l, uint16_t out[4])
{
	unsigned char a = (unsigned char)l->s[l->anchor], b = (unsigned char)l->s[l->anchor + 1];
	unsigned char av[2] = {a, a}, bv[2] = {b, b};
	size_t n = 0;

	if (l->icase) {
		av[0] = (unsigned char)tolower(a);
		av[1] = (unsigned char)toupper(a);
		bv[0] = (unsigned char)tolower(b);
		bv[1] = (unsigned char)toupper(b);
	}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			uint16_t v = (uint16_t)(av[i] | bv[j] << 8);
			bool dup = false;
			for (size_t k = 0; k < n; k++)
				dup |= out[k] == v;
			if (!dup)
				out[n++] = v;
		}
	return n;
}

static void first_bytes(vf_lits *l);

static exai_status index_all(vf_lits *l, exai_error *e)
{
	uint32_t *count = calloc(NBUCKETS + 1, sizeof(*count));
	size_t total = 0;
	uint16_t b[4];

	if (!count)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < l->n; i++) {
		size_t k = buckets_of(&l->lit[i], b);
		for (size_t j = 0; j < k; j++)
			count[b[j]]++;
		total += k;
	}
	l->idx = malloc((total + 1) * sizeof(*l->idx));
	if (!l->idx) {
		free(count);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	l->start[0] = 0;
	for (size_t v = 0; v < NBUCKETS; v++) {
		l->start[v + 1] = l->start[v] + count[v];
		if (count[v])
			l->bits[v >> 3] |= (uint8_t)(1u << (v & 7));
		count[v] = l->start[v]; /* now the fill cursor */
	}
	for (size_t i = 0; i < l->n; i++) {
		size_t k = buckets_of(&l->lit[i], b);
		for (size_t j = 0; j < k; j++)
			l->idx[count[b[j]]++] = (uint32_t)i;
	}
	free(count);
	first_bytes(l);
	return EXAI_OK;
}

/* Fills lo/hi so that (lo[x & 15] & hi[x >> 4]) != 0 for every byte x in @set (256 bits):
 * high nibbles with the same set of low nibbles share one of 8 bucket bits; past 8 distinct
 * sets, the closest pair is merged (a superset: more candidates, never fewer). */
static void nibble_tables(const uint8_t set[32], uint8_t lo[16], uint8_t hi[16])
{
	uint16_t mask[16], bucket[16];
	int nb = 0, of[16];

	for (int h = 0; h < 16; h++) {
		mask[h] = 0;
		for (int l = 0; l < 16; l++) {
			int x = h << 4 | l;
			if (set[x >> 3] >> (x & 7) & 1)
				mask[h] = (uint16_t)(mask[h] | 1u << l);
		}
		of[h] = -1;
		if (!mask[h])
			continue;
		for (int b = 0; b < nb; b++)
			if (bucket[b] == mask[h])
				of[h] = b;
		if (of[h] < 0) {
			bucket[nb] = mask[h];
			of[h] = nb++;
		}
	}
	while (nb > 8) { /* merge the two buckets whose union adds the fewest bits */
		int ba = 0, bb = 1, best = 99;
		for (int a = 0; a < nb; a++)
			for (int b = a + 1; b < nb; b++) {
				int cost = __builtin_popcount(bucket[a] | bucket[b]) -
					   __builtin_popcount(bucket[a] & bucket[b]);
				if (cost < best) {
					best = cost;
					ba = a;
					bb = b;
				}
			}
		bucket[ba] = (uint16_t)(bucket[ba] | bucket[bb]);
		for (int h = 0; h < 16; h++) {
			if (of[h] == bb)
				of[h] = ba;
			else if (of[h] == nb - 1)
				of[h] = bb;
		}
		bucket[bb] = bucket[nb - 1];
		nb--;
	}
	memset(lo, 0, 16);
	for (int h = 0; h < 16; h++)
		hi[h] = of[h] < 0 ? 0 : (uint8_t)(1u << of[h]);
	for (int b = 0; b < nb; b++)
		for (int l = 0; l < 16; l++)
			if (bucket[b] >> l & 1)
				lo[l] = (uint8_t)(lo[l] | 1u << b);
}

static void first_bytes(vf_lits *l)
{
	uint8_t s1[32] = {0}, s2[32] = {0};

	for (unsigned v = 0; v < NBUCKETS; v++)
		if (l->bits[v >> 3] >> (v & 7) & 1) {
			s1[(v & 0xff) >> 3] = (uint8_t)(s1[(v & 0xff) >> 3] | 1u << (v & 7));
			s2[(v >> 8) >> 3] = (uint8_t)(s2[(v >> 8) >> 3] | 1u << ((v >> 8) & 7));
		}
	nibble_tables(s1, l->lo1, l->hi1);
	nibble_tables(s2, l->lo2, l->hi2);
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
	free(l->idx);
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

static bool lit_eq(const vf_lit *l, const uint8_t *p)
{
	if (!l->icase)
		return memcmp(p, l->s, l->len) == 0;
	for (uint32_t i = 0; i < l->len; i++)
		if (tolower(p[i]) != tolower((unsigned char)l->s[i]))
			return false;
	return true;
}

static void verify(const vf_lits *l, const uint8_t *p, size_t n, size_t i, vf_lit_cb cb, void *arg)
{
	uint16_t b = (uint16_t)(p[i] | p[i + 1] << 8);

	for (uint32_t k = l->start[b]; k < l->start[b + 1]; k++) {
		const vf_lit *lt = &l->lit[l->idx[k]];
		size_t st;
		if (i < lt->anchor)
			continue;
		st = i - lt->anchor;
		if (lt->len > n - st)
			continue;
		if (lit_eq(lt, p + st))
			cb(arg, lt, st);
	}
}

static void scan_scalar(const vf_lits *l, const uint8_t *p, size_t n, size_t i, vf_lit_cb cb,
			void *arg)
{
	const uint8_t *bits = l->bits;

	for (;;) {
		/* One bit test per byte, unrolled by four. */
		while (i + 4 < n) {
			unsigned b0 = p[i] | p[i + 1] << 8, b1 = p[i + 1] | p[i + 2] << 8;
			unsigned b2 = p[i + 2] | p[i + 3] << 8, b3 = p[i + 3] | p[i + 4] << 8;
			if ((bits[b0 >> 3] >> (b0 & 7) & 1) | (bits[b1 >> 3] >> (b1 & 7) & 1) |
			    (bits[b2 >> 3] >> (b2 & 7) & 1) | (bits[b3 >> 3] >> (b3 & 7) & 1))
				break;
			i += 4;
		}
		if (i + 1 >= n)
			return;
		{
			unsigned b = p[i] | p[i + 1] << 8;
			if (bits[b >> 3] >> (b & 7) & 1)
				verify(l, p, n, i, cb, arg);
		}
		i++;
	}
}

#if defined(__x86_64__)
#include <immintrin.h>

/* 16 positions at a time: a position is a candidate when its byte can start an anchor and the
 * next byte can end one (nibble tables), then the exact bigram bit decides. */
__attribute__((target("ssse3"))) static size_t scan_ssse3(const vf_lits *l, const uint8_t *p,
							  size_t n, vf_lit_cb cb, void *arg)
{
	const __m128i lo1 = _mm_loadu_si128((const __m128i *)l->lo1);
	const __m128i hi1 = _mm_loadu_si128((const __m128i *)l->hi1);
	const __m128i lo2 = _mm_loadu_si128((const __m128i *)l->lo2);
	const __m128i hi2 = _mm_loadu_si128((const __m128i *)l->hi2);
	const __m128i nib = _mm_set1_epi8(0x0f), zero = _mm_setzero_si128();
	size_t i = 0;

	for (; i + 17 <= n; i += 16) {
		__m128i v0 = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i v1 = _mm_loadu_si128((const __m128i *)(p + i + 1));
		__m128i a =
		    _mm_and_si128(_mm_shuffle_epi8(lo1, _mm_and_si128(v0, nib)),
				  _mm_shuffle_epi8(hi1, _mm_and_si128(_mm_srli_epi16(v0, 4), nib)));
		__m128i b =
		    _mm_and_si128(_mm_shuffle_epi8(lo2, _mm_and_si128(v1, nib)),
				  _mm_shuffle_epi8(hi2, _mm_and_si128(_mm_srli_epi16(v1, 4), nib)));
		unsigned none = (unsigned)_mm_movemask_epi8(
		    _mm_or_si128(_mm_cmpeq_epi8(a, zero), _mm_cmpeq_epi8(b, zero)));
		unsigned cand = ~none & 0xffffu;
		while (cand) {
			size_t pos = i + (size_t)__builtin_ctz(cand);
			unsigned bg = p[pos] | p[pos + 1] << 8;
			if (l->bits[bg >> 3] >> (bg & 7) & 1)
				verify(l, p, n, pos, cb, arg);
			cand &= cand - 1;
		}
	}
	return i;
}
#endif

void vf_lits_scan(const vf_lits *l, const uint8_t *p, size_t n, vf_lit_cb cb, void *arg)
{
	size_t i = 0;

	if (n < 2)
		return;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("ssse3"))
		i = scan_ssse3(l, p, n, cb, arg);
#endif
	scan_scalar(l, p, n, i, cb, arg);
}
