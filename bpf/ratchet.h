/*
 * ratchet: the persistent sequence ratchet of signed egress policies, a small record file in
 * the state directory (default /var/lib/exai-egress, made 0700 by 'exai-egress init'):
 *
 *   exai-egress-ratchet 1
 *   sequence 5
 *   policy-sha256 <64 hex digits of the policy that set it, or "none">
 *   created 1764658800
 *   sha256 <64 hex digits of the lines above>
 *
 * It exists so that the ratchet outlives a reboot or a 'detach', which take the pinned state
 * map with them. Only 'init' creates it, and never over an existing one; every signed apply
 * and reload reads it, and a record that is missing, empty, truncated, malformed or unreadable
 * is a refusal (fail closed), never a fresh start. The ratchet in force is the larger of the
 * record's sequence and the pinned state map's. The record is written atomically (temp file,
 * fsync, rename, fsync of the directory), and BEFORE the policy it admits is swapped in, so a
 * crash between the two leaves the ratchet ahead of the policy in force, never behind it.
 */
#ifndef EXAI_EGRESS_RATCHET_H
#define EXAI_EGRESS_RATCHET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/hash.h"

#define EGRESS_DEFAULT_STATE_DIR "/var/lib/exai-egress"
#define EGRESS_RATCHET_FILE	 "ratchet"
#define EGRESS_RATCHET_MAX_BYTES 512
#define EGRESS_RATCHET_PATH_MAX	 4096

typedef struct egress_ratchet {
	uint64_t sequence;
	bool has_sha; /* false: "none" (init, or a policy without bytes to name) */
	uint8_t policy_sha256[EXAI_SHA256_LEN];
	uint64_t created; /* unix time of the init that made the record */
} egress_ratchet;

/* The state directory: @opt (--state-dir, or the serve config's state_dir), else (test
 * builds only: EXAI_TESTING) $EXAI_EGRESS_STATE_DIR, else EGRESS_DEFAULT_STATE_DIR. A
 * release build reads no variable: the ratchet's location is never chosen by an inherited
 * environment. */
const char *egress_state_dir(const char *opt);

/* "@dir/ratchet" into @out (@cap bytes); EXAI_ETOOBIG when it does not fit. */
exai_status egress_ratchet_path(const char *dir, char *out, size_t cap, exai_error *e) EXAI_WUR;

/* Parses the record text @text (@len bytes, named @what in messages), accepting exactly what
 * egress_ratchet_store writes. EXAI_EFORMAT for anything else (empty, truncated, a wrong
 * checksum, unknown version, a field out of order, trailing bytes). */
exai_status egress_ratchet_parse(const char *text, size_t len, const char *what,
				 egress_ratchet *out, exai_error *e) EXAI_WUR;

/* Loads the record of @dir. Every failure (EXAI_ENOENT missing, EXAI_EFORMAT damaged,
 * EXAI_EIO unreadable, ...) carries a message that names the file, says signed policies are
 * refused, and says what 'exai-egress init' does (and that after a loss it re-opens replays
 * of older signed policies). */
exai_status egress_ratchet_load(const char *dir, egress_ratchet *out, exai_error *e) EXAI_WUR;

/* Replaces the record of @dir with @r, atomically. */
exai_status egress_ratchet_store(const char *dir, const egress_ratchet *r, exai_error *e) EXAI_WUR;

/* Creates @dir (0700) when missing and a record in it with sequence @seq (0, or the pinned
 * state's when pins survive), "created" now. EXAI_EEXIST (nothing changed) when a record is
 * already there: it is never replaced. */
exai_status egress_ratchet_init(const char *dir, uint64_t seq, exai_error *e) EXAI_WUR;

/* Whether a signed policy of sequence @seq (0: none given) and SHA-256 @sha may be applied over
 * the ratchet in force, the larger of @recorded (the record at @path) and @pinned (the pinned
 * state map). EXAI_EREFUSED, naming which of the two holds the larger, for a lower sequence,
 * or for none once the ratchet is above 0. An equal sequence is a re-apply: admitted only when
 * @sha is the digest recorded for it (@recorded_sha when @recorded is that sequence,
 * @pinned_sha when @pinned is; NULL: not known), refused when it differs from either or when
 * neither is known. */
exai_status egress_ratchet_admit(const char *path, uint64_t recorded, const uint8_t *recorded_sha,
				 uint64_t pinned, const uint8_t *pinned_sha, uint64_t seq,
				 const uint8_t sha[EXAI_SHA256_LEN], exai_error *e) EXAI_WUR;

#endif
