/* See report_sample.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_sample.h"
#include "testutil.h"

vf_report *sample(void)
{
	exai_error e;
	vf_report *r = vf_report_new("scan");
	vf_finding a = {.rule_id = "net.url.public",
			.severity = VF_SEV_MEDIUM,
			.path = "tree/app.py",
			.line = 3,
			.column = 9,
			.evidence = "https://example.com/x",
			.message = "public URL",
			.hint = "use a local mirror"};
	vf_finding b = {.rule_id = "elf.net.imports",
			.severity = VF_SEV_INFO,
			.path = "img.tar!blobs/sha256/ab!usr/bin/x y",
			.offset = 4096,
			.evidence = "connect, socket",
			.message = "imports network functions"};
	vf_finding c = {.rule_id = "secret.aws.key",
			.severity = VF_SEV_CRITICAL,
			.path = "tree/env",
			.line = 1,
			.column = 1,
			.evidence = "AKIA************MPLE",
			.message = "AWS access key id",
			.hint = "remove it",
			.suppressed = true,
			.suppress_reason = "test key <documented>"};

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(vf_report_rule(r, "net.url.public", VF_SEV_MEDIUM, "public URLs", &e),
			 EXAI_OK);
	ck_assert_int_eq(vf_report_rule(r, "k8s.image.latest", VF_SEV_HIGH, "latest tag", &e),
			 EXAI_OK);
	ck_assert_int_eq(vf_report_add(r, &a, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_add(r, &b, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_add(r, &c, &e), EXAI_OK);
	ck_assert_int_eq(vf_report_note(r, "helm template: not run (helm not on PATH)", &e),
			 EXAI_OK);
	return r;
}

char *render(const vf_report *r, vf_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	exai_error e;

	ck_assert_ptr_nonnull(f);
	ck_assert_msg(vf_report_write(r, fmt, f, &e) == EXAI_OK, "%s", e.msg);
	fclose(f);
	return buf;
}

size_t count_str(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}
