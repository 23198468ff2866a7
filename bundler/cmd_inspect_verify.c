/*
 * inspect and verify: what a bundle holds, and a full offline verification of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exb_cli.h"
#include "exai/text.h"
#include "exai/bundle.h"
#include "exai/json.h"

const char exb_inspect_help[] =
    "usage: exai-bundle inspect BUNDLE [--key SITE.key] [--root ROOT] [--json]\n"
    "\n"
    "Shows the index (channel, sequence, times, target, encryption, recipients) and\n"
    "the signatures present. Nothing here is trusted unless --root is given, in which\n"
    "case signatures are checked too. With --key (or for a plain bundle) the component\n"
    "list is decrypted and shown.\n";

const char exb_verify_help[] =
    "usage: exai-bundle verify BUNDLE --root ROOT [--key SITE.key | --signatures-only]\n"
    "                          [--now TIME] [--json]\n"
    "\n"
    "Full offline verification: the root chain carried in the bundle, the release\n"
    "signature threshold, every entry's size and hash, and every payload chunk's hash\n"
    "before it is decrypted. With --key (needed for an encrypted bundle's contents) the\n"
    "data key is unwrapped, every chunk decrypted and every component's plaintext hash\n"
    "checked. An encrypted bundle without --key is NOT verified (exit 1: its manifest\n"
    "and plaintext were not checked) unless --signatures-only asks for exactly that\n"
    "partial check; the output then says what was not checked. Expiry is checked\n"
    "against --now (unix seconds or YYYY-MM-DD, default: the clock).\n"
    "The first failure is named (file, chunk, key id). No plaintext is ever printed.\n"
    "Exit status: 0 verified, 1 a check failed or was not made, 2 usage or setup "
    "error.\n";

static const char *sigstate_name(exai_sigstate s)
{
	static const char *const n[] = {"valid", "unknown-key", "bad", "duplicate"};
	return n[s];
}

static json_t *index_json(const exai_index *ix)
{
	char id[EXAI_SHA256_HEX], t1[32], t2[32];
	json_t *cls = json_array(), *sites = json_array(), *rec = json_array();

	exai_hex_encode(ix->bundle_id, EXAI_BUNDLE_ID_LEN, id);
	exb_format_time(ix->created, t1, sizeof(t1));
	exb_format_time(ix->expires, t2, sizeof(t2));
	for (size_t i = 0; i < ix->n_classes; i++)
		json_array_append_new(cls, json_string(ix->classes[i]));
	for (size_t i = 0; i < ix->n_sites; i++)
		json_array_append_new(sites, json_string(ix->sites[i]));
	for (size_t i = 0; i < ix->n_recipients; i++) {
		char k[EXAI_KEYID_STR];
		exai_keyid_str(ix->recipients[i], k);
		json_array_append_new(rec, json_string(k));
	}
	return json_pack("{s:i,s:s,s:s,s:I,s:s,s:s,s:I,s:{s:o,s:o},s:s,s:I,s:I,s:I,s:o}",
			 "format_version", (int)exai_index_version(ix), "bundle_id", id, "channel",
			 ix->channel, "sequence", (json_int_t)ix->sequence, "created", t1,
			 "expires", t2, "min_root_version", (json_int_t)ix->min_root_version,
			 "target", "classes", cls, "sites", sites, "encryption",
			 ix->encryption == EXAI_ENC_NONE ? "none" : "aes-256-gcm", "chunk_size",
			 (json_int_t)ix->chunk_size, "payload_size", (json_int_t)ix->payload_size,
			 "chunks", (json_int_t)ix->chunk_count, "recipients", rec);
}

static json_t *components_json(const exai_manifest *m)
{
	json_t *a = json_array();

	for (size_t i = 0; m && i < m->n; i++) {
		const exai_component *c = &m->c[i];
		json_array_append_new(
		    a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:o,s:b,s:b}", "type",
				 exai_ctype_name(c->type), "name", c->name, "version", c->version,
				 "encoding", c->encoding == EXAI_CENC_TAR ? "tar" : "raw", "target",
				 c->target, "size", (json_int_t)c->size, "entries",
				 (json_int_t)c->entries, "unpacked", (json_int_t)c->unpacked,
				 "sha256", exai_json_hex(c->sha256, EXAI_SHA256_LEN), "setuid",
				 (c->flags & EXAI_CFLAG_SETUID) != 0, "world_writable",
				 (c->flags & EXAI_CFLAG_WORLD_WRITABLE) != 0));
	}
	return a;
}

static json_t *signers_json(const exai_bundle *b, bool checked)
{
	json_t *a = json_array();

	if (checked) {
		for (size_t i = 0; i < b->n_signers; i++) {
			char k[EXAI_KEYID_STR];
			exai_keyid_str(b->signers[i].id, k);
			json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "key_id", k, "state",
							   sigstate_name(b->signers[i].state),
							   "detail", b->signers[i].detail));
		}
		return a;
	}
	for (size_t i = 0; i < b->n_entries; i++)
		if (!strncmp(b->entries[i].name, "sig/", 4)) {
			char k[EXAI_KEYID_STR];
			snprintf(k, sizeof(k), "%.16s", b->entries[i].name + 4);
			json_array_append_new(
			    a, json_pack("{s:s,s:s}", "key_id", k, "state", "unchecked"));
		}
	return a;
}

static void print_index(const exai_bundle *b)
{
	const exai_index *ix = b->index;
	char id[EXAI_SHA256_HEX], t1[32], t2[32], size[32];

	exai_hex_encode(ix->bundle_id, EXAI_BUNDLE_ID_LEN, id);
	exb_format_time(ix->created, t1, sizeof(t1));
	exb_format_time(ix->expires, t2, sizeof(t2));
	exai_format_bytes(size, sizeof(size), (double)ix->payload_size);
	printf("bundle %s (%s)\n  id:         %s\n  channel:    %s, sequence %llu\n", b->path,
	       b->is_exb ? ".exb file" : "directory", id, ix->channel,
	       (unsigned long long)ix->sequence);
	printf("  created:    %s\n  expires:    %s\n  min root:   version %llu\n", t1, t2,
	       (unsigned long long)ix->min_root_version);
	printf("  target:    ");
	for (size_t i = 0; i < ix->n_classes; i++)
		printf(" class:%s", ix->classes[i]);
	for (size_t i = 0; i < ix->n_sites; i++)
		printf(" site:%s", ix->sites[i]);
	printf("\n  format:     version %u%s\n", exai_index_version(ix),
	       exai_index_version(ix) >= EXAI_FORMAT_V2
		   ? " (component digests as 'exai-bundle digest FILE' prints them)"
		   : " (component digests are plain SHA-256)");
	printf("  payload:    %s in %llu %s of %llu KiB, %s\n", size,
	       (unsigned long long)ix->chunk_count, exai_plural(ix->chunk_count, "chunk", "chunks"),
	       (unsigned long long)ix->chunk_size >> 10,
	       ix->encryption == EXAI_ENC_NONE ? "NOT encrypted" : "AES-256-GCM");
	if (ix->n_recipients) {
		printf("  recipients:");
		for (size_t i = 0; i < ix->n_recipients; i++) {
			char k[EXAI_KEYID_STR];
			exai_keyid_str(ix->recipients[i], k);
			printf(" %s", k);
		}
		printf("\n");
	}
}

static void print_components(const exai_manifest *m)
{
	printf("  components:\n");
	for (size_t i = 0; i < m->n; i++) {
		const exai_component *c = &m->c[i];
		char size[32], hex[EXAI_SHA256_HEX];
		exai_format_bytes(size, sizeof(size), (double)c->size);
		exai_hex_encode(c->sha256, EXAI_SHA256_LEN, hex);
		printf("    %-8s %s %s -> %s (%s, %s, %llu %s) %s:%.16s...%s%s\n",
		       exai_ctype_name(c->type), c->name, c->version, c->target,
		       c->encoding == EXAI_CENC_TAR ? "tar" : "raw", size,
		       (unsigned long long)c->entries, exai_plural(c->entries, "entry", "entries"),
		       m->version >= EXAI_FORMAT_V2 ? "digest" : "sha256", hex,
		       c->flags & EXAI_CFLAG_SETUID ? " setuid" : "",
		       c->flags & EXAI_CFLAG_WORLD_WRITABLE ? " world-writable" : "");
	}
}

static void print_signers(const exai_bundle *b, bool checked)
{
	printf("  signatures:");
	if (!checked) {
		size_t n = 0;
		for (size_t i = 0; i < b->n_entries; i++)
			if (!strncmp(b->entries[i].name, "sig/", 4)) {
				printf(" %.16s", b->entries[i].name + 4);
				n++;
			}
		printf(n ? " (not checked: give --root)\n" : " none\n");
		return;
	}
	printf(" %u valid, %u required by root version %llu\n", b->valid_signatures,
	       b->root->release_threshold, (unsigned long long)b->root->version);
	for (size_t i = 0; i < b->n_signers; i++) {
		char k[EXAI_KEYID_STR];
		exai_keyid_str(b->signers[i].id, k);
		printf("    %s %s%s%s\n", k, sigstate_name(b->signers[i].state),
		       b->signers[i].state == EXAI_SIG_BAD ? ": " : "",
		       b->signers[i].state == EXAI_SIG_BAD ? b->signers[i].detail : "");
	}
}

typedef struct show_opts {
	const char *bundle, *root, *key;
	uint64_t now;
	bool now_set, json, signatures_only;
} show_opts;

enum { O_ROOT, O_KEY, O_NOW, O_JSON, O_SIGNATURES_ONLY };

/* inspect's options, and verify's (these and --now, --signatures-only). */
static const exai_cli_opt inspect_opts[] = {
    {"root", true, O_ROOT}, {"key", true, O_KEY}, {"json", false, O_JSON}, {NULL, false, 0}};
