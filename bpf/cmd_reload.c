/*
 * cmd_reload.c: 'exai-egress reload --policy-dir DIR', what exai-update's policy_reload hook
 * runs after installing a policy component: DIR/policy.yaml with every DIR/NAME.minisig as its
 * signatures, checked as apply checks them, swapped in whole over the running policy (one
 * update of the policy slot: no moment with no policy or half of one).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress_cli.h"
#include "pins.h"

const char egress_reload_help[] =
    "usage: exai-egress reload --policy-dir DIR (--root ROOT | --unsigned)\n"
    "                          [--mode enforce|audit] [--pin-dir DIR] [--json]\n"
    "\n"
    "Swaps the running policy for DIR/policy.yaml, signed by the files DIR/*.minisig, in one\n"
    "step. Refused, like apply, unless the signatures meet the trust root's release\n"
    "threshold of distinct keys; refused when nothing is applied yet.\n";

enum { O_DIR = EGRESS_O_FIRST_OWN, O_UNSIGNED, O_MODE, O_ROOT };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"policy-dir", true, O_DIR},
				    {"unsigned", false, O_UNSIGNED},
				    {"mode", true, O_MODE},
				    {"root", true, O_ROOT},
				    {NULL, false, 0}};

struct reload_paths {
	char policy[4096];
	char sigs[EGRESS_MAX_SIGS][4096];
};

static int is_sig(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 8 && strcmp(d->d_name + n - 8, ".minisig") == 0;
}

/* DIR/policy.yaml and the DIR/NAME.minisig files (sorted) into @a, strings in @p. */
static int find_files(const exai_cli_call *call, const char *dir, egress_apply_args *a,
		      struct reload_paths *p)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_sig, alphasort), rc = EGRESS_RUN;

	if (n < 0) {
		exai_error e;

		exai_error_sys(&e, EXAI_EIO, "policy directory %s", dir);
		return egress_fail(call, a->json, &e, EXAI_EXIT_USAGE);
	}
	snprintf(p->policy, sizeof(p->policy), "%s/policy.yaml", dir);
	a->policy = p->policy;
	for (int i = 0; i < n; i++) {
		if (a->nsigs == EGRESS_MAX_SIGS) {
			rc = exai_cli_refuse(call, "%s: more than %d signature files", dir,
					     EGRESS_MAX_SIGS);
		} else if (rc == EGRESS_RUN) {
			snprintf(p->sigs[a->nsigs], sizeof(p->sigs[0]), "%s/%s", dir,
				 list[i]->d_name);
			a->sigs[a->nsigs] = p->sigs[a->nsigs];
			a->nsigs++;
		}
		free(list[i]);
	}
	free(list);
	if (rc == EGRESS_RUN && a->root && a->nsigs == 0)
		rc = exai_cli_refuse(call, "%s holds no signature (*.minisig)", dir);
	return rc;
}

int egress_cmd_reload(const exai_cli_call *call, int argc, char **argv)
{
	static struct reload_paths paths;
	egress_apply_args a = {.mode = -1, .adopt_only = true, .json = call->json};
	const char *v, *dir = NULL;
	exai_cli_parser p;
	int c, rc;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			a.json = true;
		else if (c == EGRESS_O_PIN_DIR)
			a.pin_dir = v;
		else if (c == O_DIR)
			dir = v;
		else if (c == O_UNSIGNED)
			a.unsigned_ok = true;
		else if (c == O_ROOT)
			a.root = v;
		else if (c == O_MODE && (!strcmp(v, "enforce") || !strcmp(v, "audit")))
			a.mode = strcmp(v, "audit") == 0 ? EGRESS_MODE_AUDIT : EGRESS_MODE_ENFORCE;
		else if (c == O_MODE)
			return exai_cli_refuse(call, "--mode must be enforce or audit");
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	if (!dir)
		return exai_cli_refuse(call, "--policy-dir DIR is required");
	if (a.unsigned_ok && a.root)
		return exai_cli_refuse(call, "--unsigned and --root exclude each other");
	if ((rc = find_files(call, dir, &a, &paths)) != EGRESS_RUN)
		return rc;
	if (a.unsigned_ok)
		a.nsigs = 0;
	return egress_apply_run(&a, call);
}
