/*
 * bundle_builder: see bundle_builder.h. Builds bundles with the library's own serialisers
 * (index, manifest, roots, AEAD, minisign), the way exai-bundle create and sign do.
 */
#include "bundle_builder.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exai/file.h"
#include "testutil.h"

#define OK(call)                                                        \
	do {                                                            \
		exai_error e_;                                          \
		exai_status rc_ = (call);                               \
		ck_assert_msg(rc_ == EXAI_OK, "%s: %s", #call, e_.msg); \
	} while (0)

void bb_keys_init(bb_keys *k)
{
	exai_error e;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(exai_seckey_generate(&k->R[i], &e), EXAI_OK);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(exai_seckey_generate(&k->K[i], &e), EXAI_OK);
	for (int i = 0; i < 2; i++) {
		crypto_box_keypair(k->S[i].pk, k->S[i].sk);
		memset(k->S[i].id, 0x51 + i, EXAI_KEYID_LEN);
	}
}

void bb_keys_free(bb_keys *k)
{
	for (int i = 0; i < 3; i++)
		exai_seckey_free(k->R[i]);
	for (int i = 0; i < 4; i++)
		exai_seckey_free(k->K[i]);
	sodium_memzero(k->S, sizeof(k->S));
}

exai_root *bb_root(uint64_t version, uint64_t created, uint64_t expires,
		   const exai_seckey *const *rk, size_t nrk, unsigned rthr,
		   const exai_seckey *const *rel, size_t nrel, unsigned relthr,
		   const exai_seckey *const *signers, size_t nsigners, char **text_out)
{
	exai_root *r = calloc(1, sizeof(*r)), *parsed = NULL;
	size_t len = 0;
	uint8_t *msg;
	char *text;

	ck_assert_ptr_nonnull(r);
	r->version = version;
	r->created = created;
	r->expires = expires;
	r->root_threshold = rthr;
	r->release_threshold = relthr;
	for (size_t i = 0; i < nrk; i++)
		exai_seckey_public(rk[i], &r->root_keys[r->n_root_keys++]);
	for (size_t i = 0; i < nrel; i++)
		exai_seckey_public(rel[i], &r->release_keys[r->n_release_keys++]);
	msg = exai_root_signed_message(r, &len);
	ck_assert_ptr_nonnull(msg);
	for (size_t i = 0; i < nsigners; i++) {
		exai_root_sig *s = &r->sigs[r->n_sigs++];
		memcpy(s->id, signers[i]->id, EXAI_KEYID_LEN);
		exai_ed25519_sign(signers[i], msg, len, s->sig);
	}
	free(msg);
	text = exai_root_file_text(r);
	ck_assert_ptr_nonnull(text);
	OK(exai_root_parse((const uint8_t *)text, strlen(text), "root", &parsed, &e_));
	free(r);
	if (text_out)
		*text_out = text;
	else
		free(text);
	return parsed;
}

bb_entry *bb_find(bb_bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->ent[i].name, name))
			return &b->ent[i];
	return NULL;
}

void bb_set(bb_entry *en, const void *data, size_t len)
{
	uint8_t *d = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(d);
	if (len)
		memcpy(d, data, len);
	free(en->data);
	en->data = d;
	en->len = len;
}

bb_entry *bb_add(bb_bundle *b, size_t pos, const char *name, const void *data, size_t len)
{
	ck_assert_uint_lt(b->n, BB_MAX_ENTRIES);
	if (pos > b->n)
		pos = b->n;
	memmove(&b->ent[pos + 1], &b->ent[pos], (b->n - pos) * sizeof(b->ent[0]));
	b->n++;
	memset(&b->ent[pos], 0, sizeof(b->ent[pos]));
	snprintf(b->ent[pos].name, sizeof(b->ent[pos].name), "%s", name);
	bb_set(&b->ent[pos], data, len);
	return &b->ent[pos];
}

void bb_remove(bb_bundle *b, const char *name)
{
	bb_entry *en = bb_find(b, name);
	size_t pos;

	ck_assert_ptr_nonnull(en);
	pos = (size_t)(en - b->ent);
	free(en->data);
	memmove(&b->ent[pos], &b->ent[pos + 1], (b->n - pos - 1) * sizeof(b->ent[0]));
	b->n--;
}

void bb_free(bb_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		free(b->ent[i].data);
	free(b->plain);
	sodium_memzero(b->data_key, sizeof(b->data_key));
	free(b);
}

