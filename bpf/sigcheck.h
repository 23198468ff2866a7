/*
 * sigcheck: whether a policy file's bytes are signed by a threshold of the trust root's
 * release keys, with the same root and minisign verification exai-update uses (lib/bundle:
 * exai/root.h, exai/minisign.h). As lib/bundle/bundle_verify.c does for bundles, the count
 * is of DISTINCT release keys whose signature verified, never of signature files: one key
 * signing twice counts once. The policy is parsed only after this has passed, from the same
 * bytes that were verified.
 */
#ifndef EXAI_EGRESS_SIGCHECK_H
#define EXAI_EGRESS_SIGCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define EGRESS_MAX_SIGS 32

/* Checks @msg (@len bytes, the policy file @name) against the signature files @sigs (@nsigs of
 * them, at most EGRESS_MAX_SIGS) and the trust root file @root_path (self-signed by its root
 * threshold). On success @signers (@cap bytes) lists the counted key ids, space separated.
 * EXAI_EVERIFY when fewer distinct release keys than the threshold signed; each signature
 * that did not count is named in the message. */
exai_status egress_sigcheck(const uint8_t *msg, size_t len, const char *name, const char *root_path,
			    const char *const *sigs, size_t nsigs, char *signers, size_t cap,
			    exai_error *e) EXAI_WUR;

#endif
