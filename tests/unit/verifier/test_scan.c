/* Check suite for the scan modules: address classification, the literal prefilter against a
 * naive search, the ELF reader on good and hostile input, image references, rules loading. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exai/yaml.h"
#include "scan.h"
#include "scan_lit.h"
#include "rules_fixture.h"
#include "testutil.h"

START_TEST(local_addresses_and_names)
{
	const vf_settings *st = &load_default()->set;
	const char *local[] = {"127.0.0.1",
			       "10.1.2.3",
			       "172.31.255.255",
			       "192.168.0.1",
			       "169.254.1.1",
			       "::1",
			       "fe80::1",
			       "fd12::5",
			       "localhost",
			       "db",
			       "a.svc.cluster.local",
			       "reg.internal",
			       "x.local",
			       "example.com",
			       "www.example.org",
			       "host.invalid",
			       "0.0.0.0",
			       "A.Internal."};
	const char *public[] = {"8.8.8.8",     "172.32.0.1",	 "192.169.0.1",
				"2001:db8::1", "api.openai.com", "internal.io",
				"xlocal.io",   "100.64.0.1",	 "localhost.com"};
	uint8_t a[16];

	for (size_t i = 0; i < sizeof(local) / sizeof(*local); i++)
		ck_assert_msg(vf_net_host_is_local(st, local[i], strlen(local[i])), "%s", local[i]);
	for (size_t i = 0; i < sizeof(public) / sizeof(*public); i++)
		ck_assert_msg(!vf_net_host_is_local(st, public[i], strlen(public[i])), "%s",
			      public[i]);
	ck_assert(vf_net_ip_parse("1.2.3.4", 7, a) && a[15] == 4 && a[10] == 0xff);
	ck_assert(!vf_net_ip_parse("1.2.3.256", 9, a));
	ck_assert(!vf_net_ip_parse("1.2.3", 5, a));
	ck_assert(!vf_net_ip_parse("1.2.3.4.5", 9, a));
	ck_assert(!vf_net_ip_parse("01234.1.1.1", 11, a));
}
END_TEST

START_TEST(cidr_parse_and_contain)
{
	vf_cidr c;
	uint8_t a[16];
	vf_cidrs set = {.v = &c, .n = 1};

	ck_assert_int_eq(vf_net_cidr_parse("10.0.0.0/8", &c), EXAI_OK);
	ck_assert_uint_eq(c.bits, 104);
	ck_assert(vf_net_ip_parse("10.255.0.1", 10, a) && vf_net_cidrs_contain(&set, a));
	ck_assert(vf_net_ip_parse("11.0.0.1", 8, a) && !vf_net_cidrs_contain(&set, a));
	ck_assert_int_eq(vf_net_cidr_parse("fd00::/8", &c), EXAI_OK);
	ck_assert(vf_net_ip_parse("fdff::1", 7, a) && vf_net_cidrs_contain(&set, a));
	ck_assert_int_ne(vf_net_cidr_parse("10.0.0.0/33", &c), EXAI_OK);
	ck_assert_int_ne(vf_net_cidr_parse("10.0.0.0/x", &c), EXAI_OK);
	ck_assert_int_ne(vf_net_cidr_parse("host/8", &c), EXAI_OK);
}
END_TEST

typedef struct hits {
	size_t n;
	size_t pos[4096];
	uint32_t which[4096];
} hits;

static void collect(void *arg, const vf_lit *l, size_t pos)
{
	hits *h = arg;

	ck_assert_uint_lt(h->n, 4096);
	h->pos[h->n] = pos;
	h->which[h->n++] = l->rule;
}

START_TEST(prefilter_matches_naive_search)
{
	const char *lits[] = {"sentry.io", "AKIA", "::", "://", "pip install", "Zz", "eyJ"};
	const uint8_t icase[] = {0, 0, 0, 0, 1, 0, 0};
	size_t nl = sizeof(lits) / sizeof(*lits);
	vf_lits *l = NULL;
	exai_error e;
	uint8_t buf[3000];
	unsigned seed = 7;

	ck_assert_int_eq(vf_lits_build_raw(lits, icase, nl, &l, &e), EXAI_OK);
	for (int round = 0; round < 200; round++) {
		hits *h = calloc(1, sizeof(*h));
		size_t n = (size_t)(rand_r(&seed) % sizeof(buf)), want = 0;
		for (size_t i = 0; i < n; i++) /* small alphabet: many partial matches */
			buf[i] = (uint8_t) ":/.AKIZzesntry.iopPIN lsaeyJ"[rand_r(&seed) % 28];
		for (int k = 0; k < 5 && n > 20; k++) { /* and some whole ones */
			const char *s = lits[rand_r(&seed) % nl];
			size_t at = (size_t)rand_r(&seed) % (n - strlen(s));
			memcpy(buf + at, s, strlen(s));
		}
		vf_lits_scan(l, buf, n, collect, h);
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < nl; k++) {
				size_t ln = strlen(lits[k]);
				if (i + ln > n ||
				    (icase[k] ? strncasecmp((char *)buf + i, lits[k], ln)
					      : memcmp(buf + i, lits[k], ln)))
					continue;
				bool found = false;
				for (size_t j = 0; j < h->n; j++)
					found |= h->pos[j] == i && h->which[j] == k;
				ck_assert_msg(found, "round %d: '%s' at %zu missed", round, lits[k],
					      i);
				want++;
			}
		ck_assert_uint_eq(h->n, want); /* and nothing else */
		free(h);
	}
	vf_lits_free(l);
}
END_TEST

