/*
 * bundle_verify: trust in a bundle's index (root chain, k-of-n release signatures), the
 * hashes of its small entries, and unlocking (data key, manifest).
 */
#include "exai/bundle.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/aead.h"
#include "exai/secmem.h"

/* Walks roots/<N+1>, roots/<N+2>... from @trusted; b->root gets the last valid one. A root
 * that is present but fails its checks is an error (a broken chain is never skipped). */
static exai_status walk_roots(exai_bundle *b, const exai_root *trusted, exai_error *e)
{
	exai_root *cur = malloc(sizeof(*cur));

	if (!cur)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	memcpy(cur, trusted, sizeof(*cur));
	for (;;) {
		char name[32];
		const exai_bentry *ent;
		exai_root *next = NULL;
		exai_status rc;

		snprintf(name, sizeof(name), "roots/%llu", (unsigned long long)cur->version + 1);
		ent = exai_bundle_entry(b, name);
		if (!ent)
			break;
		rc = exai_root_parse(ent->data, ent->size, name, &next, e);
		if (!rc)
			rc = exai_root_check_successor(cur, next, e);
		if (rc) {
			free(next);
			free(cur);
			return exai_error_prefix(e, "root chain: %s", name);
		}
		free(cur);
		cur = next;
	}
	free(b->root);
	b->root = cur;
	return EXAI_OK;
}

static void note_signer(exai_bundle *b, const uint8_t *id, exai_sigstate st, const char *detail)
{
	exai_signer *s;

	if (b->n_signers == EXAI_BUNDLE_MAX_SIGS)
		return;
	s = &b->signers[b->n_signers++];
	memcpy(s->id, id, EXAI_KEYID_LEN);
	s->state = st;
	snprintf(s->detail, sizeof(s->detail), "%.159s", detail);
}

static exai_status check_signatures(exai_bundle *b, exai_error *e)
{
	const exai_bentry *ix = b->index_entry;
	char summary[EXAI_ERROR_MSG_MAX] = "";
	size_t used = 0;

	b->n_signers = 0;
	b->valid_signatures = 0;
	for (size_t i = 0; i < b->n_entries; i++) {
		const exai_bentry *ent = &b->entries[i];
		uint8_t name_id[EXAI_KEYID_LEN];
		const exai_pubkey *pk;
		exai_minisig sig;
		exai_error se;
		char hex[17];
		bool dup = false;

		if (strncmp(ent->name, "sig/", 4) != 0)
			continue;
		memcpy(hex, ent->name + 4, 16);
		hex[16] = '\0';
		if (exai_keyid_parse(hex, name_id, &se) != EXAI_OK)
			continue; /* impossible: names were checked on open */
		if (exai_minisig_parse(ent->data, ent->size, &sig, &se) != EXAI_OK) {
			note_signer(b, name_id, EXAI_SIG_BAD, se.msg);
			continue;
		}
		if (memcmp(sig.id, name_id, EXAI_KEYID_LEN) != 0) {
			note_signer(b, name_id, EXAI_SIG_BAD,
				    "file name and signature key id differ");
			continue;
		}
		for (size_t k = 0; k < b->n_signers; k++)
			if (b->signers[k].state == EXAI_SIG_VALID &&
			    !memcmp(b->signers[k].id, sig.id, EXAI_KEYID_LEN))
				dup = true;
		pk = exai_root_release_key(b->root, sig.id);
		if (!pk) {
			note_signer(b, sig.id, EXAI_SIG_UNKNOWN_KEY,
				    "not a release key of the trusted root");
		} else if (exai_minisig_verify(&sig, pk, ix->data, ix->size, &se) != EXAI_OK) {
			note_signer(b, sig.id, EXAI_SIG_BAD, se.msg);
		} else if (dup) {
			note_signer(b, sig.id, EXAI_SIG_DUPLICATE, "counted once");
		} else {
			note_signer(b, sig.id, EXAI_SIG_VALID, "valid");
			b->valid_signatures++;
		}
	}
	if (b->valid_signatures >= b->root->release_threshold)
		return EXAI_OK;
	for (size_t k = 0; k < b->n_signers && used < sizeof(summary) - 64; k++) {
		char id[EXAI_KEYID_STR];
		static const char *const what[] = {"valid", "unknown key", "bad signature",
						   "duplicate"};
		exai_keyid_str(b->signers[k].id, id);
		bool bad = b->signers[k].state == EXAI_SIG_BAD;
		used +=
		    (size_t)snprintf(summary + used, sizeof(summary) - used, "%s%s %s%s%s%s",
				     k ? "; " : "", id, what[b->signers[k].state], bad ? " (" : "",
				     bad ? b->signers[k].detail : "", bad ? ")" : "");
	}
	return exai_error_set(
	    e, EXAI_EVERIFY, "signatures: %u valid of the %u required by root version %llu%s%s",
	    b->valid_signatures, b->root->release_threshold, (unsigned long long)b->root->version,
	    b->n_signers ? ": " : " (none)", summary);
}

