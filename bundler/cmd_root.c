/*
 * root: init (write an unsigned trust root), sign (add a root-key signature), show.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exb_cli.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/text.h"

#define ROOT_DEFAULT_LIFETIME (365ull * 86400)

static const char init_help[] =
    "usage: exai-bundle root init --out ROOT --root-key KEY.pub... --root-threshold K\n"
    "                             --release-key KEY.pub... --release-threshold K\n"
    "                             [--version N] [--expires TIME|never] [--created TIME]\n"
    "\n"
    "Writes a new, unsigned trust root to ROOT (which must not exist yet): its root keys\n"
    "(which sign roots) and release keys (which sign bundles), each with a threshold.\n"
    "TIME is unix seconds or YYYY-MM-DD[THH:MM:SSZ] (UTC). A root expires 365 days after\n"
    "it was created unless --expires says otherwise ('never' only by choice): a stolen\n"
    "root key then stops mattering at the latest when its root expires.\n"
    "Next: exai-bundle root sign ROOT --key ROOTKEY.key (root-threshold root keys).\n";

static const char sign_help[] =
    "usage: exai-bundle root sign ROOT --key ROOTKEY.key [--password-file FILE]\n"
    "\n"
    "Adds a root key's signature to ROOT (rewritten atomically). Root N+1 is accepted\n"
    "only when signed by root-threshold keys of root N and root-threshold keys of its\n"
    "own: sign the new root with both sets. A password-protected root key's password is\n"
    "asked for on the terminal, or read from --password-file FILE (required off a\n"
    "terminal).\n";

static const char show_help[] =
    "usage: exai-bundle root show ROOT [--prev OLDROOT] [--json]\n"
    "\n"
    "Shows ROOT, checks its own signatures and, with --prev, that it may follow OLDROOT;\n"
    "exits 1 when either check fails.\n";

enum {
	O_OUT,
	O_ROOT_KEY,
	O_ROOT_THRESHOLD,
	O_RELEASE_KEY,
	O_RELEASE_THRESHOLD,
	O_VERSION,
	O_EXPIRES,
	O_CREATED,
	O_KEY,
	O_PWFILE,
	O_PREV,
	O_JSON
};

/* --root-key or --release-key @path: checked and loaded into @r. */
static int init_key(const exai_cli_call *call, exai_root *r, int id, const char *path)
{
	bool root = id == O_ROOT_KEY;
	exai_pubkey *slot;
	exai_error e;

	if ((root ? r->n_root_keys : r->n_release_keys) == EXAI_ROOT_MAX_KEYS)
		return exai_cli_refuse(call, "at most %d keys of each kind", EXAI_ROOT_MAX_KEYS);
	slot = root ? &r->root_keys[r->n_root_keys++] : &r->release_keys[r->n_release_keys++];
	if (exb_check_key_role(path, root ? EXAI_KEY_ROLE_ROOT : EXAI_KEY_ROLE_RELEASE,
			       root ? "--root-key" : "--release-key", &e) ||
	    exai_pubkey_load(path, slot, &e) != EXAI_OK)
		return exb_report("root init", &e, false, EXB_USAGE);
	return 0;
}

/* The options of root init into @r; 0, or what exai_cli_exit turns into the exit code. */
static int init_parse(const exai_cli_call *call, int argc, char **argv, exai_root *r,
		      const char **out, bool *expires_set)
{
	static const exai_cli_opt opts[] = {
	    {"out", true, O_OUT},
	    {"root-key", true, O_ROOT_KEY},
	    {"root-threshold", true, O_ROOT_THRESHOLD},
	    {"release-key", true, O_RELEASE_KEY},
	    {"release-threshold", true, O_RELEASE_THRESHOLD},
	    {"version", true, O_VERSION},
	    {"expires", true, O_EXPIRES},
	    {"created", true, O_CREATED},
	    {NULL, false, 0},
	};
	exai_cli_parser p;
	const char *v;
	uint64_t n;
	int c, ret;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (c) {
		case O_OUT:
			*out = v;
			break;
		case O_ROOT_KEY:
		case O_RELEASE_KEY:
			if ((ret = init_key(call, r, c, v)))
				return ret;
			break;
		case O_ROOT_THRESHOLD:
		case O_RELEASE_THRESHOLD:
			if (!exai_parse_u64(v, &n) || n > EXAI_ROOT_MAX_KEYS)
				return exai_cli_refuse(call, "bad threshold '%s'", v);
			*(c == O_ROOT_THRESHOLD ? &r->root_threshold : &r->release_threshold) =
			    (unsigned)n;
			break;
		case O_VERSION:
			if (!exai_parse_u64(v, &r->version))
				return exai_cli_refuse(call, "bad version '%s'", v);
			break;
		case O_EXPIRES:
			*expires_set = true;
			if (!strcmp(v, "never")) {
				r->expires = 0;
				break;
			}
			/* fall through */
		case O_CREATED:
			if (!exai_parse_time(v, c == O_EXPIRES ? &r->expires : &r->created))
				return exai_cli_refuse(call, "bad time '%s'", v);
			break;
		case EXAI_CLI_ARG:
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		default:
			return c; /* help or a refusal */
		}
	}
	if (!*out)
		return exai_cli_refuse(call, "--out ROOT is required");
	return 0;
}