typedef struct occ {
	size_t n, cap;
	size_t *pos;
	uint32_t *lit;
	const vf_lit *base;
} occ;

static void occ_add(occ *o, size_t pos, uint32_t lit)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 256;
		o->pos = realloc(o->pos, o->cap * sizeof(*o->pos));
		o->lit = realloc(o->lit, o->cap * sizeof(*o->lit));
		ck_assert(o->pos && o->lit);
	}
	o->pos[o->n] = pos;
	o->lit[o->n++] = lit;
}

static void occ_cb(void *arg, const vf_lit *l, size_t pos)
{
	occ_add(arg, pos, l->rule);
}

static void occ_same(const occ *got, const occ *want, const char *what, int round)
{
	ck_assert_msg(got->n == want->n, "round %d: %s found %zu occurrences, not %zu", round, what,
		      got->n, want->n);
	for (size_t i = 0; i < want->n; i++)
		ck_assert_msg(got->pos[i] == want->pos[i] && got->lit[i] == want->lit[i],
			      "round %d: %s occurrence %zu is literal %u at %zu, not %u at %zu",
			      round, what, i, got->lit[i], got->pos[i], want->lit[i], want->pos[i]);
}

/* Random literal sets (2..90 bytes, some case-insensitive, some with non-ASCII bytes, long
 * ones with their window far in, so occurrences are found out of start order) over random
 * text and noise, every buffer length around the vector block sizes: every loop this CPU
 * has (AVX-512, AVX2, scalar), the default one and a naive search report the same
 * occurrences in the same (start, literal) order. */
