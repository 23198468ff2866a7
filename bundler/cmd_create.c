/*
 * create: spec -> bundle. Plans every component (exact sizes), lays out the index and the
 * entries, streams the payload through the encryption pipeline into a temporary bundle, then
 * fills in the hashes and renames the bundle into place.
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exb_cli.h"
#include "encpipe.h"
#include "exai/aead.h"
#include "exai/cdigest.h"
#include "exai/text.h"
#include "exai/bundle.h"
#include "exai/file.h"
#include "exai/json.h"
#include "exai/secmem.h"
#include "bundle_write.h"
#include "spec.h"
#include "tarplan.h"

#define MAX_ROOTS 32

const char exb_create_help[] =
    "usage: exai-bundle create SPEC.yaml --out BUNDLE [--recipient SITE.pub]...\n"
    "                          [--no-encrypt] [--root-chain ROOT]... [--format-version N]\n"
    "                          [--json]\n"
    "\n"
    "Builds an unsigned bundle from SPEC.yaml (see docs/format.md for the spec).\n"
    "BUNDLE ending in .exb is written as one pax tar file, anything else as a\n"
    "directory; it must not exist yet. The payload and the component manifest are\n"
    "encrypted (AES-256-GCM) to every --recipient site key; --no-encrypt must be given\n"
    "explicitly to make a plain bundle, and is recorded in the index.\n"
    "--root-chain adds trust roots so sites holding an older root can catch up.\n"
    "--format-version 2 writes format 2 (component digests as 'exai-bundle digest\n"
    "FILE' prints them, verified on every core); the default is still 1 (one SHA-256\n"
    "per component, what sha256sum prints), which appliances apply faster today and\n"
    "which appliances of earlier builds need for a model version they already hold.\n"
    "SOURCE_DATE_EPOCH sets the creation time; a plain bundle built twice from the\n"
    "same inputs with the same SOURCE_DATE_EPOCH is byte-identical.\n"
    "The bundle is written under BUNDLE.tmp.XXXXXX and renamed at the end. On\n"
    "SIGINT, SIGTERM or SIGHUP that temporary output is removed, one line says so and\n"
    "the exit status is 128 + the signal (130, 143, 129); a second signal kills at\n"
    "once. Temporary outputs of killed runs in BUNDLE's directory are named in a\n"
    "warning (never removed automatically).\n"
    "Exit status: 0 created, 1 failed (nothing left behind), 2 usage or setup error.\n"
    "Next: exai-bundle sign BUNDLE --key RELEASE.key (once per signer).\n";

typedef struct create_ctx {
	const char *spec_path, *out_path;
	const char *recipients[EXAI_INDEX_MAX_RECIPIENTS];
	size_t n_recipients;
	const char *roots[MAX_ROOTS];
	size_t n_roots;
	bool plain, json;
	unsigned format; /* EXAI_FORMAT_V1 or _V2 */
	exb_spec *spec;
	exb_plan *plans;
	size_t n_plans;
	exai_index *ix;
	exai_manifest man;
	uint8_t *data_key;
	uint8_t *keys_blob;
	size_t keys_len;
	uint8_t *root_data[MAX_ROOTS];
	size_t root_len[MAX_ROOTS];
	uint64_t root_ver[MAX_ROOTS];
	uint8_t *table;
	bool left_behind; /* a failed run could not remove its temporary output */
} create_ctx;

enum { O_OUT, O_RECIPIENT, O_NO_ENCRYPT, O_ROOT_CHAIN, O_FORMAT, O_JSON };

