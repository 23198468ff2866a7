/*
 * fuzz_format: libFuzzer harness for every hand-written parser of the bundle format and the
 * trust model: the index, the manifest, trust roots, minisign signatures and public keys,
 * and strict YAML. The first input byte picks the parser; the rest is its input. Contract: no
 * crash, no leak, no read outside the input; a parser that accepts its input must produce
 * something that re-serialises to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exai/index.h"
#include "exai/manifest.h"
#include "exai/minisign.h"
#include "exai/root.h"
#include "exai/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const char *text, const uint8_t *in, size_t len)
{
	if (!text || strlen(text) != len || memcmp(text, in, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	exai_error e;

	if (size < 1)
		return 0;
	uint8_t sel = data[0] % 6;
	const uint8_t *in = data + 1;
	size_t len = size - 1;

	switch (sel) {
	case 0: {
		exai_index *ix = NULL;
		if (exai_index_parse(in, len, &ix, &e) == EXAI_OK) {
			char *t = exai_index_text(ix);
			check_same(t, in, len);
			free(t);
			free(ix);
		}
		break;
	}
	case 1: {
		exai_manifest *m = NULL;
		uint64_t total = 0;
		/* The payload size the manifest must tile: take it from the input itself. */
		for (size_t i = 0; i < len && i < 8; i++)
			total = total << 8 | in[i];
		if (exai_manifest_parse(in, len, total % (1u << 30), &m, &e) == EXAI_OK) {
			char *t = exai_manifest_text(m);
			check_same(t, in, len);
			free(t);
			exai_manifest_free(m);
		}
		break;
	}
	case 2: {
		exai_root *r = NULL;
		if (exai_root_parse(in, len, "fuzz", &r, &e) == EXAI_OK) {
			char *t = exai_root_file_text(r);
			check_same(t, in, len);
			free(t);
			(void)exai_root_count_valid(r, r->root_keys, r->n_root_keys);
			free(r);
		}
		break;
	}
	case 3: {
		exai_minisig sig;
		exai_pubkey pk = {0};
		if (exai_minisig_parse(in, len, &sig, &e) == EXAI_OK &&
		    exai_minisig_verify(&sig, &pk, in, len, &e) == EXAI_OK)
			abort(); /* the all-zero key verifies nothing */
		break;
	}
	case 4: {
		exai_pubkey pk;
		if (exai_pubkey_parse(in, len, &pk, &e) == EXAI_OK) {
			char *t = exai_pubkey_b64(&pk);
			free(t);
		}
		break;
	}
	default: {
		exai_yaml *y = NULL;
		if (exai_yaml_load_buf("fuzz.yaml", in, len, EXAI_YAML_STRICT, &y, &e) == EXAI_OK)
			exai_yaml_free(y);
		break;
	}
	}
	return 0;
}
