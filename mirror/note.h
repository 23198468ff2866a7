/*
 * note: the log key and signed checkpoints, in the C2SP formats.
 *
 * Keys (C2SP signed-note, Ed25519, signature type 0x01):
 *   key id     = first 4 bytes (big-endian) of SHA-256(name || 0x0A || 0x01 || public key)
 *   vkey       = <name>+<8 hex digits of key id>+<base64(0x01 || public key)>
 *   secret key = PRIVATE+KEY+<name>+<8 hex digits of key id>+<base64(0x01 || seed)>
 *     (the form Go's golang.org/x/mod/sumdb/note reads; one line each, newline-terminated)
 * The key name is the log's origin.
 *
 * Checkpoint (C2SP tlog-checkpoint) in a signed note:
 *   <origin>\n<tree size, decimal>\n<base64 root hash>\n      (the body, what is signed)
 *   \n
 *   — <name> <base64(key id || Ed25519 signature over the body)>\n
 * ("—" is U+2014, the bytes E2 80 94.)
 */
#ifndef MIR_NOTE_H
#define MIR_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "tree.h"

#define MIR_KEYNAME_MAX 255

typedef struct mir_vkey {
	char name[MIR_KEYNAME_MAX + 1];
	uint32_t id;
	uint8_t pk[32];
} mir_vkey;

typedef struct mir_logkey {
	mir_vkey pub;
	uint8_t *sk; /* 64 bytes of libsodium secret key, in guarded memory */
} mir_logkey;

/* Makes a key pair for @name: the secret key file at @key_path (created 0600, never over an
 * existing file), the vkey at @vkey_path (0644). *vkey_out (optional) gets the vkey line. */
exai_status mir_key_generate(const char *name, const char *key_path, const char *vkey_path,
			     exai_error *e) EXAI_WUR;
/* Loads a secret key file (mode checked as for ssh keys); *out freed with mir_key_free. */
exai_status mir_key_load(const char *path, mir_logkey **out, exai_error *e) EXAI_WUR;
void mir_key_free(mir_logkey *k);
/* Parses one vkey line (a trailing newline allowed). */
exai_status mir_vkey_parse(const char *text, size_t len, mir_vkey *out, exai_error *e) EXAI_WUR;
exai_status mir_vkey_load(const char *path, mir_vkey *out, exai_error *e) EXAI_WUR;

/* The signed checkpoint note for @size and @root (malloc'ed, NUL-terminated). */
exai_status mir_checkpoint_sign(const mir_logkey *k, uint64_t size, const mir_hash root,
				char **note_out, exai_error *e) EXAI_WUR;
/* Verifies a checkpoint note against @vk (origin = key name): exactly one body, a signature
 * line by that key that verifies, nothing after; *size and @root get the body's values.
 * EXAI_EVERIFY or EXAI_EFORMAT naming what is wrong. */
exai_status mir_checkpoint_open(const char *note, size_t len, const mir_vkey *vk, uint64_t *size,
				mir_hash root, exai_error *e) EXAI_WUR;

#endif
