/*
 * root: versioned trust roots (TUF's root role, made for an air gap).
 *
 * A root file is a canonical text document followed by signature lines:
 *   exai-root 1
 *   version <N>
 *   created <unix seconds>
 *   expires <unix seconds>|never
 *   root-threshold <k>
 *   root-key <KEYID> <minisign public key base64>      (1..32 lines)
 *   release-threshold <k>
 *   release-key <KEYID> <minisign public key base64>   (1..32 lines)
 *   signature <KEYID> <base64 Ed25519 signature>        (0..64 lines)
 * A signature signs "exai-root-sig-v1\n" || the document bytes (every line before the first
 * signature line). The parser re-serialises the document and requires the same bytes, so
 * there is exactly one encoding of each root.
 *
 * Trust rules: root N+1 is accepted only when signed by root-threshold(N) distinct root keys
 * of root N AND root-threshold(N+1) distinct root keys of its own, and its version is exactly
 * N+1. A key counts once however many signature lines it has.
 */
#ifndef EXAI_ROOT_H
#define EXAI_ROOT_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/minisign.h"

#define EXAI_ROOT_MAX_KEYS  32
#define EXAI_ROOT_MAX_SIGS  64
#define EXAI_ROOT_MAX_BYTES 65536

typedef struct exai_root_sig {
	uint8_t id[EXAI_KEYID_LEN];
	uint8_t sig[EXAI_ED25519_SIG_LEN];
} exai_root_sig;

typedef struct exai_root {
	uint64_t version;
	uint64_t created;
	uint64_t expires; /* 0 = never */
	unsigned root_threshold;
	unsigned release_threshold;
	size_t n_root_keys, n_release_keys, n_sigs;
	exai_pubkey root_keys[EXAI_ROOT_MAX_KEYS];
	exai_pubkey release_keys[EXAI_ROOT_MAX_KEYS];
	exai_root_sig sigs[EXAI_ROOT_MAX_SIGS];
} exai_root;

/* Parses a root file; @name is used in messages ("<name>: line 3: ..."). *out is malloc'ed. */
exai_status exai_root_parse(const uint8_t *buf, size_t len, const char *name, exai_root **out,
			    exai_error *e) EXAI_WUR;
exai_status exai_root_load(const char *path, exai_root **out, exai_error *e) EXAI_WUR;

/* Checks the fields' invariants (thresholds 1..n, no duplicate keys, version >= 1). */
exai_status exai_root_validate(const exai_root *r, exai_error *e) EXAI_WUR;

/* The canonical document (no signatures), malloc'ed; NULL on OOM. */
char *exai_root_doc_text(const exai_root *r);
/* The whole file: document plus signature lines, malloc'ed. */
char *exai_root_file_text(const exai_root *r);
/* The message a root key signs, malloc'ed; *len_out its length. */
uint8_t *exai_root_signed_message(const exai_root *r, size_t *len_out);

/* Number of distinct keys of @keys with a valid signature on @r. */
unsigned exai_root_count_valid(const exai_root *r, const exai_pubkey *keys, size_t n_keys);

/* Root @r (version 1, or trusted from the image) is signed by its own threshold. */
exai_status exai_root_check_self(const exai_root *r, exai_error *e) EXAI_WUR;
/* @next is a valid successor of @prev (version, both thresholds). */
exai_status exai_root_check_successor(const exai_root *prev, const exai_root *next,
				      exai_error *e) EXAI_WUR;

/* Finds a release key by id; NULL if the root does not list it. */
const exai_pubkey *exai_root_release_key(const exai_root *r, const uint8_t id[EXAI_KEYID_LEN]);

#endif
