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

/* exai_bundle_effective_root; *newest_created (if not NULL) gets the latest creation time of
 * every root of the chain, @trusted included: each is trusted on the way. */
static exai_status walk_chain(const exai_bundle *b, const exai_root *trusted, exai_root **out,
			      uint64_t *newest_created, exai_error *e)
{
	exai_root *cur = malloc(sizeof(*cur));
	uint64_t newest = trusted->created;

	*out = NULL;
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
		if (cur->created > newest)
			newest = cur->created;
	}
	/* A root past the end of the chain means a gap (roots/4 without roots/3): the chain is
	 * never skipped, so that is a refusal, not an unused entry. */
	for (size_t i = 0; i < b->n_entries; i++) {
		uint64_t v = 0;
		if (strncmp(b->entries[i].name, "roots/", 6) ||
		    !exai_parse_u64_canon(b->entries[i].name + 6, &v) || v <= cur->version)
			continue;
		exai_error_set(e, EXAI_EVERIFY,
			       "root chain: the bundle carries %s but not roots/%llu (a gap after "
			       "root version %llu; the chain is never skipped)",
			       b->entries[i].name, (unsigned long long)cur->version + 1,
			       (unsigned long long)cur->version);
		free(cur);
		return EXAI_EVERIFY;
	}
	if (newest_created)
		*newest_created = newest;
	*out = cur;
	return EXAI_OK;
}

exai_status exai_bundle_effective_root(const exai_bundle *b, const exai_root *trusted,
				       exai_root **out, exai_error *e)
{
	return walk_chain(b, trusted, out, NULL, e);
}

/* b->root gets the effective root (exai_bundle_effective_root); *newest_created the latest
 * creation time of the roots on the way. */
static exai_status walk_roots(exai_bundle *b, const exai_root *trusted, uint64_t *newest_created,
			      exai_error *e)
{
	exai_root *cur = NULL;
	exai_status rc = walk_chain(b, trusted, &cur, newest_created, e);

	if (rc)
		return rc;
	free(b->root);
	b->root = cur;
	return EXAI_OK;
}

/* The newest time this verification can vouch for: the caller's (the clock, or the
 * appliance's ratchet), and the creation time of every root it trusts on the way
 * (@roots_created, from walk_roots: the trusted root, each one of the chain). A root is
 * expired relative to that even when the caller knows no time at all. */
static uint64_t newest_trusted_time(uint64_t roots_created, const exai_verify_opts *o)
{
	uint64_t t = o ? o->now : 0;

	return roots_created > t ? roots_created : t;
}

static exai_status check_root_expiry(const exai_root *r, uint64_t now, const char *when,
				     exai_error *e)
{
	if (r->expires && now && r->expires < now)
		return exai_error_set(
		    e, EXAI_EREFUSED, "root version %llu expired at %llu (%s %llu)",
		    (unsigned long long)r->version, (unsigned long long)r->expires, when,
		    (unsigned long long)now);
	return EXAI_OK;
}

/* Records the outcome of one sig/ entry for display. The record is bounded like the entries
 * themselves (open refuses more than EXAI_BUNDLE_MAX_SIGS); reaching the bound anyway is an
 * error, never a silent drop. Counting does not depend on this record. */
static exai_status note_signer(exai_bundle *b, const uint8_t *id, exai_sigstate st,
			       const char *detail, exai_error *e)
{
	exai_signer *s;

	if (b->n_signers >= EXAI_BUNDLE_MAX_SIGS)
		return exai_error_set(e, EXAI_ETOOBIG, "signatures: more than %d (refused)",
				      EXAI_BUNDLE_MAX_SIGS);
	s = &b->signers[b->n_signers++];
	memcpy(s->id, id, EXAI_KEYID_LEN);
	s->state = st;
	snprintf(s->detail, sizeof(s->detail), "%.159s", detail);
	return EXAI_OK;
}

/* Index into @root's release keys of the first key with the same public key bytes as @pk:
 * the identity of a signer is its public key, never the key id (a minisign signature does not
 * cover the id, so an id can be rewritten freely). */
static size_t release_key_slot(const exai_root *root, const exai_pubkey *pk)
{
	size_t i = 0;

	while (i < root->n_release_keys &&
	       sodium_memcmp(root->release_keys[i].pk, pk->pk, sizeof(pk->pk)) != 0)
		i++;
	return i;
}

/* One sig/ entry: its state, and whether it adds a distinct key (@counted, one flag per
 * release key slot of the effective root, so the count can never exceed the root's key
 * count whatever the media holds). */