static int root_init(const exai_cli_call *call, int argc, char **argv)
{
	exai_root *r = calloc(1, sizeof(*r));
	const char *out = NULL;
	bool expires_set = false;
	char when[32];
	char *text = NULL;
	exai_error e;
	int ret = EXB_USAGE;

	if (!r)
		return EXB_USAGE;
	r->version = 1;
	r->created = exb_now();
	if ((ret = init_parse(call, argc, argv, r, &out, &expires_set))) {
		ret = exai_cli_exit(ret);
		goto out;
	}
	ret = EXB_USAGE;
	/* TUF requires an expiry on root metadata; a year is its usual choice for roots, whose
	 * keys are offline and rotate rarely. */
	if (!expires_set)
		r->expires = r->created + ROOT_DEFAULT_LIFETIME;
	if (exai_root_validate(r, &e) != EXAI_OK) {
		exb_report("root init", &e, false, EXB_USAGE);
		goto out;
	}
	text = exai_root_file_text(r);
	if (!text || exai_write_new_file(out, text, 0644, &e) != EXAI_OK) {
		if (!text)
			exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		exb_report("root init", &e, false, EXB_USAGE);
		goto out;
	}
	exb_format_time(r->expires, when, sizeof(when));
	printf("root version %llu written to %s (unsigned: sign it with %u of its %zu root keys)\n"
	       "  expires: %s\n",
	       (unsigned long long)r->version, out, r->root_threshold, r->n_root_keys,
	       r->expires ? when : "never (--expires never)");
	if (r->version > 1)
		printf(
		    "  version %llu's root keys must sign it too: a threshold of them, as well as "
		    "of its own (exai-bundle root sign %s --key OLD-ROOT-KEY)\n",
		    (unsigned long long)r->version - 1, out);
	ret = EXB_OK;
out:
	free(text);
	free(r);
	return ret;
}

static int root_sign(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    {"key", true, O_KEY}, {"password-file", true, O_PWFILE}, {NULL, false, 0}};
	const char *keyfile = NULL, *pwfile = NULL, *path = NULL, *v;
	exai_seckey *sk = NULL;
	exai_root *r = NULL;
	uint8_t *msg = NULL;
	char *text = NULL;
	size_t mlen = 0, slot;
	char id[EXAI_KEYID_STR];
	bool own = false;
	exai_cli_parser p;
	exai_error e;
	int c, ret = EXB_USAGE;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == O_KEY)
			keyfile = v;
		else if (c == O_PWFILE)
			pwfile = v;
		else if (c == EXAI_CLI_ARG && !path)
			path = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "one ROOT only ('%s' and '%s')", path, v);
		else
			return exai_cli_exit(c);
	}
	if (!path || !keyfile)
		return exai_cli_refuse(call, "usage: root sign ROOT --key ROOTKEY.key");
	if (exai_root_load(path, &r, &e) ||
	    exb_load_seckey(keyfile, pwfile, EXAI_KEY_ROLE_ROOT, "signing a trust root", &sk, &e)) {
		ret = exb_report("root sign", &e, false, EXB_USAGE);
		goto out;
	}
	exai_keyid_str(sk->id, id);
	for (size_t i = 0; i < r->n_root_keys; i++)
		own |= !memcmp(r->root_keys[i].id, sk->id, EXAI_KEYID_LEN);
	for (slot = 0; slot < r->n_sigs; slot++)
		if (!memcmp(r->sigs[slot].id, sk->id, EXAI_KEYID_LEN))
			break;
	if (slot == EXAI_ROOT_MAX_SIGS) {
		fprintf(stderr, "exai-bundle root sign: too many signatures\n");
		goto out;
	}
	msg = exai_root_signed_message(r, &mlen);
	if (!msg)
		goto out;
	memcpy(r->sigs[slot].id, sk->id, EXAI_KEYID_LEN);
	exai_ed25519_sign(sk, msg, mlen, r->sigs[slot].sig);
	if (slot == r->n_sigs)
		r->n_sigs++;
	text = exai_root_file_text(r);
	if (!text || exai_file_write_atomic(path, text, strlen(text), 0644, &e) != EXAI_OK) {
		if (!text)
			exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		ret = exb_report("root sign", &e, false, EXB_USAGE);
		goto out;
	}
	printf("root version %llu signed by %s%s; %u of %u own root-key signatures\n",
	       (unsigned long long)r->version, id,
	       own ? "" : " (not one of its root keys: counts only as a previous root's key)",
	       exai_root_count_valid(r, r->root_keys, r->n_root_keys), r->root_threshold);
	ret = EXB_OK;
