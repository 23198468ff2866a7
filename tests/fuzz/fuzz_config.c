/*
 * fuzz_config: libFuzzer harness for the readers of configuration and key files:
 *   0 exai-update's config (appliance/config.c)      5 a site public key (lib/src/sitekey.c)
 *   1 a bundle spec (bundler/spec.c)                 6 a site secret key (sitekey.c)
 *   2 airgap-verifier rules (verifier/scan_rules.c)  7 a secret signing key, no password
 *   3 the scan allow file (verifier/scan_allow.c)      (lib/src/sign.c)
 *   4 the host config (verifier/host_config.c)       8 a minisign public key (minisign.c)
 *                                                    9 any key file's role (sign.c)
 * Byte 0 picks the reader (modulo 10); the rest is the file. Readers that take a path read it
 * from a scratch directory in /dev/shm (removed after each input), where a spec's sources src/app
 * (a directory) and src/model.bin (a file) exist. Secret keys are loaded without a password: an
 * encrypted key is refused before its KDF (whose cost the file would choose).
 *
 * Checked beyond "no crash, no leak": a reader that fails leaves a message, and what loads
 * obeys its documented bounds (a spec has components, an update config a state dir, ...).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
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

static void keys(unsigned mode, const uint8_t *p, size_t n)
{
	const char *path = file_of(p, n, "key");
	exai_error e;
	exai_status rc;

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