START_TEST(prefilter_vector_scalar_naive_agree)
{
	static const char alpha[] = "abcAB:/._-0123456789 \n\"eyJK\xc3\xa9";
	static const char *const impl_name[] = {"scalar", "AVX2", "AVX-512"};
	/* Same start, found far apart: "xx..QZ!" by its rare window 12 bytes in, "xx" at once;
	 * the first-added literal still comes first. */
	const char *tie[] = {"xxxxxxxxxxxxQZ!", "xx"};
	const uint8_t tie_icase[] = {0, 1};
	const uint8_t tie_buf[] = "..xxxxxxxxxxxxQZ!..XX";
	unsigned seed = 11;
	vf_lits *tl = NULL;
	occ to = {0};
	exai_error te;

	ck_assert_int_eq(vf_lits_build_raw(tie, tie_icase, 2, &tl, &te), EXAI_OK);
	for (int pass = VF_LITS_SCALAR; pass <= VF_LITS_AVX512 + 1; pass++) {
		to.n = 0;
		if (pass > VF_LITS_AVX512)
			ck_assert(vf_lits_scan(tl, tie_buf, sizeof(tie_buf) - 1, occ_cb, &to));
		else if (vf_lits_scan_using(tl, pass, tie_buf, sizeof(tie_buf) - 1, occ_cb, &to) <
			 0)
			continue;
		ck_assert_uint_eq(to.n, 13); /* the long one, then "xx" at 2..13 and 19 */
		ck_assert(to.pos[0] == 2 && to.lit[0] == 0 && to.pos[1] == 2 && to.lit[1] == 1);
		for (size_t i = 2; i < 12; i++)
			ck_assert(to.pos[i] == i + 1 && to.lit[i] == 1);
		ck_assert(to.pos[12] == 19 && to.lit[12] == 1);
	}
	free(to.pos);
	free(to.lit);
	vf_lits_free(tl);

	for (int round = 0; round < 300; round++) {
		size_t nl = 1 + (size_t)rand_r(&seed) % (round % 3 ? 40 : 300), n;
		char **lits = calloc(nl, sizeof(*lits));
		uint8_t *icase = calloc(nl, 1), *buf;
		vf_lits *l = NULL;
		occ fast = {0}, slow = {0}, naive = {0};
		exai_error e;

		for (size_t k = 0; k < nl; k++) {
			size_t len = 2 + (size_t)rand_r(&seed) % (rand_r(&seed) % 4 ? 6 : 88);
			lits[k] = malloc(len + 1);
			for (size_t j = 0; j < len; j++) /* ASCII only in half the rounds */
				lits[k][j] =
				    alpha[rand_r(&seed) % (sizeof(alpha) - (round % 2 ? 1 : 3))];
			lits[k][len] = '\0';
			icase[k] = rand_r(&seed) % 5 == 0;
		}
		ck_assert_int_eq(vf_lits_build_raw((const char *const *)lits, icase, nl, &l, &e),
				 EXAI_OK);
		n = round < 100 ? (size_t)round : (size_t)rand_r(&seed) % 5000;
		buf = malloc(n ? n : 1); /* exact size: ASan sees any overread */
		for (size_t i = 0; i < n; i++)
			buf[i] = rand_r(&seed) % 8
				     ? (uint8_t)alpha[rand_r(&seed) % (sizeof(alpha) - 1)]
				     : (uint8_t)rand_r(&seed);
		for (int p = 0; p < 20 && n > 100; p++) { /* planted, some upper-cased */
			const char *s = lits[(size_t)rand_r(&seed) % nl];
			size_t ln = strlen(s), at;
			if (ln >= n)
				continue;
			at = (size_t)rand_r(&seed) % (n - ln + 1);
			for (size_t j = 0; j < ln; j++)
				buf[at + j] =
				    (uint8_t)(p % 3 ? s[j] : toupper((unsigned char)s[j]));
		}
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < nl; k++) {
				size_t ln = strlen(lits[k]);
				if (i + ln <= n &&
				    (icase[k] ? strncasecmp((char *)buf + i, lits[k], ln)
					      : memcmp(buf + i, lits[k], ln)) == 0)
					occ_add(&naive, i, (uint32_t)k);
			}
		ck_assert(vf_lits_scan(l, buf, n, occ_cb, &fast));
		ck_assert(vf_lits_scan_scalar(l, buf, n, occ_cb, &slow));
		occ_same(&fast, &naive, "vf_lits_scan", round);
		occ_same(&slow, &naive, "vf_lits_scan_scalar", round);
		for (int impl = VF_LITS_SCALAR; impl <= VF_LITS_AVX512; impl++) {
			int rc;
			slow.n = 0;
			rc = vf_lits_scan_using(l, impl, buf, n, occ_cb, &slow);
			ck_assert_int_ne(rc, 0);
			if (rc == 1)
				occ_same(&slow, &naive, impl_name[impl], round);
		}
		for (size_t k = 0; k < nl; k++)
			free(lits[k]);
		free(lits);
		free(icase);
		free(buf);
		free(fast.pos);
		free(fast.lit);
		free(slow.pos);
		free(slow.lit);
		free(naive.pos);
		free(naive.lit);
		vf_lits_free(l);
	}
}
END_TEST

