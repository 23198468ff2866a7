/*
 * note: C2SP signed-note keys and tlog-checkpoint notes with libsodium's Ed25519. See note.h.
 *
 * Parsing is strict and bounded: exact base64 lengths, the one signature type, decimal sizes
 * without leading zeros, nothing after the last signature line. The secret key lives in
 * sodium_malloc memory and the decoded seed is wiped right after use.
 */
#include "note.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/secmem.h"
#include "exai/text.h"

#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 and a space */
#define NOTE_MAX   4096

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > MIR_KEYNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == '+' || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

static exai_status key_id(const char *name, const uint8_t pk[32], uint32_t *id, exai_error *e)
{
	uint8_t d[32];
	exai_sha256 h;
	exai_status rc;
	uint8_t sep[2] = {'\n', 0x01};

	if ((rc = exai_sha256_init(&h, e)))
		return rc;
	exai_sha256_update(&h, name, strlen(name));
	exai_sha256_update(&h, sep, 2);
	exai_sha256_update(&h, pk, 32);
	exai_sha256_final(&h, d);
	*id = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
	return EXAI_OK;
}

/* "<prefix><name>+<id>+<base64(0x01 || 32 bytes)>\n" (malloc'ed). */
static char *key_line(const char *prefix, const char *name, uint32_t id, const uint8_t k[32])
{
	uint8_t buf[33];
	char *b64, *out = NULL;

	buf[0] = 0x01;
	memcpy(buf + 1, k, 32);
	b64 = exai_base64_encode(buf, sizeof(buf));
	sodium_memzero(buf, sizeof(buf));
	if (b64 && asprintf(&out, "%s%s+%08x+%s\n", prefix, name, id, b64) < 0)
		out = NULL;
	if (b64)
		sodium_memzero(b64, strlen(b64));
	free(b64);
	return out;
}

exai_status mir_key_generate(const char *name, const char *key_path, const char *vkey_path,
			     exai_error *e)
{
	uint8_t pk[32], *sk = exai_secmem_alloc(64);
	char *skl = NULL, *vkl = NULL;
	uint32_t id;
	exai_status rc;

	if (!sk)
		return exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
	if (!name_ok(name, strlen(name))) {
		rc = exai_error_set(e, EXAI_EINVAL, "key name '%s': not a signed-note name", name);
		goto out;
	}
	crypto_sign_keypair(pk, sk);
	if ((rc = key_id(name, pk, &id, e)))
		goto out;
	/* libsodium's secret key is seed || public key: the file holds the seed. */
	if (!(skl = key_line("PRIVATE+KEY+", name, id, sk)) ||
	    !(vkl = key_line("", name, id, pk))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = exai_write_new_file(key_path, skl, 0600, e)))
		goto out;
	if ((rc = exai_write_new_file(vkey_path, vkl, 0644, e)))
		unlink(key_path);
out:
	if (skl)
		sodium_memzero(skl, strlen(skl));
	free(skl);
	free(vkl);
	exai_secmem_free(sk);
	return rc;
}

/* Splits "<name>+<hex8>+<base64 of 33 bytes>" into its parts; checks the id. */
static exai_status parse_key(const char *s, size_t len, mir_vkey *out, uint8_t k[32],
			     const char *what, exai_error *e)
{
	const char *p1 = memchr(s, '+', len), *p2;
	uint8_t raw[34];
	size_t rl = 0;
	char hex[9];
	exai_status rc = EXAI_OK;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - s)) : NULL;
	if (!p1 || !p2 || p2 - p1 != 9 || !name_ok(s, (size_t)(p1 - s)))
		return exai_error_set(e, EXAI_EFORMAT, "%s: not <name>+<key id>+<key>", what);
	memcpy(out->name, s, (size_t)(p1 - s));
	out->name[p1 - s] = '\0';
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	if (strspn(hex, "0123456789abcdef") != 8)
		return exai_error_set(e, EXAI_EFORMAT, "%s: the key id is not 8 hex digits", what);
	out->id = (uint32_t)strtoul(hex, NULL, 16);
	if (exai_base64_decode(p2 + 1, len - (size_t)(p2 + 1 - s), raw, sizeof(raw), &rl, e) ||
	    rl != 33 || raw[0] != 0x01) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: the key is not an Ed25519 key (type 1)",
				    what);
		goto out;
	}
	memcpy(k, raw + 1, 32);
