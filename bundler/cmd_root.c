/*
 * root: init (write an unsigned trust root), sign (add a root-key signature), show.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exb_cli.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/text.h"

#define ROOT_DEFAULT_LIFETIME (365ull * 86400)

static void usage(FILE *out)
{
	fputs(
	    "usage: exai-bundle root init --out ROOT --root-key KEY.pub... --root-threshold K\n"
	    "                             --release-key KEY.pub... --release-threshold K\n"
	    "                             [--version N] [--expires TIME|never] [--created TIME]\n"
	    "       exai-bundle root sign ROOT --key ROOTKEY.key [--password-file FILE]\n"
	    "       exai-bundle root show ROOT [--prev OLDROOT] [--json]\n"
	    "\n"
	    "A trust root lists root keys (which sign roots) and release keys (which sign\n"
	    "bundles), each with a threshold. Root N+1 is accepted only when signed by\n"
	    "root-threshold keys of root N and root-threshold keys of its own: sign the new root\n"
	    "with both sets. TIME is unix seconds or YYYY-MM-DD[THH:MM:SSZ] (UTC). A root expires\n"
	    "365 days after it was created unless --expires says otherwise ('never' only by\n"
	    "choice): a stolen root key then stops mattering at the latest when its root expires.\n"
	    "'sign' asks for a password-protected root key's password on the terminal, or reads\n"
	    "it from --password-file FILE (required off a terminal).\n"
	    "'show' checks the root's own signatures, and with --prev that it may follow OLDROOT;\n"
	    "it exits 1 when either check fails.\n",
	    out);
}

static int root_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"out", required_argument, NULL, 'o'},
	    {"root-key", required_argument, NULL, 'r'},
	    {"root-threshold", required_argument, NULL, 'R'},
	    {"release-key", required_argument, NULL, 'l'},
	    {"release-threshold", required_argument, NULL, 'L'},
	    {"version", required_argument, NULL, 'v'},
	    {"expires", required_argument, NULL, 'x'},
	    {"created", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	exai_root *r = calloc(1, sizeof(*r));
	const char *out = NULL;
	bool expires_set = false;
	char when[32];
	uint64_t v;
	char *text = NULL;
	exai_error e;
	int c, ret = EXB_USAGE;

	if (!r)
		return EXB_USAGE;
	r->version = 1;
	r->created = exb_now();
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		exai_pubkey *slot;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'r':
		case 'l':
			if ((c == 'r' ? r->n_root_keys : r->n_release_keys) == EXAI_ROOT_MAX_KEYS) {
				exb_usage_error("root init", "at most %d keys of each kind",
						EXAI_ROOT_MAX_KEYS);
				goto out;
			}
			slot = c == 'r' ? &r->root_keys[r->n_root_keys++]
					: &r->release_keys[r->n_release_keys++];
			if (exb_check_key_role(
				optarg, c == 'r' ? EXAI_KEY_ROLE_ROOT : EXAI_KEY_ROLE_RELEASE,
				c == 'r' ? "--root-key" : "--release-key", &e) ||
			    exai_pubkey_load(optarg, slot, &e) != EXAI_OK) {
				exb_report("root init", &e, false, EXB_USAGE);
				goto out;
			}
			break;
		case 'R':
		case 'L':
			if (!exai_parse_u64(optarg, &v) || v > EXAI_ROOT_MAX_KEYS) {
				exb_usage_error("root init", "bad threshold '%s'", optarg);
				goto out;
			}
			*(c == 'R' ? &r->root_threshold : &r->release_threshold) = (unsigned)v;
			break;
		case 'v':
			if (!exai_parse_u64(optarg, &r->version)) {
				exb_usage_error("root init", "bad version '%s'", optarg);
				goto out;
			}
			break;
		case 'x':
			expires_set = true;
			if (!strcmp(optarg, "never")) {
				r->expires = 0;
				break;
			}
			/* fall through */
		case 'c':
			if (!exai_parse_time(optarg, c == 'x' ? &r->expires : &r->created)) {
				exb_usage_error("root init", "bad time '%s'", optarg);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			ret = EXB_OK;
			goto out;
		default:
			exb_bad_option("root init", argv);
			goto out;
		}
	}
	if (!out || optind != argc) {
		exb_usage_error("root init", "--out ROOT is required (and no other arguments)");
		goto out;
	}
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

static int root_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *keyfile = NULL, *pwfile = NULL, *path;
	exai_seckey *sk = NULL;
	exai_root *r = NULL;
	uint8_t *msg = NULL;
	char *text = NULL;
	size_t mlen = 0, slot;
	char id[EXAI_KEYID_STR];
	bool own = false;
	exai_error e;
	int c, ret = EXB_USAGE;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keyfile = optarg;
			break;
		case 'p':
			pwfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXB_OK;
		default:
			return exb_bad_option("root sign", argv);
		}
	}
	if (optind + 1 != argc || !keyfile)
		return exb_usage_error("root sign", "usage: root sign ROOT --key ROOTKEY.key");
	path = argv[optind];
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

static int root_show(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"prev", required_argument, NULL, 'p'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *prev_path = NULL;
	exai_root *r = NULL, *prev = NULL;
	bool json = false, self_ok, chain_ok = true;
	char chain_msg[EXAI_ERROR_MSG_MAX] = "";
	char created[32], expires[32] = "never";
	exai_error e;
	unsigned nvalid;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			prev_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXB_OK;
		default:
			return exb_bad_option("root show", argv);
		}
	}
	if (optind + 1 != argc)
		return exb_usage_error("root show", "usage: root show ROOT [--prev OLDROOT]");
	if (exai_root_load(argv[optind], &r, &e) ||
	    (prev_path && exai_root_load(prev_path, &prev, &e))) {
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

int exb_cmd_root(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXB_USAGE : EXB_OK;
	}
	if (!strcmp(argv[1], "init"))
		return root_init(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sign"))
		return root_sign(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return root_show(argc - 1, argv + 1);
	return exb_usage_error("root", "unknown subcommand '%s'", argv[1]);
}
