/*
 * keygen: release and root keys (minisign Ed25519), site keys (X25519).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exb_cli.h"
#include "prompt.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/secmem.h"

const char exb_keygen_help[] =
    "usage: exai-bundle keygen --type release|root|site --out PREFIX\n"
    "                          [--password-file FILE | --no-password]\n"
    "                          [--kdf sensitive|interactive] [--json]\n"
    "\n"
    "Writes PREFIX.pub and PREFIX.key (mode 0600). Neither may exist already.\n"
    "release/root keys are minisign Ed25519 keys: stock 'minisign -V -p PREFIX.pub'\n"
    "verifies what they sign. Their secret key is encrypted with a password the way\n"
    "minisign does it (scrypt; --kdf interactive uses 16 MiB instead of 1 GiB): typed\n"
    "twice on the terminal, or the first line of --password-file FILE. Off a terminal\n"
    "one of --password-file or --no-password (store the key in the clear, as minisign\n"
    "-W) must be given. Commands that use an encrypted key ask for its password on the\n"
    "terminal, or take --password-file.\n"
    "site keys are X25519 keys that bundles are encrypted to; they have no password\n"
    "(the appliance reads its site key unattended), so they take neither option.\n"
    "Both files name the key's role in their comment line; commands that take a\n"
    "secret key refuse one of another role (a root key cannot sign a bundle).\n";

/* minisign's public key file, with the key's role in the comment line (the line stock
 * minisign ignores), ending in "minisign public key <KEYID>" as minisign writes it. */
static char *pubkey_text(const exai_pubkey *pk, exai_key_role role)
{
	char id[EXAI_KEYID_STR], comment[96], *b64 = exai_pubkey_b64(pk), *out = NULL;

	if (!b64)
		return NULL;
	exai_keyid_str(pk->id, id);
	exai_key_comment(role, "public key", comment, sizeof(comment));
	if (asprintf(&out, "untrusted comment: %s %s\n%s\n", comment, id, b64) < 0)
		out = NULL;
	free(b64);
	return out;
}

enum { O_TYPE, O_OUT, O_PWFILE, O_NO_PASSWORD, O_KDF, O_JSON };

int exb_cmd_keygen(const exai_cli_call *call, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    {"type", true, O_TYPE},
	    {"out", true, O_OUT},
	    {"password-file", true, O_PWFILE},
	    {"no-password", false, O_NO_PASSWORD},
	    {"kdf", true, O_KDF},
	    {"json", false, O_JSON},
	    {NULL, false, 0},
	};
	const char *type = NULL, *prefix = NULL, *pwfile = NULL, *v;
	exai_kdf_strength kdf = EXAI_KDF_SENSITIVE;
	char *pub = NULL, *key = NULL, *pw = NULL;
	char id[EXAI_KEYID_STR];
	bool json = false, no_password = false;
	exai_cli_parser p;
	exai_error e;
	int c, ret = EXB_OK;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (c) {
		case O_TYPE:
			type = v;
			break;
		case O_OUT:
			prefix = v;
			break;
		case O_PWFILE:
			pwfile = v;
			break;
		case O_NO_PASSWORD:
			no_password = true;
			break;
		case O_KDF:
			if (!strcmp(v, "interactive"))
				kdf = EXAI_KDF_INTERACTIVE;
			else if (strcmp(v, "sensitive"))
				return exai_cli_refuse(call,
						       "--kdf must be sensitive or interactive");
			break;
		case O_JSON:
			json = true;
			break;
		case EXAI_CLI_ARG:
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		default:
			return exai_cli_exit(c);
		}
	}
	if (!type || !prefix)
		return exai_cli_refuse(call, "--type and --out are required");
	if (strcmp(type, "release") && strcmp(type, "root") && strcmp(type, "site"))
		return exai_cli_refuse(call, "--type must be release, root or site");
	if (!strcmp(type, "site") && (pwfile || no_password))
		return exai_cli_refuse(call, "site keys have no password: give neither "
					     "--password-file nor --no-password");
	if (pwfile && no_password)
		return exai_cli_refuse(call, "--password-file and --no-password exclude each "
					     "other");
	if (strcmp(type, "site") && !pwfile && !no_password && !exb_prompt_available())
		return exai_cli_refuse(call,
				       "standard input is not a terminal to ask for the %s key's "
				       "password on: give --password-file FILE, or --no-password "
				       "to store the secret key unencrypted",
				       type);
	if (asprintf(&pub, "%s.pub", prefix) < 0 || asprintf(&key, "%s.key", prefix) < 0) {
		fprintf(stderr, "exai-bundle keygen: out of memory\n");
		return EXB_USAGE;
	}
	/* Before anyone types a password: the files are created with O_EXCL all the same. */
	for (const char *f = pub; f; f = f == pub ? key : NULL) {
		struct stat st;
		if (lstat(f, &st) == 0) {
			exai_error_set(&e, EXAI_EEXIST, "%s: exists already (never overwritten)",
				       f);
			ret = exb_report("keygen", &e, json, EXB_USAGE);
			goto out;
		}
	}
	if (!strcmp(type, "site")) {
		exai_site_pub sp;
		if (exai_site_keygen(pub, key, &sp, &e) != EXAI_OK) {
			ret = exb_report("keygen", &e, json, EXB_USAGE);
			goto out;
		}
		exai_keyid_str(sp.id, id);
	} else {
		exai_seckey *sk = NULL;
		exai_pubkey pk;
		char *text = NULL;
		exai_key_role role =
		    !strcmp(type, "root") ? EXAI_KEY_ROLE_ROOT : EXAI_KEY_ROLE_RELEASE;
		char what[320];
		snprintf(what, sizeof(what), "%s key %s.key", type, prefix);
		if ((pwfile	   ? exb_read_password(pwfile, &pw, &e)
		     : no_password ? EXAI_OK
				   : exb_prompt_new_password(what, &pw, &e)) ||
		    exai_seckey_generate(&sk, &e)) {
			exai_seckey_free(sk);
			ret = exb_report("keygen", &e, json, EXB_USAGE);
			goto out;
		}
		sk->role = role; /* written into both files' comment line */
		if (exai_seckey_write(key, sk, pw, kdf, &e)) {
			exai_seckey_free(sk);
			ret = exb_report("keygen", &e, json, EXB_USAGE);
			goto out;
		}
		exai_seckey_public(sk, &pk);
		exai_seckey_free(sk);
		exai_keyid_str(pk.id, id);
		text = pubkey_text(&pk, role);
		if (!text || exai_write_new_file(pub, text, 0644, &e) != EXAI_OK) {
			if (!text)
				exai_error_set(&e, EXAI_ENOMEM, "out of memory");
			remove(key);
			free(text);
			ret = exb_report("keygen", &e, json, EXB_USAGE);
			goto out;
		}
		free(text);
	}
	if (json) {
		exai_json_emit(json_pack("{s:b,s:s,s:s,s:s,s:s,s:b}", "ok", 1, "type", type,
					 "key_id", id, "public", pub, "secret", key, "encrypted",
					 pw != NULL),
			       stdout);
	} else {
		printf("%s key %s\n  public: %s\n  secret: %s (mode 0600%s)\n", type, id, pub, key,
		       pw ? ", password-protected" : "");
	}
out:
	exai_secmem_free(pw);
	free(pub);
	free(key);
	return ret;
}
