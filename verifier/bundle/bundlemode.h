/*
 * bundlemode: `airgap-verifier bundle MEDIA --root ROOT [--key SITE.key]`: full offline
 * verification of a bundle with the shared library (exai/bundle.h), then a scan of the
 * verified plaintext with the scan engine, then the image closure check.
 *
 *   bundlemode_cmd.c      command line, rules, output and exit status (the only code that
 *                         prints)
 *   bundlemode.c          open / verify / unlock / stream, verification findings, the report;
 *                         tar components also pass exai-update apply's extraction rules
 *   bundlemode_scan.c     the sink: each component's plaintext handed to a scanning thread;
 *                         tar streams through libarchive; entries to the scan engine
 *   bundlemode_window.c   blobs over max_entry_size (model weights): binary rules in windows
 *   bundlemode_closure.c  image references in YAML; manifests of image archives; closure
 *
 * Invariants: nothing is scanned that did not come out of exai_bundle_stream (every chunk
 * hash-checked against the signed table before it was decrypted); if the stream fails, every
 * content finding is discarded and the report holds the verification failure only. Media is
 * read once. Locations read "MEDIA!type/name!entry:line:col".
 */
#ifndef VF_BUNDLEMODE_H
#define VF_BUNDLEMODE_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/bundle.h"
#include "exai/root.h"
#include "exai/sitekey.h"
#include "report.h"
#include "scan_allow.h"
#include "scan_rules.h"
#include "scan_sink.h"

/* Rule ids of this mode (not in the rules file: they are about the bundle, not content). */
#define VF_BM_RULE_VERIFY    "bundle.verify"
#define VF_BM_RULE_ENCRYPTED "bundle.encrypted"
#define VF_BM_RULE_MISSING   "bundle.closure.missing-image"
#define VF_BM_RULE_UNPINNED  "bundle.closure.unpinned-image"

typedef struct vf_bm_opts {
	const char *media;	  /* bundle directory or .exb, as given (locations start with it) */
	const exai_root *root;	  /* the trusted root (already self-checked) */
	const exai_site_key *key; /* NULL: no site key */
	uint64_t now;		  /* expiry checks (unix seconds) */
	vf_rules *rules;	  /* finished */
	vf_scan_allow *allow;	  /* NULL: no allow file */
	unsigned window_mib;	  /* 0: default window for oversized blobs */
	uint64_t max_ratio;	  /* the appliance's max_unpack_ratio; 0: its default, 1000 */
} vf_bm_opts;

typedef struct vf_bm_result {
	vf_report *report;  /* caller frees */
	bool verify_failed; /* a bundle.verify finding: exit 1 whatever --fail-on says */
	bool unscanned;	    /* encrypted and no site key: contents not scanned */
} vf_bm_result;

/* Declares this mode's rules (and every enabled scan rule) in @r. */
exai_status vf_bm_declare(const vf_rules *rules, vf_report *r, exai_error *e) EXAI_WUR;

/* Verifies and scans. Returns EXAI_OK with a report whenever a verdict was reached, including
 * a verification failure (res->verify_failed); an error only when the verifier itself could
 * not work (out of memory, a thread that would not start): the caller exits 2. */
exai_status vf_bundlemode_run(const vf_bm_opts *o, vf_bm_result *res, exai_error *e) EXAI_WUR;

/* ---- bundlemode_closure.c ---- */
typedef struct vf_closure vf_closure;

exai_status vf_closure_new(vf_closure **out, exai_error *e) EXAI_WUR;
void vf_closure_free(vf_closure *c);
/* Records the image references of one YAML buffer (manifests, chart values and templates).
 * Called from one thread at a time. */
void vf_closure_yaml(vf_closure *c, vf_scan *s, const vf_buf *b);
/* Whether an entry name (inside an image archive) is one vf_closure_image_file wants. */
bool vf_closure_wants(const char *name);
/* An entry of an images component: @archive is the display path of the archive that holds
 * it, @name its path inside that archive. index.json and manifest.json are kept; blobs under
 * blobs/sha256/ are recorded as present, and hashed when @p is not NULL (small blobs: the
 * manifests and indexes closure needs). */
void vf_closure_image_file(vf_closure *c, vf_scan *s, const char *archive, const char *name,
			   const uint8_t *p, size_t n);
/* After a successful stream: one finding per reference whose image is not in the bundle by
 * digest, or that names no digest, into @s's report (its allow file's suppressions apply). */
exai_status vf_closure_check(vf_closure *c, vf_scan *s, exai_error *e) EXAI_WUR;

/* ---- bundlemode_scan.c ---- */
typedef struct vf_bm_scanner vf_bm_scanner;

/* A scanner feeding @s (and @cl) from the sink; locations start with @media. Tar components
 * also pass the extraction rules with @max_ratio (0: exai-update's default). */
exai_status vf_bm_scanner_new(vf_scan *s, vf_closure *cl, const char *media, uint64_t window,
			      uint64_t max_ratio, vf_bm_scanner **out, exai_error *e) EXAI_WUR;
/* The sink to give exai_bundle_stream. */
void vf_bm_scanner_sink(vf_bm_scanner *sc, exai_sink *out);
/* After a failed stream: stops a component's scanning thread if one runs. */
void vf_bm_scanner_abort(vf_bm_scanner *sc);
/* Whether the sink itself failed (the stream error is then ours, not the bundle's). */
bool vf_bm_scanner_failed(const vf_bm_scanner *sc);
/* After a failed stream: the extraction rules' refusal that stopped it (naming the component
 * and the entry), or NULL. */
const exai_error *vf_bm_scanner_refusal(const vf_bm_scanner *sc);
/* Components fully scanned. */
uint64_t vf_bm_scanner_components(const vf_bm_scanner *sc);
void vf_bm_scanner_free(vf_bm_scanner *sc);

/* ---- bundlemode_window.c ---- */
/* Reads a blob: 0 at its end, -1 on error. */
typedef struct vf_bm_src {
	long (*read)(void *arg, uint8_t *dst, size_t cap);
	void *arg;
} vf_bm_src;

/* Scans a blob too large to hold (over max_entry_size) with the binary rules, @window bytes at
 * a time (@head, already read, comes first); filename rules once. Offsets are from the blob's
 * start. Text (no NUL in the head) is not windowed: a scan.incomplete finding instead. */
void vf_bm_scan_windows(vf_scan *s, const vf_buf *meta, const uint8_t *head, size_t hl,
			const vf_bm_src *src, uint64_t size, uint64_t window);

#endif
