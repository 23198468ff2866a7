/* Check suite for the duplicate cache (scan_dup.c): copies are replayed, not scanned, and the
 * report is the one scanning every copy gives, Kubernetes namespaces included; a copy with
 * other bytes and a file whose name no other file has are never replayed. The byte-for-byte
 * comparison of whole reports in every format is tests/cli/verifier_scan_dedup.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "scan.h"
#include "scan_dup.h"
#include "rules_fixture.h"
#include "testutil.h"

static void put(const char *dir, const char *sub, const char *name, const char *text)
{
	char d[4200];

	snprintf(d, sizeof(d), "%s/%s", dir, sub);
	mkdir(d, 0755);
	free(tu_write(d, name, text, strlen(text)));
}

/* Scans @paths (one worker, with or without the cache) into the JSON report *@json
 * (malloc'ed); the cache's counters in @replayed, @kept. */
static void scan_paths(char **paths, size_t n, bool cache, char **json, uint64_t *replayed,
		       uint64_t *kept)
{
	vf_report *r = vf_report_new("scan");
	size_t len = 0;
	FILE *out;
	vf_scan s;
	exai_error e;

	ck_assert_ptr_nonnull(r);
	ck_assert_msg(vf_scan_init(&s, load_default(), NULL, r, &e) == EXAI_OK, "%s", e.msg);
	s.threads = 1;
	if (!cache) {
		vf_dup_free(s.dup);
		s.dup = NULL;
	}
	ck_assert_msg(vf_scan_paths(&s, paths, n, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_msg(vf_scan_finish(&s, &e) == EXAI_OK, "%s", e.msg);
	vf_dup_stats(s.dup, replayed, kept);
	vf_report_sort(r);
	ck_assert_ptr_nonnull(out = open_memstream(json, &len));
	ck_assert_msg(vf_report_write(r, VF_FMT_JSON, out, &e) == EXAI_OK, "%s", e.msg);
	fclose(out);
	vf_scan_fini(&s);
	vf_report_free(r);
}

static void scan_dir(const char *dir, bool cache, char **json, uint64_t *replayed, uint64_t *kept)
{
	char *paths[1] = {(char *)dir};

	scan_paths(paths, 1, cache, json, replayed, kept);
}

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

#define PAD "// ................................................................\n"

START_TEST(copies_are_replayed_at_their_own_location)
{
	char *dir = tu_tempdir(), *cached = NULL, *fresh = NULL;
	uint64_t replayed, kept;
	const char *a = "fetch(\"https://api.vendor-one.zz/v1\");\n";

	put(dir, "p1", "a.js", a);
	put(dir, "p2", "a.js", a);
	put(dir, "p3", "a.js", a);
	put(dir, "p1", "b.js", "fetch(\"https://api.vendor-aa.zz/v1\");\n");
	put(dir, "p2", "b.js", "fetch(\"https://api.vendor-ab.zz/v1\");\n"); /* one byte apart */
	put(dir, "p1", "only.js", a);					     /* a name of its own */
	/* The same first and last 64 bytes (what the table files by), a byte apart between. */
	put(dir, "p1", "mid.js", PAD "fetch(\"https://api.vendor-ma.zz/v1\");\n" PAD);
	put(dir, "p2", "mid.js", PAD "fetch(\"https://api.vendor-mb.zz/v1\");\n" PAD);
	scan_dir(dir, true, &cached, &replayed, &kept);
	ck_assert_uint_eq(replayed, 2); /* p2/a.js, p3/a.js */
	ck_assert_uint_eq(kept, 5);	/* a.js, both b.js and mid.js; only.js is not looked at */
	scan_dir(dir, false, &fresh, &replayed, &kept);
	ck_assert_uint_eq(replayed + kept, 0);
	ck_assert_str_eq(cached, fresh);
	for (int i = 1; i <= 3; i++) {
		char at[64];
		snprintf(at, sizeof(at), "/p%d/a.js\"", i);
		ck_assert_uint_eq(occurrences(cached, at), 2); /* path, locations[0] */
	}
	ck_assert_uint_eq(occurrences(cached, "vendor-aa.zz"), 2); /* evidence, message */
	ck_assert_uint_eq(occurrences(cached, "vendor-ab.zz"), 2);
	ck_assert_uint_eq(occurrences(cached, "vendor-ma.zz"), 2);
	ck_assert_uint_eq(occurrences(cached, "vendor-mb.zz"), 2);
	ck_assert_uint_eq(occurrences(cached, "vendor-one.zz"), 8); /* 4 files */
	free(cached);
	free(fresh);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(kubernetes_namespaces_are_replayed_too)
{
	char *dir = tu_tempdir(), *cached = NULL, *fresh = NULL, z[4200], a[4200], want[4400];
	char *paths[2] = {z, a};
	uint64_t replayed, kept;
	const char *pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\n"
			  "spec:\n  containers:\n    - name: web\n      image: nginx:latest\n";
	const char *deny = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			   "metadata: {name: deny, namespace: other}\n"
			   "spec:\n  podSelector: {}\n  policyTypes: [Egress]\n";
	const char *no_deny = "\"rule_id\": \"k8s.netpol.no-default-deny-egress\"";

	/* z/ is scanned first (PATH order): its pod.yaml is the one scanned, a/pod.yaml the
	 * copy, which the namespace check must name (the first location in path order). */
	put(dir, "z", "pod.yaml", pod);
	put(dir, "a", "pod.yaml", pod);
	put(dir, "z", "deny.yaml", deny);
	put(dir, "a", "deny.yaml", deny);
	snprintf(z, sizeof(z), "%s/z", dir);
	snprintf(a, sizeof(a), "%s/a", dir);
	scan_paths(paths, 2, true, &cached, &replayed, &kept);
	ck_assert_uint_eq(replayed, 2);
	ck_assert_uint_eq(kept, 2);
	scan_paths(paths, 2, false, &fresh, &replayed, &kept);
	ck_assert_str_eq(cached, fresh);
	ck_assert_uint_eq(occurrences(cached, no_deny), 1); /* shop; other has its policy */
	snprintf(want, sizeof(want), "%s, \"severity\": \"high\", \"path\": \"%s/pod.yaml\"",
		 no_deny, a);
	ck_assert_msg(strstr(cached, want), "%s", strstr(cached, no_deny));
	free(cached);
	free(fresh);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scan_dup");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, copies_are_replayed_at_their_own_location);
	tcase_add_test(tc, kubernetes_namespaces_are_replayed_too);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
