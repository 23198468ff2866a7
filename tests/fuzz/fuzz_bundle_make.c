/*
 * fuzz_bundle_make: builds the valid bundle of fuzz_bundle.h in memory with the library's own
 * functions (index, manifest, AEAD, roots, minisign signatures), the way exai-bundle create
 * and sign would, but from fixed seeds so every run produces the same bytes. The sealed boxes
 * of the keys entry use a fixed ephemeral key for the same reason (byte for byte what
 * crypto_box_seal does, with its random key pair replaced); at start-up each is checked to
 * open with crypto_box_seal_open. Any failure here aborts: the harness would otherwise test
 * nothing.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/aead.h"
#include "exai/secmem.h"
#include "exai/sign.h"
#include "fuzz_bundle.h"

#define CHUNK	 EXAI_CHUNK_MIN
#define RAW_SIZE 100000
#define SEAL_LEN (EXAI_X25519_LEN + EXAI_DATA_KEY_LEN + crypto_box_MACBYTES)

static fb_valid V;
static int built;

static void need(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_bundle: building the valid bundle: %s\n", what);
		abort();
	}
}

static void need_ok(exai_status rc, const exai_error *e, const char *what)
{
	if (rc) {
		fprintf(stderr, "fuzz_bundle: building the valid bundle: %s: %s\n", what, e->msg);
		abort();
	}
}

static void seed_sign_key(exai_seckey *k, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	need(crypto_sign_seed_keypair(k->pk, k->sk, seed) == 0, "key pair");
	for (int i = 0; i < EXAI_KEYID_LEN; i++)
		k->id[i] = (uint8_t)(tag ^ (0x11 * i));
	k->role = EXAI_KEY_ROLE_RELEASE;
}

static void seed_site_key(exai_site_key *k, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	need(crypto_box_seed_keypair(k->pk, k->sk, seed) == 0, "site key pair");
	memset(k->id, tag, EXAI_KEYID_LEN);
}

/* crypto_box_seal with the ephemeral key pair from @tag instead of a random one. */
static void seal_fixed(uint8_t out[SEAL_LEN], const uint8_t *msg, const uint8_t pk[32], uint8_t tag)
{
	uint8_t epk[32], esk[32], seed[32], nonce[crypto_box_NONCEBYTES];
	crypto_generichash_state st;

	memset(seed, tag, sizeof(seed));
	need(crypto_box_seed_keypair(epk, esk, seed) == 0, "ephemeral key");
	crypto_generichash_init(&st, NULL, 0, sizeof(nonce));
	crypto_generichash_update(&st, epk, sizeof(epk));
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_final(&st, nonce, sizeof(nonce));
	memcpy(out, epk, sizeof(epk));
	need(crypto_box_easy(out + 32, msg, EXAI_DATA_KEY_LEN, nonce, pk, esk) == 0, "seal");
}

static exai_root *make_root(uint64_t version, uint64_t created, uint64_t expires,
			    const exai_seckey *const *rk, size_t nrk, unsigned rthr,
			    const exai_seckey *const *relk, size_t nrel, unsigned relthr)
{
	exai_root *r = calloc(1, sizeof(*r));
	exai_root *parsed = NULL;
	exai_error e;
	size_t len = 0;
	uint8_t *msg;
	char *text;

	need(r != NULL, "out of memory");
	r->version = version;
	r->created = created;
	r->expires = expires;
	r->root_threshold = rthr;
	r->release_threshold = relthr;
	for (size_t i = 0; i < nrk; i++)
		exai_seckey_public(rk[i], &r->root_keys[r->n_root_keys++]);
	for (size_t i = 0; i < nrel; i++)
		exai_seckey_public(relk[i], &r->release_keys[r->n_release_keys++]);
	msg = exai_root_signed_message(r, &len);
	need(msg != NULL, "root message");
	for (size_t i = 0; i < nrk; i++) {
		exai_root_sig *s = &r->sigs[r->n_sigs++];
		memcpy(s->id, rk[i]->id, EXAI_KEYID_LEN);
		exai_ed25519_sign(rk[i], msg, len, s->sig);
	}
	free(msg);
	text = exai_root_file_text(r);
	need(text != NULL, "root text");
	need_ok(exai_root_parse((const uint8_t *)text, strlen(text), "root", &parsed, &e), &e,
		"root parse");
	free(text);
	free(r);
	return parsed;
}

