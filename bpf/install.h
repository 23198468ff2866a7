/*
 * install: putting a parsed policy in force in one step. The new policy trie is built
 * complete beside the running one and swapped in with one update of the policy slot, so
 * every decision sees the old policy or the new one, never half of one. New workloads are
 * attached before the swap (their sockets are denied until it: no workload marker yet), and
 * workloads the new policy drops are detached after it.
 */
#ifndef EXAI_EGRESS_INSTALL_H
#define EXAI_EGRESS_INSTALL_H

#include "pins.h"
#include "policy.h"

typedef struct egress_install_info {
	int mode;	       /* EGRESS_MODE_* in force after the install */
	bool unsigned_policy;  /* --unsigned */
	const char *path;      /* policy file, for status */
	const uint8_t *sha256; /* of the policy file's bytes */
	const char *signers;   /* key ids counted ("" when unsigned) */
	/* signed: the policy's sequence may not be below the one in force (and must be given
	 * once one is); unsigned policies neither check nor move the ratchet */
} egress_install_info;

/* Installs @p; on success *@generation is the new generation. On failure the running policy
 * is untouched (links attached for new workloads may remain, denying until a policy names
 * them). */
exai_status egress_install(const egress_pins *pins, const egress_policy *p,
			   const egress_install_info *info, uint32_t *generation,
			   exai_error *e) EXAI_WUR;

#endif
