/*
 * sandbox: no network by construction.
 *
 * upd_sandbox_install() loads a seccomp filter into the process (and so into every thread
 * and child it later has): socket() and socketpair() for AF_INET, AF_INET6 and AF_PACKET fail
 * with EACCES, io_uring_setup fails with EPERM (io_uring can open sockets too), and system
 * calls of a foreign architecture (32-bit x86 socketcall) kill the process. Unix sockets (the
 * local mirror) keep working. The filter cannot be removed, and no_new_privs is set.
 *
 * upd_run_hook() runs a configured command (health check, policy reload) under that filter,
 * and, when running as root, in a fresh network namespace of its own (unshare(CLONE_NEWNET)
 * in the child: only a down loopback). It is killed with its process group after @timeout.
 */
#ifndef UPD_SANDBOX_H
#define UPD_SANDBOX_H

#include <stdint.h>

#include "exai/error.h"

exai_status upd_sandbox_install(exai_error *e) EXAI_WUR;

/* Runs @argv; EXAI_OK iff it exited 0. On failure @e says why ("exit 3: <last output line>",
 * "killed by signal 9", "timed out after 60 s"). */
exai_status upd_run_hook(char *const argv[], uint64_t timeout_s, exai_error *e) EXAI_WUR;

#endif
