/*
 * retention: the pruning run, inside the daemon's writer thread. For each class with
 * retention_days > 0, the payloads of its entries ingested more than that many days ago are
 * deleted (set to NULL, with secure_delete on, then the space is reclaimed with an incremental
 * vacuum and the WAL truncated); their rows, nonces and leaves stay, so every proof and
 * checkpoint stays valid and `verify` still passes. Each run that prunes anything appends one
 * entry of its own to the log, in class audit, tenant "exai-mirror":
 *   body {"retention":{"class":C,"pruned":N,"first_index":A,"last_index":B,
 *                      "ingested_before_ms":T}}
 * in the same transaction as the deletion, so a pruning is never silent.
 */
#ifndef MIR_RETENTION_H
#define MIR_RETENTION_H

#include <stdint.h>

#include "config.h"
#include "exai/error.h"
#include "store.h"

#define MIR_RETENTION_TENANT "exai-mirror"

/* One pruning run at @now_ms; *pruned gets the number of payloads deleted. */
exai_status mir_retention_run(mir_store *s, const mir_config *c, int64_t now_ms, uint64_t *pruned,
			      exai_error *e) EXAI_WUR;

#endif
