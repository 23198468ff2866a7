/*
 * check_bundle: what every exai-update operation works with, and the result it reports.
 *
 * Operations (check_bundle.c, apply.c) fill an upd_result; only exai_update.c prints it (text or
 * JSON) and turns it into an exit code.
 */
#ifndef UPD_CHECK_BUNDLE_H
#define UPD_CHECK_BUNDLE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "exai/bundle.h"
#include "exai/progress.h"
#include "plan.h"
#include "state.h"

#define UPD_MAX_CANDIDATES 64
#define UPD_MAX_CHANGES	   64

typedef struct upd_ctx {
	upd_config *cfg;
	upd_state *st;
	exai_root *root;    /* trusted root: the newer of the config's and the persisted one */
	exai_site_key *key; /* NULL when no site_key is configured */
	bool progress;	    /* progress bar on a terminal */
} upd_ctx;

typedef struct upd_skip {
	char path[PATH_MAX];
	char reason[EXAI_ERROR_MSG_MAX];
} upd_skip;

typedef enum upd_outcome {
	UPD_OK = 0,   /* done (applied, verified, rolled back, recovered, nothing to do) */
	UPD_REFUSED,  /* refused before anything changed */
	UPD_FAILED,   /* failed; nothing changed (staging undone) */
	UPD_REVERTED, /* switched, health check failed, switched back */
	UPD_PENDING,  /* an interrupted operation must be recovered first, or lock held */
} upd_outcome;

typedef struct upd_result {
	upd_outcome outcome;
	const char *what; /* short word for history/JSON: applied, verified, refused... */
	char summary[PATH_MAX +
		     512]; /* "" or what happened in words: the text headline instead of @what */
	char bundle[PATH_MAX];
	char bundle_id[65];
	char channel[EXAI_NAME_MAX + 1];
	uint64_t sequence, created;
	char signers[EXAI_BUNDLE_MAX_SIGS * 17 + 1];
	size_t n_skipped;
	upd_skip skipped[UPD_MAX_CANDIDATES];
	size_t n_changes;
	char changes[UPD_MAX_CHANGES][384];
	size_t n_changes_omitted; /* past UPD_MAX_CHANGES: counted and said, never dropped */
	exai_error err;		  /* the reason when not OK */
} upd_result;

/* Adds a line to r->changes; past the bound the line is counted in n_changes_omitted, and
 * the output says how many were not listed. */
void upd_result_change(upd_result *r, const char *fmt, ...) EXAI_PRINTF(2, 3);

/* Loads the trusted root (config root vs state_dir/root, newer wins, never below the root
 * version ratchet) and the site key. */
exai_status upd_ctx_load_trust(upd_ctx *c, exai_error *e) EXAI_WUR;
/* The root that upd_ctx_load_trust trusts (*out, malloc'ed): the configured trust_root, or
 * state_dir/root when that one is newer (*persisted). @configured_version gets the version of
 * the configured file once it has loaded. No ratchet check. */
exai_status upd_trust_root_pick(const upd_config *cfg, exai_root **out, bool *persisted,
				uint64_t *configured_version, exai_error *e) EXAI_WUR;

/* The time expiry is checked against: the newest signed creation time seen, or the trusted
 * root's creation time before any bundle was seen. Never the wall clock. */
exai_status upd_ratchet_time(upd_ctx *c, uint64_t *out, exai_error *e) EXAI_WUR;

/* verify + policy checks + unlock + plan for one opened bundle. On refusal *plan is NULL
 * and @e says why. */
exai_status upd_check_bundle(upd_ctx *c, exai_bundle *b, upd_plan **plan, exai_error *e) EXAI_WUR;

/* verify's pass over the payload of a checked bundle: every chunk and component hash, and
 * every tar component through the extraction rules with apply's limits; nothing written. */
exai_status upd_check_stream(upd_ctx *c, exai_bundle *b, exai_progress *prog,
			     exai_error *e) EXAI_WUR;

/* Opens MEDIA (a bundle file, a bundle dir, or a dir of bundles) and picks the newest
 * acceptable bundle; others are listed in r->skipped with the reason. */
exai_status upd_select(upd_ctx *c, const char *media, exai_bundle **out, upd_plan **plan,
		       upd_result *r, exai_error *e) EXAI_WUR;

/* Records @r as a history row (op @op) in its own transaction; errors are ignored (the
 * operation's outcome stands) but reported on stderr by the caller if wanted. */
exai_status upd_record(upd_ctx *c, const char *op, const upd_result *r, exai_error *e) EXAI_WUR;

#endif
