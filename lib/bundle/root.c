/*
 * root: parsing, canonical serialisation and chain checks of trust roots.
 */
#include "exai/root.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/index.h"
#include "exai/text.h"

#define SIG_DOMAIN "exai-root-sig-v1\n"

static void sb_key(exai_strbuf *b, const char *label, const exai_pubkey *k)
{
	char id[EXAI_KEYID_STR];
	char *b64 = exai_pubkey_b64(k);

	if (!b64) {
		free(b->p);
		b->p = NULL;
		b->oom = true;
		return;
	}
	exai_keyid_str(k->id, id);
	exai_strbuf_printf(b, "%s %s %s\n", label, id, b64);
	free(b64);
}

char *exai_root_doc_text(const exai_root *r)
{
	exai_strbuf b = {0};

	exai_strbuf_printf(&b, "exai-root 1\nversion %llu\ncreated %llu\n",
			   (unsigned long long)r->version, (unsigned long long)r->created);
	if (r->expires)
		exai_strbuf_printf(&b, "expires %llu\n", (unsigned long long)r->expires);
	else
		exai_strbuf_printf(&b, "expires never\n");
	exai_strbuf_printf(&b, "root-threshold %u\n", r->root_threshold);
	for (size_t i = 0; i < r->n_root_keys; i++)
		sb_key(&b, "root-key", &r->root_keys[i]);
	exai_strbuf_printf(&b, "release-threshold %u\n", r->release_threshold);
	for (size_t i = 0; i < r->n_release_keys; i++)
		sb_key(&b, "release-key", &r->release_keys[i]);
	return exai_strbuf_take(&b);
}

char *exai_root_file_text(const exai_root *r)
{
	char *doc = exai_root_doc_text(r);
	exai_strbuf b = {0};

	if (!doc)
		return NULL;
	exai_strbuf_printf(&b, "%s", doc);
	free(doc);
	for (size_t i = 0; i < r->n_sigs; i++) {
		char id[EXAI_KEYID_STR];
		char *s64 = exai_base64_encode(r->sigs[i].sig, EXAI_ED25519_SIG_LEN);
		if (!s64) {
			free(b.p);
			return NULL;
		}
		exai_keyid_str(r->sigs[i].id, id);
		exai_strbuf_printf(&b, "signature %s %s\n", id, s64);
		free(s64);
	}
	return exai_strbuf_take(&b);
}

uint8_t *exai_root_signed_message(const exai_root *r, size_t *len_out)
{
	char *doc = exai_root_doc_text(r);
	size_t dl, dn = strlen(SIG_DOMAIN);
	uint8_t *msg;

	if (!doc)
		return NULL;
	dl = strlen(doc);
	msg = malloc(dn + dl);
	if (msg) {
		memcpy(msg, SIG_DOMAIN, dn);
		memcpy(msg + dn, doc, dl);
		*len_out = dn + dl;
	}
	free(doc);
	return msg;
}

static bool has_key(const exai_pubkey *keys, size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(keys[i].id, id, EXAI_KEYID_LEN) == 0)
			return true;
	return false;
}

/* The identity of a key is its public key: a minisign signature does not cover the key id,
 * so a copy of one key under another id must not count as a second key. */
static bool has_pk(const exai_pubkey *keys, size_t n, const exai_pubkey *k)
{
	for (size_t i = 0; i < n; i++)
		if (sodium_memcmp(keys[i].pk, k->pk, sizeof(k->pk)) == 0)
			return true;
	return false;
}

/* One key, one place: no public key twice in a list, nor in both lists (a root key that is
 * also a release key would let one secret meet both thresholds). */