out:
	sodium_memzero(raw, sizeof(raw));
	return rc;
}

exai_status mir_vkey_parse(const char *text, size_t len, mir_vkey *out, exai_error *e)
{
	uint32_t id;
	exai_status rc;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len > 512 || memchr(text, '\n', len))
		return exai_error_set(e, EXAI_EFORMAT, "vkey: not one line");
	if ((rc = parse_key(text, len, out, out->pk, "vkey", e)) ||
	    (rc = key_id(out->name, out->pk, &id, e)))
		return rc;
	if (id != out->id)
		return exai_error_set(e, EXAI_EFORMAT,
				      "vkey: key id %08x does not match the key "
				      "(%08x)",
				      out->id, id);
	return EXAI_OK;
}

exai_status mir_vkey_load(const char *path, mir_vkey *out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc;

	if ((rc = exai_file_read_bounded(path, 1024, &buf, &len, e)))
		return rc;
	rc = mir_vkey_parse((const char *)buf, len, out, e);
	free(buf);
	return rc ? exai_error_prefix(e, "%s", path) : EXAI_OK;
}

exai_status mir_key_load(const char *path, mir_logkey **out, exai_error *e)
{
	mir_logkey *k = calloc(1, sizeof(*k));
	uint8_t *buf = NULL, seed[32];
	size_t len = 0;
	uint32_t id;
	exai_status rc;

	*out = NULL;
	if (!k || !(k->sk = exai_secmem_alloc(64))) {
		free(k);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	if ((rc = exai_file_secret_mode_ok(path, e)) ||
	    (rc = exai_file_read_bounded(path, 1024, &buf, &len, e)))
		goto out;
	if (len < 12 || memcmp(buf, "PRIVATE+KEY+", 12)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: not a signed-note secret key", path);
		goto out;
	}
	if ((rc = parse_key((const char *)buf + 12, len - 12, &k->pub, seed, path, e)))
		goto out;
	crypto_sign_seed_keypair(k->pub.pk, k->sk, seed);
	if ((rc = key_id(k->pub.name, k->pub.pk, &id, e)))
		goto out;
	if (id != k->pub.id)
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: key id %08x does not match the key", path,
				    k->pub.id);
out:
	sodium_memzero(seed, sizeof(seed));
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
	if (rc)
		mir_key_free(k);
	else
		*out = k;
	return rc;
}

void mir_key_free(mir_logkey *k)
{
	if (!k)
		return;
	exai_secmem_free(k->sk);
	free(k);
}

static char *body_text(const char *origin, uint64_t size, const mir_hash root)
{
	char *b64 = exai_base64_encode(root, 32), *out = NULL;

	if (b64 && asprintf(&out, "%s\n%llu\n%s\n", origin, (unsigned long long)size, b64) < 0)
		out = NULL;
	free(b64);
	return out;
}

