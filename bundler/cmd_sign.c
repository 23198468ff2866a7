/*
 * sign: adds one release signature (a minisign signature of the index) to a bundle, or signs
 * a standalone copy of an index on another machine, or attaches a signature made elsewhere
 * (for example by stock 'minisign -S -m index').
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exb_cli.h"
#include "exai/bundle.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/root.h"
#include "exai/text.h"
#include "bundle_write.h"

const char exb_sign_help[] =
    "usage: exai-bundle sign BUNDLE --key RELEASE.key [--password-file FILE] [--root "
    "ROOT]\n"
    "                        [--replace] [--json]\n"
    "       exai-bundle sign BUNDLE --attach SIGNATURE.minisig\n"
    "                        [--pubkey RELEASE.pub] [--root ROOT] [--replace] [--json]\n"
    "       exai-bundle sign BUNDLE --remove KEYID [--json]\n"
    "       exai-bundle sign INDEX --key RELEASE.key --out SIGNATURE.minisig\n"
    "\n"
    "Signs the bundle's index (a few KiB): instant for any bundle size. Each signer runs\n"
    "it with their own key, on their own machine. A signer without the bundle can sign a\n"
    "copy of its 'index' file with --out, and the signature is then added with --attach.\n"
    "Signatures are minisign files: 'minisign -V -p RELEASE.pub -m index -x SIG' checks\n"
    "one, and a signature made by 'minisign -S -m index' can be attached.\n"
    "An attached signature must verify over this bundle's index with its public key: from\n"
    "--pubkey, else the release keys of --root (after the bundle's root chain), else "
    "those\n"
    "of the newest root the bundle carries. With --root the signing key must be one of\n"
    "the effective root's release keys. The key must be a release key (a root or site key\n"
    "is refused). A password-protected key's password is asked for on the terminal, or\n"
    "read from the first line of --password-file FILE (required off a terminal).\n"
    "A bundle holds one signature per key: signing twice with a key is refused, unless\n"
    "--replace (the old signature by that key is replaced). --remove drops every "
    "signature\n"
    "by KEYID. An .exb is rewritten to a new file and renamed into place for --replace "
    "and\n"
    "--remove (a copy of the bundle: minutes for many GB on a slow disk); a plain sign\n"
    "appends in place, crash-safe.\n";

static bool is_index_file(const char *path)
{
	static const char magic[] = "exai-bundle-index "; /* any version: a hint only */
	char buf[sizeof(magic)] = {0};
	struct stat st;
	FILE *f;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	if (!(f = fopen(path, "rb")))
		return false;
	size_t n = fread(buf, 1, sizeof(magic) - 1, f);
	fclose(f);
	return n == sizeof(magic) - 1 && !memcmp(buf, magic, n);
}

static bool has_sig_entry(const exai_bundle *b, const char *name)
{
	return exai_bundle_entry(b, name) != NULL;
}

/* Writes @sig as the signature by key @id (NULL @sig: removes every signature by @id).
 * Directory form: an atomic write of sig/<KEYID>.minisig, or its removal and a sync of sig/.
 * .exb: an in-place crash-safe append for a new signer; a rewrite and rename otherwise. */
static exai_status set_signature(exai_bundle *b, const uint8_t *id, const char *sig, bool replace,
				 unsigned *removed, exai_error *e)
{
	char kid[EXAI_KEYID_STR], name[40], *dir = NULL, *path = NULL;
	bool exists;
	exai_status rc = EXAI_OK;

	*removed = 0;
	exai_keyid_str(id, kid);
	snprintf(name, sizeof(name), "sig/%s.minisig", kid);
	exists = has_sig_entry(b, name);
	if (sig && exists && !replace)
		return exai_error_set(e, EXAI_EEXIST,
				      "%s already holds a signature by key %s (--replace replaces "
				      "it, --remove %s removes it)",
				      b->path, kid, kid);
	if (!sig && !exists)
		return exai_error_set(e, EXAI_ENOENT, "%s holds no signature by key %s", b->path,
				      kid);
	if (b->is_exb) {
		if (sig && !exists)
			return exb_exb_append(b->path, name, (const uint8_t *)sig, strlen(sig),
					      b->index->created, e);
		return exb_exb_rewrite_sigs(b->path, name, sig ? name : NULL, (const uint8_t *)sig,
					    sig ? strlen(sig) : 0, b->index->created, removed, e);
	}
	dir = exai_path_join(b->path, "sig");
	path = exai_path_join(b->path, name);
	if (!dir || !path) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	} else if (sig) {
		if ((rc = exai_mkdir_p(dir, 0755, e)) == EXAI_OK)
			rc = exai_file_write_atomic(path, sig, strlen(sig), 0644, e);
		*removed = exists;
	} else if (unlink(path) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: remove", path);
	} else {
		*removed = 1;
		rc = exai_fsync_dir(dir, e);
	}
	free(dir);
	free(path);
	return rc;
}

