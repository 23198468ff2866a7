/*
 * spec: the bundle spec, a YAML file a release engineer writes:
 *
 *   channel: stable                 # [A-Za-z0-9._+-], required
 *   sequence: 42                    # strictly increasing per channel, required
 *   expires: 2027-06-30             # unix seconds or YYYY-MM-DD[THH:MM:SSZ]; or:
 *   expires_in_days: 90             #   relative to the creation time
 *   min_root_version: 1             # optional, default 1
 *   chunk_size: 4194304             # optional, default 4 MiB
 *   target:                         # at least one class or site
 *     classes: [gpu-appliance]
 *     sites: [site-berlin-1]
 *   components:
 *     - type: software              # software model images chart policy rootfs files
 *       name: app
 *       version: 1.4.2
 *       source: ./app               # a directory (stored as tar) or a file (stored raw),
 *                                   # relative to the spec file
 *       target: app                 # optional install path, default: the name (raw: file name)
 *       setuid: false               # optional: allow setuid/setgid files and directories
 *       world_writable: false       # optional: allow files writable by others, and such
 *                                   # directories without the sticky bit
 *
 * Every error names spec-file:line:column.
 */
#ifndef EXB_SPEC_H
#define EXB_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/index.h"
#include "exai/manifest.h"

typedef struct exb_spec_component {
	exai_ctype type;
	char name[EXAI_NAME_MAX + 1];
	char version[EXAI_NAME_MAX + 1];
	char target[EXAI_RELPATH_MAX + 1];
	char *source; /* resolved path */
	bool is_dir;  /* source is a directory (tar) */
	bool setuid;
	bool world_writable;
	char where[320]; /* "spec.yaml:12:7" of the component, for messages */
} exb_spec_component;

typedef struct exb_spec {
	char channel[EXAI_NAME_MAX + 1];
	uint64_t sequence, created, expires, min_root_version, chunk_size;
	size_t n_classes, n_sites, n;
	char classes[EXAI_INDEX_MAX_CLASSES][EXAI_NAME_MAX + 1];
	char sites[EXAI_INDEX_MAX_SITES][EXAI_NAME_MAX + 1];
	exb_spec_component *c;
} exb_spec;

/* Loads @path; @created is the bundle's creation time (for expires_in_days). */
exai_status exb_spec_load(const char *path, uint64_t created, exb_spec **out,
			  exai_error *e) EXAI_WUR;
void exb_spec_free(exb_spec *s);

#endif
