/*
 * host_update: what exai-update installed, read from its own files under the root: its
 * config (install dirs, rootfs slots, state dir) and its state database (read-only).
 *
 * This is a reader of exai-update's documented on-disk contract (docs/update.md: the config
 * keys, and the state db tables installed / installed_file / journal / meta), not of its
 * code: the verifier depends on lib/ only.
 */
#ifndef VF_HOST_UPDATE_H
#define VF_HOST_UPDATE_H

#include <sqlite3.h>
#include <stdbool.h>

#include "host.h"

typedef struct vf_upd_comp {
	char type[16];
	char name[136];
	char version[136];
	char loc[168];
	char base[1100]; /* <install dir>/<name> (appliance path); "" for rootfs */
	char tree[1300]; /* <base>/<loc>; rootfs: the slot device or image */
} vf_upd_comp;

typedef struct vf_upd {
	sqlite3 *db; /* read-only; NULL when there is no state db yet */
	int schema;  /* meta.schema */
	vf_upd_comp *comps;
	size_t ncomps;
	char pending[192]; /* "" or a description of the journal row */
	char *state_dir;
} vf_upd;

/*
 * Loads exai-update's config @config under the root and opens its state db read-only.
 * *found = false (and OK) when the config does not exist. Components whose type has no
 * install dir in the config are skipped with a note in @skipped (count).
 */
exai_status vf_upd_load(const vf_host_root *r, const char *config, vf_upd *u, bool *found,
			size_t *skipped, exai_error *e) EXAI_WUR;
void vf_upd_free(vf_upd *u);

#endif
