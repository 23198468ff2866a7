/*
 * bundlemode_cmd: `airgap-verifier bundle` front end: options, the trust root and site key,
 * the rules (the same files as scan), report output and the exit status. The only code of
 * the bundle mode that prints.
 *
 * Exit: 0 clean; 1 a verification failure (whatever --fail-on says) or findings at or above
 * --fail-on; 2 usage, an unreadable root, key, rules or allow file, or a runtime error.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bundlemode.h"
#include "commands.h"
#include "exai/file.h"
#include "exai/grow.h"
#include "exai/text.h"
#include "scan_group.h"

#define MAX_RULE_FILES 32

typedef struct opts {
	const char *media, *root, *key, *allow, *output;
	const char *rules[MAX_RULE_FILES];
	size_t nrules;
	bool no_default, fail_never, now_set, no_group;
	vf_format fmt;
	vf_severity fail_on;
	uint64_t now;
	unsigned window_mib;
	uint64_t max_ratio;
} opts;

const char vf_bundle_help[] =
    "usage: airgap-verifier bundle MEDIA --root ROOT [--key SITE.key] [--rules FILE]\n"
    "                              [--allow FILE] [--format text|json|junit|sarif]\n"
    "                              [--output FILE] [--fail-on SEVERITY|none]\n"
    "                              [--now TIME] [--max-unpack-ratio N]\n"
    "                              [--no-default-rules] [--no-group] [--json]\n"
    "\n"
    "Verifies MEDIA (a bundle directory or .exb) offline against the trust root ROOT,\n"
    "decrypts it with SITE.key, scans its contents with the scan rules and checks that\n"
    "every image its chart and manifests reference is in its image archives by digest.\n"
    "Nothing is installed. An encrypted bundle without --key fails closed (high).\n"
    "--now: expiry is checked against TIME (unix seconds or YYYY-MM-DD[THH:MM:SSZ]),\n"
    "default the clock. --fail-on: lowest severity that fails (default: medium).\n"
    "Tar components must pass exai-update apply's extraction rules; --max-unpack-ratio:\n"
    "the appliance's max_unpack_ratio (default 1000).\n"
    "Identical evidence (rule and match) within one component is one finding with a\n"
    "count and its first " VF_GROUP_LOCS_STR " locations; --no-group lists every location.\n"
    "Exit status: 0 clean, 1 verification failed or findings at or above --fail-on,\n"
    "2 usage or runtime error.\n";

enum {
	O_ROOT,
	O_KEY,
	O_RULES,
	O_ALLOW,
	O_FORMAT,
	O_JSON,
	O_OUTPUT,
	O_FAIL_ON,
	O_NOW,
	O_WINDOW_MIB,
	O_MAX_UNPACK_RATIO,
	O_NO_DEFAULT_RULES,
	O_NO_GROUP,
};

static const exai_cli_opt bundle_opts[] = {
    {"root", true, O_ROOT},
    {"key", true, O_KEY},
    {"rules", true, O_RULES},
    {"allow", true, O_ALLOW},
    {"format", true, O_FORMAT},
    {"json", false, O_JSON},
    {"output", true, O_OUTPUT},
    {"fail-on", true, O_FAIL_ON},
    {"now", true, O_NOW},
    {"window-mib", true, O_WINDOW_MIB}, /* testing: windows of oversized blobs */
    {"max-unpack-ratio", true, O_MAX_UNPACK_RATIO},
    {"no-default-rules", false, O_NO_DEFAULT_RULES},
    {"no-group", false, O_NO_GROUP},
    {NULL, false, 0},
};

