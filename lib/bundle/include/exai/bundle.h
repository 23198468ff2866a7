/*
 * bundle: reading and verifying a bundle, a single .exb file (pax tar) or a directory holding
 * the same entries:
 *   index                   the signed object (exai/index.h)
 *   sig/<KEYID>.minisig     one minisign signature of index per signer (not listed in index)
 *   roots/<N>               trust roots N (optional chain; exai/root.h)
 *   manifest                component list (AES-256-GCM unless encryption none)
 *   keys                    per recipient: keyid[8] || sealed box of the data key (80 bytes)
 *   chunks                  SHA-256 of each payload chunk as stored, 32 bytes each
 *   payload                 the chunks, concatenated
 * Every entry but index and sig/ must be listed in the index with its size and hash; anything
 * else is refused. In an .exb, payload is the last entry but for sig/ entries appended by
 * `exai-bundle sign`.
 *
 * Order of trust (authenticate before decrypt, decrypt before parse):
 *   exai_bundle_open      reads every entry except payload into memory (each bounded), and
 *                         parses only the index, strictly;
 *   exai_bundle_verify    walks the root chain, checks the release signature threshold, then
 *                         every small entry's size and hash against the now-trusted index;
 *   exai_bundle_unlock    unwraps the data key with a site key and decrypts the manifest;
 *   exai_bundle_stream    reads payload once: each chunk is hashed and checked against the
 *                         chunk table before it is decrypted; plaintext goes to a sink in
 *                         order; each component's plaintext hash is checked at its end.
 * Media is read once; nothing is re-read after it was checked.
 */
#ifndef EXAI_BUNDLE_H
#define EXAI_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/index.h"
#include "exai/manifest.h"
#include "exai/progress.h"
#include "exai/root.h"
#include "exai/sitekey.h"

#define EXAI_BUNDLE_MAX_ENTRIES 160
#define EXAI_BUNDLE_MAX_SIGS	64

typedef struct exai_bentry {
	char name[48];
	uint64_t size;
	uint8_t *data; /* loaded bytes (all entries but payload) */
} exai_bentry;

/* Signature check outcome of one sig/ entry. */
typedef enum exai_sigstate {
	EXAI_SIG_VALID = 0,
	EXAI_SIG_UNKNOWN_KEY, /* key not a release key of the effective root */
	EXAI_SIG_BAD,	      /* malformed or does not verify */
	EXAI_SIG_DUPLICATE    /* same key already counted */
} exai_sigstate;

typedef struct exai_signer {
	uint8_t id[EXAI_KEYID_LEN];
	exai_sigstate state;
	char detail[160];
} exai_signer;

typedef struct exai_bundle {
	char *path;
	bool is_exb;
	int fd; /* the open .exb file or bundle directory, kept so the payload is read from the
		 * same file that was opened, whatever happens to the path meanwhile */
	size_t n_entries;
	exai_bentry entries[EXAI_BUNDLE_MAX_ENTRIES]; /* no two with the same name */
	size_t n_sig_entries;			      /* sig/ entries, at most MAX_SIGS */
	bool has_payload;
	uint64_t payload_media_size;
	size_t payload_ordinal; /* exb: position of payload among archive entries */
	/* Directory form: the payload file exai_bundle_open saw (its st_dev, st_ino). */
	uint64_t payload_dev, payload_ino;
	exai_index *index;
	const exai_bentry *index_entry;
	/* Filled by exai_bundle_verify (or exai_bundle_check_entries for display only): */
	bool verified;	      /* signatures, root chain, entries: the index is trusted */
	bool entries_checked; /* every entry matches the index (trusted or not) */
	exai_root *root;      /* effective root after the chain walk */
	size_t n_signers;
	exai_signer signers[EXAI_BUNDLE_MAX_SIGS];
	unsigned valid_signatures;
	/* Filled by exai_bundle_unlock: */
	uint8_t *data_key; /* guarded memory; NULL for plain bundles or when locked */
	exai_manifest *manifest;
} exai_bundle;

/* Opens a bundle directory or .exb file. */
exai_status exai_bundle_open(const char *path, exai_bundle **out, exai_error *e) EXAI_WUR;
void exai_bundle_free(exai_bundle *b);
const exai_bentry *exai_bundle_entry(const exai_bundle *b, const char *name);

typedef struct exai_verify_opts {
	uint64_t now; /* expiry checks against this time; 0 = skip expiry checks */
} exai_verify_opts;

/* Establishes trust in the index from @trusted (the root the verifier already holds). On
 * failure the message names what failed: root version, key id, file. */
exai_status exai_bundle_verify(exai_bundle *b, const exai_root *trusted, const exai_verify_opts *o,
			       exai_error *e) EXAI_WUR;

/* The root in force for @b: @trusted, then each roots/<N+1> the bundle carries that is a
 * valid successor. A root that is present but fails its checks, or a root past the end of the
 * chain (a gap), is an error: a chain is never skipped. *out is malloc'ed. */
exai_status exai_bundle_effective_root(const exai_bundle *b, const exai_root *trusted,
				       exai_root **out, exai_error *e) EXAI_WUR;

/* Checks every entry against the index WITHOUT establishing trust in the index (for
 * `inspect` without a root). exai_bundle_unlock() then works, but nothing is verified. */
exai_status exai_bundle_check_entries(exai_bundle *b, exai_error *e) EXAI_WUR;

/* Unwraps the data key with @key (NULL for a plain bundle) and decrypts and parses the
 * manifest. Requires exai_bundle_verify() (or exai_bundle_check_entries()) first. */
exai_status exai_bundle_unlock(exai_bundle *b, const exai_site_key *key, exai_error *e) EXAI_WUR;

/* Receives verified plaintext in payload order. Any callback may be NULL. A component's
 * end() is called only after its plaintext hash matched. With @own_thread the callbacks run,
 * in the same order, on a thread of their own, so what they do (writing files) overlaps the
 * hashing of the next chunks instead of following it; a buffer stays valid until data()
 * returns. Once the sink fails no further callback runs, and once the stream fails the calls
 * still queued are dropped. */
typedef struct exai_sink {
	exai_status (*begin)(void *arg, const exai_component *c, exai_error *e);
	exai_status (*data)(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			    exai_error *e);
	exai_status (*end)(void *arg, const exai_component *c, exai_error *e);
	void *arg;
	bool own_thread;
} exai_sink;

/* Reads the payload once, on all cores. Without a data key (encrypted bundle, no site key)
 * only the chunk hashes are checked and @sink is not called. */
exai_status exai_bundle_stream(exai_bundle *b, const exai_sink *sink, exai_progress *progress,
			       exai_error *e) EXAI_WUR;

/* Worker threads for a chunk pipeline: EXAI_WORKERS if set (1..64), else one per online core,
 * less one when @caller_hashes (the calling thread hashes every byte too, so it needs a core
 * of its own: on 2 cores 1 worker + the caller beats 2 workers + the caller). */
unsigned exai_worker_count(bool caller_hashes);

#endif
