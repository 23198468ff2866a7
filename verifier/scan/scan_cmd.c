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
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "exai/file.h"
#include "exai/hash.h"
#include "exai/text.h"
#include "exai/yaml.h"
#include "scan_allow.h"
#include "scan_baseline.h"
#include "scan_dup.h"
#include "scan_group.h"
#include "scan_helm.h"
#include "scan_rules.h"
#include "scan_walk.h"

#define MAX_RULE_FILES 32

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
	bool no_dedup;
	const char *baseline, *write_baseline;
} opts;

const char vf_scan_help[] =
    "usage: airgap-verifier scan PATH... [--rules FILE] [--allow FILE]\n"
    "                            [--format text|json|junit|sarif] [--output FILE]\n"
    "                            [--fail-on info|low|medium|high|critical|none]\n"
    "                            [--no-default-rules] [--no-helm] [--no-group]\n"
    "                            [--no-dedup]\n"
    "                            [--baseline FILE] [--write-baseline FILE]\n"
    "                            [--jobs N] [--json]\n"
    "\n"
    "PATH is a file, a directory, or an archive: tar (OCI, docker-save: layers too),\n"
    "gzip/zstd/xz, zip, 7z.\n"
    "--rules adds a rules file to the shipped defaults (same id: fields override).\n"
    "--allow names the allow file (local hosts/CIDRs/registries, suppressions).\n"
    "--fail-on: lowest severity that fails the scan (default: medium).\n"
    "Identical evidence (rule and match) within one package root is one finding with\n"
    "a count and its first " VF_GROUP_LOCS_STR " locations; --no-group lists every location.\n"
    "An 'airgap-verifier:allow RULE reason' comment on a finding's line (or alone on\n"
    "the line before) suppresses it; the reason is required.\n"
    "--write-baseline FILE records the current findings (rule, path, evidence hash);\n"
    "--baseline FILE suppresses the findings recorded there: only new ones fail.\n"
    "A file with the name and content of one already scanned is not scanned again:\n"
    "the first copy's findings are reported at its own location (the same report);\n"
    "--no-dedup scans every copy.\n"
    "A finding's severity is its rule's, ranked down by context: at most low in\n"
    "documentation and package metadata, info in comments (secrets excepted).\n"
    "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error.\n";

enum {
	O_RULES,
	O_ALLOW,
	O_FORMAT,
	O_JSON,
	O_OUTPUT,
	O_FAIL_ON,
	O_JOBS,
	O_NO_DEFAULT_RULES,
	O_NO_HELM,
	O_NO_GROUP,
	O_NO_DEDUP,
	O_BASELINE,
	O_WRITE_BASELINE,
};

static const exai_cli_opt scan_opts[] = {
    {"rules", true, O_RULES},
    {"allow", true, O_ALLOW},
    {"format", true, O_FORMAT},
    {"json", false, O_JSON},
    {"output", true, O_OUTPUT},
    {"fail-on", true, O_FAIL_ON},
    {"jobs", true, O_JOBS},
    {"no-default-rules", false, O_NO_DEFAULT_RULES},
    {"no-helm", false, O_NO_HELM},
    {"no-group", false, O_NO_GROUP},
    {"no-dedup", false, O_NO_DEDUP},
    {"baseline", true, O_BASELINE},
    {"write-baseline", true, O_WRITE_BASELINE},
    {NULL, false, 0},
};

