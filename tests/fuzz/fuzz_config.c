/*
 * fuzz_config: libFuzzer harness for the readers of configuration and key files:
 *   0 exai-update's config (appliance/config.c)
 *   1 a bundle spec (bundler/spec.c)
 *   2 airgap-verifier rules (verifier/scan/scan_rules.c)
 *   3 the scan allow file (verifier/scan/scan_allow.c)
 *   4 the host config (verifier/host/host_config.c)
 *   5 a site public key (lib/bundle/sitekey.c)
 *   6 a site secret key (sitekey.c)
 *   7 a secret signing key, no password (lib/sign/sign.c)
 *   8 a minisign public key (minisign.c)
 *   9 any key file's role (sign.c)
 * Byte 0 picks the reader (modulo 10); the rest is the file. Readers that take a path read it
 * from a scratch directory in /dev/shm (removed after each input), where a spec's sources src/app
 * (a directory) and src/model.bin (a file) exist. Mode 7 loads a secret key without a password
 * (an encrypted key is refused before its KDF), unless the file starts with "ENC:": then the
 * input is built into an encrypted key (enc_seckey) and loaded with a password, so the scrypt
 * path, the checksum that tells a wrong password and the role comment are reached.
 *
 * Checked beyond "no crash, no leak": a reader that fails leaves a message, and what loads
 * obeys its documented bounds (a spec has components, an update config a state dir, ...).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "exai/hash.h"
#include "exai/minisign.h"
#include "exai/secmem.h"
#include "exai/sign.h"
#include "exai/sitekey.h"
#include "fuzz_common.h"
#include "host.h"
#include "scan.h"
#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                 \
	do {                     \
		if (!(c))        \
			abort(); \
	} while (0)

static const char *file_of(const uint8_t *p, size_t n, const char *name)
{
	static char path[4096];
	const char *d = fuzz_dir();
	char sub[4096];

	snprintf(sub, sizeof(sub), "%s/src/app", d);
	CHECK(fuzz_write(d, "src/model.bin", "weights", 7));
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(fuzz_write(d, name, p, n));
	snprintf(path, sizeof(path), "%s/%s", d, name);
	return path;
}

static void failed(exai_status rc, const exai_error *e)
{
	CHECK(rc != EXAI_OK && e->msg[0]);
}

static void update_config(const uint8_t *p, size_t n)
{
	upd_config *c = NULL;
	exai_error e;
	exai_status rc = upd_config_load(file_of(p, n, "update.yaml"), &c, &e);

	if (rc)
		return failed(rc, &e);
	CHECK(c->state_dir && c->state_dir[0] == '/');
	upd_config_free(c);
}

static void spec(const uint8_t *p, size_t n)
{
	exb_spec *s = NULL;
	exai_error e;
	exai_status rc = exb_spec_load(file_of(p, n, "spec.yaml"), 1700000000, &s, &e);

	if (rc)
		return failed(rc, &e);
	CHECK(s->n > 0 && s->n_classes + s->n_sites > 0);
	CHECK(s->n_classes <= EXAI_INDEX_MAX_CLASSES && s->n_sites <= EXAI_INDEX_MAX_SITES);
	for (size_t i = 0; i < s->n; i++)
		CHECK(s->c[i].source && s->c[i].name[0]);
	exb_spec_free(s);
}

static void rules(const uint8_t *p, size_t n)
{
	vf_rules rs;
	exai_error e;
	exai_status rc;

	memset(&rs, 0, sizeof(rs));
	if (!(rc = vf_rules_load_buf(&rs, "fuzz.yaml", p, n, &e)))
		rc = vf_rules_finish(&rs, &e);
	if (rc)
		failed(rc, &e);
	vf_rules_free(&rs);
}

static void allow(const uint8_t *p, size_t n)
{
	vf_scan_allow a;
	vf_settings set;
	exai_error e;
	exai_status rc;

	memset(&a, 0, sizeof(a));
	memset(&set, 0, sizeof(set));
	rc = vf_scan_allow_load(&a, file_of(p, n, "allow.yaml"), &set, "2026-12-01", &e);
	if (rc)
		failed(rc, &e);
	vf_scan_allow_free(&a);
	vf_strv_free(&set.allow_hosts);
	vf_strv_free(&set.local_registries);
	free(set.local_cidrs.v);
}

static void host_config(const uint8_t *p, size_t n)
{
	vf_host_config c;
	exai_error e;
	exai_status rc;

	vf_host_config_init(&c);
	rc = vf_host_config_load_buf(&c, "host.yaml", (const char *)p, n, &e);
	if (rc)
		failed(rc, &e);
	else
		CHECK((c.checks & ~(unsigned)VF_HC_ALL) == 0);
	vf_host_config_free(&c);
}

/* The minisign secret key blob (lib/sign/sign.c): "Ed" kdf[2] "B2" salt[32] opslimit[8]
 * memlimit[8] then the encrypted keyid, key and checksum. */