out:
	free(text);
	free(msg);
	free(r);
	exai_seckey_free(sk);
	return ret;
}

static json_t *keys_json(const exai_pubkey *keys, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		char id[EXAI_KEYID_STR];
		exai_keyid_str(keys[i].id, id);
		json_array_append_new(a, json_string(id));
	}
	return a;
}

static int root_show(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    {"prev", true, O_PREV}, {"json", false, O_JSON}, {NULL, false, 0}};
	const char *prev_path = NULL, *path = NULL, *v;
	exai_root *r = NULL, *prev = NULL;
	bool json = false, self_ok, chain_ok = true;
	char chain_msg[EXAI_ERROR_MSG_MAX] = "";
	char created[32], expires[32] = "never";
	exai_cli_parser p;
	exai_error e;
	unsigned nvalid;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == O_PREV)
			prev_path = v;
		else if (c == O_JSON)
			json = true;
		else if (c == EXAI_CLI_ARG && !path)
			path = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "one ROOT only ('%s' and '%s')", path, v);
		else
			return exai_cli_exit(c);
	}
	if (!path)
		return exai_cli_refuse(call, "usage: root show ROOT [--prev OLDROOT]");
	if (exai_root_load(path, &r, &e) || (prev_path && exai_root_load(prev_path, &prev, &e))) {
		free(r);
		return exb_report("root show", &e, json, EXB_USAGE);
	}
	nvalid = exai_root_count_valid(r, r->root_keys, r->n_root_keys);
	self_ok = nvalid >= r->root_threshold;
	if (prev && exai_root_check_successor(prev, r, &e) != EXAI_OK) {
		chain_ok = false;
		snprintf(chain_msg, sizeof(chain_msg), "%s", e.msg);
	}
	exb_format_time(r->created, created, sizeof(created));
	if (r->expires)
		exb_format_time(r->expires, expires, sizeof(expires));
	if (json) {
		json_t *o =
		    json_pack("{s:b,s:I,s:s,s:s,s:i,s:o,s:i,s:o,s:i,s:b}", "ok",
			      self_ok && chain_ok, "version", (json_int_t)r->version, "created",
			      created, "expires", expires, "root_threshold", (int)r->root_threshold,
			      "root_keys", keys_json(r->root_keys, r->n_root_keys),
			      "release_threshold", (int)r->release_threshold, "release_keys",
			      keys_json(r->release_keys, r->n_release_keys),
			      "valid_root_signatures", (int)nvalid, "self_signed", self_ok);
		if (prev)
			exai_json_set(o, "follows_prev",
				      json_pack("{s:b,s:s}", "ok", chain_ok, "error", chain_msg));
		exai_json_emit(o, stdout);
	} else {
		char id[EXAI_KEYID_STR];
		printf("root version %llu\n  created: %s\n  expires: %s\n",
		       (unsigned long long)r->version, created, expires);
		printf("  root keys (threshold %u):", r->root_threshold);
		for (size_t i = 0; i < r->n_root_keys; i++) {
			exai_keyid_str(r->root_keys[i].id, id);
			printf(" %s", id);
		}
		printf("\n  release keys (threshold %u):", r->release_threshold);
		for (size_t i = 0; i < r->n_release_keys; i++) {
			exai_keyid_str(r->release_keys[i].id, id);
			printf(" %s", id);
		}
		printf("\n  signatures: %u valid by its own root keys (%s)\n", nvalid,
		       self_ok ? "threshold met" : "threshold NOT met");
		if (prev)
			printf("  follows %s: %s\n", prev_path, chain_ok ? "yes" : chain_msg);
	}
	free(r);
	free(prev);
	return self_ok && chain_ok ? EXB_OK : EXB_FAIL;
}

static const exai_cli_cmd root_cmds[] = {
    {"init", "write a new, unsigned trust root", init_help, root_init, NULL},
    {"sign", "add a root key's signature to a trust root", sign_help, root_sign, NULL},
    {"show", "show a trust root and check its signatures", show_help, root_show, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static const exai_cli_opt root_global[] = {{"json", false, O_JSON}, {NULL, false, 0}};

const exai_cli_tool exb_root_tool = {
    .name = "exai-bundle root",
    .usage = "usage: exai-bundle root <command> [options]\n",
    .epilog = "A trust root lists root keys (which sign roots) and release keys (which sign\n"
	      "bundles), each with a threshold. Root N+1 is accepted only when signed by\n"
	      "root-threshold keys of root N and root-threshold keys of its own.\n"
	      "Run 'exai-bundle root <command> --help' for a command's options.\n",
    .cmds = root_cmds,
    .global = root_global,
};