/* A small tar component: a directory, two files, a symlink. */
static uint8_t *make_tar(size_t *len_out)
{
	static const char *const paths[] = {"bin", "bin/tool", "bin/tool-link", "share/doc.txt"};
	static const unsigned types[] = {AE_IFDIR, AE_IFREG, AE_IFLNK, AE_IFREG};
	size_t cap = 64 << 10, used = 0;
	uint8_t *buf = malloc(cap), body[3000];
	struct archive *a = archive_write_new();

	need(buf && a, "out of memory");
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)("#!/bin/sh\necho tool\n"[i % 20]);
	archive_write_set_format_pax_restricted(a);
	need(archive_write_open_memory(a, buf, cap, &used) == ARCHIVE_OK, "tar open");
	for (size_t i = 0; i < 4; i++) {
		struct archive_entry *ent = archive_entry_new();
		size_t n = types[i] == AE_IFREG ? (i == 1 ? sizeof(body) : 40) : 0;
		archive_entry_set_pathname(ent, paths[i]);
		archive_entry_set_filetype(ent, types[i]);
		archive_entry_set_perm(ent, types[i] == AE_IFREG && i == 1 ? 0755 : 0644);
		archive_entry_set_mtime(ent, 1000, 0);
		if (types[i] == AE_IFLNK)
			archive_entry_set_symlink(ent, "tool");
		archive_entry_set_size(ent, (la_int64_t)n);
		need(archive_write_header(a, ent) == ARCHIVE_OK, "tar header");
		if (n)
			need(archive_write_data(a, body, n) == (la_ssize_t)n, "tar data");
		archive_entry_free(ent);
	}
	need(archive_write_close(a) == ARCHIVE_OK, "tar close");
	archive_write_free(a);
	*len_out = used;
	return buf;
}

static void set_slot(int i, const char *name, const void *data, size_t len)
{
	fb_slot *s = &V.slot[i];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->data = malloc(len ? len : 1);
	need(s->data != NULL, "out of memory");
	memcpy(s->data, data, len);
	s->len = len;
}

static void add_file(exai_index *ix, const char *name, uint64_t size, const void *h, size_t hl)
{
	exai_index_file *f = &ix->files[ix->n_files++];
	exai_error e;

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = size;
	need_ok(exai_sha256_buf(h, hl, f->sha256, &e), &e, "hash");
}

static void sig_name(const exai_seckey *k, char out[48])
{
	char hex[EXAI_KEYID_STR];

	exai_keyid_str(k->id, hex);
	snprintf(out, 48, "sig/%s.minisig", hex);
}

