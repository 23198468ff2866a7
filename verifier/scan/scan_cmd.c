/*
 * scan_cmd: `airgap-verifier scan` front end: options, the default rules file next to the
 * binary, report output. The only code of the scan mode that prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "exai/file.h"
#include "exai/text.h"
#include "exai/yaml.h"
#include "scan_allow.h"
#include "scan_baseline.h"
#include "scan_group.h"
#include "scan_helm.h"
#include "scan_rules.h"
#include "scan_walk.h"

#define MAX_RULE_FILES	  32
#define VF_GROUP_LOCS	  5 /* locations a grouped finding lists */
#define VF_GROUP_LOCS_STR "5"

typedef struct opts {
	char **paths;
	size_t npaths;
	const char *rules[MAX_RULE_FILES];
	size_t nrules;
	bool no_default;
	const char *allow;
	vf_format fmt;
	const char *output;
	vf_severity fail_on;
	bool fail_never;
	unsigned jobs;
	bool no_helm;
	bool no_group;
	const char *baseline, *write_baseline;
} opts;

static void usage(FILE *out)
{
	fputs("usage: airgap-verifier scan PATH... [--rules FILE] [--allow FILE]\n"
	      "                            [--format text|json|junit|sarif] [--output FILE]\n"
	      "                            [--fail-on info|low|medium|high|critical|none]\n"
	      "                            [--no-default-rules] [--no-helm] [--no-group]\n"
	      "                            [--baseline FILE] [--write-baseline FILE]\n"
	      "                            [--jobs N] [--json]\n"
	      "\n"
	      "PATH is a file, a directory, or an archive: tar (OCI, docker-save: layers too),\n"
	      "gzip/zstd/xz, zip, 7z.\n"
	      "--rules adds a rules file to the shipped defaults (same id: fields override).\n"
	      "--allow names the allow file (local hosts/CIDRs/registries, suppressions).\n"
	      "--fail-on: lowest severity that fails the scan (default: medium).\n"
	      "Identical evidence (rule and match) within one package root is one finding with\n"
	      "a count and its first " VF_GROUP_LOCS_STR
	      " locations; --no-group lists every location.\n"
	      "An 'airgap-verifier:allow RULE reason' comment on a finding's line (or alone on\n"
	      "the line before) suppresses it; the reason is required.\n"
	      "--write-baseline FILE records the current findings (rule, path, evidence hash);\n"
	      "--baseline FILE suppresses the findings recorded there: only new ones fail.\n"
	      "A finding's severity is its rule's, ranked down by context: at most low in\n"
	      "documentation and package metadata, info in comments (secrets excepted).\n"
	      "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error.\n",
	      out);
}

static int parse(int argc, char **argv, opts *o)
{
	o->fmt = VF_FMT_TEXT;
	o->fail_on = VF_SEV_MEDIUM;
	if (!(o->paths = calloc((size_t)argc, sizeof(*o->paths))))
		return 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = !strcmp(a, "--rules") || !strcmp(a, "--allow") ||
			     !strcmp(a, "--format") || !strcmp(a, "--output") ||
			     !strcmp(a, "--fail-on") || !strcmp(a, "--jobs") ||
			     !strcmp(a, "--baseline") || !strcmp(a, "--write-baseline");
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return -1;
		}
		if (takes && !v)
			return vf_usage_error("scan", "%s needs a value", a);
		if (!strcmp(a, "--rules")) {
			if (o->nrules == MAX_RULE_FILES)
				return vf_usage_error("scan", "too many --rules files");
			o->rules[o->nrules++] = v;
		} else if (!strcmp(a, "--allow")) {
			o->allow = v;
		} else if (!strcmp(a, "--format")) {
			if (!vf_format_parse(v, &o->fmt))
				return vf_usage_error(
				    "scan", "unknown format '%s' (text, json, junit, sarif)", v);
		} else if (!strcmp(a, "--json")) {
			o->fmt = VF_FMT_JSON;
		} else if (!strcmp(a, "--output")) {
			o->output = v;
		} else if (!strcmp(a, "--fail-on")) {
			o->fail_never = !strcmp(v, "none");
			if (!o->fail_never && !vf_severity_parse(v, &o->fail_on))
				return vf_usage_error("scan", "unknown severity '%s'", v);
		} else if (!strcmp(a, "--jobs")) {
			uint64_t j;
			if (!exai_parse_u64(v, &j) || j < 1 || j > 64)
				return vf_usage_error("scan", "--jobs wants 1..64, not '%s'", v);
			o->jobs = (unsigned)j;
		} else if (!strcmp(a, "--no-default-rules")) {
			o->no_default = true;
		} else if (!strcmp(a, "--no-helm")) {
			o->no_helm = true;
		} else if (!strcmp(a, "--no-group")) {
			o->no_group = true;
		} else if (!strcmp(a, "--baseline")) {
			o->baseline = v;
		} else if (!strcmp(a, "--write-baseline")) {
			o->write_baseline = v;
		} else if (a[0] == '-' && a[1]) {
			return vf_usage_error("scan", "unknown option '%s'", a);
		} else {
			o->paths[o->npaths++] = argv[i];
		}
		if (takes)
			i++;
	}
	if (o->npaths == 0)
		return vf_usage_error("scan", "no PATH given");
	if (o->no_default && o->nrules == 0)
		return vf_usage_error("scan", "--no-default-rules needs at least one --rules file");
	return 0;
}

