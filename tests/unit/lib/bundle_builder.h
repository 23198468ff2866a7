/*
 * bundle_builder: in-process bundles for the trust-core suites (test_bundle_open,
 * test_bundle_verify, test_bundle_stream). Tests only.
 *
 * A bundle is built in memory as a list of entries in .exb order (index, roots/<N>,
 * manifest, keys, chunks, payload, sig/<KEYID>) from a spec: components as byte strings, plain or
 * encrypted, any chunk size, any root chain, any signers. A test may then change entries, their
 * order or the index (bb_reseal re-lists every entry and signs again, as an insider holding the
 * keys could), and writes the result as an .exb or a directory. Keys are random per process; the
 * helpers abort the test (ck_assert) on any failure of their own.
 */
#ifndef EXAI_TEST_BUNDLE_BUILDER_H
#define EXAI_TEST_BUNDLE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/aead.h"
#include "exai/bundle.h"
#include "exai/file.h"
#include "exai/sign.h"

#define BB_MAX_ENTRIES 200
#define BB_MAX_COMPS   8
#define BB_MAX_SIGNERS 8

/* Keys of a test run: root keys R[0..2], release keys K[0..3], site keys S[0] (a recipient)
 * and S[1] (never one). */
typedef struct bb_keys {
	exai_seckey *R[3];
	exai_seckey *K[4];
	exai_site_key S[2];
} bb_keys;

void bb_keys_init(bb_keys *k);
void bb_keys_free(bb_keys *k);

/* A root of @version signed by @signers (the previous root's keys for a successor, then its
 * own): root keys @rk, release keys @rel. *text_out (malloc'ed) gets the file text; returns
 * the parsed root (malloc'ed). @expires 0 = never. */
exai_root *bb_root(uint64_t version, uint64_t created, uint64_t expires,
		   const exai_seckey *const *rk, size_t nrk, unsigned rthr,
		   const exai_seckey *const *rel, size_t nrel, unsigned relthr,
		   const exai_seckey *const *signers, size_t nsigners, char **text_out);

typedef struct bb_comp {
	exai_ctype type;
	const char *name;
	const uint8_t *data;
	size_t len;
} bb_comp;

typedef struct bb_spec {
	bool encrypted;				     /* to site key S[0] */
	uint64_t chunk_size;			     /* 0: EXAI_CHUNK_MIN */
	uint64_t created, expires, min_root_version; /* 0: 1000, 2000, 1 */
	size_t n_comps;
	bb_comp comps[BB_MAX_COMPS];
	size_t n_roots; /* carried roots/<version> entries */
	const char *roots[4];
	uint64_t root_versions[4];
	size_t n_signers;
	const exai_seckey *signers[BB_MAX_SIGNERS];
	unsigned format_version; /* 0 or 1: format 1; 2: format 2 (tree digests) */
	size_t lie_comp;	 /* 1 + the component whose manifest digest is wrong (an
				  * insider's false claim; chunk table and tags are right) */
} bb_spec;

typedef struct bb_entry {
	char name[48];
	uint8_t *data;
	size_t len;
} bb_entry;

typedef struct bb_bundle {
	size_t n;
	bb_entry ent[BB_MAX_ENTRIES]; /* written in this order */
	exai_index ix;		      /* what the index entry holds */
	uint8_t data_key[EXAI_DATA_KEY_LEN];
	uint8_t *plain; /* the plaintext stream: every component in order */
	size_t plain_len;
	bb_spec spec;
} bb_bundle;

/* Builds @spec into a fresh *out (free with bb_free). */
bb_bundle *bb_build(const bb_keys *k, const bb_spec *spec);
void bb_free(bb_bundle *b);

/* The entry named @name, or NULL. */
bb_entry *bb_find(bb_bundle *b, const char *name);
/* Appends an entry (a copy of @data) at position @pos (SIZE_MAX: the end). */
bb_entry *bb_add(bb_bundle *b, size_t pos, const char *name, const void *data, size_t len);
/* Removes the entry named @name. */
void bb_remove(bb_bundle *b, const char *name);
/* Replaces an entry's bytes with a copy of @data. */
void bb_set(bb_entry *en, const void *data, size_t len);

/* Re-lists every entry but index and sig/ in b->ix (payload: the chunks hash), re-serialises
 * the index and replaces every signature with fresh ones by the spec's signers. */
void bb_reseal(bb_bundle *b);

/* Writes the entries, in order, as a pax .exb (libarchive, as exai-bundle does) or as a
 * directory; returns the malloc'ed path dir/name. */
char *bb_write_exb(const bb_bundle *b, const char *dir, const char *name);
char *bb_write_dir(const bb_bundle *b, const char *dir, const char *name);

/* A raw ustar header block for hostile tars: @name, @size (octal, or base-256 when it does
 * not fit), @type ('0' file, '5' dir, 'x' pax, '1' hard link, '2' symlink, '6' FIFO). */
void bb_tar_header(uint8_t blk[512], const char *name, uint64_t size, char type);

/* Opens @path and runs exai_bundle_verify against @trusted with @now; returns the bundle
 * (NULL if open failed) and the status of the first failing step in *rc. */
exai_bundle *bb_open_verify(const char *path, const exai_root *trusted, uint64_t now,
			    exai_status *rc, exai_error *e);

#endif