/* The trusted comment of a signature: what was signed, in minisign's "key:value" tab form, so
 * a signer who checks with stock `minisign -V` (which prints it) sees which bundle it is. */
static void trusted_comment(const exai_index *ix, char *buf, size_t cap)
{
	char id[EXAI_BUNDLE_ID_LEN * 2 + 1];

	exai_hex_encode(ix->bundle_id, EXAI_BUNDLE_ID_LEN, id);
	snprintf(buf, cap, "timestamp:%llu\tbundle:%.16s\tchannel:%s\tsequence:%llu\tfile:index",
		 (unsigned long long)exb_now(), id, ix->channel, (unsigned long long)ix->sequence);
}

/* The newest root the bundle carries (not trusted: only to find a public key by id). */
static exai_status newest_carried_root(const exai_bundle *b, exai_root **out, exai_error *e)
{
	uint64_t best = 0, v;
	const exai_bentry *be = NULL;

	*out = NULL;
	for (size_t i = 0; i < b->n_entries; i++)
		if (!strncmp(b->entries[i].name, "roots/", 6) &&
		    exai_parse_u64(b->entries[i].name + 6, &v) && v > best) {
			best = v;
			be = &b->entries[i];
		}
	if (!be)
		return EXAI_OK;
	return exai_root_parse(be->data, be->size, be->name, out, e);
}

typedef struct sign_opts {
	const char *target, *keyfile, *pwfile, *attach, *outfile, *pubkey, *rootfile, *remove;
	bool json, replace;
} sign_opts;

/* The public key to check an attached signature by key @id with; *where says where it came
 * from. With a root, the key must be one of its effective release keys. */
static exai_status attach_key(const sign_opts *o, const exai_bundle *b, const exai_root *eff,
			      const uint8_t *id, exai_pubkey *pk, const char **where, exai_error *e)
{
	const exai_pubkey *rk = eff ? exai_root_release_key(eff, id) : NULL;
	char kid[EXAI_KEYID_STR];
	exai_root *carried = NULL;
	exai_status rc;

	exai_keyid_str(id, kid);
	if (eff && !rk)
		return exai_error_set(e, EXAI_EREFUSED,
				      "the signature is by key %s, not a release key of root "
				      "version %llu",
				      kid, (unsigned long long)eff->version);
	if (o->pubkey) {
		char pid[EXAI_KEYID_STR];
		if ((rc = exai_pubkey_load(o->pubkey, pk, e)))
			return rc;
		exai_keyid_str(pk->id, pid);
		if (memcmp(pk->id, id, EXAI_KEYID_LEN))
			return exai_error_set(e, EXAI_EREFUSED,
					      "the signature is by key %s, %s is key %s", kid,
					      o->pubkey, pid);
		if (rk && memcmp(rk->pk, pk->pk, sizeof(pk->pk)))
			return exai_error_set(e, EXAI_EREFUSED,
					      "%s is not the release key %s that root version %llu "
					      "lists (same id, another key)",
					      o->pubkey, kid, (unsigned long long)eff->version);
		*where = o->pubkey;
		return EXAI_OK;
	}
	if (rk) {
		*pk = *rk;
		*where = "the release keys of --root";
		return EXAI_OK;
	}
	if ((rc = newest_carried_root(b, &carried, e)))
		return exai_error_prefix(e, "%s", b->path);
	rk = carried ? exai_root_release_key(carried, id) : NULL;
	if (rk)
		*pk = *rk;
	free(carried);
	if (!rk)
		return exai_error_set(e, EXAI_EREFUSED,
				      "cannot check the signature by key %s over this bundle's "
				      "index: give --pubkey %s.pub or --root ROOT",
				      kid, kid);
	*where = "the release keys of the newest root this bundle carries (not checked "
		 "against a trusted root: give --root)";
	return EXAI_OK;
}

enum { O_KEY, O_PWFILE, O_ATTACH, O_OUT, O_PUBKEY, O_ROOT, O_REMOVE, O_REPLACE, O_JSON };

