/* libFuzzer harness: one scanned buffer with every shipped rule (verifier/scan/scan_*.c): the
 * prefilter, pattern rules and regexes, URL/IP/host parsing, the Kubernetes YAML paths
 * (textual and libyaml), archives through libarchive, ELF. The first input byte picks the
 * file name, so name-dependent rules (YAML, scripts, configs) and the context judgements
 * (scan_ctx.c: comment syntax per language, documentation, manifests) are reached too.
 *
 * The rest may carry a rules file and an allow file after the buffer, each behind the split
 * marker "\n---8<---\n": BUFFER [MARKER RULES [MARKER ALLOW]]. Then the scan runs with those
 * rules (an empty RULES part: the shipped ones) and that allow file (its suppressions, hosts,
 * CIDRs and registries), so the readers of both (scan_rules.c, scan_allow.c) are fuzzed too;
 * a rules or allow file that does not load ends the input there.
 *
 * Two builds of this file (tests/verifier_scan.cmake): fuzz_scan_buf links the engine with
 * VF_LITS_SELFCHECK (every prefilter scan also runs the scalar loop and a naive search and
 * aborts unless all agree: it checks the vector code); fuzz_scan_fast links it without, for
 * the rules and the parsers behind the prefilter (several times faster).
 * Shipped rules: $VF_FUZZ_RULES, else $EXAI_SRC/verifier/rules/default.yaml, else the file
 * next to this source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARKER "\n---8<---\n"

static vf_rules *rules(void)
{
	static vf_rules rs;
	static int state; /* 0 not loaded, 1 ok */
	char path[4096];
	const char *env = getenv("VF_FUZZ_RULES");
	exai_error e;

	if (state)
		return &rs;
	if (env)
		snprintf(path, sizeof(path), "%s", env);
	else
		fuzz_src_path("verifier/rules/default.yaml", path, sizeof(path));
	if (vf_rules_load(&rs, path, &e) || vf_rules_finish(&rs, &e)) {
		fprintf(stderr, "fuzz_scan_buf: %s\n", e.msg);
		abort();
	}
	state = 1;
	return &rs;
}

/* The shipped rules file's text, read once. */
static const char *default_text(size_t *len)
{
	static char *text;
	static size_t n;

	if (!text) {
		char path[4096];
		const char *env = getenv("VF_FUZZ_RULES");
		FILE *f;
		if (env)
			snprintf(path, sizeof(path), "%s", env);
		else
			fuzz_src_path("verifier/rules/default.yaml", path, sizeof(path));
		if (!(f = fopen(path, "rb")) || !(text = malloc(1u << 20)))
			abort();
		n = fread(text, 1, 1u << 20, f);
		fclose(f);
	}
	*len = n;
	return text;
}

/* Rules (and allow file) of the input's own: false when they do not load. */
static bool own_rules(vf_rules *rs, vf_scan_allow *allow, bool *have_allow, const uint8_t *r,
		      size_t rn, const uint8_t *a, size_t an)
{
	exai_error e;
	exai_status rc;

	memset(rs, 0, sizeof(*rs));
	if (rn) {
		rc = vf_rules_load_buf(rs, "rules.yaml", r, rn, &e);
	} else {
		size_t dn;
		const char *d = default_text(&dn);
		rc = vf_rules_load_buf(rs, "default.yaml", d, dn, &e);
	}
	if (!rc && a) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/allow.yaml", fuzz_dir());
		if (!fuzz_write(fuzz_dir(), "allow.yaml", a, an))
			abort();
		rc = vf_scan_allow_load(allow, path, &rs->set, "2026-12-01", &e);
		*have_allow = true;
	}
	if (!rc)
		rc = vf_rules_finish(rs, &e);
	if (rc && !e.msg[0])
		abort(); /* a refusal says why */
	return rc == EXAI_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
	    "a.yaml",	  "run.sh",   "app.conf",	  "x.py",      "img.tar",      "model.pkl",
	    "values.yml", "Corefile", "index.js",	  "README.md", "package.json", "x.service",
	    "NEWS",	  "ls.1",     "requirements.txt", "control"};
	vf_report *rep = NULL;
	vf_rules own, *rs = NULL;
	vf_scan_allow allow;
	bool have_own = false, have_allow = false;
	const uint8_t *body = size ? data + 1 : data, *cut, *r = NULL, *a = NULL;
	size_t n = size ? size - 1 : 0, rn = 0, an = 0;
	vf_scan s;
	vf_buf b = {0};
	exai_error e;

	memset(&allow, 0, sizeof(allow));
	if ((cut = memmem(body, n, MARKER, strlen(MARKER)))) {
		r = cut + strlen(MARKER);
		rn = (size_t)(body + n - r);
		n = (size_t)(cut - body);
		if ((cut = memmem(r, rn, MARKER, strlen(MARKER)))) {
			a = cut + strlen(MARKER);
			an = (size_t)(r + rn - a);
			rn = (size_t)(cut - r);
		}
		have_own = true;
		if (!own_rules(&own, &allow, &have_allow, r, rn, a, an))
			goto out;
		rs = &own;
	} else {
		rs = rules();
	}
	if (!(rep = vf_report_new("scan")))
		goto out;
	if (vf_scan_init(&s, rs, have_allow ? &allow : NULL, rep, &e) != EXAI_OK)
		abort();
	b.base = size ? names[data[0] % 16] : "empty";
	b.path = b.rel = b.base;
	b.p = body;
	b.n = n;
	vf_scan_buffer(&s, &b);
	if (vf_scan_finish(&s, &e) != EXAI_OK && e.code != EXAI_ENOMEM)
		abort();
	vf_scan_fini(&s);
out:
	vf_report_free(rep);
	if (have_allow)
		vf_scan_allow_free(&allow);
	if (have_own)
		vf_rules_free(&own);
	fuzz_dir_done();
	return 0;
}
