/*
 * sandbox: what 'exai-egress run' does to the command before exec, in the child: join the
 * transient cgroup (so no socket of the command is ever made outside it), drop CAP_NET_RAW
 * from every capability set (bounding, ambient, effective, permitted, inheritable), set
 * no_new_privs, and install a seccomp filter that refuses socket(AF_PACKET, ...) with EPERM
 * (packet sockets skip every IP hook: the one bypass of the cgroup programs).
 */
#ifndef EXAI_EGRESS_SANDBOX_H
#define EXAI_EGRESS_SANDBOX_H

#include "exai/error.h"

/* Moves the calling process into cgroup directory @cgroup and confines it as above. */
exai_status egress_sandbox_enter(const char *cgroup, exai_error *e) EXAI_WUR;

#endif
