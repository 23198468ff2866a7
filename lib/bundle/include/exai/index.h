/*
 * index: the bundle index, the only object a release key signs.
 *
 * Canonical LF-terminated text, at most EXAI_INDEX_MAX_BYTES, lines in exactly this order
 * (see docs/format.md for the byte-level specification):
 *   exai-bundle-index 1|2        (the format version: 2 changes only the component digest,
 *                                exai/cdigest.h; readers accept both, refuse any other)
 *   bundle-id <64 hex>
 *   channel <name>
 *   sequence <n>
 *   created <unix seconds>
 *   expires <unix seconds>
 *   min-root-version <n>
 *   target-class <name>          (0..32, ascending, unique)
 *   target-site <name>           (0..256, ascending, unique; at least one target line)
 *   encryption aes-256-gcm|none
 *   chunk-size <power of two, 64 KiB..64 MiB>
 *   payload-size <plaintext bytes>
 *   chunk-count <ceil(payload-size / chunk-size)>
 *   recipient <KEYID>            (1..256 if encrypted, none otherwise; ascending, unique)
 *   file <name> <size> <sha256>  (ascending by name, unique)
 * The parser re-serialises what it read and requires identical bytes.
 */
#ifndef EXAI_INDEX_H
#define EXAI_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/hash.h"
#include "exai/minisign.h"
#include "exai/text.h"

#define EXAI_INDEX_MAX_BYTES	  65536
#define EXAI_INDEX_MAX_CLASSES	  32
#define EXAI_INDEX_MAX_SITES	  256
#define EXAI_INDEX_MAX_RECIPIENTS 256
#define EXAI_INDEX_MAX_FILES	  80
#define EXAI_CHUNK_MIN		  (64u << 10)
#define EXAI_CHUNK_MAX		  (64u << 20)
#define EXAI_CHUNK_DEFAULT	  (4u << 20)
#define EXAI_AEAD_TAG		  16
/* Largest sequence, time or version in the index and in roots: they are ratchets kept as
 * signed 64-bit integers (SQLite), so the format stops where the database does. */
#define EXAI_INDEX_NUM_MAX INT64_MAX
#define EXAI_BUNDLE_ID_LEN 32
#define EXAI_FILE_NAME_MAX 32

/* Format versions. A zeroed exai_index is version 1 (the writer sets what it makes). */
#define EXAI_FORMAT_V1	    1u
#define EXAI_FORMAT_V2	    2u
#define EXAI_FORMAT_CURRENT EXAI_FORMAT_V2 /* the newest; `exai-bundle digest`'s default */

typedef enum exai_encryption { EXAI_ENC_NONE = 0, EXAI_ENC_AES256GCM = 1 } exai_encryption;

typedef struct exai_index_file {
	char name[EXAI_FILE_NAME_MAX]; /* manifest, chunks, payload, keys, roots/<n> */
	uint64_t size;
	uint8_t sha256[EXAI_SHA256_LEN];
} exai_index_file;

typedef struct exai_index {
	unsigned version; /* EXAI_FORMAT_V1 or _V2 (0 means 1) */
	uint8_t bundle_id[EXAI_BUNDLE_ID_LEN];
	char channel[EXAI_NAME_MAX + 1];
	uint64_t sequence, created, expires, min_root_version;
	size_t n_classes, n_sites, n_recipients, n_files;
	char classes[EXAI_INDEX_MAX_CLASSES][EXAI_NAME_MAX + 1];
	char sites[EXAI_INDEX_MAX_SITES][EXAI_NAME_MAX + 1];
	exai_encryption encryption;
	uint64_t chunk_size, payload_size, chunk_count;
	uint8_t recipients[EXAI_INDEX_MAX_RECIPIENTS][EXAI_KEYID_LEN];
	exai_index_file files[EXAI_INDEX_MAX_FILES];
} exai_index;

/* Parses and validates (exai_index_validate) an index; *out is malloc'ed. Messages name the
 * line: "index: line 4: ...". */
exai_status exai_index_parse(const uint8_t *buf, size_t len, exai_index **out,
			     exai_error *e) EXAI_WUR;
/* Canonical text (malloc'ed, NUL-terminated); NULL on OOM. Sorts nothing: the caller keeps
 * lists in order (exai_index_sort does it). */
char *exai_index_text(const exai_index *ix);
/* Sorts classes, sites, recipients and files into canonical order. */
void exai_index_sort(exai_index *ix);
/* Every rule of the format that is not about encoding: sizes consistent with chunk count and
 * encryption, required files present, names well-formed, expires > created. */
exai_status exai_index_validate(const exai_index *ix, exai_error *e) EXAI_WUR;

/* The listed file @name, or NULL. */
const exai_index_file *exai_index_file_get(const exai_index *ix, const char *name);
/* Whether @name may appear in a file line. */
bool exai_index_file_name_valid(const char *name);
/* Index of @id among the recipients, or -1. */
int exai_index_recipient(const exai_index *ix, const uint8_t id[EXAI_KEYID_LEN]);

/* The index's format version, 1 or 2. */
unsigned exai_index_version(const exai_index *ix);

/* Ciphertext bytes of chunk @i (the last chunk may be short). */
uint64_t exai_index_chunk_plain_len(const exai_index *ix, uint64_t i);

#endif
