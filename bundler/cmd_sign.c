/*
 * sign: adds one release signature (a minisign signature of the index) to a bundle, or signs
 * a standalone copy of an index on another machine, or attaches a signature made elsewhere
 * (for example by stock 'minisign -S -m index').
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "exai/bundle.h"
#include "exai/file.h"
#include "exai/json.h"
#include "output.h"

static void usage(FILE *out)
{
	fputs(
	    "usage: exai-bundle sign BUNDLE --key RELEASE.key [--password-file FILE] [--json]\n"
	    "       exai-bundle sign BUNDLE --attach SIGNATURE.minisig [--json]\n"
	    "       exai-bundle sign INDEX --key RELEASE.key --out SIGNATURE.minisig\n"
	    "\n"
	    "Signs the bundle's index (a few KiB): instant for any bundle size. Each signer runs\n"
	    "it with their own key, on their own machine. A signer without the bundle can sign a\n"
	    "copy of its 'index' file with --out, and the signature is then added with --attach.\n"
	    "Signatures are minisign files: 'minisign -V -p RELEASE.pub -m index -x SIG' checks\n"
	    "one, and a signature made by 'minisign -S -m index' can be attached.\n"
	    "A bundle holds one signature per key: signing twice with a key is refused.\n",
	    out);
}

static bool is_index_file(const char *path)
{
	static const char magic[] = "exai-bundle-index 1\n";
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

/* Adds @sig (already checked to be a signature of the index by key @id) to the bundle. */
static exai_status add_signature(exai_bundle *b, const uint8_t *id, const char *sig, exai_error *e)
{
	char kid[EXAI_KEYID_STR], name[40], *dir = NULL, *path = NULL;
	exai_status rc;

	exai_keyid_str(id, kid);
	snprintf(name, sizeof(name), "sig/%s.minisig", kid);
	if (b->is_exb) {
		if (exai_bundle_entry(b, name))
			return exai_error_set(
			    e, EXAI_EEXIST, "%s already holds a signature by key %s", b->path, kid);
		return exb_exb_append(b->path, name, (const uint8_t *)sig, strlen(sig),
				      b->index->created, e);
	}
	dir = exai_path_join(b->path, "sig");
	path = exai_path_join(b->path, name);
	if (!dir || !path)
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	else if (exai_bundle_entry(b, name))
		rc = exai_error_set(e, EXAI_EEXIST, "%s already holds a signature by key %s",
				    b->path, kid);
	else if ((rc = exai_mkdir_p(dir, 0755, e)) == EXAI_OK)
		rc = exai_file_write_atomic(path, sig, strlen(sig), 0644, e);
	free(dir);
	free(path);
	return rc;
}

int exb_cmd_sign(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"key", required_argument, NULL, 'k'},
	    {"password-file", required_argument, NULL, 'p'},
	    {"attach", required_argument, NULL, 'a'},
	    {"out", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *keyfile = NULL, *pwfile = NULL, *attach = NULL, *outfile = NULL, *target;
	exai_seckey *sk = NULL;
	exai_bundle *b = NULL;
	uint8_t *ixdata = NULL, *sigfile = NULL;
	size_t ixlen = 0, siglen = 0;
	char *sigtext = NULL, kid[EXAI_KEYID_STR];
	uint8_t id[EXAI_KEYID_LEN];
	bool json = false;
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
		case 'a':
			attach = optarg;
			break;
		case 'o':
			outfile = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return EXB_OK;
		default:
			return exb_usage_error("sign", "bad option");
		}
	}
	if (optind + 1 != argc || !keyfile == !attach || (outfile && attach))
		return exb_usage_error("sign", "give BUNDLE and exactly one of --key or --attach");
	target = argv[optind];

	if (outfile || is_index_file(target)) {
		/* Offline signing of a standalone index copy. */
		if (!outfile)
			return exb_usage_error(
			    "sign", "%s is an index file: give --out SIG.minisig", target);
		if (exai_file_read_bounded(target, EXAI_INDEX_MAX_BYTES, &ixdata, &ixlen, &e) ||
		    exb_load_seckey(keyfile, pwfile, &sk, &e) ||
		    exai_minisig_sign(sk, ixdata, ixlen, "exai-bundle index", &sigtext, &e) ||
		    exai_write_new_file(outfile, sigtext, 0644, &e)) {
			ret = exb_report("sign", &e, json, EXB_USAGE);
			goto out;
		}
		exai_keyid_str(sk->id, kid);
		printf("signed %s with key %s -> %s\n", target, kid, outfile);
		ret = EXB_OK;
		goto out;
	}
	if (exai_bundle_open(target, &b, &e)) {
		ret = exb_report("sign", &e, json, EXB_FAIL);
		goto out;
	}
	if (keyfile) {
		if (exb_load_seckey(keyfile, pwfile, &sk, &e) ||
		    exai_minisig_sign(sk, b->index_entry->data, b->index_entry->size,
				      "exai-bundle index", &sigtext, &e)) {
			ret = exb_report("sign", &e, json, EXB_USAGE);
			goto out;
		}
		memcpy(id, sk->id, EXAI_KEYID_LEN);
	} else {
		exai_minisig sig;
		if (exai_file_read_bounded(attach, EXAI_MINISIG_MAX, &sigfile, &siglen, &e) ||
		    exai_minisig_parse(sigfile, siglen, &sig, &e)) {
			ret = exb_report("sign", &e, json, EXB_USAGE);
			goto out;
		}
		memcpy(id, sig.id, EXAI_KEYID_LEN);
		sigtext = strndup((char *)sigfile, siglen);
	}
	if (!sigtext || add_signature(b, id, sigtext, &e)) {
		if (!sigtext)
			exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		ret = exb_report("sign", &e, json, EXB_FAIL);
		goto out;
	}
	exai_keyid_str(id, kid);
	if (json)
		exai_json_emit(json_pack("{s:b,s:s,s:s}", "ok", 1, "bundle", target, "key_id", kid),
			       stdout);
	else
		printf("%s %s with key %s\n", attach ? "attached a signature to" : "signed", target,
		       kid);
	ret = EXB_OK;
out:
	free(sigtext);
	free(sigfile);
	free(ixdata);
	exai_seckey_free(sk);
	exai_bundle_free(b);
	return ret;
}
