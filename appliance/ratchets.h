/*
 * ratchets: the second, independent record of exai-update's ratchets (state_dir/ratchets),
 * beside the state database that holds the first.
 *
 * It guards against losing or truncating the database (a deleted, emptied, half-written or
 * older copy of state.db must never read as "no history"), not against an attacker with root
 * on the appliance, who can rewrite both: docs/update.md says how a TPM NV counter would
 * anchor them.
 *
 * Text format, strict (every byte is checked; nothing else is accepted):
 *   exai-update-ratchets 1
 *   state-id <32 lowercase hex: the random id init wrote into the database's meta table>
 *   root-version <canonical decimal>
 *   created <canonical decimal>
 *   channel <name> <canonical decimal>      zero or more, names in strictly ascending strcmp order
 *   sha256 <64 lowercase hex: SHA-256 of every byte before this line>
 * Every line ends in '\n'; values are at most 2^63-1 (what the database's INTEGER holds).
 * The checksum catches truncation and bit rot; it is not a MAC.
 */
#ifndef UPD_RATCHETS_H
#define UPD_RATCHETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/text.h"

#define UPD_RATCHETS_FILE      "ratchets"
#define UPD_RATCHETS_MAX_BYTES (1u << 20) /* a record that would be larger is refused */
#define UPD_STATE_ID_HEX       32

typedef struct upd_rchan {
	char name[EXAI_NAME_MAX + 1];
	uint64_t seq;
} upd_rchan;

typedef struct upd_ratchets {
	char state_id[UPD_STATE_ID_HEX + 1];
	uint64_t root_version, created;
	size_t n, cap;
	upd_rchan *ch; /* sorted by name */
} upd_ratchets;

/* Parses @len bytes of @text (@what names the source in messages). EXAI_EFORMAT on any
 * deviation from the format, naming the line. *out is freed with upd_ratchets_free(). */
exai_status upd_ratchets_parse(const char *text, size_t len, const char *what, upd_ratchets *out,
			       exai_error *e) EXAI_WUR;
/* The record as text (malloc'ed, *len its length), or NULL on OOM. */
char *upd_ratchets_format(const upd_ratchets *r, size_t *len);

/* Reads @path (a regular file, at most UPD_RATCHETS_MAX_BYTES); EXAI_ENOENT when missing. */
exai_status upd_ratchets_load(const char *path, upd_ratchets *out, exai_error *e) EXAI_WUR;
/* Replaces @path atomically (temp, fsync, rename, fsync dir), mode 0600. */
exai_status upd_ratchets_store(const char *path, const upd_ratchets *r, exai_error *e) EXAI_WUR;

/* Sets channel @name to max(current, @seq), inserting it in order. */
exai_status upd_ratchets_raise_channel(upd_ratchets *r, const char *name, uint64_t seq,
				       exai_error *e) EXAI_WUR;
/* The sequence of @name, 0 when absent. */
uint64_t upd_ratchets_channel(const upd_ratchets *r, const char *name);

/* Equal ids and values. When not, @why (if not NULL) gets the first difference, naming
 * @a_name's and @b_name's values. */
bool upd_ratchets_equal(const upd_ratchets *a, const upd_ratchets *b, const char *a_name,
			const char *b_name, char *why, size_t cap);
/* Deep copy; EXAI_ENOMEM. */
exai_status upd_ratchets_copy(upd_ratchets *dst, const upd_ratchets *src, exai_error *e) EXAI_WUR;
void upd_ratchets_free(upd_ratchets *r);

#endif