static int parse_args(const exai_cli_call *call, create_ctx *c, int argc, char **argv)
{
	static const exai_cli_opt opts[] = {
	    {"out", true, O_OUT},
	    {"recipient", true, O_RECIPIENT},
	    {"no-encrypt", false, O_NO_ENCRYPT},
	    {"root-chain", true, O_ROOT_CHAIN},
	    {"format-version", true, O_FORMAT},
	    {"json", false, O_JSON},
	    {NULL, false, 0},
	};
	exai_cli_parser p;
	const char *v;
	int id;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((id = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		switch (id) {
		case O_OUT:
			c->out_path = v;
			break;
		case O_RECIPIENT:
			if (c->n_recipients == EXAI_INDEX_MAX_RECIPIENTS)
				return exai_cli_refuse(call, "at most %d recipients",
						       EXAI_INDEX_MAX_RECIPIENTS);
			c->recipients[c->n_recipients++] = v;
			break;
		case O_NO_ENCRYPT:
			c->plain = true;
			break;
		case O_ROOT_CHAIN:
			if (c->n_roots == MAX_ROOTS)
				return exai_cli_refuse(call, "at most %d roots", MAX_ROOTS);
			c->roots[c->n_roots++] = v;
			break;
		case O_FORMAT:
			if (strcmp(v, "1") && strcmp(v, "2"))
				return exai_cli_refuse(call, "--format-version: '%s' is not 1 or 2",
						       v);
			c->format = v[0] == '1' ? EXAI_FORMAT_V1 : EXAI_FORMAT_V2;
			break;
		case O_JSON:
			c->json = true;
			break;
		case EXAI_CLI_ARG:
			if (c->spec_path)
				return exai_cli_refuse(call, "one SPEC.yaml only ('%s' and '%s')",
						       c->spec_path, v);
			c->spec_path = v;
			break;
		default:
			return id; /* help or a refusal */
		}
	}
	if (!c->spec_path || !c->out_path)
		return exai_cli_refuse(call, "usage: create SPEC.yaml --out BUNDLE");
	if (c->plain && c->n_recipients)
		return exai_cli_refuse(call, "--no-encrypt and --recipient exclude each other");
	if (!c->plain && !c->n_recipients)
		return exai_cli_refuse(call,
				       "give at least one --recipient SITE.pub, or --no-encrypt "
				       "for a plain bundle");
	return 0;
}

static int cmp_keyid(const void *a, const void *b)
{
	char sa[EXAI_KEYID_STR], sb[EXAI_KEYID_STR];

	exai_keyid_str(((const exai_site_pub *)a)->id, sa);
	exai_keyid_str(((const exai_site_pub *)b)->id, sb);
	return strcmp(sa, sb);
}

/* Loads recipients (sorted), wraps a fresh data key to each; loads the root chain. */
static exai_status load_keys_and_roots(create_ctx *c, exai_error *e)
{
	exai_site_pub *pubs = NULL;
	exai_status rc = EXAI_OK;

	if (!c->plain) {
		pubs = calloc(c->n_recipients, sizeof(*pubs));
		c->data_key = exai_secmem_alloc(EXAI_DATA_KEY_LEN);
		c->keys_len = c->n_recipients * (EXAI_KEYID_LEN + 80);
		c->keys_blob = malloc(c->keys_len);
		if (!pubs || !c->data_key || !c->keys_blob) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < c->n_recipients; i++)
			if ((rc = exb_check_key_role(c->recipients[i], EXAI_KEY_ROLE_SITE,
						     "--recipient", e)) ||
			    (rc = exai_site_pub_load(c->recipients[i], &pubs[i], e)))
				goto out;
		qsort(pubs, c->n_recipients, sizeof(*pubs), cmp_keyid);
		randombytes_buf(c->data_key, EXAI_DATA_KEY_LEN);
		for (size_t i = 0; i < c->n_recipients; i++) {
			uint8_t *rec = c->keys_blob + i * (EXAI_KEYID_LEN + 80);
			if (i && !memcmp(pubs[i].id, pubs[i - 1].id, EXAI_KEYID_LEN)) {
				rc = exai_error_set(e, EXAI_EINVAL, "a recipient is listed twice");
				goto out;
			}
			memcpy(rec, pubs[i].id, EXAI_KEYID_LEN);
			crypto_box_seal(rec + EXAI_KEYID_LEN, c->data_key, EXAI_DATA_KEY_LEN,
					pubs[i].pk);
			memcpy(c->ix->recipients[c->ix->n_recipients++], pubs[i].id,
			       EXAI_KEYID_LEN);
		}
	}
	for (size_t i = 0; i < c->n_roots; i++) {
		exai_root *r = NULL;
		if ((rc = exai_file_read_bounded(c->roots[i], EXAI_ROOT_MAX_BYTES, &c->root_data[i],
						 &c->root_len[i], e)) ||
		    (rc = exai_root_parse(c->root_data[i], c->root_len[i], c->roots[i], &r, e)))
			goto out;
		c->root_ver[i] = r->version;
		free(r);
		for (size_t j = 0; j < i; j++)
			if (c->root_ver[j] == c->root_ver[i]) {
				rc = exai_error_set(e, EXAI_EINVAL, "two roots of version %llu",
						    (unsigned long long)c->root_ver[i]);
				goto out;
			}
	}
out:
	free(pubs);
	return rc;
}

