/*
 * ctl: the control socket of exai-egress serve, and its client ('exai-egress reload' when a
 * daemon runs). One request line and one reply line per connection, each one compact JSON
 * object of at most EGRESS_CTL_MAX bytes:
 *
 *   {"op":"reload","policy_dir":"/var/lib/exai/policy/egress/current"}
 *   {"op":"reload","policy":"/abs/policy.yaml","sigs":["/abs/policy.a.minisig"],
 *    "unsigned":false}
 *   {"ok":true,"generation":3,"message":"policy ... in force: generation 3, ..."}
 *   {"ok":false,"exit":1,"error":{"code":"EVERIFY","message":"..."}}
 *
 * The client is untrusted: a request names only files (absolute paths); the daemon checks
 * who asks (SO_PEERCRED against control.allow_uids), that every file is under one of its
 * policy_dirs, and reads, signature-checks (its own trust_root) and swaps the policy itself.
 * A request cannot name a trust root, a mode or a pin directory.
 */
#ifndef EXAI_EGRESS_CTL_H
#define EXAI_EGRESS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "exai/error.h"
#include "sigcheck.h"

#define EGRESS_CTL_MAX	    65536
#define EGRESS_CTL_PATH_MAX 4096

typedef struct egress_ctl_req {
	char *policy_dir; /* exactly one of policy_dir and policy */
	char *policy;
	char *sigs[EGRESS_MAX_SIGS]; /* only with policy; none: POLICY.minisig */
	size_t nsigs;
	bool unsigned_ok;
} egress_ctl_req;

/* Parses one request line strictly (unknown keys, duplicates, relative paths and a missing or
 * second policy refused: EXAI_EFORMAT naming what). @r is freed with egress_ctl_req_free
 * either way. */
exai_status egress_ctl_req_parse(const char *line, size_t len, egress_ctl_req *r,
				 exai_error *e) EXAI_WUR;
void egress_ctl_req_free(egress_ctl_req *r);

/* The request line for @r (malloc'ed, no newline), or NULL when out of memory. */
char *egress_ctl_req_line(const egress_ctl_req *r);

/* Reply lines (malloc'ed, no newline; NULL when out of memory). */
char *egress_ctl_reply_ok(unsigned generation, const char *message);
char *egress_ctl_reply_fail(int exit_code, const exai_error *err);

/* Binds @path (a stale socket there is replaced; anything else, or a socket a live daemon
 * answers on, is refused), chmods it to @mode and listens. */
exai_status egress_ctl_listen(const char *path, mode_t mode, int *fd_out, exai_error *e) EXAI_WUR;

/* Client: sends @line to the daemon at @path and waits at most @timeout_s for its reply line
 * (*@reply, malloc'ed, without the newline). */
exai_status egress_ctl_call(const char *path, const char *line, int timeout_s, char **reply,
			    exai_error *e) EXAI_WUR;

#endif
