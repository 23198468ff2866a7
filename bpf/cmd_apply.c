/*
 * cmd_apply.c: 'exai-egress apply'. Reads the policy file once into memory, checks and
 * compiles it completely, and only then touches the kernel (install.c swaps it in whole).
 * A refused policy leaves the running one in force.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "egress_cli.h"
#include "exai/file.h"
#include "exai/hash.h"
#include "exai/json.h"
#include "install.h"
#include "pins.h"
#include "policy.h"
#include "ratchet.h"

const char egress_apply_help[] =
    "usage: exai-egress apply --policy FILE (--root ROOT [--sig SIG]... | --unsigned)\n"
    "                         [--mode enforce|audit] [--state-dir DIR] [--pin-dir DIR]\n"
    "                         [--json]\n"
    "\n"
    "Checks the policy FILE completely, then puts it in force in one step: the programs are\n"
    "attached to every workload's cgroup (loaded and pinned on first use, adopted from the\n"
    "pins afterwards) and the new policy replaces the old one atomically. A refused policy\n"
    "(errors name file:line:column) leaves the running policy untouched.\n"
    "  --policy FILE   the policy (YAML; docs/egress.md)\n"
    "  --root ROOT     the trust root (exai-bundle root init); the policy must carry valid\n"
    "                  minisign signatures by its release threshold of distinct release keys\n"
    "  --sig SIG       a signature file (minisign -S; repeatable); default FILE.minisig\n"
    "  --unsigned      accept a policy without signatures (development: shown by status)\n"
    "  --mode MODE     enforce (deny) or audit (allow, report what would be denied);\n"
    "                  overrides the policy's mode\n"
    "  --state-dir DIR the ratchet record's directory (exai-egress init), default\n"
    "                  " EGRESS_DEFAULT_STATE_DIR ": a signed policy below its sequence (or\n"
    "                  the pinned one) is refused; without a record signed policies are\n"
    "                  refused; --unsigned neither reads nor moves it\n"
    "  --pin-dir DIR   where the programs and maps are pinned\n"
    "  --json          the result as a JSON document\n";

enum { O_POLICY = EGRESS_O_FIRST_OWN, O_UNSIGNED, O_MODE, O_ROOT, O_SIG, O_STATE_DIR };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"policy", true, O_POLICY},
				    {"unsigned", false, O_UNSIGNED},
				    {"mode", true, O_MODE},
				    {"root", true, O_ROOT},
				    {"sig", true, O_SIG},
				    {"state-dir", true, O_STATE_DIR},
				    {NULL, false, 0}};

static int parse_args(const exai_cli_call *call, int argc, char **argv, egress_apply_args *a)
{
	exai_cli_parser p;
	const char *v;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (c) {
		case EGRESS_O_JSON:
			a->json = true;
			break;
		case EGRESS_O_PIN_DIR:
			a->pin_dir = v;
			break;
		case O_POLICY:
			a->policy = v;
			break;
		case O_UNSIGNED:
			a->unsigned_ok = true;
			break;
		case O_ROOT:
			a->root = v;
			break;
		case O_STATE_DIR:
			a->state_dir = v;
			break;
		case O_SIG:
			if (a->nsigs == EGRESS_MAX_SIGS)
				return exai_cli_refuse(call, "more than %d --sig", EGRESS_MAX_SIGS);
			a->sigs[a->nsigs++] = v;
			break;
		case O_MODE:
			if (strcmp(v, "enforce") == 0)
				a->mode = EGRESS_MODE_ENFORCE;
			else if (strcmp(v, "audit") == 0)
				a->mode = EGRESS_MODE_AUDIT;
			else
				return exai_cli_refuse(call, "--mode must be enforce or audit");
			break;
		case EXAI_CLI_ARG:
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		default:
			return exai_cli_exit(c);
		}
	}
	if (!a->policy)
		return exai_cli_refuse(call, "--policy FILE is required");
	if (a->unsigned_ok && (a->root || a->nsigs))
		return exai_cli_refuse(call, "--unsigned and --root/--sig exclude each other");
	if (a->nsigs && !a->root)
		return exai_cli_refuse(call, "--sig needs --root ROOT to check it against");
	return EGRESS_RUN;
}

void egress_apply_summary(const egress_apply_args *a, const egress_apply_result *r, char *out,
			  size_t cap)
{
	snprintf(out, cap,
		 "policy %s in force: generation %u, mode %s, %zu workload%s, %zu rule%s%s%s",
		 a->policy, r->generation, r->mode == EGRESS_MODE_AUDIT ? "audit" : "enforce",
		 r->nworkloads, r->nworkloads == 1 ? "" : "s", r->nrules, r->nrules == 1 ? "" : "s",
		 a->unsigned_ok ? " (UNSIGNED)" : ", signed by ", a->unsigned_ok ? "" : r->signers);
}

static void report(const egress_apply_args *a, const egress_apply_result *r, const char *dir)
{
	char line[1024];

	if (a->json) {
		json_t *o = json_object();

		exai_json_set(o, "ok", json_true());
		exai_json_set(o, "generation", json_integer(r->generation));
		exai_json_set(o, "mode",
			      json_string(r->mode == EGRESS_MODE_AUDIT ? "audit" : "enforce"));
		exai_json_set(o, "unsigned", json_boolean(a->unsigned_ok));
		exai_json_set(o, "signers", json_string(r->signers));
		if (!a->unsigned_ok)
			exai_json_set(o, "sequence", json_integer((json_int_t)r->sequence));
		exai_json_set(o, "workloads", json_integer((json_int_t)r->nworkloads));
		exai_json_set(o, "rules", json_integer((json_int_t)r->nrules));
		exai_json_set(o, "pin_dir", json_string(dir));
		(void)exai_json_emit(o, stdout);
		return;
	}
	egress_apply_summary(a, r, line, sizeof(line));
	printf("exai-egress: %s\n", line);
}

/* Nothing of the policy is parsed before this passes (--unsigned: explicitly skipped). */
static exai_status check_signatures(const egress_apply_args *a, const uint8_t *buf, size_t len,
				    char *signers, size_t cap, exai_error *e)
{
	char def[4096];
	const char *one[1] = {def};

	signers[0] = '\0';
	if (a->unsigned_ok)
		return EXAI_OK;
	if (!a->root)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "%s: a policy is accepted only signed: --root ROOT (and --sig "
		    "SIG...), or --unsigned for development",
		    a->policy);
	if (a->nsigs)
		return egress_sigcheck(buf, len, a->policy, a->root, a->sigs, a->nsigs, signers,
				       cap, e);
	if ((size_t)snprintf(def, sizeof(def), "%s.minisig", a->policy) >= sizeof(def))
		return exai_error_set(e, EXAI_ETOOBIG, "policy path too long");
	return egress_sigcheck(buf, len, a->policy, a->root, one, 1, signers, cap, e);
}

