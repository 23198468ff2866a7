/*
 * run_egress: attribution of the run's attempts to processes, through exai-egress.
 *
 * When exai-egress is usable, the verifier puts its own policy in force with it: one
 * workload (a cgroup made for this run, below the verifier's own), no rules, audit mode. So
 * every connect and send of the command's sockets is an event naming the process that made
 * the socket, and nothing the command sees changes (audit mode refuses nothing; the TUN sink
 * stays the ground truth of what tried to leave). The command's namespace init joins that
 * cgroup before it forks the command (vf_run_spawn_opts.cgroup_procs), so no socket of the
 * command is made outside it.
 *
 * Nothing of the host's own exai-egress is touched: the programs are pinned in a bpffs
 * mounted for this run only over /sys/fs/bpf, in the verifier's private mount namespace
 * (so the host's pins are hidden from every exai-egress it starts; the command's init
 * detaches it again, so the command sees the host's /sys/fs/bpf as before), and they go
 * away with that namespace even when the verifier is killed. The policy file is removed
 * once applied. The verifier also detaches the programs and removes the cgroup; only that
 * empty cgroup stays behind if the verifier is killed with SIGKILL.
 * exai-egress is run as a child: `apply`, `events --follow --json` for the whole run (so a
 * process is named while it lives), one more `events --json` to drain, `status --json` for
 * the lost-event counter, `detach`. Its own `run` is not used: its sandbox (no CAP_NET_RAW,
 * a socket family allow-list) would change what the command sees, and it would have to be
 * the last step before exec, where the verifier's own confinement is.
 *
 * Pids: the kernel reports global pids; each process is also named by its pid in the run's
 * PID namespace (what the command itself sees), read from /proc when the process is first
 * seen, provided the verifier runs in the initial PID namespace and the process is in the
 * run's. A process that ended before its first event was read keeps only its global pid.
 */
#ifndef VF_RUN_EGRESS_H
#define VF_RUN_EGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "exai/error.h"
#include "run_egress_log.h"

typedef enum vf_egress_want {
	VF_EGRESS_AUTO = 0, /* use exai-egress when it is found and works; else say why */
	VF_EGRESS_OFF,	    /* --no-egress */
	VF_EGRESS_REQUIRED  /* --egress PATH: refuse the run when it cannot be used */
} vf_egress_want;

#define VF_EGRESS_TEXT 768

typedef struct vf_run_egress {
	bool active;		      /* attribution is on */
	char status[VF_EGRESS_TEXT];  /* the report's line: on (what) or off (why) */
	char trouble[VF_EGRESS_TEXT]; /* what went wrong after the start, "" if nothing */
	char *bin;		      /* exai-egress */
	char *dir;		      /* temp dir of policy.yaml, until apply has read it */
	char *mnt;		      /* the private bpffs: /sys/fs/bpf */
	char *pins;		      /* mnt/airgap-verifier-run: the pin dir */
	char *cgroup;		      /* the workload cgroup made for the run */
	char *cgroup_procs;	      /* its cgroup.procs */
	bool mounted, cgroup_made, applied;
	pid_t follower; /* `events --follow`, or -1 */
	int follow_fd;	/* its stdout, or -1 (at its end) */
	char line[VF_EGRESS_LINE_MAX + 1];
	size_t nline;
	bool overlong;	/* the line being read is over VF_EGRESS_LINE_MAX: skipped */
	char pidns[64]; /* "pid:[N]" of the run's PID namespace; "" = pids not translated */
	bool init_ns;	/* the verifier runs in the initial PID namespace */
	uint64_t kernel_lost, kernel_suppressed; /* exai-egress's counters at the end */
	bool counters_read;
	vf_egress_log log;
} vf_run_egress;

/* A fresh, inactive session (safe to finish and free). */
void vf_run_egress_init(vf_run_egress *g);

/* Finds exai-egress (@path as given, else "exai-egress" on $PATH, else the installed
 * location), makes the cgroup, the private bpffs and the policy, applies it and starts
 * reading events. Call in the verifier's private mount namespace (made private), before the
 * command is spawned. With VF_EGRESS_OFF, or with VF_EGRESS_AUTO when something is missing
 * or fails, the session stays inactive with the reason in @status and EXAI_OK is returned
 * (whatever was made is removed); with VF_EGRESS_REQUIRED such a failure is the error. */
exai_status vf_run_egress_start(vf_run_egress *g, vf_egress_want want, const char *path,
				exai_error *e) EXAI_WUR;

/* After the spawn: the run's PID namespace, taken from its init @init_pid (global pid), so
 * that processes can be named by their pid in it. */
void vf_run_egress_set_pidns(vf_run_egress *g, pid_t init_pid);

/* The descriptor to poll for events (-1 when there is none), and reading what is ready on
 * it. EXAI_ENOMEM only; a reader that ended is noted (and drained at the finish). */
int vf_run_egress_fd(void *g);
exai_status vf_run_egress_serve(void *g, exai_error *e) EXAI_WUR;

/* After the command has ended: stops the reader, drains the events left, reads the
 * counters, detaches and removes everything made. Problems are noted in @trouble (the
 * attempts themselves are unaffected). Safe on an inactive session. */
void vf_run_egress_finish(vf_run_egress *g);

/* Removes whatever is left (also after a failure before finish) and frees. */
void vf_run_egress_free(vf_run_egress *g);

#endif