/* 0, or what exai_cli_exit turns into the exit code. */
static int parse_opts(const exai_cli_call *call, int argc, char **argv, sign_opts *o)
{
	static const exai_cli_opt opts[] = {
	    {"key", true, O_KEY},	{"password-file", true, O_PWFILE},
	    {"attach", true, O_ATTACH}, {"out", true, O_OUT},
	    {"pubkey", true, O_PUBKEY}, {"root", true, O_ROOT},
	    {"remove", true, O_REMOVE}, {"replace", false, O_REPLACE},
	    {"json", false, O_JSON},	{NULL, false, 0},
	};
	exai_cli_parser p;
	const char *v;
	int c, modes;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (c) {
		case O_KEY:
			o->keyfile = v;
			break;
		case O_PWFILE:
			o->pwfile = v;
			break;
		case O_ATTACH:
			o->attach = v;
			break;
		case O_OUT:
			o->outfile = v;
			break;
		case O_PUBKEY:
			o->pubkey = v;
			break;
		case O_ROOT:
			o->rootfile = v;
			break;
		case O_REMOVE:
			o->remove = v;
			break;
		case O_REPLACE:
			o->replace = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case EXAI_CLI_ARG:
			if (o->target)
				return exai_cli_refuse(call, "one BUNDLE only ('%s' and '%s')",
						       o->target, v);
			o->target = v;
			break;
		default:
			return c; /* help or a refusal */
		}
	}
	modes = !!o->keyfile + !!o->attach + !!o->remove;
	if (!o->target || modes != 1)
		return exai_cli_refuse(
		    call, "give BUNDLE and exactly one of --key, --attach or --remove");
	if (o->outfile && !o->keyfile)
		return exai_cli_refuse(call, "--out goes with --key (signing an index copy)");
	if (o->pubkey && !o->attach)
		return exai_cli_refuse(call, "--pubkey goes with --attach");
	if (o->remove && (o->replace || o->rootfile || o->pwfile))
		return exai_cli_refuse(call, "--remove takes no other option but --json");
	return 0;
}

/* Signs a standalone copy of an index (a signer's machine without the bundle). */
static int sign_index_copy(const exai_cli_call *call, const sign_opts *o, const char *target)
{
	uint8_t *ixdata = NULL;
	size_t ixlen = 0;
	exai_index *ix = NULL;
	exai_seckey *sk = NULL;
	char *sigtext = NULL, kid[EXAI_KEYID_STR], tc[EXAI_TRUSTED_COMMENT_MAX];
	exai_error e;
	int ret = EXB_OK;

	if (!o->outfile)
		return exai_cli_refuse(call, "%s is an index file: give --out SIG.minisig", target);
	/* Only a well-formed index is signed; its id, channel and sequence go into the
	 * trusted comment. */
	if (exai_file_read_bounded(target, EXAI_INDEX_MAX_BYTES, &ixdata, &ixlen, &e) ||
	    exai_index_parse(ixdata, ixlen, &ix, &e) ||
	    exb_load_seckey(o->keyfile, o->pwfile, EXAI_KEY_ROLE_RELEASE, "signing a bundle", &sk,
			    &e)) {
		ret = exb_report("sign", &e, o->json, EXB_USAGE);
		goto out;
	}
	trusted_comment(ix, tc, sizeof(tc));
	if (exai_minisig_sign(sk, ixdata, ixlen, tc, &sigtext, &e) ||
	    exai_write_new_file(o->outfile, sigtext, 0644, &e)) {
		ret = exb_report("sign", &e, o->json, EXB_USAGE);
		goto out;
	}
	exai_keyid_str(sk->id, kid);
	printf("signed %s with key %s -> %s\n", target, kid, o->outfile);
out:
	free(sigtext);
	free(ix);
	free(ixdata);
	exai_seckey_free(sk);
	return ret;
}

