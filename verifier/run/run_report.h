/*
 * run_report: turns what the run mode saw into findings (verifier/report.h) and notes.
 *
 * Rules: run.egress.attempt (a packet for a non-loopback address), run.dns.lookup (a question
 * asked of the sink or sent straight to an outside resolver), run.dns.malformed (DNS messages
 * that did not parse), all severity high. An attempt matched by an --allow rule stays in the
 * report, suppressed, with the rule as the reason. Lookups cannot be allowed: an air-gapped site
 * has no public DNS, so a name that must resolve belongs in /etc/hosts.
 */
#ifndef VF_RUN_REPORT_H
#define VF_RUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "report.h"
#include "run_allow.h"
#include "run_egress_log.h"
#include "run_log.h"
#include "run_proc.h"

/* Attribution (run_egress) as the report needs it. */
typedef struct vf_run_attrib {
	bool active;		  /* events were collected */
	const char *status;	  /* the report's line: on (what) or off (why) */
	const char *trouble;	  /* what went wrong after the start, "" or NULL if nothing */
	const vf_egress_log *log; /* when active */
	bool pids_translated;	  /* run-namespace pids were looked up */
	bool counters_read;
	uint64_t kernel_lost, kernel_suppressed; /* exai-egress's counters */
} vf_run_attrib;

typedef struct vf_run_info {
	char *const *argv;	       /* the command */
	const vf_run_outcome *outcome; /* how it ended */
	uint64_t timeout_s;
	bool caps_dropped;
	const char *user; /* --user as given (NULL: not said) */
	unsigned uid;	  /* what it resolved to */
	bool writable_cwd;
	const char *masked; /* resolver sockets masked, "" if none */
	uint64_t dns_answered, dns_refused_conns;
	const vf_run_attrib *attrib; /* NULL: exai-egress not used */
} vf_run_info;

/* Declares the rules, adds one finding per attempt and per lookup, and the notes. With
 * attribution on, each attempt and lookup names the processes whose events match it
 * (protocol, address, port; a lookup by where it was sent), and an event that matches no
 * packet is an attempt of its own (packets=0: the kernel refused or dropped it before it
 * reached the TUN device, e.g. a send to a broadcast address); events for the local host
 * are not attempts and only counted. */
exai_status vf_run_report_build(vf_report *r, const vf_run_log *log, const vf_allow *allow,
				size_t nallow, const vf_run_info *info, exai_error *e) EXAI_WUR;

/* The location and evidence of an attempt, as used in its finding ("192.0.2.1:443",
 * "proto=tcp dst=192.0.2.1 port=443 packets=2"). Exposed for the tests. */
void vf_run_attempt_text(const vf_run_attempt *a, char *where, size_t wcap, char *evidence,
			 size_t ecap);

#endif