static exai_status check_keys_distinct(const exai_root *r, exai_error *e)
{
	char id[EXAI_KEYID_STR];

	for (size_t i = 0; i < r->n_root_keys; i++) {
		exai_keyid_str(r->root_keys[i].id, id);
		if (has_key(r->root_keys, i, r->root_keys[i].id))
			return exai_error_set(e, EXAI_EFORMAT, "root key %s listed twice", id);
		if (has_pk(r->root_keys, i, &r->root_keys[i]))
			return exai_error_set(e, EXAI_EFORMAT,
					      "root key %s: the same public key is listed twice "
					      "(under another key id)",
					      id);
	}
	for (size_t i = 0; i < r->n_release_keys; i++) {
		exai_keyid_str(r->release_keys[i].id, id);
		if (has_key(r->release_keys, i, r->release_keys[i].id))
			return exai_error_set(e, EXAI_EFORMAT, "release key %s listed twice", id);
		if (has_pk(r->release_keys, i, &r->release_keys[i]))
			return exai_error_set(e, EXAI_EFORMAT,
					      "release key %s: the same public key is listed twice "
					      "(under another key id)",
					      id);
		if (has_pk(r->root_keys, r->n_root_keys, &r->release_keys[i]))
			return exai_error_set(e, EXAI_EFORMAT,
					      "release key %s is also a root key (one key, one "
					      "role)",
					      id);
	}
	return EXAI_OK;
}

exai_status exai_root_validate(const exai_root *r, exai_error *e)
{
	if (r->version < 1)
		return exai_error_set(e, EXAI_EFORMAT, "version must be at least 1");
	if (r->n_root_keys < 1 || r->root_threshold < 1 || r->root_threshold > r->n_root_keys)
		return exai_error_set(e, EXAI_EFORMAT,
				      "root-threshold %u is not between 1 and the %zu root keys",
				      r->root_threshold, r->n_root_keys);
	if (r->n_release_keys < 1 || r->release_threshold < 1 ||
	    r->release_threshold > r->n_release_keys)
		return exai_error_set(e, EXAI_EFORMAT,
				      "release-threshold %u is not between 1 and the %zu release "
				      "keys",
				      r->release_threshold, r->n_release_keys);
	if (r->expires && r->expires <= r->created)
		return exai_error_set(e, EXAI_EFORMAT, "expires is not after created");
	return check_keys_distinct(r, e);
}

/* Parses "<label> <KEYID> <b64>" whose id must match the key blob's. */
static exai_status parse_key_line(char **f, int nf, exai_pubkey *out, exai_error *e)
{
	uint8_t id[EXAI_KEYID_LEN];
	exai_status rc;

	if (nf != 3)
		return exai_error_set(e, EXAI_EFORMAT, "expected '<KEYID> <public key>'");
	if ((rc = exai_keyid_parse(f[1], id, e)) || (rc = exai_pubkey_parse_b64(f[2], out, e)))
		return rc;
	if (memcmp(id, out->id, EXAI_KEYID_LEN) != 0)
		return exai_error_set(e, EXAI_EFORMAT, "key id %s does not match the key", f[1]);
	return EXAI_OK;
}

static exai_status parse_u(char **f, int nf, uint64_t max, uint64_t *out, exai_error *e)
{
	if (nf != 2 || !exai_parse_u64_canon(f[1], out) || *out > max)
		return exai_error_set(e, EXAI_EFORMAT, "'%s' needs one number up to %llu", f[0],
				      (unsigned long long)max);
	return EXAI_OK;
}