#define BLOB_LEN (2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32)
#define BLOB_OPS 38
#define BLOB_MEM 46

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static void put_le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		b[i] = (uint8_t)v;
}

/* "ENC:" inputs: a length byte and that many password bytes (at most 32), the comment text up
 * to a newline (at most 200 bytes), then the raw blob (short input is zero-filled). The KDF
 * limits are clamped to scrypt's smallest cost (the file chooses them; the lib bounds them at
 * 1 GiB ops and 2 GiB memory, which a fuzzer must not spend on every input) unless they are
 * above the lib's bounds, which must be refused before any KDF runs. */
static void enc_seckey(const uint8_t *p, size_t n)
{
	char pw[33], comment[201], *b64, *text = NULL;
	uint8_t blob[BLOB_LEN] = {0};
	size_t pl = n ? p[0] % 33 : 0, cl = 0, bl;
	exai_seckey *sk = NULL;
	exai_error e;
	exai_status rc;

	if (n)
		p++, n--;
	if (pl > n)
		pl = n;
	for (size_t i = 0; i < pl; i++)
		pw[i] = p[i] ? (char)p[i] : 'x';
	pw[pl] = 0;
	p += pl, n -= pl;
	while (cl < n && cl < 200 && p[cl] != '\n')
		cl++;
	memcpy(comment, p, cl);
	comment[cl] = 0;
	for (size_t i = 0; i < cl; i++)
		if (!comment[i])
			comment[i] = ' ';
	p += cl < n ? cl + 1 : cl, n -= cl < n ? cl + 1 : cl;
	bl = n < BLOB_LEN ? n : BLOB_LEN;
	memcpy(blob, p, bl);
	uint64_t ops = le64(blob + BLOB_OPS), mem = le64(blob + BLOB_MEM);
	bool over = ops > (1ull << 30) || mem > (2ull << 30);
	if (!over) {
		put_le64(blob + BLOB_OPS, ops > 32768 ? 32768 : ops);
		put_le64(blob + BLOB_MEM, mem > (16u << 20) ? (16u << 20) : mem);
	}
	CHECK((b64 = exai_base64_encode(blob, sizeof(blob))) != NULL);
	CHECK(asprintf(&text, "untrusted comment: %s\n%s\n", comment, b64) > 0);
	const char *path = file_of((const uint8_t *)text, strlen(text), "key");
	CHECK(chmod(path, 0600) == 0); /* secret keys must be owner-only, or load refuses early */
	rc = exai_seckey_load(path, pw, &sk, &e);
	if (rc)
		failed(rc, &e);
	/* Limits above the bounds are refused whatever the rest says (for a "Sc" key). */
	if (over && !memcmp(blob, "EdScB2", 6))
		CHECK(rc != EXAI_OK);
	exai_seckey_free(sk);
	free(text);
	free(b64);
}

static void keys(unsigned mode, const uint8_t *p, size_t n)
{
	if (mode == 7 && n >= 4 && !memcmp(p, "ENC:", 4)) {
		enc_seckey(p + 4, n - 4); /* writes its own file */
		return;
	}
	const char *path = file_of(p, n, "key");
	exai_error e;
	exai_status rc;

	/* Secret keys owner-only, as keygen writes them: a looser mode is refused once the key
	 * has loaded (tests/cli cover that), which would keep every other input short of the
	 * end of the loader. */
	if (mode == 6 || mode == 7)
		CHECK(chmod(path, 0600) == 0);

	if (mode == 5) {
		exai_site_pub pub;
		if ((rc = exai_site_pub_load(path, &pub, &e)))
			failed(rc, &e);
	} else if (mode == 6) {
		exai_site_key *k = NULL;
		if ((rc = exai_site_key_load(path, &k, &e)))
			failed(rc, &e);
		exai_site_key_free(k);
	} else if (mode == 7) {
		exai_seckey *sk = NULL;
		if ((rc = exai_seckey_load(path, NULL, &sk, &e)))
			failed(rc, &e);
		exai_seckey_free(sk);
	} else if (mode == 8) {
		exai_pubkey pk;
		if ((rc = exai_pubkey_load(path, &pk, &e)))
			failed(rc, &e);
	} else {
		exai_key_role role;
		if ((rc = exai_keyfile_role(path, &role, &e)))
			failed(rc, &e);
		else
			CHECK(strcmp(exai_key_role_name(role), "") != 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned mode;

	static int inited;
	exai_error e;

	if (!inited) { /* as every tool's main does: sodium_malloc needs it */
		if (exai_init(&e))
			abort();
		inited = 1;
	}
	if (!size)
		return 0;
	mode = data[0] % 10;
	data++;
	size--;
	switch (mode) {
	case 0:
		update_config(data, size);
		break;
	case 1:
		spec(data, size);
		break;
	case 2:
		rules(data, size);
		break;
	case 3:
		allow(data, size);
		break;
	case 4:
		host_config(data, size);
		break;
	default:
		keys(mode, data, size);
	}
	fuzz_dir_done();
	return 0;
}