/* The ratchet of a signed policy (ratchet.h): the record of @a's state directory must be
 * there and sound (else EXAI_EXIT_USAGE, a setup error); the policy's sequence may not be
 * below the record's nor the pinned state's (@pinned, or NULL when nothing is pinned yet);
 * and the record is raised to it, written before the caller swaps the policy in. */
static int ratchet_step(const egress_apply_args *a, const egress_pins *pinned,
			const egress_policy *pol, const uint8_t *sha, uint64_t *seq_out,
			exai_error *e)
{
	const char *dir = egress_state_dir(a->state_dir);
	char path[EGRESS_RATCHET_PATH_MAX];
	struct egress_state s = {0};
	egress_ratchet rec, next = {0};

	if (egress_ratchet_path(dir, path, sizeof(path), e) != EXAI_OK ||
	    egress_ratchet_load(dir, &rec, e) != EXAI_OK)
		return EXAI_EXIT_USAGE;
	if (pinned && egress_state_get(pinned, &s, e) != EXAI_OK)
		return EXAI_EXIT_FAIL;
	/* the pinned digest names a signed policy only when the pinned one is signed (an
	 * unsigned apply leaves the sequence and replaces the digest) */
	if (egress_ratchet_admit(path, rec.sequence, rec.has_sha ? rec.policy_sha256 : NULL,
				 s.sequence, pinned && !s.unsigned_policy ? s.policy_sha256 : NULL,
				 pol->sequence, sha, e) != EXAI_OK) {
		exai_error_prefix(e, "%s", a->policy);
		return EXAI_EXIT_FAIL;
	}
	next = rec;
	next.sequence = pol->sequence;
	next.has_sha = true;
	memcpy(next.policy_sha256, sha, sizeof(next.policy_sha256));
	if (egress_ratchet_store(dir, &next, e) != EXAI_OK)
		return EXAI_EXIT_FAIL;
	*seq_out = next.sequence;
	return EXAI_EXIT_OK;
}

/* Installs take turns: an exclusive flock on the directory that holds the pin directory
 * (bpffs keeps no regular files, and the pin directory may not exist yet), held from the
 * ratchet check to the end of the swap. Without it two signed applies at once (a direct apply
 * beside serve's reload, two operators) could both pass the check against the same record,
 * and the lower one could be swapped in last, or store its sequence over the higher one's.
 * Readers (serve, events) lock the pin directory itself and are not held up. */
