/*
 * run_proc: starting the command inside the run mode's namespaces, watching it, and ending it.
 *
 * The verifier's one child is PID 1 of a new PID namespace: the namespace's init. Init
 * joins the run's attribution cgroup when there is one (run_egress), takes its own mount
 * namespace (without the run's private bpffs) with a fresh /proc (so the command sees only its own
 * processes), forks the command, reaps everything re-parented to it, and when the command ends
 * kills whatever it left behind and reports the command's wait status and the number of
 * leftovers through a pipe. Killing init with SIGKILL makes the kernel kill every process of the
 * namespace, so a timeout ends grandchildren too; init also dies with the verifier
 * (PR_SET_PDEATHSIG). Unless told to keep them, the command runs without the capabilities that
 * could undo the isolation (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE,
 * CAP_SYS_RAWIO, CAP_BPF, CAP_PERFMON), removed from its bounding set before exec.
 *
 * In init's mount namespace every mount is made read-only (mount_setattr, recursively), then a
 * private tmpfs is mounted on /tmp and, when asked, the working directory is bound writable
 * again. The command runs as the given user (by default an unprivileged one: no supplementary
 * groups, an empty bounding set, no capabilities), with no_new_privs, under a seccomp filter
 * that refuses AF_VSOCK sockets (not isolated by network namespaces: they reach the host).
 */
#ifndef VF_RUN_PROC_H
#define VF_RUN_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exai/error.h"
#include "run_sink.h"

typedef struct vf_run_child {
	pid_t pid;     /* the namespace's init; our child; -1 once reaped */
	int pidfd;     /* readable once init has exited */
	int status_fd; /* init's report */
} vf_run_child;

typedef struct vf_run_outcome {
	bool finished;	    /* the command ended by itself */
	int wstatus;	    /* its wait status, when finished */
	unsigned leftovers; /* processes still running when it ended, then killed */
	bool timed_out;
	bool interrupted; /* SIGINT/SIGTERM/SIGHUP reached the verifier */
	int signal;	  /* which one */
	uint64_t elapsed_ms;
} vf_run_outcome;

/* Resolves @cmd as execvp would ($PATH search unless it holds a '/'), into a malloc'ed path of
 * an executable regular file. EXAI_ENOENT when there is none. */
exai_status vf_run_find_cmd(const char *cmd, char **path_out, exai_error *e) EXAI_WUR;

/* Resolves @user (a name in /etc/passwd or a decimal uid; the gid is the passwd entry's,
 * else the same number) for --user. EXAI_EINVAL when there is no such user. */
exai_status vf_run_find_user(const char *user, uid_t *uid, gid_t *gid, exai_error *e) EXAI_WUR;

/* How the command is started. */
typedef struct vf_run_spawn_opts {
	bool drop_caps;	  /* remove the capabilities listed above */
	bool switch_user; /* run as @uid/@gid, with no capabilities at all */
	uid_t uid;
	gid_t gid;
	bool writable_cwd;     /* the working directory stays writable in the read-only view */
	bool stdout_to_stderr; /* the report owns stdout: send the command's stdout to stderr */
	const sigset_t *mask;  /* the signal mask the command starts with */
	/* attribution (run_egress): init writes itself into this cgroup.procs before it forks
	 * the command, so every process of the namespace is in that cgroup (NULL: stays in
	 * the verifier's); and this mount (the private bpffs) is detached in init's mount
	 * namespace, so the command never sees it (NULL: none) */
	const char *cgroup_procs;
	const char *hide_mount;
} vf_run_spawn_opts;

/* One more source the watch loop serves (attribution's event reader): @fd(@ctx) is polled
 * (a negative descriptor is skipped) and @serve(@ctx) called when it is ready. */
typedef struct vf_run_extra {
	int (*fd)(void *ctx);
	exai_status (*serve)(void *ctx, exai_error *e);
	void *ctx;
} vf_run_extra;

/* Forks init (see above), which runs @path with @argv. Returns once the command has been
 * exec'd; an exec failure is reported with its errno and init is reaped. */
exai_status vf_run_spawn(const char *path, char *const *argv, const vf_run_spawn_opts *o,
			 vf_run_child *c, exai_error *e) EXAI_WUR;

/* Serves the sink, the TUN device and @extra (NULL: none) until the command ends,
 * @timeout_ms passes or a signal arrives on @sig_fd (a signalfd, or -1); then kills what is
 * left, drains what was queued, reaps init and fills @out. */
exai_status vf_run_watch(vf_run_child *c, vf_run_sink *s, int tun_fd, int sig_fd,
			 const vf_run_extra *extra, uint64_t timeout_ms, vf_run_outcome *out,
			 exai_error *e) EXAI_WUR;

/* Kills the whole tree and reaps init; safe to call twice. */
void vf_run_child_end(vf_run_child *c);

#endif