/* One option's value into @o; 0 or the usage error's exit code. */
static int bundle_option(int id, const char *v, opts *o)
{
	uint64_t n;

	switch (id) {
	case O_ROOT:
		o->root = v;
		break;
	case O_KEY:
		o->key = v;
		break;
	case O_RULES:
		if (o->nrules == MAX_RULE_FILES)
			return vf_usage_error("bundle", "too many --rules files");
		o->rules[o->nrules++] = v;
		break;
	case O_ALLOW:
		o->allow = v;
		break;
	case O_FORMAT:
		if (!vf_format_parse(v, &o->fmt))
			return vf_usage_error("bundle",
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
			return vf_usage_error("bundle", "unknown severity '%s'", v);
		break;
	case O_NOW:
		if (!exai_parse_time(v, &o->now))
			return vf_usage_error(
			    "bundle", "--now wants unix seconds or YYYY-MM-DD, not '%s'", v);
		o->now_set = true;
		break;
	case O_WINDOW_MIB:
		if (!exai_parse_u64(v, &n) || n < 1 || n > 1024)
			return vf_usage_error("bundle", "--window-mib wants 1..1024, not '%s'", v);
		o->window_mib = (unsigned)n;
		break;
	case O_MAX_UNPACK_RATIO:
		if (!exai_parse_u64(v, &n) || n < 1 || n > 1000000)
			return vf_usage_error("bundle",
					      "--max-unpack-ratio wants 1..1000000, not '%s'", v);
		o->max_ratio = n;
		break;
	case O_NO_DEFAULT_RULES:
		o->no_default = true;
		break;
	case O_NO_GROUP:
		o->no_group = true;
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
	exai_cli_parser_init(&p, call, bundle_opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (id == EXAI_CLI_ARG && o->media)
			return vf_usage_error("bundle", "one MEDIA only ('%s' and '%s')", o->media,
					      v);
		else if (id == EXAI_CLI_ARG)
			o->media = v;
		else if (id < 0)
			return id; /* help or a refusal */
		else if ((ret = bundle_option(id, v, o)))
			return ret;
	}
	if (!o->media)
		return vf_usage_error("bundle", "no MEDIA given");
	if (!o->root)
		return vf_usage_error("bundle", "--root ROOT is required (the site's trust root)");
	if (o->no_default && o->nrules == 0)
		return vf_usage_error("bundle",
				      "--no-default-rules needs at least one --rules file");
	if (!o->now_set)
		o->now = (uint64_t)time(NULL);
	return 0;
}

/* The group keys of bundle mode: one per component. A location reads
 * "MEDIA!type/name!entry..."; its key is "MEDIA!type/name" (the whole location when it has
 * no component part: the bundle's own findings). The keys are kept for the grouping call. */
typedef struct comp_keys {
	char **v;
	size_t n, cap;
	bool oom;
} comp_keys;

static const char *component_key(const char *path, void *ctx)
{
	comp_keys *k = ctx;
	const char *a = strchr(path, '!'), *b = a ? strchr(a + 1, '!') : NULL;
	size_t len = b ? (size_t)(b - path) : strlen(path);
	char *key;

	/* Few keys: a bundle has at most the manifest's components. */
	for (size_t i = k->n; i-- > 0;)
		if (!strncmp(k->v[i], path, len) && !k->v[i][len])
			return k->v[i];
	if (EXAI_GROW(&k->v, &k->cap, k->n, 1, EXAI_GROW_NOCAP, NULL) ||
	    !(key = strndup(path, len))) {
		k->oom = true;
		return NULL;
	}
	return k->v[k->n++] = key;
}

static exai_status group(vf_report *rep, exai_error *e)
{
	comp_keys k = {0};
	exai_status rc = vf_report_group(rep, VF_GROUP_LOCS, component_key, vf_group_is_dup, &k, e);

	if (!rc && k.oom)
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory grouping findings");
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	return rc;
}

int vf_cmd_bundle(const exai_cli_call *call, int argc, char **argv)
{
	opts o = {0};
	vf_rules rs = {0};
	vf_scan_allow allow = {0};
	exai_root *root = NULL;
	exai_site_key *key = NULL;
	vf_bm_result res = {0};
	exai_error e;
	int ret = 2, pr;

	if ((pr = parse(call, argc, argv, &o)) != 0)
		return exai_cli_exit(pr);
	if (exai_root_load(o.root, &root, &e) || exai_root_check_self(root, &e)) {
		exai_error_prefix(&e, "--root");
		goto fail;
	}
	if (o.key && exai_site_key_load(o.key, &key, &e)) {
		exai_error_prefix(&e, "--key");
		goto fail;
	}
	if (vf_rules_load_all(&rs, o.no_default, o.rules, o.nrules, o.allow, &allow, (time_t)o.now,
			      &e))
		goto fail;
	{
		vf_bm_opts bo = {.media = o.media,
				 .root = root,
				 .key = key,
				 .now = o.now,
				 .rules = &rs,
				 .allow = o.allow ? &allow : NULL,
				 .window_mib = o.window_mib,
				 .max_ratio = o.max_ratio};
		if (vf_bundlemode_run(&bo, &res, &e))
			goto fail;
	}
	if (!o.no_group && group(res.report, &e))
		goto fail;
	vf_report_set_fail_on(res.report, o.fail_never ? VF_SEV_CRITICAL : o.fail_on);
	if (vf_report_emit(res.report, o.fmt, o.output, &e))
		goto fail;
	if (res.verify_failed)
		fprintf(stderr,
			"airgap-verifier bundle: %s: verification failed (see the report)\n",
			o.media);
	if (res.unscanned)
		fprintf(stderr,
			"airgap-verifier bundle: %s: encrypted and no --key: verified, but the "
			"contents were not scanned (fails closed; give --key SITE.key)\n",
			o.media);
	ret = res.verify_failed || (!o.fail_never && vf_report_count(res.report, o.fail_on) > 0);
	goto out;
fail:
	vf_fail("bundle", &e);
out:
	vf_report_free(res.report);
	vf_scan_allow_free(&allow);
	vf_rules_free(&rs);
	exai_site_key_free(key);
	free(root);
	return ret;
}