int exb_cmd_sign(const exai_cli_call *call, int argc, char **argv)
{
	sign_opts o = {0};
	exai_seckey *sk = NULL;
	exai_bundle *b = NULL;
	exai_root *trusted = NULL, *eff = NULL;
	uint8_t *sigfile = NULL;
	size_t siglen = 0;
	char *sigtext = NULL, kid[EXAI_KEYID_STR];
	const char *target, *checked_with = NULL;
	uint8_t id[EXAI_KEYID_LEN];
	unsigned removed = 0;
	exai_error e;
	int ret = parse_opts(call, argc, argv, &o);

	if (ret)
		return exai_cli_exit(ret);
	target = o.target;
	if (o.outfile || (o.keyfile && is_index_file(target)))
		return sign_index_copy(call, &o, target);
	if (o.rootfile &&
	    (exai_root_load(o.rootfile, &trusted, &e) || exai_root_check_self(trusted, &e))) {
		ret = exb_report("sign", &e, o.json, EXB_USAGE);
		goto out;
	}
	if (exai_bundle_open(target, &b, &e) ||
	    (trusted && exai_bundle_effective_root(b, trusted, &eff, &e))) {
		ret = exb_report("sign", &e, o.json, EXB_FAIL);
		goto out;
	}
	ret = EXB_FAIL;
	if (o.remove) {
		if (exai_keyid_parse(o.remove, id, &e)) {
			ret = exb_report("sign", &e, o.json, EXB_USAGE);
			goto out;
		}
	} else if (o.keyfile) {
		if (exb_load_seckey(o.keyfile, o.pwfile, EXAI_KEY_ROLE_RELEASE, "signing a bundle",
				    &sk, &e)) {
			ret = exb_report("sign", &e, o.json, EXB_USAGE);
			goto out;
		}
		exai_keyid_str(sk->id, kid);
		if (eff) {
			const exai_pubkey *rk = exai_root_release_key(eff, sk->id);
			if (!rk || memcmp(rk->pk, sk->pk, sizeof(rk->pk))) {
				exai_error_set(&e, EXAI_EREFUSED,
					       "%s (key %s) is not a release key of root version "
					       "%llu",
					       o.keyfile, kid, (unsigned long long)eff->version);
				ret = exb_report("sign", &e, o.json, EXB_FAIL);
				goto out;
			}
		}
		char tc[EXAI_TRUSTED_COMMENT_MAX];
		trusted_comment(b->index, tc, sizeof(tc));
		if (exai_minisig_sign(sk, b->index_entry->data, b->index_entry->size, tc, &sigtext,
				      &e)) {
			ret = exb_report("sign", &e, o.json, EXB_USAGE);
			goto out;
		}
		memcpy(id, sk->id, EXAI_KEYID_LEN);
	} else {
		exai_minisig sig;
		exai_pubkey pk;
		if (exai_file_read_bounded(o.attach, EXAI_MINISIG_MAX, &sigfile, &siglen, &e) ||
		    exai_minisig_parse(sigfile, siglen, &sig, &e)) {
			ret = exb_report("sign", &e, o.json, EXB_USAGE);
			goto out;
		}
		memcpy(id, sig.id, EXAI_KEYID_LEN);
		if (attach_key(&o, b, eff, sig.id, &pk, &checked_with, &e) ||
		    exai_minisig_verify(&sig, &pk, b->index_entry->data, b->index_entry->size,
					&e)) {
			exai_error_prefix(&e, "%s: not attached", o.attach);
			ret = exb_report("sign", &e, o.json, EXB_FAIL);
			goto out;
		}
		sigtext = strndup((char *)sigfile, siglen);
		if (!sigtext) {
			exai_error_set(&e, EXAI_ENOMEM, "out of memory");
			ret = exb_report("sign", &e, o.json, EXB_FAIL);
			goto out;
		}
	}
	exai_keyid_str(id, kid);
	if (set_signature(b, id, o.remove ? NULL : sigtext, o.replace, &removed, &e)) {
		ret = exb_report("sign", &e, o.json, EXB_FAIL);
		goto out;
	}
	if (o.json) {
		json_t *j = json_pack("{s:b,s:s,s:s,s:s,s:i}", "ok", 1, "bundle", target, "key_id",
				      kid, "action",
				      o.remove	? "removed"
				      : removed ? "replaced"
						: "added",
				      "removed", (int)removed);
		if (checked_with)
			exai_json_set(j, "checked_with", json_string(checked_with));
		exai_json_emit(j, stdout);
	} else if (o.remove) {
		printf("removed the signature by key %s from %s\n", kid, target);
	} else {
		printf("%s %s with key %s%s\n", o.attach ? "attached a signature to" : "signed",
		       target, kid, removed ? " (replacing its earlier signature)" : "");
		if (checked_with)
			printf("  checked over the index with %s\n", checked_with);
	}
	ret = EXB_OK;
out:
	free(sigtext);
	free(sigfile);
	free(trusted);
	free(eff);
	exai_seckey_free(sk);
	exai_bundle_free(b);
	return ret;
}
