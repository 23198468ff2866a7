/*
 * fuzz_closure: libFuzzer harness for airgap-verifier bundle's image closure
 * (verifier/bundle/bundlemode_closure.c): the YAML image-reference walker (parsed, and line by line
 * for YAML libyaml refuses) and the OCI layout / `docker save` reader (index.json,
 * manifest.json, nested image indexes, manifests naming config and layer blobs), then the
 * closure verdict.
 *
 * Input: records separated by "\n=====\n". A record is a name line, then its bytes:
 *   NAME.yaml / .yml / .tpl        a chart or manifest file: vf_closure_yaml
 *   [ARCHIVE|]NAME                 an entry of image archive ARCHIVE (default img.tar):
 *                                  vf_closure_image_file; a leading '!' in NAME passes no
 *                                  bytes (a streamed layer)
 * So that digests can match, which random bytes never do: a blob name ending in
 * "blobs/sha256/@" is named by the SHA-256 of its bytes, and "@0".."@9" in any record's bytes
 * stands for the hex digest of the 1st..10th such blob so far.
 *
 * Checked: no crash, leak or undefined behaviour; vf_closure_check succeeds (or runs out of
 * memory) and every finding it adds names a rule. FUZZ_PRINT=1 prints the findings (to see
 * what a seed reaches).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundlemode.h"
#include "scan.h"
#include "exai/hash.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP	 "\n=====\n"
#define MAX_BLOB 10

static vf_rules *rules(void)
{
	static vf_rules rs;
	static int done;
	char path[4096];
	exai_error e;

	if (!done) {
		fuzz_src_path("verifier/rules/default.yaml", path, sizeof(path));
		if (vf_rules_load(&rs, path, &e) || vf_rules_finish(&rs, &e)) {
			fprintf(stderr, "fuzz_closure: %s\n", e.msg);
			abort();
		}
		done = 1;
	}
	return &rs;
}

/* @p with "@k" replaced by the hex of blob k (when there is one), malloc'ed into *out. */
static bool substitute(const uint8_t *p, size_t n, char hex[][EXAI_SHA256_HEX], unsigned nhex,
		       uint8_t **out, size_t *on)
{
	uint8_t *o = malloc(n * 32 + 1);
	size_t k = 0;

	if (!o)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '@' && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9' &&
		    (unsigned)(p[i + 1] - '0') < nhex) {
			memcpy(o + k, hex[p[i + 1] - '0'], 64);
			k += 64;
			i++;
			continue;
		}
		o[k++] = p[i];
	}
	*out = o;
	*on = k;
	return true;
}

static bool ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

static void one_record(vf_closure *cl, vf_scan *s, const uint8_t *p, size_t n,
		       char hex[][EXAI_SHA256_HEX], unsigned *nhex)
{
	const uint8_t *nl = memchr(p, '\n', n);
	char name[512], archive[512] = "img.tar", *ent = name, *bar;
	size_t nlen = nl ? (size_t)(nl - p) : n, bn;
	uint8_t *body;
	bool stream = false;

	if (nlen >= sizeof(name) - 64 || memchr(p, '\0', nlen))
		return;
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	p += nl ? nlen + 1 : nlen;
	n -= nl ? nlen + 1 : nlen;
	if (!substitute(p, n, hex, *nhex, &body, &bn))
		return;
	if (ends_with(name, ".yaml") || ends_with(name, ".yml") || ends_with(name, ".tpl")) {
		vf_buf b = {.path = name, .rel = name, .base = name, .p = body, .n = bn};
		vf_closure_yaml(cl, s, &b);
		goto out;
	}
	if ((bar = strchr(name, '|'))) {
		*bar = '\0';
		snprintf(archive, sizeof(archive), "%s", name);
		ent = bar + 1;
	}
	if (*ent == '!') {
		stream = true;
		ent++;
	}
	if (ends_with(ent, "blobs/sha256/@")) {
		uint8_t md[EXAI_SHA256_LEN];
		exai_error e;
		char *at = ent + strlen(ent) - 1;
		if (exai_sha256_buf(body, bn, md, &e))
			goto out;
		exai_hex_encode(md, sizeof(md), at); /* room: name has 64 bytes spare */
		if (*nhex < MAX_BLOB)
			memcpy(hex[(*nhex)++], at, EXAI_SHA256_HEX);
	}
	vf_closure_image_file(cl, s, archive, ent, stream ? NULL : body, stream ? 0 : bn);
out:
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char hex[MAX_BLOB][EXAI_SHA256_HEX];
	unsigned nhex = 0;
	static vf_scan s;
	static int have_scan;
	vf_report *rep = vf_report_new("bundle");
	vf_closure *cl = NULL;
	const uint8_t *p;
	size_t off = 0, n;
	exai_error e;
	exai_status rc;

	if (!rep)
		return 0;
	/* One scan state for every input (its set-up builds the Kubernetes prefilter, 7 ms):
	 * closure uses it only for its report and its failure flag, both reset here. */
	if (!have_scan && vf_scan_init(&s, rules(), NULL, rep, &e))
		abort();
	have_scan = 1;
	s.report = rep;
	s.fatal = EXAI_OK;
	if (vf_closure_new(&cl, &e))
		abort();
	while (fuzz_next(data, size, SEP, &off, &p, &n))
		one_record(cl, &s, p, n, hex, &nhex);
	rc = vf_closure_check(cl, &s, &e);
	if (rc != EXAI_OK && rc != EXAI_ENOMEM)
		abort();
	for (size_t i = 0; i < vf_report_size(rep); i++) {
		const vf_finding *f = vf_report_get(rep, i);
		if (!f->rule_id)
			abort();
		if (getenv("FUZZ_PRINT")) /* to see what a seed reaches */
			fprintf(stderr, "%s %s:%llu %s\n", f->rule_id, f->path,
				(unsigned long long)f->line, f->evidence ? f->evidence : "");
	}
	vf_closure_free(cl);
	vf_report_free(rep);
	return 0;
}