/* The payload, chunk table, manifest and (encrypted) keys from the spec's components. */
static void build_payload(bb_bundle *b, const bb_keys *k)
{
	const bb_spec *s = &b->spec;
	exai_index *ix = &b->ix;
	exai_component comp[BB_MAX_COMPS];
	exai_manifest m = {.version = s->format_version, .n = s->n_comps, .c = comp};
	uint8_t *ct, *table;
	size_t ctlen, tag = s->encrypted ? EXAI_AEAD_TAG : 0, off = 0;
	char *mtext;

	for (size_t i = 0; i < s->n_comps; i++)
		b->plain_len += s->comps[i].len;
	b->plain = malloc(b->plain_len ? b->plain_len : 1);
	ck_assert_ptr_nonnull(b->plain);
	memset(comp, 0, sizeof(comp));
	for (size_t i = 0; i < s->n_comps; i++) {
		const bb_comp *c = &s->comps[i];
		if (c->len)
			memcpy(b->plain + off, c->data, c->len);
		comp[i].type = c->type;
		comp[i].encoding = EXAI_CENC_RAW;
		comp[i].offset = off;
		comp[i].size = c->len;
		comp[i].entries = 1;
		comp[i].unpacked = c->len;
		snprintf(comp[i].name, sizeof(comp[i].name), "%s", c->name);
		snprintf(comp[i].version, sizeof(comp[i].version), "1");
		snprintf(comp[i].target, sizeof(comp[i].target), "%s.bin", c->name);
		OK(exai_component_digest(s->format_version, c->data, c->len, comp[i].sha256, &e_));
		if (s->lie_comp == i + 1)
			comp[i].sha256[31] ^= 1;
		off += c->len;
	}
	ix->payload_size = b->plain_len;
	ix->chunk_count = (b->plain_len + ix->chunk_size - 1) / ix->chunk_size;
	ctlen = b->plain_len + ix->chunk_count * tag;
	ct = malloc(ctlen ? ctlen : 1);
	table = malloc(ix->chunk_count * EXAI_SHA256_LEN + 1);
	ck_assert(ct && table);
	for (uint64_t i = 0, po = 0, co = 0; i < ix->chunk_count; i++) {
		size_t n = b->plain_len - po < ix->chunk_size ? b->plain_len - po : ix->chunk_size;
		if (s->encrypted)
			OK(exai_chunk_seal(b->data_key, ix->bundle_id, i, ix->chunk_count,
					   b->plain + po, n, ct + co, &e_));
		else
			memcpy(ct + co, b->plain + po, n);
		OK(exai_sha256_buf(ct + co, n + tag, table + i * EXAI_SHA256_LEN, &e_));
		po += n;
		co += n + tag;
	}
	mtext = exai_manifest_text(&m);
	ck_assert_ptr_nonnull(mtext);
	if (s->encrypted) {
		size_t ml = strlen(mtext);
		uint8_t *mct = malloc(ml + EXAI_AEAD_TAG), rec[EXAI_KEYID_LEN + 80];
		ck_assert_ptr_nonnull(mct);
		OK(exai_manifest_seal(b->data_key, ix->bundle_id, (const uint8_t *)mtext, ml, mct,
				      &e_));
		bb_add(b, SIZE_MAX, "manifest", mct, ml + EXAI_AEAD_TAG);
		free(mct);
		memcpy(ix->recipients[ix->n_recipients++], k->S[0].id, EXAI_KEYID_LEN);
		memcpy(rec, k->S[0].id, EXAI_KEYID_LEN);
		ck_assert_int_eq(crypto_box_seal(rec + EXAI_KEYID_LEN, b->data_key,
						 EXAI_DATA_KEY_LEN, k->S[0].pk),
				 0);
		bb_add(b, SIZE_MAX, "keys", rec, sizeof(rec));
	} else {
		bb_add(b, SIZE_MAX, "manifest", mtext, strlen(mtext));
	}
	free(mtext);
	bb_add(b, SIZE_MAX, "chunks", table, ix->chunk_count * EXAI_SHA256_LEN);
	bb_add(b, SIZE_MAX, "payload", ct, ctlen);
	free(ct);
	free(table);
}

static bool is_sig(const char *name)
{
	return !strncmp(name, "sig/", 4);
}

void bb_reseal(bb_bundle *b)
{
	exai_index *ix = &b->ix;
	const bb_entry *chunks = bb_find(b, "chunks");
	bb_entry *index;
	char *text;

	ix->n_files = 0;
	for (size_t i = 0; i < b->n; i++) {
		const bb_entry *en = &b->ent[i];
		exai_index_file *f;
		if (!strcmp(en->name, "index") || is_sig(en->name))
			continue;
		f = &ix->files[ix->n_files++];
		snprintf(f->name, sizeof(f->name), "%.31s", en->name);
		f->size = en->len;
		if (!strcmp(en->name, "payload") && chunks)
			OK(exai_sha256_buf(chunks->data, chunks->len, f->sha256, &e_));
		else
			OK(exai_sha256_buf(en->data, en->len, f->sha256, &e_));
	}
	exai_index_sort(ix);
	text = exai_index_text(ix);
	ck_assert_ptr_nonnull(text);
	index = bb_find(b, "index");
	if (!index)
		index = bb_add(b, 0, "index", "", 0);
	bb_set(index, text, strlen(text));
	for (size_t i = b->n; i-- > 0;)
		if (is_sig(b->ent[i].name))
			bb_remove(b, b->ent[i].name);
	for (size_t i = 0; i < b->spec.n_signers; i++) {
		const exai_seckey *sk = b->spec.signers[i];
		char hex[EXAI_KEYID_STR], name[48], *sig = NULL;
		exai_keyid_str(sk->id, hex);
		snprintf(name, sizeof(name), "sig/%s.minisig", hex);
		OK(exai_minisig_sign(sk, (const uint8_t *)text, strlen(text), "timestamp:1000",
				     &sig, &e_));
		bb_add(b, SIZE_MAX, name, sig, strlen(sig));
		free(sig);
	}
	free(text);
}