static const exai_cli_opt verify_opts[] = {{"root", true, O_ROOT},
					   {"key", true, O_KEY},
					   {"json", false, O_JSON},
					   {"now", true, O_NOW},
					   {"signatures-only", false, O_SIGNATURES_ONLY},
					   {NULL, false, 0}};

/* 0, or what exai_cli_exit turns into the exit code. */
static int parse(const exai_cli_call *call, const exai_cli_opt *opts, int argc, char **argv,
		 show_opts *o)
{
	exai_cli_parser p;
	const char *v;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (c) {
		case O_ROOT:
			o->root = v;
			break;
		case O_KEY:
			o->key = v;
			break;
		case O_NOW:
			if (!exai_parse_time(v, &o->now))
				return exai_cli_refuse(call, "bad time '%s'", v);
			o->now_set = true;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_SIGNATURES_ONLY:
			o->signatures_only = true;
			break;
		case EXAI_CLI_ARG:
			if (o->bundle)
				return exai_cli_refuse(
				    call, "give exactly one BUNDLE ('%s' and '%s')", o->bundle, v);
			o->bundle = v;
			break;
		default:
			return c; /* help or a refusal */
		}
	}
	if (!o->bundle)
		return exai_cli_refuse(call, "give exactly one BUNDLE");
	return 0;
}