START_TEST(count_byte_matches_naive)
{
	unsigned seed = 5;
	uint8_t *buf = malloc(4096);

	for (int round = 0; round < 2000; round++) {
		size_t off = (size_t)rand_r(&seed) % 64, n = (size_t)rand_r(&seed) % (4096 - 64);
		size_t want = 0;
		uint8_t c = round % 2 ? '\n' : (uint8_t)rand_r(&seed);
		for (size_t i = 0; i < 4096; i++)
			buf[i] = rand_r(&seed) % 4 ? c : (uint8_t)rand_r(&seed);
		for (size_t i = 0; i < n; i++)
			want += buf[off + i] == c;
		ck_assert_uint_eq(vf_count_byte(buf + off, n, c), want);
	}
	free(buf);
}
END_TEST

static uint8_t *read_file(const char *path, size_t *n)
{
	return tu_read(path, n);
}

START_TEST(elf_reader_good_and_hostile)
{
	vf_rules *rs = load_default();
	size_t n = 0;
	uint8_t *p = read_file("/bin/sh", &n), *q;
	char *out = NULL;
	uint64_t off = 0;
	exai_error e;
	unsigned seed = 3;

	if (!p)
		return;
	ck_assert(vf_is_elf(p, n));
	ck_assert_int_eq(vf_elf_net_imports(p, n, &rs->set.network_symbols, &out, &off, &e),
			 EXAI_OK);
	free(out);
	/* every truncation and many corruptions: an error or a result, never a crash */
	q = malloc(n);
	for (size_t cut = 0; cut < 4096 && cut < n; cut += 7) {
		out = NULL;
		exai_status rc =
		    vf_elf_net_imports(p, cut, &rs->set.network_symbols, &out, &off, &e);
		ck_assert(rc == EXAI_OK || rc == EXAI_EFORMAT);
		free(out);
	}
	for (int r = 0; r < 300; r++) {
		memcpy(q, p, n);
		for (int k = 0; k < 8; k++)
			q[(size_t)rand_r(&seed) % (n < 8192 ? n : 8192)] = (uint8_t)rand_r(&seed);
		out = NULL;
		exai_status rc = vf_elf_net_imports(q, n, &rs->set.network_symbols, &out, &off, &e);
		ck_assert(rc == EXAI_OK || rc == EXAI_EFORMAT || rc == EXAI_ETOOBIG);
		free(out);
	}
	/* a header pointing the section table past the end */
	memcpy(q, p, 64);
	memset(q + 40, 0xff, 8);
	ck_assert_int_eq(vf_elf_net_imports(q, 64, &rs->set.network_symbols, &out, &off, &e),
			 EXAI_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "section headers out of bounds"));
	ck_assert_int_eq(vf_elf_net_imports((const uint8_t *)"\x7f"
							     "ELF\x09\x01\x01",
					    16, &rs->set.network_symbols, &out, &off, &e),
			 EXAI_EFORMAT);
	free(q);
	free(p);
}
END_TEST

