/*
 * lsm_probe: whether this kernel lets exai-egress use BPF LSM programs (lsm_cgroup on
 * socket_post_create, which could refuse AF_PACKET and unknown socket families per cgroup).
 * exai-egress does not use them yet; status reports the probe so an operator sees plainly
 * that AF_PACKET is refused only under 'exai-egress run'.
 */
#ifndef EXAI_EGRESS_LSM_PROBE_H
#define EXAI_EGRESS_LSM_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Tries to load (never attach) a one-instruction lsm_cgroup program on socket_post_create.
 * true when the kernel accepts it; otherwise @why (@cap bytes) says what refused it. */
bool egress_lsm_probe(char *why, size_t cap);

#endif