int exb_cmd_inspect(const exai_cli_call *call, int argc, char **argv)
{
	show_opts o = {0};
	exai_bundle *b = NULL;
	exai_root *root = NULL;
	exai_site_key *key = NULL;
	exai_verify_opts vo = {0};
	bool checked = false, unlocked = false;
	exai_error e;
	int ret = parse(call, inspect_opts, argc, argv, &o);

	if (ret)
		return exai_cli_exit(ret);
	if ((o.root && exai_root_load(o.root, &root, &e)) ||
	    (o.key && exb_load_site_key(o.key, &key, &e))) {
		ret = exb_report("inspect", &e, o.json, EXB_USAGE);
		goto out;
	}
	if (exai_bundle_open(o.bundle, &b, &e)) {
		ret = exb_report("inspect", &e, o.json, EXB_FAIL);
		goto out;
	}
	if (root) {
		if (exai_bundle_verify(b, root, &vo, &e)) {
			ret = exb_report("inspect", &e, o.json, EXB_FAIL);
			goto out;
		}
		checked = true;
	}
	if ((key || b->index->encryption == EXAI_ENC_NONE)) {
		/* Without --root the entries are checked against an untrusted index: enough to
		 * display the contents, and nothing is reported as verified. */
		if ((!checked && exai_bundle_check_entries(b, &e)) ||
		    exai_bundle_unlock(b, key, &e)) {
			ret = exb_report("inspect", &e, o.json, EXB_FAIL);
			goto out;
		}
		unlocked = true;
	}
	if (o.json) {
		json_t *j = json_pack("{s:b,s:s,s:s,s:o,s:o}", "ok", 1, "bundle", o.bundle, "form",
				      b->is_exb ? "exb" : "directory", "index",
				      index_json(b->index), "signatures", signers_json(b, checked));
		if (unlocked)
			exai_json_set(j, "components", components_json(b->manifest));
		exai_json_emit(j, stdout);
	} else {
		print_index(b);
		print_signers(b, checked);
		if (unlocked)
			print_components(b->manifest);
		else
			printf("  components: encrypted (give --key SITE.key)\n");
	}
	ret = EXB_OK;
out:
	exai_bundle_free(b);
	free(root);
	exai_site_key_free(key);
	return ret;
}

