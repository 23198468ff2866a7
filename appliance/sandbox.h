/*
 * sandbox: no network by construction, for exai-update and for the hooks it runs.
 *
 * upd_sandbox_install() loads a seccomp filter into the process (and so into every thread
 * and child it later has). It is an allow-list for sockets: socket() and socketpair() succeed
 * only when the low 32 bits of the family argument (all the kernel reads) are AF_UNIX (the
 * local mirror); every other family, also with high bits set, fails with EACCES. setns, bpf,
 * io_uring_*, ptrace, process_vm_*, pidfd_getfd, module loading and kexec fail with EPERM;
 * unshare succeeds only for exactly CLONE_NEWNET (what the hook runner needs), clone with a
 * namespace flag fails with EPERM and clone3 with ENOSYS (its flags are out of the filter's
 * sight; libc falls back to clone). System calls of a foreign ABI (ia32 through int 0x80,
 * x32 through __X32_SYSCALL_BIT) kill the process. The filter cannot be removed, and
 * no_new_privs is set.
 *
 * upd_run_hook() runs a configured command (health check, policy reload) in a child that,
 * in this order: gets its own process group; when exai-update is root, a fresh network
 * namespace (unshare(CLONE_NEWNET): only a down loopback), an empty capability bounding set,
 * no supplementary groups and the hook user's gid and uid; no ambient, inheritable,
 * permitted or effective capabilities; no_new_privs; a second, stricter filter (the same
 * rules, and unshare refused altogether); cwd "/", stdin /dev/null, a fixed environment;
 * then exec. It is killed with its process group after @timeout.
 */
#ifndef UPD_SANDBOX_H
#define UPD_SANDBOX_H

#include <stdint.h>

#include "exai/error.h"

#define UPD_HOOK_MAX_ENV  32 /* hooks.env entries */
#define UPD_HOOK_PATH	  "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define UPD_HOOK_LANG	  "LANG=C.UTF-8"
#define UPD_HOOK_USER	  "exai-hook" /* the default hook user when it exists... */
#define UPD_HOOK_FALLBACK "nobody"    /* ...else this one */

exai_status upd_sandbox_install(exai_error *e) EXAI_WUR;

/* Decides who hooks run as and with what environment, for the rest of the process.
 * @user: hooks.user (a name from /etc/passwd or a decimal uid), NULL when not configured.
 * As root: NULL means UPD_HOOK_USER if it exists, else UPD_HOOK_FALLBACK; a user that is
 * uid 0 is refused unless @user is literally "root". Not as root: hooks run as the calling
 * user; a @user naming anyone else is refused (only root can switch users).
 * @env: NULL-terminated "NAME=value" strings (hooks.env, validated by the config), added
 * after PATH and LANG; NULL for none. Copied. Without this call, upd_run_hook() uses the
 * defaults (as if called with NULL, NULL). */
exai_status upd_sandbox_hooks(const char *user, char *const env[], exai_error *e) EXAI_WUR;

/* Runs @argv; EXAI_OK iff it exited 0. On failure @e says why ("exit 3: <last output line>",
 * "killed by signal 9", "timed out after 60 s"); a failure to set up the sandbox in the
 * child is "exit 126: exai-update: <what>: <why>". */
exai_status upd_run_hook(char *const argv[], uint64_t timeout_s, exai_error *e) EXAI_WUR;

#endif