static exai_sigstate check_one(const exai_bundle *b, const exai_bentry *ent, bool *counted,
			       uint8_t id[EXAI_KEYID_LEN], char *detail, size_t dcap)
{
	const exai_bentry *ix = b->index_entry;
	const exai_pubkey *pk;
	exai_minisig sig;
	exai_error se;
	char hex[17];
	size_t slot;

	memcpy(hex, ent->name + 4, 16);
	hex[16] = '\0';
	snprintf(detail, dcap, "valid");
	if (exai_keyid_parse(hex, id, &se) != EXAI_OK) {
		memset(id, 0, EXAI_KEYID_LEN);
		snprintf(detail, dcap, "bad file name");
		return EXAI_SIG_BAD;
	}
	if (exai_minisig_parse(ent->data, ent->size, &sig, &se) != EXAI_OK) {
		snprintf(detail, dcap, "%.159s", se.msg);
		return EXAI_SIG_BAD;
	}
	if (memcmp(sig.id, id, EXAI_KEYID_LEN) != 0) {
		snprintf(detail, dcap, "file name and signature key id differ");
		return EXAI_SIG_BAD;
	}
	if (!(pk = exai_root_release_key(b->root, sig.id))) {
		snprintf(detail, dcap, "not a release key of the trusted root");
		return EXAI_SIG_UNKNOWN_KEY;
	}
	if (exai_minisig_verify(&sig, pk, ix->data, ix->size, &se) != EXAI_OK) {
		snprintf(detail, dcap, "%.159s", se.msg);
		return EXAI_SIG_BAD;
	}
	slot = release_key_slot(b->root, pk);
	if (slot >= b->root->n_release_keys || counted[slot]) {
		snprintf(detail, dcap, "same public key as another signature: counted once");
		return EXAI_SIG_DUPLICATE;
	}
	counted[slot] = true;
	return EXAI_SIG_VALID;
}

static exai_status check_signatures(exai_bundle *b, exai_error *e)
{
	bool counted[EXAI_ROOT_MAX_KEYS] = {false};
	char summary[EXAI_ERROR_MSG_MAX] = "";
	size_t used = 0, n_sig = 0, shown = 0;
	exai_status rc;

	b->n_signers = 0;
	b->valid_signatures = 0;
	for (size_t i = 0; i < b->n_entries; i++)
		n_sig += !strncmp(b->entries[i].name, "sig/", 4);
	if (n_sig > EXAI_BUNDLE_MAX_SIGS)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "signatures: %zu signature entries, more than the %d the "
				      "format allows (refused before any is checked)",
				      n_sig, EXAI_BUNDLE_MAX_SIGS);
	for (size_t i = 0; i < b->n_entries; i++) {
		uint8_t id[EXAI_KEYID_LEN];
		char detail[160];
		exai_sigstate st;

		if (strncmp(b->entries[i].name, "sig/", 4) != 0)
			continue;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(b->entries[j].name, b->entries[i].name))
				return exai_error_set(e, EXAI_EFORMAT,
						      "signatures: entry '%s' appears twice "
						      "(refused)",
						      b->entries[i].name);
		st = check_one(b, &b->entries[i], counted, id, detail, sizeof(detail));
		if ((rc = note_signer(b, id, st, detail, e)))
			return rc;
	}
	for (size_t k = 0; k < b->root->n_release_keys; k++)
		b->valid_signatures += counted[k];
	if (b->valid_signatures >= b->root->release_threshold)
		return EXAI_OK;
	for (size_t k = 0; k < b->n_signers && used < sizeof(summary) - 64; k++, shown++) {
		char id[EXAI_KEYID_STR];
		static const char *const what[] = {"valid", "unknown key", "bad signature",
						   "duplicate"};
		exai_keyid_str(b->signers[k].id, id);
		bool bad = b->signers[k].state == EXAI_SIG_BAD;
		used +=
		    (size_t)snprintf(summary + used, sizeof(summary) - used, "%s%s %s%s%s%s",
				     k ? "; " : "", id, what[b->signers[k].state], bad ? " (" : "",
				     bad ? b->signers[k].detail : "", bad ? ")" : "");
		if (used >= sizeof(summary) - 1) {
			used = sizeof(summary) - 1;
			break;
		}
	}
	if (shown < b->n_signers && used < sizeof(summary) - 1)
		snprintf(summary + used, sizeof(summary) - used, "; and %zu more",
			 b->n_signers - shown);
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
	uint64_t roots_created = 0;
	exai_status rc;

	b->verified = false;
	b->entries_checked = false;
	rc = walk_roots(b, trusted, &roots_created, e);
	if (rc)
		return rc;
	if ((rc = check_root_expiry(b->root, o ? o->now : 0, "time now", e)) ||
	    (rc = check_root_expiry(b->root, newest_trusted_time(roots_created, o),
				    "newest trusted time: a root's creation", e)))
		return rc;
	if ((rc = check_signatures(b, e)))
		return rc;
	/* Once the signatures hold, the bundle's own creation time is trusted too: a bundle
	 * signed after its root expired is refused whatever the caller's clock says. */
	if ((rc = check_root_expiry(b->root, b->index->created,
				    "the bundle was signed after it: created", e)))
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
	/* The signed index says how to read the manifest's hashes; the manifest must agree. */
	if (!rc && b->manifest->version != exai_index_version(ix)) {
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "manifest: format version %u, but the index is version %u",
				    b->manifest->version, exai_index_version(ix));
		exai_manifest_free(b->manifest);
		b->manifest = NULL;
	}
	return rc;
}