START_TEST(rules_merge_and_validate)
{
	vf_rules rs = {0};
	exai_error e;
	const char *base = "version: 1\nrules:\n  - id: a.b\n    severity: low\n"
			   "    triggers: [xyz]\n    message: base\n";
	const char *over = "version: 1\nrules:\n  - id: a.b\n    severity: high\n";
	const char *dup = "version: 1\nrules:\n  - id: u1\n    check: net.url\n    severity: low\n"
			  "  - id: u2\n    check: net.url\n    severity: low\n";

	ck_assert_int_eq(vf_rules_load_buf(&rs, "base.yaml", base, strlen(base), &e), EXAI_OK);
	ck_assert_int_eq(vf_rules_load_buf(&rs, "over.yaml", over, strlen(over), &e), EXAI_OK);
	ck_assert_int_eq(vf_rules_finish(&rs, &e), EXAI_OK);
	ck_assert_uint_eq(rs.n, 2); /* a.b, and the built-in scan.incomplete no file declared */
	ck_assert_int_eq(rs.r[0].sev, VF_SEV_HIGH);
	ck_assert_str_eq(rs.r[0].message, "base");
	ck_assert_str_eq(rs.r[1].id, "scan.incomplete");
	ck_assert_ptr_eq(vf_rules_for(&rs, VF_CHK_INCOMPLETE), &rs.r[1]);
	vf_rules_free(&rs);
	ck_assert_int_eq(vf_rules_load_buf(&rs, "dup.yaml", dup, strlen(dup), &e), EXAI_OK);
	ck_assert_int_eq(vf_rules_finish(&rs, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "dup.yaml:6:5: rule 'u2': check 'net.url' is already rule 'u1'");
	vf_rules_free(&rs);
	ck_assert_int_eq(vf_rules_load_buf(&rs, "v.yaml", "version: 2\n", 11, &e), EXAI_EFORMAT);
	ck_assert_str_eq(e.msg, "v.yaml:1:10: 'version' must be between 1 and 1");
	vf_rules_free(&rs);
}
END_TEST

START_TEST(default_rules_cover_every_check)
{
	vf_rules *rs = load_default();

	for (unsigned c = VF_CHK_NET_URL; c < VF_CHK__COUNT; c++)
		ck_assert_msg(vf_rules_for(rs, (vf_check)c) != NULL, "no rule for check %s",
			      vf_check_name((vf_check)c));
	for (size_t i = 0; i < rs->n; i++)
		ck_assert_msg(rs->r[i].hint && rs->r[i].message && rs->r[i].description,
			      "rule %s lacks a message, hint or description", rs->r[i].id);
}
END_TEST

static bool inline_at(const char *text, uint64_t line, uint64_t off, const char *rule, char *why)
{
	vf_buf b = {
	    .path = "t", .rel = "t", .base = "t", .p = (const uint8_t *)text, .n = strlen(text)};

	return vf_inline_allow(&b, line, off, rule, why, 256);
}

/* Inline allow comments: same line, or alone on the line before; a reason is required; the
 * rule is an id or a glob; only 4 KiB around the finding are looked at. */
START_TEST(inline_allow_comments)
{
	char why[256], *big;
	const char *t = "a = 1\n"
			"# airgap-verifier:allow net.url.public mirrored on site\n"
			"u = \"https://x.zz/\"\n"
			"v = \"https://y.zz/\"  # airgap-verifier:allow net.* docs only\n"
			"w = \"https://z.zz/\"\n"
			"x = \"https://q.zz/\" /* airgap-verifier:allow net.url.public */\n";
	size_t off_u = (size_t)(strstr(t, "https://x") - t),
	       off_w = (size_t)(strstr(t, "https://z") - t);

	ck_assert(inline_at(t, 3, off_u, "net.url.public", why));
	ck_assert_str_eq(why, "mirrored on site");
	ck_assert(!inline_at(t, 3, off_u, "net.ip.public", why)); /* another rule */
	ck_assert(inline_at(t, 3, 0, "net.url.public", why));	  /* by line number alone */
	ck_assert(inline_at(t, 4, (size_t)(strstr(t, "https://y") - t), "net.ip.public", why));
	ck_assert_str_eq(why, "docs only");
	/* a trailing comment covers its own line, not the next one */
	ck_assert(!inline_at(t, 5, off_w, "net.url.public", why));
	/* no reason (only a comment closer after the rule): nothing is suppressed */
	ck_assert(!inline_at(t, 6, (size_t)(strstr(t, "https://q") - t), "net.url.public", why));
	ck_assert(!inline_at(t, 0, 0, "net.url.public", why)); /* binary findings: no line */

	/* a marker more than 4 KiB from the finding on a long line is not looked for */
	big = malloc(9000);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', 8999);
	big[8999] = '\0';
	memcpy(big, "u=1 ", 4);
	memcpy(big + 8900, " # airgap-verifier:allow net.url.public far away", 48);
	ck_assert(!inline_at(big, 1, 2, "net.url.public", why));
	ck_assert(inline_at(big, 1, 8000, "net.url.public", why));
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, local_addresses_and_names);
	tcase_add_test(tc, cidr_parse_and_contain);
	tcase_add_test(tc, prefilter_matches_naive_search);
	tcase_add_test(tc, prefilter_vector_scalar_naive_agree);
	tcase_add_test(tc, count_byte_matches_naive);
	tcase_add_test(tc, elf_reader_good_and_hostile);
	tcase_add_test(tc, rules_merge_and_validate);
	tcase_add_test(tc, default_rules_cover_every_check);
	tcase_add_test(tc, inline_allow_comments);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
