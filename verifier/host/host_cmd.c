/*
 * host_cmd: `airgap-verifier host` front end: options, the host config, running the checks,
 * report output. The only code of the host mode that prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exai/file.h"
#include "host.h"

typedef struct opts {
	const char *root;
	const char *config;
	vf_format fmt;
	const char *output;
	vf_severity fail_on;
	bool fail_never;
} opts;

const char vf_host_help[] =
    "usage: airgap-verifier host [--root DIR] [--config FILE]\n"
    "                            [--format text|json|junit|sarif] [--json] [--output "
    "FILE]\n"
    "                            [--fail-on info|low|medium|high|critical|none]\n"
    "\n"
    "Checks the live host: no default route, only allowed listening sockets, local\n"
    "resolvers and time servers, exai-egress pins present, and every file exai-update\n"
    "installed unchanged (re-hashed against its state database).\n"
    "--root: read the appliance's files under DIR (default /).\n"
    "--config: the host config (default " VF_HOST_DEFAULT_CONFIG " under --root, if any).\n"
    "--fail-on: lowest severity that fails (default: medium).\n"
    "Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage or runtime error.\n";

enum { O_ROOT, O_CONFIG, O_FORMAT, O_JSON, O_OUTPUT, O_FAIL_ON };

static const exai_cli_opt host_opts[] = {
    {"root", true, O_ROOT},  {"config", true, O_CONFIG}, {"format", true, O_FORMAT},
    {"json", false, O_JSON}, {"output", true, O_OUTPUT}, {"fail-on", true, O_FAIL_ON},
    {NULL, false, 0},
};

/* 0, or what exai_cli_exit turns into the exit code. */
static int parse(const exai_cli_call *call, int argc, char **argv, opts *o)
{
	exai_cli_parser p;
	const char *v;
	int id;

	o->root = "/";
	o->fmt = VF_FMT_TEXT;
	o->fail_on = VF_SEV_MEDIUM;
	exai_cli_parser_init(&p, call, host_opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (id) {
		case O_ROOT:
			o->root = v;
			break;
		case O_CONFIG:
			o->config = v;
			break;
		case O_FORMAT:
			if (!vf_format_parse(v, &o->fmt))
				return vf_usage_error(
				    "host", "unknown format '%s' (text, json, junit, sarif)", v);
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
				return vf_usage_error("host", "unknown severity '%s'", v);
			break;
		case EXAI_CLI_ARG:
			return vf_usage_error("host", "unexpected argument '%s'", v);
		default:
			return id; /* help or a refusal */
		}
	}
	return 0;
}

/* --config as given; else the default under the root when it exists; else defaults. */
static exai_status load_config(const opts *o, const vf_host_root *root, vf_host_config *c,
			       const char **used, exai_error *e)
{
	char *buf = NULL;
	size_t len;
	exai_status rc;

	*used = NULL;
	if (o->config) {
		*used = o->config;
		return vf_host_config_load(c, o->config, e);
	}
	rc = vf_host_read(root, VF_HOST_DEFAULT_CONFIG, 256u << 10, &buf, &len, e);
	if (rc == EXAI_ENOENT)
		return EXAI_OK;
	if (!rc) {
		*used = VF_HOST_DEFAULT_CONFIG;
		rc = vf_host_config_load_buf(c, VF_HOST_DEFAULT_CONFIG, buf, len, e);
	}
	free(buf);
	return rc;
}

static exai_status run_checks(vf_host *h, exai_error *e)
{
	static const struct {
		unsigned bit;
		exai_status (*fn)(vf_host *, exai_error *);
		const char *name;
	} checks[] = {
	    {VF_HC_ROUTES, vf_host_check_routes, "routes"},
	    {VF_HC_LISTEN, vf_host_check_listen, "listen"},
	    {VF_HC_DNS, vf_host_check_dns, "dns"},
	    {VF_HC_NTP, vf_host_check_ntp, "ntp"},
	    {VF_HC_EGRESS, vf_host_check_egress, "egress"},
	    {VF_HC_DRIFT, vf_host_check_drift, "drift"},
	};
	exai_status rc = EXAI_OK;

	for (size_t i = 0; !rc && i < sizeof(checks) / sizeof(checks[0]); i++)
		rc = (h->cfg->checks & checks[i].bit)
			 ? checks[i].fn(h, e)
			 : vf_host_note(h, e, "%s: not checked (not in the config's checks)",
					checks[i].name);
	return rc;
}

int vf_cmd_host(const exai_cli_call *call, int argc, char **argv)
{
	opts o = {0};
	vf_host_config cfg;
	vf_host h = {.cfg = &cfg, .root = {.fd = -1}};
	const char *used = NULL;
	exai_error e;
	int ret = 2, pr;

	vf_host_config_init(&cfg);
	if ((pr = parse(call, argc, argv, &o)) != 0)
		return exai_cli_exit(pr);
	if (vf_host_root_open(&h.root, o.root, &e) || load_config(&o, &h.root, &cfg, &used, &e))
		goto fail;
	if (!(h.report = vf_report_new("host"))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	vf_report_set_fail_on(h.report, o.fail_never ? VF_SEV_CRITICAL : o.fail_on);
	if (vf_host_declare_rules(h.report, &e) ||
	    vf_host_note(&h, &e, "root: %s; host config: %s", o.root,
			 used ? used : "none (built-in defaults)") ||
	    run_checks(&h, &e))
		goto fail;
	vf_report_sort(h.report);
	if (vf_report_emit(h.report, o.fmt, o.output, &e))
		goto fail;
	ret = !o.fail_never && vf_report_count(h.report, o.fail_on) > 0 ? 1 : 0;
	goto out;
fail:
	vf_fail("host", &e);
out:
	vf_report_free(h.report);
	vf_host_root_close(&h.root);
	vf_host_config_free(&cfg);
	return ret;
}
