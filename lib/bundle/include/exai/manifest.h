/*
 * manifest: the component list of a bundle (encrypted inside the bundle unless --no-encrypt).
 *
 * Canonical LF-terminated text, at most EXAI_MANIFEST_MAX_BYTES:
 *   exai-bundle-manifest 1|2     (the bundle's format version, which the index's must equal;
 *                                in version 2 sha256 is the component digest of exai/cdigest.h)
 *   component <type> <name> <version> <encoding> <offset> <size> <sha256> <target> <entries>
 *             <unpacked> <flags>                       (one line each, 1..4096)
 * type: software model images chart policy rootfs files; encoding: tar (a pax tar stream) or
 * raw (the bytes of one file); offset/size: the component's bytes in the plaintext payload
 * stream (components are contiguous, in order, and cover it exactly); sha256: of those bytes;
 * target: relative install path (meaning per type, docs/format.md); entries: tar entries
 * (1 for raw); unpacked: total file content bytes after extraction; flags: "-", "setuid"
 * (the only way a setuid/setgid file may be installed), "world-writable" (the only way a
 * file or a directory without the sticky bit writable by others may be installed), or
 * "setuid,world-writable".
 */
#ifndef EXAI_MANIFEST_H
#define EXAI_MANIFEST_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/hash.h"
#include "exai/text.h"

#define EXAI_MANIFEST_MAX_BYTES	     (4u << 20)
#define EXAI_MANIFEST_MAX_COMPONENTS 4096

typedef enum exai_ctype {
	EXAI_C_SOFTWARE = 0,
	EXAI_C_MODEL,
	EXAI_C_IMAGES,
	EXAI_C_CHART,
	EXAI_C_POLICY,
	EXAI_C_ROOTFS,
	EXAI_C_FILES,
	EXAI_C_NTYPES
} exai_ctype;

typedef enum exai_cenc { EXAI_CENC_TAR = 0, EXAI_CENC_RAW = 1 } exai_cenc;

#define EXAI_CFLAG_SETUID	  1u
#define EXAI_CFLAG_WORLD_WRITABLE 2u

/* The flags field of a manifest line (static text) and back (false: unknown). */
const char *exai_cflags_text(unsigned flags);
bool exai_cflags_parse(const char *s, unsigned *out);

typedef struct exai_component {
	exai_ctype type;
	char name[EXAI_NAME_MAX + 1];
	char version[EXAI_NAME_MAX + 1];
	exai_cenc encoding;
	uint64_t offset, size;
	uint8_t sha256[EXAI_SHA256_LEN];
	char target[EXAI_RELPATH_MAX + 1];
	uint64_t entries, unpacked;
	unsigned flags;
} exai_component;

typedef struct exai_manifest {
	unsigned version; /* format version, EXAI_FORMAT_V1 or _V2 (exai/index.h); 0 means 1 */
	size_t n;
	exai_component *c; /* n entries */
} exai_manifest;

const char *exai_ctype_name(exai_ctype t);
bool exai_ctype_parse(const char *s, exai_ctype *out);

/* Parses and validates; @payload_size is the index's, which the components must cover. */
exai_status exai_manifest_parse(const uint8_t *buf, size_t len, uint64_t payload_size,
				exai_manifest **out, exai_error *e) EXAI_WUR;
char *exai_manifest_text(const exai_manifest *m);
exai_status exai_manifest_validate(const exai_manifest *m, uint64_t payload_size,
				   exai_error *e) EXAI_WUR;
void exai_manifest_free(exai_manifest *m);

/* Digest of a component's plaintext as format @version defines it (1: SHA-256 of the bytes,
 * 2: exai/cdigest.h) of @len bytes at @p. */
exai_status exai_component_digest(unsigned version, const void *p, size_t len,
				  uint8_t out[EXAI_SHA256_LEN], exai_error *e) EXAI_WUR;

#endif