#define NOT_VERIFIED_MSG                                                                      \
	"not verified: the bundle is encrypted and no --key was given, so its manifest and "  \
	"plaintext were not checked (signatures, entries and chunk hashes were); give --key " \
	"SITE.key, or --signatures-only to accept this partial check"

static const char *const checked_what[] = {"root chain", "release signature threshold",
					   "entry sizes and hashes", "chunk hashes", NULL};
static const char *const checked_full[] = {"root chain",
					   "release signature threshold",
					   "entry sizes and hashes",
					   "chunk hashes",
					   "manifest",
					   "decryption",
					   "component plaintext hashes",
					   NULL};
static const char *const not_checked_what[] = {"manifest", "component plaintext hashes", NULL};

static json_t *strv_json(const char *const *v)
{
	json_t *a = json_array();

	for (; a && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

int exb_cmd_verify(const exai_cli_call *call, int argc, char **argv)
{
	show_opts o = {0};
	exai_bundle *b = NULL;
	exai_root *root = NULL;
	exai_site_key *key = NULL;
	exai_verify_opts vo = {0};
	exai_progress prog;
	bool decrypted, complete;
	exai_error e;
	int ret = parse(call, verify_opts, argc, argv, &o);

	if (ret)
		return exai_cli_exit(ret);
	if (!o.root)
		return exai_cli_refuse(call, "--root ROOT is required");
	if (o.key && o.signatures_only)
		return exai_cli_refuse(call, "give --key or --signatures-only, not both");
	if (exai_root_load(o.root, &root, &e) || exai_root_check_self(root, &e) ||
	    (o.key && exb_load_site_key(o.key, &key, &e))) {
		ret = exb_report("verify", &e, o.json, EXB_USAGE);
		goto out;
	}
	vo.now = o.now_set ? o.now : exb_now();
	if (exai_bundle_open(o.bundle, &b, &e) || exai_bundle_verify(b, root, &vo, &e)) {
		ret = exb_report("verify", &e, o.json, EXB_FAIL);
		goto out;
	}
	decrypted = key || b->index->encryption == EXAI_ENC_NONE;
	if (decrypted && exai_bundle_unlock(b, key, &e)) {
		ret = exb_report("verify", &e, o.json, EXB_FAIL);
		goto out;
	}
	exai_progress_start(&prog, "verify", exai_index_file_get(b->index, "payload")->size);
	ret = exai_bundle_stream(b, NULL, &prog, &e);
	exai_progress_finish(&prog);
	if (ret) {
		ret = exb_report("verify", &e, o.json, EXB_FAIL);
		goto out;
	}
	complete = decrypted || o.signatures_only;
	if (o.json) {
		json_t *j = json_pack(
		    "{s:b,s:s,s:o,s:I,s:o,s:b,s:b,s:o,s:o}", "ok", complete, "bundle", o.bundle,
		    "index", index_json(b->index), "root_version", (json_int_t)b->root->version,
		    "signatures", signers_json(b, true), "decrypted", decrypted, "complete",
		    decrypted, "checked", strv_json(decrypted ? checked_full : checked_what),
		    "not_checked", decrypted ? json_array() : strv_json(not_checked_what));
		if (decrypted)
			exai_json_set(j, "components", components_json(b->manifest));
		if (!complete)
			exai_json_set(j, "error",
				      json_pack("{s:s,s:s}", "code", "incomplete", "message",
						NOT_VERIFIED_MSG));
		exai_json_emit(j, stdout);
	} else {
		print_index(b);
		print_signers(b, true);
		if (decrypted)
			print_components(b->manifest);
		if (decrypted)
			printf("verified: %u of %u required signatures, every hash, decryption and "
			       "every plaintext hash\n",
			       b->valid_signatures, b->root->release_threshold);
		else
			printf("%s: %u of %u required signatures, the root chain, every entry's "
			       "hash and every chunk hash\n"
			       "NOT checked: the manifest and every component's plaintext hash "
			       "(contents encrypted%s)\n",
			       complete ? "verified (--signatures-only)" : "checked",
			       b->valid_signatures, b->root->release_threshold,
			       complete ? "" : "; give --key SITE.key to check them");
		if (!complete)
			fprintf(stderr, "exai-bundle verify: %s\n", NOT_VERIFIED_MSG);
	}
	ret = complete ? EXB_OK : EXB_FAIL;
out:
	exai_bundle_free(b);
	free(root);
	exai_site_key_free(key);
	return ret;
}