/* Components, payload (encrypted chunks), chunk table, manifest, keys. */
static void make_payload(exai_index *ix, const uint8_t key[EXAI_DATA_KEY_LEN])
{
	exai_component comp[2];
	exai_manifest m = {.n = 2, .c = comp};
	size_t tar_len, plen, ctlen, mlen;
	uint8_t *tar = make_tar(&tar_len), *plain, *ct, *table, *mct;
	uint8_t seed[randombytes_SEEDBYTES] = {7};
	exai_error e;
	char *mtext;

	plen = tar_len + RAW_SIZE;
	plain = malloc(plen);
	need(plain != NULL, "out of memory");
	memcpy(plain, tar, tar_len);
	randombytes_buf_deterministic(plain + tar_len, RAW_SIZE, seed);
	memset(comp, 0, sizeof(comp));
	comp[0] = (exai_component){.type = EXAI_C_SOFTWARE,
				   .encoding = EXAI_CENC_TAR,
				   .offset = 0,
				   .size = tar_len,
				   .entries = 8,
				   .unpacked = 16384};
	snprintf(comp[0].name, sizeof(comp[0].name), "tools");
	snprintf(comp[0].version, sizeof(comp[0].version), "1.0");
	snprintf(comp[0].target, sizeof(comp[0].target), "opt/tools");
	comp[1] = (exai_component){.type = EXAI_C_MODEL,
				   .encoding = EXAI_CENC_RAW,
				   .offset = tar_len,
				   .size = RAW_SIZE,
				   .entries = 1,
				   .unpacked = RAW_SIZE};
	snprintf(comp[1].name, sizeof(comp[1].name), "weights");
	snprintf(comp[1].version, sizeof(comp[1].version), "2");
	snprintf(comp[1].target, sizeof(comp[1].target), "weights.bin");
	need_ok(exai_sha256_buf(plain, tar_len, comp[0].sha256, &e), &e, "hash");
	need_ok(exai_sha256_buf(plain + tar_len, RAW_SIZE, comp[1].sha256, &e), &e, "hash");
	need_ok(exai_sha256_buf(plain, plen, V.plain_sha, &e), &e, "hash");
	V.n_components = 2;

	ix->payload_size = plen;
	ix->chunk_count = (plen + CHUNK - 1) / CHUNK;
	ctlen = plen + ix->chunk_count * EXAI_AEAD_TAG;
	ct = malloc(ctlen);
	table = malloc(ix->chunk_count * EXAI_SHA256_LEN);
	need(ct && table, "out of memory");
	for (uint64_t i = 0, off = 0, coff = 0; i < ix->chunk_count; i++) {
		size_t n = plen - off < CHUNK ? plen - off : CHUNK;
		need_ok(exai_chunk_seal(key, ix->bundle_id, i, ix->chunk_count, plain + off, n,
					ct + coff, &e),
			&e, "chunk seal");
		need_ok(
		    exai_sha256_buf(ct + coff, n + EXAI_AEAD_TAG, table + i * EXAI_SHA256_LEN, &e),
		    &e, "hash");
		off += n;
		coff += n + EXAI_AEAD_TAG;
	}
	mtext = exai_manifest_text(&m);
	need(mtext != NULL, "manifest text");
	mlen = strlen(mtext) + EXAI_AEAD_TAG;
	mct = malloc(mlen);
	need(mct != NULL, "out of memory");
	need_ok(
	    exai_manifest_seal(key, ix->bundle_id, (const uint8_t *)mtext, strlen(mtext), mct, &e),
	    &e, "manifest seal");
	set_slot(FB_MANIFEST, "manifest", mct, mlen);
	set_slot(FB_CHUNKS, "chunks", table, ix->chunk_count * EXAI_SHA256_LEN);
	set_slot(FB_PAYLOAD, "payload", ct, ctlen);
	add_file(ix, "manifest", mlen, mct, mlen);
	add_file(ix, "chunks", ix->chunk_count * EXAI_SHA256_LEN, table,
		 ix->chunk_count * EXAI_SHA256_LEN);
	add_file(ix, "payload", ctlen, table, ix->chunk_count * EXAI_SHA256_LEN);
	free(mtext);
	free(mct);
	free(table);
	free(ct);
	free(plain);
	free(tar);
}

static void make_keys(exai_index *ix, const uint8_t key[EXAI_DATA_KEY_LEN])
{
	uint8_t kb[2 * (EXAI_KEYID_LEN + SEAL_LEN)], back[EXAI_DATA_KEY_LEN];

	for (int i = 0; i < 2; i++) { /* S1, S2: ids 0x51.., 0x52.. are in ascending order */
		uint8_t *rec = kb + i * (EXAI_KEYID_LEN + SEAL_LEN);
		memcpy(ix->recipients[ix->n_recipients++], V.site[i].id, EXAI_KEYID_LEN);
		memcpy(rec, V.site[i].id, EXAI_KEYID_LEN);
		seal_fixed(rec + EXAI_KEYID_LEN, key, V.site[i].pk, (uint8_t)(0xE0 + i));
		need(crypto_box_seal_open(back, rec + EXAI_KEYID_LEN, SEAL_LEN, V.site[i].pk,
					  V.site[i].sk) == 0 &&
			 !memcmp(back, key, sizeof(back)),
		     "fixed sealed box does not open");
	}
	set_slot(FB_KEYS, "keys", kb, sizeof(kb));
	add_file(ix, "keys", sizeof(kb), kb, sizeof(kb));
}