bb_bundle *bb_build(const bb_keys *k, const bb_spec *spec)
{
	bb_bundle *b = calloc(1, sizeof(*b));
	exai_index *ix;

	ck_assert_ptr_nonnull(b);
	b->spec = *spec;
	ix = &b->ix;
	randombytes_buf(ix->bundle_id, sizeof(ix->bundle_id));
	snprintf(ix->channel, sizeof(ix->channel), "stable");
	ix->sequence = 7;
	ix->created = spec->created ? spec->created : 1000;
	ix->expires = spec->expires ? spec->expires : 2000;
	ix->min_root_version = spec->min_root_version ? spec->min_root_version : 1;
	snprintf(ix->classes[ix->n_classes++], EXAI_NAME_MAX + 1, "gpu");
	ix->version = spec->format_version;
	ix->encryption = spec->encrypted ? EXAI_ENC_AES256GCM : EXAI_ENC_NONE;
	ix->chunk_size = spec->chunk_size ? spec->chunk_size : EXAI_CHUNK_MIN;
	randombytes_buf(b->data_key, sizeof(b->data_key));
	bb_add(b, 0, "index", "", 0);
	for (size_t i = 0; i < spec->n_roots; i++) {
		char name[48];
		snprintf(name, sizeof(name), "roots/%llu",
			 (unsigned long long)spec->root_versions[i]);
		bb_add(b, SIZE_MAX, name, spec->roots[i], strlen(spec->roots[i]));
	}
	build_payload(b, k);
	bb_reseal(b);
	OK(exai_index_validate(ix, &e_));
	return b;
}

char *bb_write_exb(const bb_bundle *b, const char *dir, const char *name)
{
	char *path = exai_path_join(dir, name);
	struct archive *a = archive_write_new();

	ck_assert(path && a);
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_in_last_block(a, 1);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < b->n; i++) {
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, b->ent[i].name);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_mtime(ent, 1000, 0);
		archive_entry_set_size(ent, (la_int64_t)b->ent[i].len);
		ck_assert_int_eq(archive_write_header(a, ent), ARCHIVE_OK);
		if (b->ent[i].len)
			ck_assert_int_eq(archive_write_data(a, b->ent[i].data, b->ent[i].len),
					 (la_ssize_t)b->ent[i].len);
		archive_entry_free(ent);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return path;
}

char *bb_write_dir(const bb_bundle *b, const char *dir, const char *name)
{
	char *path = exai_path_join(dir, name);

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	for (size_t i = 0; i < b->n; i++) {
		const char *slash = strchr(b->ent[i].name, '/');
		if (slash) {
			char sub[48];
			snprintf(sub, sizeof(sub), "%s/%.*s", path, (int)(slash - b->ent[i].name),
				 b->ent[i].name);
			(void)mkdir(sub, 0755);
		}
		free(tu_write(path, b->ent[i].name, b->ent[i].data, b->ent[i].len));
	}
	return path;
}

void bb_tar_header(uint8_t blk[512], const char *name, uint64_t size, char type)
{
	unsigned sum = 0;

	memset(blk, 0, 512);
	snprintf((char *)blk, 100, "%s", name);
	memcpy(blk + 100, "0000644", 7);
	memcpy(blk + 108, "0000000", 7);
	memcpy(blk + 116, "0000000", 7);
	if (size < (1ull << 33)) {
		char oct[13];
		snprintf(oct, sizeof(oct), "%011llo", (unsigned long long)size);
		memcpy(blk + 124, oct, 11);
	} else { /* base-256 */
		blk[124] = 0x80;
		for (int i = 0; i < 8; i++)
			blk[135 - i] = (uint8_t)(size >> (8 * i));
	}
	memcpy(blk + 136, "00000001750", 11);
	blk[156] = (uint8_t)type;
	memcpy(blk + 257,
	       "ustar\0"
	       "00",
	       8);
	memset(blk + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
}

exai_bundle *bb_open_verify(const char *path, const exai_root *trusted, uint64_t now,
			    exai_status *rc, exai_error *e)
{
	exai_verify_opts o = {.now = now};
	exai_bundle *b = NULL;

	*rc = exai_bundle_open(path, &b, e);
	if (*rc)
		return NULL;
	*rc = exai_bundle_verify(b, trusted, &o, e);
	return b;
}
