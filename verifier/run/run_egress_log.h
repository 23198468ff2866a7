/*
 * run_egress_log: what exai-egress reported about the command's sockets, aggregated for the
 * report (attribution): one entry per destination (protocol, address, port) with the
 * processes that tried it, over one table of processes.
 *
 * The input is `exai-egress events --json`, one JSON object per line, produced by the
 * verifier's private audit-mode programs on the command's cgroup. Each line is parsed
 * strictly (bounded length, required members, ranges checked); a line that does not parse,
 * or that names another workload cgroup, is counted and changes nothing else. Tables are
 * capped: what does not fit is counted (lost_dests, lost_procs) and the report says so.
 * Each process is named once, when it is first seen: its pid in the run's PID namespace is
 * looked up then, while it most likely still exists (the events carry the kernel's global
 * pid). Ownership: the log owns its arrays; vf_egress_log_free() releases them.
 */
#ifndef VF_RUN_EGRESS_LOG_H
#define VF_RUN_EGRESS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"

#define VF_EGRESS_MAX_DESTS   4096 /* distinct destinations (as the attempt table) */
#define VF_EGRESS_MAX_PROCS   1024 /* distinct processes (pid, command name) */
#define VF_EGRESS_DEST_PROCS  16   /* processes listed per destination; more are counted */
#define VF_EGRESS_LINE_MAX    2048 /* one event line; exai-egress writes about 350 bytes */
#define VF_EGRESS_COMM	      16   /* TASK_COMM_LEN */
#define VF_EGRESS_WORD	      16   /* hook and reason names */
#define VF_EGRESS_PROTO_OTHER 255  /* exai-egress's "other": a protocol it does not name */

typedef struct vf_egress_proc {
	uint32_t host_pid; /* as the kernel reported it (initial PID namespace) */
	uint32_t pid;	   /* in the run's PID namespace; 0 = not known */
	char comm[VF_EGRESS_COMM + 1];
} vf_egress_proc;

typedef struct vf_egress_dest {
	int family;    /* AF_INET, AF_INET6, or 0: an event without a destination (sock_create) */
	uint8_t proto; /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or VF_EGRESS_PROTO_OTHER */
	uint8_t addr[16];
	uint16_t port;		     /* TCP/UDP destination port (0 otherwise) */
	bool unparsed;		     /* the backstop could not parse the packet's ports */
	char hook[VF_EGRESS_WORD];   /* the hook of the first event */
	char reason[VF_EGRESS_WORD]; /* its reason ("no-rule", "raw-socket", ...) */
	uint16_t sock_type;	     /* SOCK_STREAM, SOCK_DGRAM, SOCK_RAW... */
	uint64_t events;
	uint32_t procs[VF_EGRESS_DEST_PROCS]; /* indexes into the process table */
	size_t nprocs;
	uint64_t procs_more;			 /* further distinct processes, not listed */
	uint64_t seen[VF_EGRESS_MAX_PROCS / 64]; /* which processes of the table it has */
} vf_egress_dest;

/* Looks up the run-namespace pid of the process with global pid @host_pid; false when it
 * cannot be told (the process is gone, or is not in the run's namespace). */
typedef bool (*vf_egress_resolve_fn)(uint32_t host_pid, uint32_t *pid, void *ctx);

typedef struct vf_egress_log {
	vf_egress_dest *dests;
	size_t ndests, capdests;
	vf_egress_proc *procs;
	size_t nprocs, capprocs;
	uint64_t events;      /* lines taken */
	uint64_t bad_lines;   /* lines that did not parse (too long, not JSON, bad members) */
	uint64_t foreign;     /* events of another workload cgroup than @workload_id */
	uint64_t lost_dests;  /* events whose destination did not fit the table */
	uint64_t lost_procs;  /* events whose process did not fit the table */
	uint64_t unresolved;  /* processes whose run-namespace pid could not be read */
	uint64_t workload_id; /* the cgroup id the events must name; 0 = any */
	vf_egress_resolve_fn resolve; /* NULL: pids are not translated */
	void *resolve_ctx;
} vf_egress_log;

void vf_egress_log_init(vf_egress_log *l, uint64_t workload_id);
void vf_egress_log_free(vf_egress_log *l);

/* Takes one line of `exai-egress events --json` (@len bytes, no newline, not necessarily
 * NUL-terminated). A line that does not parse is counted in bad_lines and is otherwise
 * ignored; a full table is counted in lost_*. EXAI_ENOMEM only on allocation failure. */
exai_status vf_egress_log_line(vf_egress_log *l, const char *line, size_t len,
			       exai_error *e) EXAI_WUR;

/* Whether @d is the local host: 127.0.0.0/8, ::1 (exai-egress decides 0.0.0.0 and :: as
 * those), or the IPv4-mapped form of 127.0.0.0/8. Such traffic never leaves. */
bool vf_egress_dest_local(const vf_egress_dest *d);

/* The `via` text a DNS lookup made to @d would carry in the run log ("sink/udp", "sink/tcp"
 * for the verifier's sink, "198.51.100.53:53/udp" straight out); "" when @d cannot carry a
 * lookup. */
void vf_egress_dest_via(const vf_egress_dest *d, char *out, size_t cap);

/* Whether @d is about the attempt (@family, @proto, @addr, @port when @has_port): same
 * family and address; the same protocol and port, except that ICMP matches any port and an
 * unparsed packet any protocol and port. */
bool vf_egress_dest_matches(const vf_egress_dest *d, int family, uint8_t proto,
			    const uint8_t addr[16], bool has_port, uint16_t port);

#endif