const fb_valid *fb_valid_get(void)
{
	exai_seckey r1, r2, k1, k2, k3;
	exai_index *ix;
	uint8_t key[EXAI_DATA_KEY_LEN];
	exai_error e;
	char *itext, *root2_text, *sig, name[48];

	if (built)
		return &V;
	need_ok(exai_init(&e), &e, "init");
	seed_sign_key(&r1, 0xA1);
	seed_sign_key(&r2, 0xA2);
	seed_sign_key(&k1, 0xB1);
	seed_sign_key(&k2, 0xB2);
	seed_sign_key(&k3, 0xB3);
	seed_site_key(&V.site[0], 0x51);
	seed_site_key(&V.site[1], 0x52);
	seed_site_key(&V.site[2], 0x59);
	V.root1_expires = 5000;
	{
		const exai_seckey *rk[] = {&r1}, *rel[] = {&k1};
		V.root1 = make_root(1, 100, V.root1_expires, rk, 1, 1, rel, 1, 1);
	}
	{
		const exai_seckey *rk[] = {&r1, &r2}, *rel[] = {&k1, &k2, &k3};
		V.root2 = make_root(2, 200, 0, rk, 2, 2, rel, 3, 2);
	}
	need_ok(exai_root_check_self(V.root1, &e), &e, "root 1");
	need_ok(exai_root_check_successor(V.root1, V.root2, &e), &e, "root 2");
	root2_text = exai_root_file_text(V.root2);
	need(root2_text != NULL, "root text");
	set_slot(FB_ROOT2, "roots/2", root2_text, strlen(root2_text));

	ix = calloc(1, sizeof(*ix));
	need(ix != NULL, "out of memory");
	memset(ix->bundle_id, 0xB0, sizeof(ix->bundle_id));
	snprintf(ix->channel, sizeof(ix->channel), "stable");
	ix->sequence = 7;
	V.created = ix->created = 1000;
	V.expires = ix->expires = 2000;
	ix->min_root_version = 2;
	snprintf(ix->classes[ix->n_classes++], EXAI_NAME_MAX + 1, "gpu");
	ix->encryption = EXAI_ENC_AES256GCM;
	ix->chunk_size = CHUNK;
	memset(key, 0x4B, sizeof(key));
	make_payload(ix, key);
	make_keys(ix, key);
	add_file(ix, "roots/2", strlen(root2_text), root2_text, strlen(root2_text));
	exai_index_sort(ix);
	need_ok(exai_index_validate(ix, &e), &e, "index");
	itext = exai_index_text(ix);
	need(itext != NULL, "index text");
	set_slot(FB_INDEX, "index", itext, strlen(itext));
	need_ok(exai_minisig_sign(&k1, (const uint8_t *)itext, strlen(itext),
				  "timestamp:1000\tfile:index", &sig, &e),
		&e, "sign K1");
	sig_name(&k1, name);
	set_slot(FB_SIG1, name, sig, strlen(sig));
	free(sig);
	need_ok(exai_minisig_sign(&k2, (const uint8_t *)itext, strlen(itext),
				  "timestamp:1000\tfile:index", &sig, &e),
		&e, "sign K2");
	sig_name(&k2, name);
	set_slot(FB_SIG2, name, sig, strlen(sig));
	free(sig);
	sig_name(&k3, V.sig_k3);
	sig_name(&r1, V.sig_r1);
	free(itext);
	free(root2_text);
	free(ix);
	sodium_memzero(key, sizeof(key));
	built = 1;
	return &V;
}