exai_status mir_checkpoint_sign(const mir_logkey *k, uint64_t size, const mir_hash root,
				char **note_out, exai_error *e)
{
	uint8_t sig[4 + 64];
	char *body = body_text(k->pub.name, size, root), *b64 = NULL;
	exai_status rc = EXAI_OK;

	*note_out = NULL;
	if (!body)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	sig[0] = (uint8_t)(k->pub.id >> 24);
	sig[1] = (uint8_t)(k->pub.id >> 16);
	sig[2] = (uint8_t)(k->pub.id >> 8);
	sig[3] = (uint8_t)k->pub.id;
	crypto_sign_detached(sig + 4, NULL, (const uint8_t *)body, strlen(body), k->sk);
	if (!(b64 = exai_base64_encode(sig, sizeof(sig))) ||
	    asprintf(note_out, "%s\n" SIG_PREFIX "%s %s\n", body, k->pub.name, b64) < 0) {
		*note_out = NULL;
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	free(b64);
	free(body);
	return rc;
}

/* Parses the body "<origin>\n<size>\n<root>\n" of @len bytes. */
static exai_status parse_body(const char *b, size_t len, const char *origin, uint64_t *size,
			      mir_hash root, exai_error *e)
{
	const char *l1 = memchr(b, '\n', len), *l2, *l3;
	size_t ol = strlen(origin), rl = 0;
	char num[24];

	l2 = l1 ? memchr(l1 + 1, '\n', len - (size_t)(l1 + 1 - b)) : NULL;
	l3 = l2 ? memchr(l2 + 1, '\n', len - (size_t)(l2 + 1 - b)) : NULL;
	if (!l3 || l3 != b + len - 1)
		return exai_error_set(e, EXAI_EFORMAT, "checkpoint: the body is not 3 lines");
	if ((size_t)(l1 - b) != ol || memcmp(b, origin, ol))
		return exai_error_set(e, EXAI_EVERIFY, "checkpoint: the origin is not '%s'",
				      origin);
	if (l2 - l1 - 1 < 1 || l2 - l1 - 1 > 20 || (l1[1] == '0' && l2 - l1 - 1 > 1))
		return exai_error_set(e, EXAI_EFORMAT, "checkpoint: bad tree size");
	memcpy(num, l1 + 1, (size_t)(l2 - l1 - 1));
	num[l2 - l1 - 1] = '\0';
	if (!exai_parse_u64_canon(num, size))
		return exai_error_set(e, EXAI_EFORMAT, "checkpoint: bad tree size '%s'", num);
	if (exai_base64_decode(l2 + 1, (size_t)(l3 - l2 - 1), root, 32, &rl, e) || rl != 32)
		return exai_error_set(e, EXAI_EFORMAT,
				      "checkpoint: the root is not 32 bytes of "
				      "base64");
	return EXAI_OK;
}

exai_status mir_checkpoint_open(const char *note, size_t len, const mir_vkey *vk, uint64_t *size,
				mir_hash root, exai_error *e)
{
	const char *sep = NULL, *sl, *end = note + len;
	char name_sp[MIR_KEYNAME_MAX + 8];
	uint8_t sig[70];
	size_t blen, nl, sigl = 0;
	bool found = false;
	exai_status rc;

	if (len == 0 || len > NOTE_MAX || note[len - 1] != '\n' || memchr(note, '\0', len))
		return exai_error_set(e, EXAI_EFORMAT,
				      "checkpoint: not a note (empty, too long or "
				      "not newline-terminated)");
	for (const char *p = note; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n')
			sep = p; /* the last blank line */
	if (!sep)
		return exai_error_set(e, EXAI_EFORMAT, "checkpoint: no signature block");
	blen = (size_t)(sep - note) + 1;
	if ((rc = parse_body(note, blen, vk->name, size, root, e)))
		return rc;
	snprintf(name_sp, sizeof(name_sp), SIG_PREFIX "%s ", vk->name);
	nl = strlen(name_sp);
	for (sl = sep + 2; sl < end;) {
		const char *le = memchr(sl, '\n', (size_t)(end - sl));
		if ((size_t)(le - sl) < 4 || memcmp(sl, SIG_PREFIX, 4))
			return exai_error_set(e, EXAI_EFORMAT,
					      "checkpoint: a malformed signature "
					      "line");
		if ((size_t)(le - sl) > nl && !memcmp(sl, name_sp, nl) &&
		    !exai_base64_decode(sl + nl, (size_t)(le - sl) - nl, sig, sizeof(sig), &sigl,
					e) &&
		    sigl == 68 &&
		    ((uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 |
		     sig[3]) == vk->id) {
			if (crypto_sign_verify_detached(sig + 4, (const uint8_t *)note, blen,
							vk->pk) != 0)
				return exai_error_set(e, EXAI_EVERIFY,
						      "checkpoint: the signature by %s does not "
						      "verify",
						      vk->name);
			found = true;
		}
		sl = le + 1;
	}
	if (!found)
		return exai_error_set(e, EXAI_EVERIFY, "checkpoint: no signature by %s+%08x",
				      vk->name, vk->id);
	return EXAI_OK;
}
