/*
 * plan: what an apply will change, one op per manifest component, and its journal form.
 *
 * Install layout (docs/update.md):
 *   slot types (software, images, chart, policy, files): <dir>/<name>/{a,b} with <dir>/<name>/
 *     current -> a|b; staged in <dir>/<name>/.stage, renamed over the inactive slot at switch;
 *   model: <models_dir>/<name>/<version>/ with <models_dir>/<name>/current -> <version>;
 *     staged in <models_dir>/<name>/.stage-<version>;
 *   rootfs: written straight to the inactive raw slot; the boot selector file names the
 *     active slot ("A" or "B").
 * Every switch step is idempotent, so `recover` can redo a switch from the journal.
 */
#ifndef UPD_PLAN_H
#define UPD_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "exai/bundle.h"
#include "state.h"

typedef enum upd_kind { UPD_K_SLOT = 0, UPD_K_MODEL, UPD_K_ROOTFS } upd_kind;

typedef struct upd_op {
	exai_ctype type;
	upd_kind kind;
	char name[EXAI_NAME_MAX + 1];
	char version[EXAI_NAME_MAX + 1];
	char sha256[65];
	char base[PATH_MAX]; /* <dir>/<name>; rootfs: the slot device or image being written */
	char new_loc[UPD_LOC_MAX];
	char old_loc[UPD_LOC_MAX];	     /* "" = nothing installed before */
	char old_version[EXAI_NAME_MAX + 1]; /* the version active before; "" = none */
	bool skip;			     /* identical to what is active: nothing to do */
	bool reuse; /* model: the version is already on disk (the previous one) */
	/* model, with skip or reuse: the version is installed from a bundle of the other format,
	 * so the digests differ in kind; the stager records the incoming tree's per-file records
	 * (check only, nothing written) and apply compares them with the installed version's
	 * records in the state database once every byte is verified (docs/update.md). Not
	 * journaled: only staging uses it. */
	bool xcheck;
} upd_op;

typedef struct upd_plan {
	char bundle_id[65];
	char channel[EXAI_NAME_MAX + 1];
	uint64_t sequence, created;
	char signers[EXAI_BUNDLE_MAX_SIGS * 17 + 1];
	uint64_t root_version; /* effective root of the bundle */
	char *root_text;       /* that root's file when newer than the trusted one, else NULL */
	size_t n;
	upd_op *ops;
} upd_plan;

void upd_plan_free(upd_plan *p);
/* The staging path of @op into @buf (rootfs: the slot itself). */
void upd_op_stage_path(const upd_op *op, char *buf, size_t cap);

/* Journal form (JSON text, malloc'ed) and back. */
char *upd_plan_to_json(const upd_plan *p);
exai_status upd_plan_from_json(const char *text, upd_plan **out, exai_error *e) EXAI_WUR;

#endif
