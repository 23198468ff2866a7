/*
 * config: exai-update's configuration file (YAML, strict; see docs/update.md).
 *
 * Every path the updater touches comes from here, so a test can run it entirely inside a temp
 * dir. Paths must be absolute. Unknown keys, wrong types and out-of-range numbers are errors
 * naming file:line:column. The config is trusted (root-owned, part of the sealed image).
 */
#ifndef UPD_CONFIG_H
#define UPD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/manifest.h"
#include "exai/update_state.h"

#define UPD_DEFAULT_CONFIG EXAI_UPD_CONFIG_DEFAULT
#define UPD_MAX_ARGV	   32
#define UPD_MAX_HOOK_ENV   32 /* = UPD_HOOK_MAX_ENV of sandbox.h */

typedef struct upd_config {
	char *path;
	char *state_dir;
	char *trust_root;
	char *site_key;		    /* NULL: only plain bundles can be applied */
	char *class_name, *site_id; /* identity; at least one */
	/* install dirs, NULL when not configured (a component of that type is refused) */
	char *dirs[EXAI_C_NTYPES]; /* software, models, registry(images), chart, policy, -, files */
	uint64_t models_keep;
	char *rootfs_slot[2]; /* A, B: block devices or image files */
	char *boot_selector;
	char *health_check[UPD_MAX_ARGV + 1]; /* argv, NULL-terminated; [0] NULL = none */
	char *policy_reload[UPD_MAX_ARGV + 1];
	uint64_t hook_timeout; /* seconds */
	char *hook_user;       /* hooks.user: a name or a decimal uid; NULL = the default */
	char *hook_env[UPD_MAX_HOOK_ENV + 1]; /* hooks.env as "NAME=value", NULL-terminated */
	char *mirror_socket;		      /* NULL = no mirror */
	uint64_t max_ratio;		      /* unpacked / stored bytes of a tar component */
	bool require_encryption;
} upd_config;

/* Loads and validates @path. *out is freed with upd_config_free(). */
exai_status upd_config_load(const char *path, upd_config **out, exai_error *e) EXAI_WUR;
void upd_config_free(upd_config *c);

/* The config path to use: @flag (--config), else $EXAI_UPDATE_CONFIG, else the default. */
const char *upd_config_path(const char *flag);

#endif
