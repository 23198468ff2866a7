/* libFuzzer harness: one scanned buffer with every shipped rule (verifier/scan_*.c): the
 * prefilter, pattern rules and regexes, URL/IP/host parsing, the Kubernetes YAML paths
 * (textual and libyaml), archives through libarchive, ELF. The first input byte picks the
 * file name, so name-dependent rules (YAML, scripts, configs) are reached too.
 * Rules: $VF_FUZZ_RULES, else $EXAI_SRC/verifier/rules/default.yaml, else the relative path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vf_rules *rules(void)
{
	static vf_rules rs;
	static int state; /* 0 not loaded, 1 ok */
	char path[4096];
	const char *env = getenv("VF_FUZZ_RULES"), *src = getenv("EXAI_SRC");
	exai_error e;

	if (state)
		return &rs;
	if (env)
		snprintf(path, sizeof(path), "%s", env);
	else
		snprintf(path, sizeof(path), "%s/verifier/rules/default.yaml", src ? src : ".");
	if (vf_rules_load(&rs, path, &e) || vf_rules_finish(&rs, &e)) {
		fprintf(stderr, "fuzz_scan_buf: %s\n", e.msg);
		abort();
	}
	state = 1;
	return &rs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"a.yaml",  "run.sh",    "app.conf",	  "x.py",
					    "img.tar", "model.pkl", "values.yml", "Corefile"};
	vf_report *rep = vf_report_new("scan");
	vf_scan s;
	vf_buf b = {0};
	exai_error e;

	if (!rep)
		return 0;
	if (vf_scan_init(&s, rules(), NULL, rep, &e) != EXAI_OK)
		abort();
	b.base = size ? names[data[0] % 8] : "empty";
	b.path = b.rel = b.base;
	b.p = size ? data + 1 : data;
	b.n = size ? size - 1 : 0;
	vf_scan_buffer(&s, &b);
	if (vf_scan_finish(&s, &e) != EXAI_OK && e.code != EXAI_ENOMEM)
		abort();
	vf_scan_fini(&s);
	vf_report_free(rep);
	return 0;
}