static exai_status plan_all(create_ctx *c, exai_error *e)
{
	uint64_t off = 0;
	exai_status rc;

	c->plans = calloc(c->spec->n, sizeof(*c->plans));
	c->man.c = calloc(c->spec->n, sizeof(*c->man.c));
	if (!c->plans || !c->man.c)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->spec->n; i++) {
		exb_plan *p = &c->plans[i];
		rc = exb_plan_component(p, &c->spec->c[i], c->spec->created, e);
		c->n_plans = i + 1;
		if (rc)
			return exai_error_prefix(e, "component %s/%s (%s)",
						 exai_ctype_name(c->spec->c[i].type),
						 c->spec->c[i].name, c->spec->c[i].where);
		p->mc.offset = off;
		if (p->mc.size > UINT64_MAX / 2 - off)
			return exai_error_set(e, EXAI_ETOOBIG, "payload too large");
		off += p->mc.size;
		c->man.c[i] = p->mc;
	}
	c->man.n = c->spec->n;
	c->man.version = c->format;
	c->ix->version = c->format;
	c->ix->payload_size = off;
	return EXAI_OK;
}

static void add_file(exai_index *ix, const char *name, uint64_t size)
{
	exai_index_file *f = &ix->files[ix->n_files++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
}

/* Fills everything the index knows before streaming; hashes stay zero. */
static exai_status layout_index(create_ctx *c, size_t manifest_plain_len, exai_error *e)
{
	exai_index *ix = c->ix;
	const exb_spec *s = c->spec;

	strcpy(ix->channel, s->channel);
	ix->sequence = s->sequence;
	ix->created = s->created;
	ix->expires = s->expires;
	ix->min_root_version = s->min_root_version;
	memcpy(ix->classes, s->classes, sizeof(s->classes));
	memcpy(ix->sites, s->sites, sizeof(s->sites));
	ix->n_classes = s->n_classes;
	ix->n_sites = s->n_sites;
	ix->encryption = c->plain ? EXAI_ENC_NONE : EXAI_ENC_AES256GCM;
	ix->chunk_size = s->chunk_size;
	ix->chunk_count =
	    ix->payload_size / ix->chunk_size + (ix->payload_size % ix->chunk_size != 0);
	add_file(ix, "manifest", manifest_plain_len + (c->plain ? 0 : EXAI_AEAD_TAG));
	add_file(ix, "chunks", ix->chunk_count * EXAI_SHA256_LEN);
	add_file(ix, "payload",
		 ix->payload_size + (c->plain ? 0 : ix->chunk_count * EXAI_AEAD_TAG));
	if (!c->plain)
		add_file(ix, "keys", c->keys_len);
	for (size_t i = 0; i < c->n_roots; i++) {
		char name[32];
		snprintf(name, sizeof(name), "roots/%llu", (unsigned long long)c->root_ver[i]);
		add_file(ix, name, c->root_len[i]);
	}
	exai_index_sort(ix);
	return exai_index_validate(ix, e);
}

typedef struct comp_writer {
	exb_encpipe *pipe;
	bool tree; /* format 2: d (exai/cdigest.h), else h */
	exai_sha256 h;
	exai_cdigest d;
} comp_writer;

static exai_status comp_digest_init(comp_writer *w, uint64_t size, exai_error *e)
{
	return w->tree ? exai_cdigest_init(&w->d, size, e) : exai_sha256_init(&w->h, e);
}

static void comp_digest_free(comp_writer *w)
{
	if (w->tree)
		exai_cdigest_free(&w->d);
	else
		exai_sha256_free(&w->h);
}

static exai_status comp_digest_final(comp_writer *w, uint8_t out[EXAI_SHA256_LEN], exai_error *e)
{
	if (w->tree)
		return exai_cdigest_final(&w->d, out, e);
	exai_sha256_final(&w->h, out);
	return EXAI_OK;
}

static exai_status comp_reserve(void *arg, uint8_t **buf, size_t *room, exai_error *e)
{
	return exb_encpipe_reserve(((comp_writer *)arg)->pipe, buf, room, e);
}

static exai_status comp_write(void *arg, const void *buf, size_t len, exai_error *e)
{
	comp_writer *w = arg;

	if (!w->tree) {
		exai_sha256_update(&w->h, buf, len);
	} else {
		exai_status rc = exai_cdigest_update(&w->d, buf, len, e);
		if (rc)
			return rc;
	}
	return exb_encpipe_write(w->pipe, buf, len, e);
}

static exai_status set_hash(exai_index *ix, const char *name, const uint8_t *data, size_t len,
			    exai_error *e)
{
	for (size_t i = 0; i < ix->n_files; i++)
		if (!strcmp(ix->files[i].name, name))
			return exai_sha256_buf(data, len, ix->files[i].sha256, e);
	return exai_error_set(e, EXAI_EINTERNAL, "no file %s", name);
}

static exai_status build(create_ctx *c, exai_progress *prog, exai_error *e)
{
	exb_blob blobs[4 + MAX_ROOTS];
	size_t nb = 0, index_len, mplain_len;
	char *itext = NULL, *mtext = NULL;
	uint8_t *mbytes = NULL;
	exb_output *out = NULL;
	exb_encpipe *pipe = NULL;
	comp_writer w = {0};
	exai_status rc;

	if ((rc = plan_all(c, e)))
		return rc;
	(void)exai_fault("create.planned");
	if (exb_output_signal())
		return exai_error_set(e, EXAI_EIO, "interrupted before writing");
	prog->total = c->ix->payload_size;
	if (!(mtext = exai_manifest_text(&c->man)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	mplain_len = strlen(mtext);
	free(mtext);
	mtext = NULL;
	if ((rc = layout_index(c, mplain_len, e)))
		return rc;
	if (!c->plain)
		randombytes_buf(c->ix->bundle_id, EXAI_BUNDLE_ID_LEN);
	if (!(itext = exai_index_text(c->ix)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	index_len = strlen(itext);
	free(itext);
	itext = NULL;
	c->table = calloc(c->ix->chunk_count ? c->ix->chunk_count : 1, EXAI_SHA256_LEN);
	if (!c->table)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");

	blobs[nb++] = (exb_blob){"index", NULL, index_len};
	for (size_t i = 0; i < c->ix->n_files; i++) {
		const char *name = c->ix->files[i].name;
		for (size_t r = 0; r < c->n_roots && !strncmp(name, "roots/", 6); r++) {
			uint64_t v = 0;
			if (exai_parse_u64(name + 6, &v) && v == c->root_ver[r]) {
				blobs[nb] = (exb_blob){"", c->root_data[r], c->root_len[r]};
				snprintf(blobs[nb++].name, sizeof(blobs[0].name), "%s", name);
			}
		}
	}
	blobs[nb++] = (exb_blob){"manifest", NULL, exai_index_file_get(c->ix, "manifest")->size};
	if (!c->plain)
		blobs[nb++] = (exb_blob){"keys", c->keys_blob, c->keys_len};
	blobs[nb++] = (exb_blob){"chunks", NULL, c->ix->chunk_count * EXAI_SHA256_LEN};

	rc = exb_output_begin(
	    c->out_path,
	    strlen(c->out_path) > 4 && !strcmp(c->out_path + strlen(c->out_path) - 4, ".exb"),
	    blobs, nb, exai_index_file_get(c->ix, "payload")->size, c->ix->created, &out, e);
	if (rc)
		return rc;
	rc = exb_encpipe_start(out, c->data_key, c->ix->bundle_id, c->ix->chunk_size,
			       c->ix->chunk_count, c->table, prog, &pipe, e);
	if (rc)
		goto fail;
	w.pipe = pipe;
	w.tree = c->format == EXAI_FORMAT_V2;
	for (size_t i = 0; i < c->n_plans; i++) {
		if ((rc = comp_digest_init(&w, c->man.c[i].size, e)))
			goto fail;
		rc = exb_stream_component(&c->plans[i], comp_write, comp_reserve, &w, e);
		if (rc) {
			comp_digest_free(&w);
			exai_error_prefix(e, "component %s/%s", exai_ctype_name(c->man.c[i].type),
					  c->man.c[i].name);
			goto fail;
		}
		if ((rc = comp_digest_final(&w, c->man.c[i].sha256, e)))
			goto fail;
	}
	rc = exb_encpipe_finish(pipe, e);
	pipe = NULL;
	if (rc)
		goto fail;

	/* Everything streamed: fill in the manifest, the hashes and the index. */
	if (!(mtext = exai_manifest_text(&c->man))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto fail;
	}
	if (c->plain) {
		exai_sha256 h;
		if ((rc = exai_sha256_init(&h, e)))
			goto fail;
		exai_sha256_update(&h, "exai-bundle-id-v1\n", 18);
		exai_sha256_update(&h, mtext, mplain_len);
		exai_sha256_final(&h, c->ix->bundle_id);
		mbytes = (uint8_t *)mtext;
	} else {
		mbytes = malloc(mplain_len + EXAI_AEAD_TAG);
		if (!mbytes) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = exai_manifest_seal(c->data_key, c->ix->bundle_id, (uint8_t *)mtext,
					     mplain_len, mbytes, e)))
			goto fail;
	}
	for (size_t i = 0; i < nb; i++)
		if (blobs[i].data &&
		    (rc = set_hash(c->ix, blobs[i].name, blobs[i].data, (size_t)blobs[i].len, e)))
			goto fail;
	if ((rc = set_hash(c->ix, "manifest", mbytes, exai_index_file_get(c->ix, "manifest")->size,
			   e)) ||
	    (rc = set_hash(c->ix, "chunks", c->table, c->ix->chunk_count * EXAI_SHA256_LEN, e)) ||
	    (rc = set_hash(c->ix, "payload", c->table, c->ix->chunk_count * EXAI_SHA256_LEN, e)))
		goto fail;
	if (!(itext = exai_index_text(c->ix)) || strlen(itext) != index_len) {
		rc = exai_error_set(e, EXAI_EINTERNAL, "index length changed");
		goto fail;
	}
	for (size_t i = 0; i < nb; i++) {
		if (!strcmp(blobs[i].name, "index"))
			blobs[i].data = (uint8_t *)itext;
		else if (!strcmp(blobs[i].name, "manifest"))
			blobs[i].data = mbytes;
		else if (!strcmp(blobs[i].name, "chunks"))
			blobs[i].data = c->table;
	}
	rc = exb_output_finish(out, blobs, nb, e);
	out = NULL;
	if (rc)
		goto fail;
	goto done;
fail:
	exb_encpipe_abort(pipe);
	if (!exb_output_abort(out))
		c->left_behind = true;
done:
	if (mbytes != (uint8_t *)mtext)
		free(mbytes);
	if (mtext)
		sodium_memzero(mtext, mplain_len);
	free(mtext);
	free(itext);
	return rc;
}

static void print_result(const create_ctx *c)
{
	char id[EXAI_SHA256_HEX], size[32];

	exai_hex_encode(c->ix->bundle_id, EXAI_BUNDLE_ID_LEN, id);
	exai_format_bytes(size, sizeof(size), (double)c->ix->payload_size);
	if (c->json) {
		json_t *comps = json_array();
		for (size_t i = 0; i < c->man.n; i++) {
			const exai_component *m = &c->man.c[i];
			json_array_append_new(
			    comps,
			    json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "type", exai_ctype_name(m->type),
				      "name", m->name, "version", m->version, "encoding",
				      m->encoding == EXAI_CENC_TAR ? "tar" : "raw", "size",
				      (json_int_t)m->size, "sha256",
				      exai_json_hex(m->sha256, EXAI_SHA256_LEN)));
		}
		exai_json_emit(json_pack("{s:b,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:i,s:o}", "ok", 1,
					 "bundle", c->out_path, "bundle_id", id, "channel",
					 c->ix->channel, "sequence", (json_int_t)c->ix->sequence,
					 "encryption", c->plain ? "none" : "aes-256-gcm",
					 "payload_size", (json_int_t)c->ix->payload_size, "chunks",
					 (json_int_t)c->ix->chunk_count, "recipients",
					 (int)c->ix->n_recipients, "components", comps),
			       stdout);
		return;
	}
	printf("created %s\n  bundle id: %s\n  channel %s, sequence %llu\n  %zu %s, "
	       "%s payload in %llu %s, %s%s\n",
	       c->out_path, id, c->ix->channel, (unsigned long long)c->ix->sequence, c->man.n,
	       exai_plural(c->man.n, "component", "components"), size,
	       (unsigned long long)c->ix->chunk_count,
	       exai_plural(c->ix->chunk_count, "chunk", "chunks"),
	       c->plain ? "NOT encrypted (--no-encrypt)"
			: "encrypted (AES-256-GCM) to the recipient site ",
	       c->plain ? "" : exai_plural(c->ix->n_recipients, "key", "keys"));
	printf("  unsigned: sign it with 'exai-bundle sign %s --key RELEASE.key'\n", c->out_path);
}

int exb_cmd_create(const exai_cli_call *call, int argc, char **argv)
{
	create_ctx c = {0};
	exai_progress prog;
	exai_error e;
	int ret;

	c.format =
	    EXAI_FORMAT_V1; /* see the help text and docs/format.md: 2 is not the default yet */
	if ((ret = parse_args(call, &c, argc, argv)))
		return exai_cli_exit(ret);
	exb_output_catch_signals();
	c.ix = calloc(1, sizeof(*c.ix));
	if (!c.ix) {
		fprintf(stderr, "exai-bundle create: out of memory\n");
		return EXB_USAGE;
	}
	if (exb_spec_load(c.spec_path, exb_now(), &c.spec, &e) || load_keys_and_roots(&c, &e)) {
		ret = exb_report("create", &e, c.json, EXB_USAGE);
		goto out;
	}
	exb_output_warn_stale(c.out_path);
	exai_progress_start(&prog, "create", 0);
	ret = build(&c, &prog, &e) ? EXB_FAIL : EXB_OK;
	exai_progress_finish(&prog);
	if (ret && exb_output_signal()) {
		/* One line: what happened and what is (not) on disk. */
		int sig = exb_output_signal();
		exai_error_set(&e, EXAI_EIO, "interrupted by %s: %s; %s was not created",
			       sig == SIGINT	? "SIGINT"
			       : sig == SIGTERM ? "SIGTERM"
						: "SIGHUP",
			       c.left_behind ? "the partial output could NOT be removed (see above)"
					     : "removed everything written",
			       c.out_path);
		ret = exb_report("create", &e, c.json, 128 + sig);
	} else if (ret) {
		ret = exb_report("create", &e, c.json, EXB_FAIL);
	}
	if (!ret)
		print_result(&c);
out:
	for (size_t i = 0; i < c.n_plans; i++)
		exb_plan_free(&c.plans[i]);
	free(c.plans);
	free(c.man.c);
	for (size_t i = 0; i < c.n_roots; i++)
		free(c.root_data[i]);
	exai_secmem_free(c.data_key);
	free(c.keys_blob);
	free(c.table);
	free(c.ix);
	exb_spec_free(c.spec);
	return ret;
}