static exai_status parse_line(exai_root *r, char *line, int *stage, exai_error *e)
{
	char *f[4];
	int nf = exai_split_fields(line, f, 4);
	uint64_t v = 0;
	exai_status rc;

	if (nf < 1)
		return exai_error_set(e, EXAI_EFORMAT, "malformed line");
	/* Stages: 0 header, 1 version, 2 created, 3 expires, 4 root-threshold, 5 root keys,
	 * 6 release keys, 7 signatures. */
	if (*stage == 0) {
		if (nf != 2 || strcmp(f[0], "exai-root") || strcmp(f[1], "1"))
			return exai_error_set(e, EXAI_EFORMAT, "not an exai-root version 1 file");
		*stage = 1;
		return EXAI_OK;
	}
	/* Version and times are ratchets kept as signed 64-bit integers: at most 2^63-1. */
	if (*stage == 1 && !strcmp(f[0], "version")) {
		*stage = 2;
		return parse_u(f, nf, EXAI_INDEX_NUM_MAX, &r->version, e);
	}
	if (*stage == 2 && !strcmp(f[0], "created")) {
		*stage = 3;
		return parse_u(f, nf, EXAI_INDEX_NUM_MAX, &r->created, e);
	}
	if (*stage == 3 && !strcmp(f[0], "expires")) {
		*stage = 4;
		if (nf == 2 && !strcmp(f[1], "never"))
			return EXAI_OK;
		rc = parse_u(f, nf, EXAI_INDEX_NUM_MAX, &r->expires, e);
		if (!rc && r->expires == 0)
			return exai_error_set(e, EXAI_EFORMAT, "expires 0: write 'never'");
		return rc;
	}
	if (*stage == 4 && !strcmp(f[0], "root-threshold")) {
		*stage = 5;
		rc = parse_u(f, nf, EXAI_ROOT_MAX_KEYS, &v, e);
		r->root_threshold = (unsigned)v;
		return rc;
	}
	if (*stage == 5 && !strcmp(f[0], "root-key")) {
		if (r->n_root_keys == EXAI_ROOT_MAX_KEYS)
			return exai_error_set(e, EXAI_EFORMAT, "more than %d root keys",
					      EXAI_ROOT_MAX_KEYS);
		return parse_key_line(f, nf, &r->root_keys[r->n_root_keys++], e);
	}
	if (*stage == 5 && !strcmp(f[0], "release-threshold")) {
		*stage = 6;
		rc = parse_u(f, nf, EXAI_ROOT_MAX_KEYS, &v, e);
		r->release_threshold = (unsigned)v;
		return rc;
	}
	if (*stage == 6 && !strcmp(f[0], "release-key")) {
		if (r->n_release_keys == EXAI_ROOT_MAX_KEYS)
			return exai_error_set(e, EXAI_EFORMAT, "more than %d release keys",
					      EXAI_ROOT_MAX_KEYS);
		return parse_key_line(f, nf, &r->release_keys[r->n_release_keys++], e);
	}
	if ((*stage == 6 || *stage == 7) && !strcmp(f[0], "signature")) {
		exai_root_sig *s;
		size_t n = 0;
		*stage = 7;
		if (r->n_sigs == EXAI_ROOT_MAX_SIGS)
			return exai_error_set(e, EXAI_EFORMAT, "more than %d signatures",
					      EXAI_ROOT_MAX_SIGS);
		s = &r->sigs[r->n_sigs++];
		if (nf != 3 || (rc = exai_keyid_parse(f[1], s->id, e)) != EXAI_OK)
			return nf != 3 ? exai_error_set(e, EXAI_EFORMAT,
							"expected 'signature <KEYID> <base64>'")
				       : rc;
		if (exai_base64_decode(f[2], strlen(f[2]), s->sig, sizeof(s->sig), &n, e) ||
		    n != sizeof(s->sig))
			return exai_error_set(e, EXAI_EFORMAT,
					      "signature is not 64 bytes of base64");
		return EXAI_OK;
	}
	return exai_error_set(e, EXAI_EFORMAT, "unexpected '%.40s'", f[0]);
}

exai_status exai_root_parse(const uint8_t *buf, size_t len, const char *name, exai_root **out,
			    exai_error *e)
{
	exai_root *r = NULL;
	char *copy = NULL, *doc = NULL, *line;
	size_t lineno = 0;
	int stage = 0;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (len > EXAI_ROOT_MAX_BYTES)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: over %d bytes", name,
				      EXAI_ROOT_MAX_BYTES);
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) || memchr(buf, '\r', len))
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: must be LF-terminated text without NUL or CR", name);
	r = calloc(1, sizeof(*r));
	copy = malloc(len + 1);
	if (!r || !copy) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	line = copy;
	while (*line) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		lineno++;
		rc = parse_line(r, line, &stage, e);
		if (rc) {
			exai_error_prefix(e, "%s: line %zu", name, lineno);
			goto out;
		}
		line = nl + 1;
	}
	if (stage < 6) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: incomplete root (no release keys)", name);
		goto out;
	}
	if ((rc = exai_root_validate(r, e))) {
		exai_error_prefix(e, "%s", name);
		goto out;
	}
	doc = exai_root_file_text(r);
	if (!doc) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(doc) != len || memcmp(doc, buf, len) != 0) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: not in canonical form", name);
		goto out;
	}
	*out = r;
	r = NULL;