/* One option's value into @o; 0 or the usage error's exit code. */
static int scan_option(int id, const char *v, opts *o)
{
	uint64_t j;

	switch (id) {
	case O_RULES:
		if (o->nrules == MAX_RULE_FILES)
			return vf_usage_error("scan", "too many --rules files");
		o->rules[o->nrules++] = v;
		break;
	case O_ALLOW:
		o->allow = v;
		break;
	case O_FORMAT:
		if (!vf_format_parse(v, &o->fmt))
			return vf_usage_error("scan",
					      "unknown format '%s' (text, json, junit, sarif)", v);
		break;
	case O_JSON:
		o->fmt = VF_FMT_JSON;
		break;
	case O_OUTPUT:
		o->output = v;
		break;
	case O_FAIL_ON:
		o->fail_never = !strcmp(v, "none");
		if (!o->fail_never && !vf_severity_parse(v, &o->fail_on))
			return vf_usage_error("scan", "unknown severity '%s'", v);
		break;
	case O_JOBS:
		if (!exai_parse_u64(v, &j) || j < 1 || j > 64)
			return vf_usage_error("scan", "--jobs wants 1..64, not '%s'", v);
		o->jobs = (unsigned)j;
		break;
	case O_NO_DEFAULT_RULES:
		o->no_default = true;
		break;
	case O_NO_HELM:
		o->no_helm = true;
		break;
	case O_NO_GROUP:
		o->no_group = true;
		break;
	case O_NO_DEDUP:
		o->no_dedup = true;
		break;
	case O_BASELINE:
		o->baseline = v;
		break;
	case O_WRITE_BASELINE:
		o->write_baseline = v;
		break;
	}
	return 0;
}

/* 0, or what exai_cli_exit turns into the exit code. */
static int parse(const exai_cli_call *call, int argc, char **argv, opts *o)
{
	exai_cli_parser p;
	const char *v;
	int id, ret;

	o->fmt = VF_FMT_TEXT;
	o->fail_on = VF_SEV_MEDIUM;
	if (!(o->paths = calloc((size_t)argc, sizeof(*o->paths))))
		return 2;
	exai_cli_parser_init(&p, call, scan_opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG)
			o->paths[o->npaths++] = (char *)v;
		else if (id < 0)
			return id; /* help or a refusal */
		else if ((ret = scan_option(id, v, o)))
			return ret;
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

/* Groups identical evidence per package root (scan_group.c finds the roots; @g already knows
 * the directories the walk read). */
static exai_status group(vf_report *rep, vf_group_ctx *g, exai_error *e)
{
	exai_status rc = vf_report_group(rep, VF_GROUP_LOCS, vf_group_key, vf_group_is_dup, g, e);

	if (!rc && vf_group_ctx_oom(g))
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory grouping findings");
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

/* The walk holds directories open so that their files are opened relative to them, as many
 * as half the descriptors allowed (scan_walk.c): the soft limit is raised to the hard one, at
 * most NOFILE_WANT (nothing here uses select()). Failing that, files are opened by path. */
#define NOFILE_WANT (65536 + 4096)
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= NOFILE_WANT ||
	    rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max < NOFILE_WANT ? rl.rlim_max : NOFILE_WANT;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

int vf_cmd_scan(const exai_cli_call *call, int argc, char **argv)
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

	if ((pr = parse(call, argc, argv, &o)) != 0) {
		free(o.paths);
		return exai_cli_exit(pr);
	}
	/* The front end leaves exai_init to scan: libsodium is not used here and SHA-256 is
	 * fetched on first use. A run whose output needs it (baseline evidence hashes, SARIF
	 * fingerprints) is refused now without it, as exai_init refused; without it the
	 * duplicate cache scans every large copy in full (the same findings). */
	if ((o.baseline || o.write_baseline || o.fmt == VF_FMT_SARIF) &&
	    exai_sha256_backend_init(&e))
		goto fail;
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
	if (o.no_dedup) {
		vf_dup_free(s.dup);
		s.dup = NULL;
	}
	/* The report keeps every finding (tens of thousands of small strings in a big tree):
	 * grow the heap in large steps rather than a system call every 128 KiB. */
	mallopt(M_TOP_PAD, 64 << 20);
	raise_nofile();
	s.helm_bin = vf_find_on_path("helm");
	if (!o.no_group && !(s.group = vf_group_ctx_new(o.paths, o.npaths))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	if (vf_scan_paths(&s, o.paths, o.npaths, &e) || vf_scan_finish(&s, &e) ||
	    summary_notes(&s, &e) || baselines(rep, &o, bl, &e)) /* which sorts the report */
		goto fail;
	if (!o.no_group && group(rep, s.group, &e))
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
		vf_group_ctx_free(s.group);
		vf_scan_fini(&s);
	}
	vf_report_free(rep);
	vf_baseline_free(bl);
	vf_scan_allow_free(&allow);
	vf_rules_free(&rs);
	free(o.paths);
	return ret;
}