static exai_status summary_notes(vf_scan *s, exai_error *e)
{
	char note[256];
	exai_status rc;

	snprintf(note, sizeof(note), "scanned %llu %s, %llu %s", (unsigned long long)s->files,
		 exai_plural(s->files, "file", "files"), (unsigned long long)s->bytes,
		 exai_plural(s->bytes, "byte", "bytes"));
	if ((rc = vf_report_note(s->report, note, e)))
		return rc;
	if (s->yaml_errors) {
		snprintf(note, sizeof(note),
			 "%llu YAML file(s) did not parse (templates?): Kubernetes checks skipped "
			 "for them, text rules ran",
			 (unsigned long long)s->yaml_errors);
		rc = vf_report_note(s->report, note, e);
	}
	return rc;
}

/* Groups identical evidence per package root (scan_group.c finds the roots). */
static exai_status group(vf_report *rep, const opts *o, exai_error *e)
{
	vf_group_ctx *g = vf_group_ctx_new(o->paths, o->npaths);
	exai_status rc;

	if (!g)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = vf_report_group(rep, VF_GROUP_LOCS, vf_group_key, vf_group_is_dup, g, e);
	if (!rc && vf_group_ctx_oom(g))
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory grouping findings");
	vf_group_ctx_free(g);
	return rc;
}

/* --write-baseline (the findings as found), then --baseline (suppressing what it lists). */
static exai_status baselines(vf_report *rep, const opts *o, vf_baseline *bl, exai_error *e)
{
	char note[600];
	size_t matched, stale;
	exai_status rc;

	vf_report_sort(rep);
	if (o->write_baseline && (rc = vf_baseline_write(rep, o->write_baseline, e)))
		return rc;
	if (!bl)
		return EXAI_OK;
	if ((rc = vf_baseline_apply(bl, rep, &matched, &stale, e)))
		return rc;
	snprintf(note, sizeof(note),
		 "baseline %.400s: %zu finding(s) baselined, %zu new; %zu baseline entr%s matched "
		 "nothing (fixed?)",
		 o->baseline, matched, vf_report_count(rep, VF_SEV_INFO), stale,
		 stale == 1 ? "y" : "ies");
	return vf_report_note(rep, note, e);
}

int vf_cmd_scan(int argc, char **argv)
{
	vf_baseline *bl = NULL;
	opts o = {0};
	vf_rules rs = {0};
	vf_scan_allow allow = {0};
	vf_report *rep = NULL;
	vf_scan s;
	bool scan_ready = false;
	exai_error e;
	int ret = 2, pr;

	if ((pr = parse(argc, argv, &o)) != 0) {
		free(o.paths);
		return pr < 0 ? 0 : pr;
	}
	if (o.baseline && vf_baseline_load(o.baseline, &bl, &e))
		goto fail;
	if (vf_rules_load_all(&rs, o.no_default, o.rules, o.nrules, o.allow, &allow, time(NULL),
			      &e))
		goto fail;
	if (!(rep = vf_report_new("scan"))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	vf_report_set_fail_on(rep, o.fail_never ? VF_SEV_CRITICAL : o.fail_on);
	if (vf_rules_declare(&rs, rep, &e) ||
	    vf_scan_init(&s, &rs, o.allow ? &allow : NULL, rep, &e))
		goto fail;
	scan_ready = true;
	if (o.jobs)
		s.threads = o.jobs;
	s.helm_render = !o.no_helm;
	/* The report keeps every finding (tens of thousands of small strings in a big tree):
	 * grow the heap in large steps rather than a system call every 128 KiB. */
	mallopt(M_TOP_PAD, 64 << 20);
	s.helm_bin = vf_find_on_path("helm");
	if (vf_scan_paths(&s, o.paths, o.npaths, &e) || vf_scan_finish(&s, &e) ||
	    summary_notes(&s, &e) || baselines(rep, &o, bl, &e))
		goto fail;
	vf_report_sort(rep);
	if (!o.no_group && group(rep, &o, &e))
		goto fail;
	if (vf_report_emit(rep, o.fmt, o.output, &e))
		goto fail;
	ret = !o.fail_never && vf_report_count(rep, o.fail_on) > 0 ? 1 : 0;
	goto out;
fail:
	vf_fail("scan", &e);
out:
	if (scan_ready) {
		free((char *)s.helm_bin);
		vf_scan_fini(&s);
	}
	vf_report_free(rep);
	vf_baseline_free(bl);
	vf_scan_allow_free(&allow);
	vf_rules_free(&rs);
	free(o.paths);
	return ret;
}