out:
	free(doc);
	free(copy);
	free(r);
	return rc;
}

exai_status exai_root_load(const char *path, exai_root **out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc = exai_file_read_bounded(path, EXAI_ROOT_MAX_BYTES, &buf, &len, e);

	*out = NULL;
	if (rc)
		return rc;
	rc = exai_root_parse(buf, len, path, out, e);
	if (rc == EXAI_EFORMAT) {
		char what[64];
		exai_keyfile_kind k = exai_keyfile_sniff(path, what, sizeof(what));
		if (k != EXAI_KF_UNKNOWN && k != EXAI_KF_TRUST_ROOT)
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s is %s, not a trust root (made by 'exai-bundle root "
					    "init')",
					    path, what);
	}
	free(buf);
	return rc;
}

unsigned exai_root_count_valid(const exai_root *r, const exai_pubkey *keys, size_t n_keys)
{
	size_t mlen = 0;
	uint8_t *msg = exai_root_signed_message(r, &mlen);
	const exai_pubkey *counted[EXAI_ROOT_MAX_KEYS];
	unsigned n = 0;

	/* Keys are counted by public key, in a set as large as the key list can be: a list
	 * longer than that is not a list this code may judge, so nothing counts. */
	if (!msg || n_keys > EXAI_ROOT_MAX_KEYS) {
		free(msg);
		return 0;
	}
	for (size_t s = 0; s < r->n_sigs; s++) {
		for (size_t k = 0; k < n_keys; k++) {
			bool seen = false;
			if (memcmp(keys[k].id, r->sigs[s].id, EXAI_KEYID_LEN) != 0)
				continue;
			for (unsigned c = 0; c < n && !seen; c++)
				seen =
				    !sodium_memcmp(counted[c]->pk, keys[k].pk, sizeof(keys[k].pk));
			if (seen ||
			    crypto_sign_verify_detached(r->sigs[s].sig, msg, mlen, keys[k].pk) != 0)
				continue;
			counted[n++] = &keys[k];
		}
	}
	free(msg);
	return n;
}

exai_status exai_root_check_self(const exai_root *r, exai_error *e)
{
	unsigned n = exai_root_count_valid(r, r->root_keys, r->n_root_keys);

	if (n < r->root_threshold)
		return exai_error_set(e, EXAI_EVERIFY,
				      "root version %llu: %u valid signature(s) of its own root "
				      "keys, threshold is %u",
				      (unsigned long long)r->version, n, r->root_threshold);
	return EXAI_OK;
}

exai_status exai_root_check_successor(const exai_root *prev, const exai_root *next, exai_error *e)
{
	unsigned n_old;

	if (next->version != prev->version + 1)
		return exai_error_set(
		    e, EXAI_EVERIFY, "root version %llu cannot follow version %llu",
		    (unsigned long long)next->version, (unsigned long long)prev->version);
	n_old = exai_root_count_valid(next, prev->root_keys, prev->n_root_keys);
	if (n_old < prev->root_threshold)
		return exai_error_set(e, EXAI_EVERIFY,
				      "root version %llu: %u valid signature(s) by root keys of "
				      "version %llu, threshold is %u",
				      (unsigned long long)next->version, n_old,
				      (unsigned long long)prev->version, prev->root_threshold);
	return exai_root_check_self(next, e);
}

const exai_pubkey *exai_root_release_key(const exai_root *r, const uint8_t id[EXAI_KEYID_LEN])
{
	for (size_t i = 0; i < r->n_release_keys; i++)
		if (memcmp(r->release_keys[i].id, id, EXAI_KEYID_LEN) == 0)
			return &r->release_keys[i];
	return NULL;
}