static int install_lock(const char *dir, exai_error *e)
{
	char *copy = strdup(dir), *parent;
	int fd = -1;

	if (!copy) {
		exai_error_set(e, EXAI_ENOMEM, "out of memory");
		return -1;
	}
	parent = dirname(copy); /* once: it may write into copy */
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		exai_error_sys(e, EXAI_EIO, "open %s (to lock installs)", parent);
	else if (flock(fd, LOCK_EX) != 0) {
		exai_error_sys(e, EXAI_EIO, "lock %s (installs take turns)", parent);
		close(fd);
		fd = -1;
	}
	free(copy);
	return fd;
}

int egress_apply_do(const egress_apply_args *a, egress_apply_result *r, exai_error *e)
{
	const char *dir = egress_pin_dir(a->pin_dir);
	char cgroot[256];
	uint8_t *buf = NULL, sha[EXAI_SHA256_LEN];
	size_t len = 0;
	egress_policy *pol = NULL;
	egress_pins pins;
	bool pinned;
	int rc = EXAI_EXIT_FAIL, lock = -1;

	memset(r, 0, sizeof(*r));
	egress_pins_init(&pins, dir);
	if (exai_file_read_bounded(a->policy, EGRESS_POLICY_MAX_BYTES, &buf, &len, e) != EXAI_OK) {
		/* a policy over the bound is refused (1); a file that cannot be read, usage (2) */
		rc = e->code == EXAI_ETOOBIG ? EXAI_EXIT_FAIL : EXAI_EXIT_USAGE;
		goto out;
	}
	if (check_signatures(a, buf, len, r->signers, sizeof(r->signers), e) != EXAI_OK ||
	    egress_cgroup2_root(cgroot, sizeof(cgroot), e) != EXAI_OK ||
	    egress_policy_parse(a->policy, buf, len, cgroot, &pol, e) != EXAI_OK ||
	    exai_sha256_buf(buf, len, sha, e) != EXAI_OK)
		goto out;
	r->mode = a->mode >= 0 ? a->mode : pol->mode;
	r->nworkloads = pol->nworkloads;
	r->nrules = pol->nrules;
	if (a->run_cgroup && pol->nworkloads != 1) {
		exai_error_set(e, EXAI_EREFUSED,
			       "%s: run needs a policy of exactly one workload (it has %zu)",
			       a->policy, pol->nworkloads);
		goto out;
	}
	if ((lock = install_lock(dir, e)) < 0)
		goto out;
	pinned = egress_pins_exist(dir);
	if (a->adopt_only && !pinned) {
		exai_error_set(e, EXAI_ENOENT,
			       "nothing is pinned in %s: reload swaps a running "
			       "policy (use apply first)",
			       dir);
		goto out;
	}
	if (pinned && egress_pins_open(dir, &pins, e) != EXAI_OK)
		goto out;
	/* the ratchet before anything is loaded or swapped: persisted ahead of the swap */
	if (!a->unsigned_ok && (rc = ratchet_step(a, pinned ? &pins : NULL, pol, sha, &r->sequence,
						  e)) != EXAI_EXIT_OK)
		goto out;
	rc = EXAI_EXIT_FAIL;
	if (!a->unsigned_ok && exai_fault("egress-ratchet-stored")) {
		exai_error_set(e, EXAI_EIO, "%s: injected failure after the ratchet record",
			       a->policy);
		goto out;
	}
	if (!pinned && egress_pins_create(dir, &pins, e) != EXAI_OK)
		goto out;
	{
		egress_install_info info = {.mode = r->mode,
					    .unsigned_policy = a->unsigned_ok,
					    .path = a->policy,
					    .sha256 = sha,
					    .signers = r->signers};

		if (egress_install(&pins, pol, &info, &r->generation, e) != EXAI_OK) {
			exai_error_prefix(e, "%s", a->policy);
			goto out;
		}
	}
	if (a->run_cgroup)
		snprintf(a->run_cgroup, a->run_cgroup_size, "%s", pol->workloads[0].cgroup);
	rc = EXAI_EXIT_OK;
out:
	egress_pins_close(&pins);
	if (lock >= 0)
		close(lock); /* releases the flock, after the swap */
	egress_policy_free(pol);
	free(buf);
	return rc;
}

int egress_apply_run(const egress_apply_args *a, const exai_cli_call *call)
{
	egress_apply_result r;
	exai_error e = {0};
	int rc = egress_apply_do(a, &r, &e);

	if (rc != EXAI_EXIT_OK)
		return egress_fail(call, a->json, &e, rc);
	if (!a->run_cgroup)
		report(a, &r, egress_pin_dir(a->pin_dir));
	return rc;
}

int egress_cmd_apply(const exai_cli_call *call, int argc, char **argv)
{
	egress_apply_args a = {.mode = -1};
	int rc = parse_args(call, argc, argv, &a);

	if (rc != EGRESS_RUN)
		return rc;
	a.json = a.json || call->json;
	return egress_apply_run(&a, call);
}