/* Every entry on the media but index and sig/ must be listed, with its size and hash. */
exai_status exai_bundle_check_entries(exai_bundle *b, exai_error *e)
{
	const exai_index *ix = b->index;

	for (size_t i = 0; i < b->n_entries; i++) {
		const exai_bentry *ent = &b->entries[i];
		const exai_index_file *f;
		uint8_t md[EXAI_SHA256_LEN];
		exai_status rc;

		if (!strcmp(ent->name, "index") || !strncmp(ent->name, "sig/", 4))
			continue;
		f = exai_index_file_get(ix, ent->name);
		if (!f)
			return exai_error_set(e, EXAI_EVERIFY,
					      "%s: not listed in the signed index (refused)",
					      ent->name);
		if (f->size != ent->size)
			return exai_error_set(
			    e, EXAI_EVERIFY, "%s: %llu bytes, the signed index says %llu",
			    ent->name, (unsigned long long)ent->size, (unsigned long long)f->size);
		if ((rc = exai_sha256_buf(ent->data, ent->size, md, e)))
			return rc;
		if (!exai_memeq(md, f->sha256, EXAI_SHA256_LEN))
			return exai_error_set(e, EXAI_EVERIFY, "%s: hash mismatch", ent->name);
	}
	for (size_t i = 0; i < ix->n_files; i++) {
		const char *name = ix->files[i].name;
		if (!strcmp(name, "payload")) {
			if (!b->has_payload)
				return exai_error_set(e, EXAI_EVERIFY, "payload: missing");
			if (b->payload_media_size != ix->files[i].size)
				return exai_error_set(e, EXAI_EVERIFY,
						      "payload: %llu bytes, the signed index says "
						      "%llu (truncated or padded)",
						      (unsigned long long)b->payload_media_size,
						      (unsigned long long)ix->files[i].size);
		} else if (!exai_bundle_entry(b, name)) {
			return exai_error_set(e, EXAI_EVERIFY,
					      "%s: listed in the index but missing", name);
		}
	}
	b->entries_checked = true;
	return EXAI_OK;
}

exai_status exai_bundle_verify(exai_bundle *b, const exai_root *trusted, const exai_verify_opts *o,
			       exai_error *e)
{
	exai_status rc;

	b->verified = false;
	b->entries_checked = false;
	rc = walk_roots(b, trusted, e);
	if (rc)
		return rc;
	if (o && o->now && b->root->expires && b->root->expires < o->now)
		return exai_error_set(
		    e, EXAI_EREFUSED, "root version %llu expired at %llu (time now %llu)",
		    (unsigned long long)b->root->version, (unsigned long long)b->root->expires,
		    (unsigned long long)o->now);
	if ((rc = check_signatures(b, e)))
		return rc;
	if (b->index->min_root_version > b->root->version)
		return exai_error_set(e, EXAI_EREFUSED,
				      "bundle needs root version %llu or newer; the newest "
				      "reachable root is version %llu",
				      (unsigned long long)b->index->min_root_version,
				      (unsigned long long)b->root->version);
	if ((rc = exai_bundle_check_entries(b, e)))
		return rc;
	if (o && o->now && b->index->expires < o->now)
		return exai_error_set(e, EXAI_EREFUSED, "bundle expired at %llu (time now %llu)",
				      (unsigned long long)b->index->expires,
				      (unsigned long long)o->now);
	b->verified = true;
	return EXAI_OK;
}

exai_status exai_bundle_unlock(exai_bundle *b, const exai_site_key *key, exai_error *e)
{
	const exai_bentry *man = exai_bundle_entry(b, "manifest");
	const exai_index *ix = b->index;
	uint8_t *plain = NULL;
	size_t plain_len;
	exai_status rc;

	if (!b->entries_checked)
		return exai_error_set(e, EXAI_EINTERNAL, "unlock before verify");
	if (ix->encryption == EXAI_ENC_NONE) {
		plain = (uint8_t *)man->data;
		plain_len = man->size;
	} else {
		const exai_bentry *keys = exai_bundle_entry(b, "keys");
		char id[EXAI_KEYID_STR];
		int r;

		if (!key)
			return exai_error_set(e, EXAI_EINVAL,
					      "bundle is encrypted: a site key is needed");
		exai_keyid_str(key->id, id);
		r = exai_index_recipient(ix, key->id);
		if (r < 0)
			return exai_error_set(e, EXAI_EREFUSED,
					      "bundle is not encrypted to site key %s", id);
		const uint8_t *rec = keys->data + (size_t)r * (EXAI_KEYID_LEN + 80);
		if (memcmp(rec, key->id, EXAI_KEYID_LEN) != 0)
			return exai_error_set(e, EXAI_EFORMAT, "keys: entry %d is not for key %s",
					      r, id);
		if (!b->data_key && !(b->data_key = exai_secmem_alloc(EXAI_DATA_KEY_LEN)))
			return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		if (crypto_box_seal_open(b->data_key, rec + EXAI_KEYID_LEN, 80, key->pk, key->sk)) {
			exai_secmem_free(b->data_key);
			b->data_key = NULL;
			return exai_error_set(e, EXAI_ECRYPTO,
					      "keys: the data key for %s does not open", id);
		}
		if (man->size < EXAI_AEAD_TAG)
			return exai_error_set(e, EXAI_EFORMAT, "manifest: too short");
		plain_len = man->size - EXAI_AEAD_TAG;
		plain = malloc(plain_len ? plain_len : 1);
		if (!plain)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		rc = exai_manifest_open(b->data_key, ix->bundle_id, man->data, man->size, plain, e);
		if (rc) {
			free(plain);
			return exai_error_prefix(e, "manifest");
		}
	}
	exai_manifest_free(b->manifest);
	b->manifest = NULL;
	rc = exai_manifest_parse(plain, plain_len, ix->payload_size, &b->manifest, e);
	if (plain != man->data) {
		sodium_memzero(plain, plain_len);
		free(plain);
	}
	return rc;
}
