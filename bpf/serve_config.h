/*
 * serve_config: /etc/exai/egress.yaml, the config of 'exai-egress serve' (and where 'status'
 * and 'reload' find the daemon's spool and control socket). Loaded strictly: unknown keys,
 * wrong types, out-of-range numbers and relative paths are refused naming file:line:column.
 *
 *   trust_root: /etc/exai/root.v1       # reloads are checked against it (required unless
 *   allow_unsigned: false               #   allow_unsigned: true, for development only)
 *   policy_dirs: [/var/lib/exai/policy] # reload requests may name files under these only
 *   spool: {dir: /var/lib/exai-egress, max_events: 100000, max_bytes: 67108864}
 *   mirror_socket: /run/exai-mirror/ingest.sock   # optional: deliver to exai-mirror
 *   journal_socket: /dev/log            # optional (this default): syslog datagrams
 *   control: {socket: /run/exai-egress/control.sock, mode: "0660", allow_uids: [0]}
 *   state_dir: /var/lib/exai-egress     # optional (this default): the ratchet record of
 *                                       #   signed policies (exai-egress init, ratchet.h)
 *
 * Invariants after a load: every path is absolute without "..", the socket paths fit a
 * sockaddr_un, policy_dirs and allow_uids are non-empty and bounded.
 */
#ifndef EXAI_EGRESS_SERVE_CONFIG_H
#define EXAI_EGRESS_SERVE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exai/error.h"

#define EGRESS_DEFAULT_CONFIG  "/etc/exai/egress.yaml"
#define EGRESS_DEFAULT_SOCKET  "/run/exai-egress/control.sock"
#define EGRESS_DEFAULT_JOURNAL "/dev/log"
#define EGRESS_MAX_POLICY_DIRS 16
#define EGRESS_MAX_ALLOW_UIDS  64

typedef struct egress_serve_config {
	char *path; /* the file it was loaded from */
	char *trust_root;
	bool allow_unsigned;
	char *policy_dirs[EGRESS_MAX_POLICY_DIRS];
	size_t npolicy_dirs;
	char *spool_dir;
	char *state_dir; /* never NULL: the ratchet record's directory */
	uint64_t spool_max_events, spool_max_bytes;
	char *mirror_socket;  /* NULL: no mirror */
	char *journal_socket; /* never NULL */
	char *control_socket; /* never NULL */
	mode_t control_mode;
	uint32_t allow_uids[EGRESS_MAX_ALLOW_UIDS];
	size_t nallow_uids;
} egress_serve_config;

/* --config FILE, else $EXAI_EGRESS_CONFIG, else EGRESS_DEFAULT_CONFIG. */
const char *egress_config_path(const char *opt);

/* Loads @path; *out is freed with egress_serve_config_free. EXAI_ECONFIG (with
 * "config: FILE:LINE:COL: ...") for a bad file, EXAI_ENOENT when it does not exist. */
exai_status egress_serve_config_load(const char *path, egress_serve_config **out,
				     exai_error *e) EXAI_WUR;
void egress_serve_config_free(egress_serve_config *c);

/* Whether uid @uid may send control requests. */
bool egress_serve_uid_allowed(const egress_serve_config *c, uint32_t uid);

#endif
