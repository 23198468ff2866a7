/*
 * run_report: findings and notes for `airgap-verifier run`.
 *
 * Every attempt and lookup becomes exactly one finding, in the order first seen; the report
 * copies every string, so the texts are built in stack buffers here.
 */
#include "run_report.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "run_ns.h"

#define RULE_ATTEMPT	"run.egress.attempt"
#define RULE_LOOKUP	"run.dns.lookup"
#define RULE_MALFORMED	"run.dns.malformed"
#define RULE_INCOMPLETE "run.incomplete"

/* The processes named for one finding: the union of its matching destinations', listed up
 * to VF_EGRESS_DEST_PROCS, the rest counted. */
typedef struct procs {
	vf_proc p[VF_EGRESS_DEST_PROCS];
	uint32_t idx[VF_EGRESS_DEST_PROCS];
	size_t n;
	uint64_t more;
} procs;

static void procs_add(procs *s, const vf_egress_log *l, const vf_egress_dest *d)
{
	for (size_t i = 0; i < d->nprocs; i++) {
		size_t k = 0;

		while (k < s->n && s->idx[k] != d->procs[i])
			k++;
		if (k < s->n)
			continue;
		if (s->n == VF_EGRESS_DEST_PROCS) {
			s->more++;
			continue;
		}
		s->idx[s->n] = d->procs[i];
		s->p[s->n].pid = l->procs[d->procs[i]].pid;
		s->p[s->n].host_pid = l->procs[d->procs[i]].host_pid;
		s->p[s->n].comm = l->procs[d->procs[i]].comm;
		s->n++;
	}
	s->more += d->procs_more;
}

/* @f names @s's processes (attribution on). */
static void procs_set(vf_finding *f, const procs *s)
{
	f->attributed = true;
	f->procs = s->p;
	f->nprocs = s->n;
	f->procs_more = s->more;
}

/* Whether attribution is on for this report. */
static bool attributing(const vf_run_info *in)
{
	return in->attrib && in->attrib->active && in->attrib->log;
}

void vf_run_attempt_text(const vf_run_attempt *a, char *where, size_t wcap, char *evidence,
			 size_t ecap)
{
	char addr[VF_PKT_ADDR_TEXT], pb[24], extra[32];
	vf_pkt p;

	memset(&p, 0, sizeof(p));
	p.family = a->family;
	memcpy(p.dst, a->dst, sizeof(p.dst));
	vf_pkt_dst_text(&p, addr, sizeof(addr));
	if (a->has_port)
		snprintf(where, wcap, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", addr, a->port);
	else
		snprintf(where, wcap, "%s", addr);
	if (a->has_port)
		snprintf(extra, sizeof(extra), " port=%u", a->port);
	else if (a->has_icmp)
		snprintf(extra, sizeof(extra), " icmp_type=%u", a->icmp_type);
	else
		snprintf(extra, sizeof(extra), " fragment");
	snprintf(evidence, ecap, "proto=%s dst=%s%s packets=%llu",
		 vf_pkt_proto_name(a->proto, pb, sizeof(pb)), addr,
		 a->proto == IPPROTO_TCP || a->proto == IPPROTO_UDP || a->has_icmp ? extra : "",
		 (unsigned long long)a->packets);
}

/* @f as a run.egress.attempt finding at @where (a logical location: an address, not a file),
 * with the hint naming the --allow that would admit it (@hint, @hcap), suppressed when @hit
 * (an --allow entry) admits it (the reason into @reason, @rcap). */
static void attempt_finding(vf_finding *f, const char *where, const char *evidence,
			    const char *message, const char *addr, bool v6, const char *port,
			    const vf_allow *hit, char *hint, size_t hcap, char *reason, size_t rcap)
{
	snprintf(hint, hcap,
		 "make the program use an on-site endpoint or turn this feature off; if this "
		 "destination is intended, allow it with --allow %s%s%s:%s",
		 v6 ? "[" : "", addr, v6 ? "]" : "", port);
	memset(f, 0, sizeof(*f));
	f->rule_id = RULE_ATTEMPT;
	f->severity = VF_SEV_HIGH;
	f->path = where;
	f->logical = true;
	f->evidence = evidence;
	f->message = message;
	f->hint = hint;
	if (hit) {
		snprintf(reason, rcap, "allowed by --allow %s", hit->text);
		f->suppressed = true;
		f->suppress_reason = reason;
	}
}

static exai_status add_attempt(vf_report *r, const vf_run_attempt *a, const vf_allow *allow,
			       size_t nallow, const vf_run_info *in, bool *used, exai_error *e)
{
	procs ps = {.n = 0};
	char where[96], evidence[192], message[256], hint[384], reason[128], pb[24], port[8];
	char addr[VF_PKT_ADDR_TEXT];
	const vf_allow *hit = vf_allow_find(allow, nallow, a->family, a->dst, a->has_port, a->port);
	bool v6 = a->family == AF_INET6;
	vf_pkt p = {.family = a->family};
	vf_finding f;

	memcpy(p.dst, a->dst, sizeof(p.dst));
	vf_pkt_dst_text(&p, addr, sizeof(addr));
	vf_run_attempt_text(a, where, sizeof(where), evidence, sizeof(evidence));
	snprintf(message, sizeof(message),
		 "%s traffic to %s tried to leave the namespace (%llu packet%s, dropped)",
		 vf_pkt_proto_name(a->proto, pb, sizeof(pb)), where, (unsigned long long)a->packets,
		 a->packets == 1 ? "" : "s");
	if (a->has_port)
		snprintf(port, sizeof(port), "%u", a->port);
	else
		snprintf(port, sizeof(port), "*");
	attempt_finding(&f, where, evidence, message, addr, v6, port, hit, hint, sizeof(hint),
			reason, sizeof(reason));
	if (attributing(in)) {
		const vf_egress_log *l = in->attrib->log;

		for (size_t i = 0; i < l->ndests; i++)
			if (vf_egress_dest_matches(&l->dests[i], a->family, a->proto, a->dst,
						   a->has_port, a->port)) {
				procs_add(&ps, l, &l->dests[i]);
				used[i] = true;
			}
		procs_set(&f, &ps);
	}
	return vf_report_add(r, &f, e);
}

/* The processes of the destinations whose lookup `via` is @via (marked used). */
static void lookup_procs(const vf_run_info *in, const char *via, bool *used, vf_finding *f,
			 procs *ps)
{
	const vf_egress_log *l;
	char dv[VF_RUN_VIA_TEXT];

	if (!attributing(in))
		return;
	l = in->attrib->log;
	for (size_t i = 0; i < l->ndests; i++) {
		vf_egress_dest_via(&l->dests[i], dv, sizeof(dv));
		if (dv[0] &&
		    (strcmp(dv, via) == 0 || (!strcmp(via, "sink") && !strncmp(dv, "sink/", 5)))) {
			procs_add(ps, l, &l->dests[i]);
			used[i] = true;
		}
	}
	procs_set(f, ps);
}

/* An attempt that only exai-egress saw: its event matched no packet, so the kernel refused
 * or dropped it before it reached the TUN device (a send to a broadcast address, a route
 * error). Still an attempt: reported, never lost. */
static exai_status add_event_attempt(vf_report *r, const vf_egress_log *l, const vf_egress_dest *d,
				     const vf_allow *allow, size_t nallow, exai_error *e)
{
	char where[96], evidence[256], message[320], hint[384], reason[128], pb[24], port[8];
	char addr[INET6_ADDRSTRLEN] = "?";
	bool has_port = !d->unparsed && (d->proto == IPPROTO_TCP || d->proto == IPPROTO_UDP);
	bool v6 = d->family == AF_INET6;
	const char *proto = d->proto == VF_EGRESS_PROTO_OTHER
				? "other"
				: vf_pkt_proto_name(d->proto, pb, sizeof(pb));
	const vf_allow *hit =
	    vf_allow_find(allow, nallow, d->family, d->addr, has_port, has_port ? d->port : 0);
	procs ps = {.n = 0};
	vf_finding f;

	inet_ntop(d->family, d->addr, addr, sizeof(addr));
	if (has_port)
		snprintf(where, sizeof(where), v6 ? "[%s]:%u" : "%s:%u", addr, d->port);
	else
		snprintf(where, sizeof(where), "%s", addr);
	snprintf(port, sizeof(port), has_port ? "%u" : "*", d->port);
	snprintf(evidence, sizeof(evidence),
		 "proto=%s dst=%s%s%s packets=0 seen_by=exai-egress hook=%s%s%s",
		 d->unparsed ? "unparsed" : proto, addr, has_port ? " port=" : "",
		 has_port ? port : "", d->hook, d->unparsed ? " reason=" : "",
		 d->unparsed ? d->reason : "");
	snprintf(message, sizeof(message),
		 "%s traffic to %s was attempted (exai-egress saw it at %s) but no packet reached "
		 "the namespace's TUN device: the kernel refused or dropped it first",
		 proto, where, d->hook);
	attempt_finding(&f, where, evidence, message, addr, v6, port, hit, hint, sizeof(hint),
			reason, sizeof(reason));
	procs_add(&ps, l, d);
	procs_set(&f, &ps);
	return vf_report_add(r, &f, e);
}

static exai_status add_lookup(vf_report *r, const vf_run_lookup *l, const vf_run_info *in,
			      bool *used, exai_error *e)
{
	procs ps = {.n = 0};
	char tb[16], evidence[VF_DNS_TEXT_NAME + 128], message[VF_DNS_TEXT_NAME + 192];
	const char *type = vf_dns_type_name(l->qtype, tb, sizeof(tb));
	bool sink = strncmp(l->via, "sink/", 5) == 0;
	vf_finding f;

	snprintf(evidence, sizeof(evidence), "qname=%s qtype=%s via=%s count=%llu", l->name, type,
		 l->via, (unsigned long long)l->count);
	snprintf(message, sizeof(message), "DNS lookup of %s (%s), %s", l->name, type,
		 sink ? "asked of the resolver in /etc/resolv.conf (answered NXDOMAIN)"
		      : "sent straight to an outside resolver (dropped)");
	memset(&f, 0, sizeof(f));
	f.rule_id = RULE_LOOKUP;
	f.severity = VF_SEV_HIGH;
	f.path = l->name;
	f.logical = true;
	f.evidence = evidence;
	f.message = message;
	f.hint = "remove the need for this name (an air-gapped site has no public DNS), or give "
		 "the program an on-site address or an /etc/hosts entry";
	lookup_procs(in, l->via, used, &f, &ps);
	return vf_report_add(r, &f, e);
}

static exai_status add_malformed(vf_report *r, uint64_t n, const vf_run_info *in, bool *used,
				 exai_error *e)
{
	char evidence[64];
	procs ps = {.n = 0};
	vf_finding f;

	snprintf(evidence, sizeof(evidence), "messages=%llu", (unsigned long long)n);
	memset(&f, 0, sizeof(f));
	f.rule_id = RULE_MALFORMED;
	f.severity = VF_SEV_HIGH;
	f.path = VF_RUN_DNS_ADDR ":53";
	f.logical = true;
	f.evidence = evidence;
	f.message = "DNS messages that could not be parsed were sent (each is still a lookup "
		    "attempt)";
	f.hint = "run the program under a packet capture inside the namespace to see what it sends";
	lookup_procs(in, "sink", used, &f, &ps); /* whoever sent to the sink */
	return vf_report_add(r, &f, e);
}

/* What the run saw but could not itemise: attempts past the table, DNS connections closed
 * unread, packets that did not parse. Any of them means the run cannot show that nothing
 * left, so it is a finding (high), never only a note. */
static exai_status add_incomplete(vf_report *r, const vf_run_log *log, const vf_run_info *in,
				  exai_error *e)
{
	uint64_t lost_events = attributing(in) ? in->attrib->log->lost_dests : 0;
	char evidence[256];
	size_t n;
	vf_finding f;

	if (!log->lost_attempts && !log->lost_lookups && !in->dns_refused_conns &&
	    !log->bad_packets && !lost_events)
		return EXAI_OK;
	n = (size_t)snprintf(
	    evidence, sizeof(evidence),
	    "attempts_not_itemised=%llu lookups_not_itemised=%llu dns_conns_closed_unread=%llu "
	    "unparsable_packets=%llu",
	    (unsigned long long)log->lost_attempts, (unsigned long long)log->lost_lookups,
	    (unsigned long long)in->dns_refused_conns, (unsigned long long)log->bad_packets);
	if (lost_events && n < sizeof(evidence))
		snprintf(evidence + n, sizeof(evidence) - n,
			 " egress_destinations_not_itemised=%llu", (unsigned long long)lost_events);
	memset(&f, 0, sizeof(f));
	f.rule_id = RULE_INCOMPLETE;
	f.severity = VF_SEV_HIGH;
	f.path = "-";
	f.logical = true;
	f.evidence = evidence;
	f.message = "the run saw traffic it could not itemise (a table limit was reached, DNS "
		    "connections were closed unread, or packets did not parse): it cannot show "
		    "that nothing left";
	f.hint = "run the program on a smaller case, or under a packet capture inside the "
		 "namespace, and look at what it sends";
	return vf_report_add(r, &f, e);
}

/* Formats and adds one note. */
static exai_status note(vf_report *r, exai_error *e, const char *fmt, ...) EXAI_PRINTF(3, 4);
static exai_status note(vf_report *r, exai_error *e, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return vf_report_note(r, buf, e);
}

static exai_status outcome_notes(vf_report *r, const vf_run_info *in, exai_error *e)
{
	const vf_run_outcome *o = in->outcome;
	char cmd[512] = "";
	size_t i, n = 0;
	exai_status st;

	for (i = 0; in->argv[i] && n < sizeof(cmd) - 1; i++)
		n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s%s", i ? " " : "", in->argv[i]);
	st = note(r, e, "command: %s", cmd);
	if (st == EXAI_OK && o->timed_out)
		st = note(r, e,
			  "timed out after %llu s: the command and every process it started were "
			  "killed",
			  (unsigned long long)in->timeout_s);
	else if (st == EXAI_OK && o->interrupted)
		st = note(r, e,
			  "interrupted by signal %d: the command was killed; the run is "
			  "incomplete",
			  o->signal);
	else if (st == EXAI_OK && WIFEXITED(o->wstatus))
		st = note(r, e, "command exit status: %d", WEXITSTATUS(o->wstatus));
	else if (st == EXAI_OK && WIFSIGNALED(o->wstatus))
		st = note(r, e, "command killed by signal %d", WTERMSIG(o->wstatus));
	if (st == EXAI_OK && o->leftovers)
		st = note(r, e, "%u process%s the command left running %s killed when it exited",
			  o->leftovers, o->leftovers == 1 ? "" : "es",
			  o->leftovers == 1 ? "was" : "were");
	if (st == EXAI_OK)
		st = note(r, e, "duration: %llu ms", (unsigned long long)o->elapsed_ms);
	return st;
}

static exai_status isolation_notes(vf_report *r, const vf_run_log *log, const vf_run_info *in,
				   exai_error *e)
{
	exai_status st;

	st = note(r, e,
		  "isolation: network namespace with only lo and TUN %s; the IPv4 and IPv6 default "
		  "routes lead into it and every packet read from it is recorded and dropped; DNS "
		  "sink at %s:53 (udp, tcp) named by a private /etc/resolv.conf",
		  VF_RUN_TUN_NAME, VF_RUN_DNS_ADDR);
	if (st == EXAI_OK && in->masked[0])
		st = note(r, e, "resolver daemon sockets hidden from the command: %s", in->masked);
	if (st == EXAI_OK)
		st = note(r, e,
			  in->caps_dropped ? "the command ran without CAP_SYS_ADMIN, "
					     "CAP_NET_ADMIN, CAP_SYS_MODULE, CAP_SYS_PTRACE, "
					     "CAP_SYS_RAWIO, CAP_BPF and CAP_PERFMON"
					   : "--keep-caps: the command kept every capability "
					     "and could have changed its namespace's routes");
	if (st == EXAI_OK && in->user)
		st = note(
		    r, e,
		    "the command ran as %s (uid %u)%s with no_new_privs, a read-only view of / "
		    "(a private writable /tmp over the host's%s) and AF_VSOCK sockets refused",
		    in->user, in->uid, in->uid ? ", with no capabilities," : "",
		    in->writable_cwd ? "; the working directory writable" : "");
	if (st == EXAI_OK && !in->attrib)
		st = note(r, e,
			  "exai-egress: not used (attempts are not attributed to a pid or "
			  "command)");
	else if (st == EXAI_OK)
		st = note(r, e, "exai-egress: %s", in->attrib->status);
	if (st == EXAI_OK)
		st = note(r, e,
			  "counts: %llu DNS answers sent, %llu kernel IPv6 link packets ignored, "
			  "%llu unparsable packets dropped",
			  (unsigned long long)in->dns_answered,
			  (unsigned long long)log->link_chatter,
			  (unsigned long long)log->bad_packets);
	if (st == EXAI_OK && (log->lost_attempts || log->lost_lookups))
		st = note(r, e,
			  "table full: %llu further attempts and %llu further lookups were "
			  "seen but not itemised",
			  (unsigned long long)log->lost_attempts,
			  (unsigned long long)log->lost_lookups);
	if (st == EXAI_OK && in->dns_refused_conns)
		st = note(r, e, "%llu DNS TCP connections over the limit were closed",
			  (unsigned long long)in->dns_refused_conns);
	return st;
}

/* One note for the events without a destination (a raw socket, a protocol exai-egress does
 * not name): not attempts themselves (their packets are), but who opened what. */
static exai_status socket_note(vf_report *r, const vf_egress_log *l, const vf_egress_dest *d,
			       exai_error *e)
{
	char text[1024], pb[24];
	size_t n;
	procs ps = {.n = 0};

	procs_add(&ps, l, d);
	n = (size_t)snprintf(
	    text, sizeof(text), "exai-egress: %s socket (type %u, protocol %s) opened by ",
	    strcmp(d->reason, "raw-socket") == 0 ? "a raw" : "an unusual", d->sock_type,
	    d->proto == VF_EGRESS_PROTO_OTHER ? "other"
					      : vf_pkt_proto_name(d->proto, pb, sizeof(pb)));
	for (size_t i = 0; i < ps.n && n < sizeof(text); i++) {
		char pid[16] = "?";

		if (ps.p[i].pid)
			snprintf(pid, sizeof(pid), "%u", ps.p[i].pid);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%spid %s (host %u) %s",
				      i ? ", " : "", pid, ps.p[i].host_pid, ps.p[i].comm);
	}
	if (ps.n == 0 && n < sizeof(text))
		snprintf(text + n, sizeof(text) - n, "an unnamed process");
	return note(r, e, "%s", text);
}

/* Event-only attempts, the notes on what exai-egress saw, and how complete it is. */
static exai_status attrib_rest(vf_report *r, const vf_run_info *in, const bool *used,
			       const vf_allow *allow, size_t nallow, exai_error *e)
{
	const vf_run_attrib *at = in->attrib;
	const vf_egress_log *l = at->log;
	uint64_t local = 0, sockets = 0;
	exai_status st = EXAI_OK;

	for (size_t i = 0; st == EXAI_OK && i < l->ndests; i++) {
		const vf_egress_dest *d = &l->dests[i];

		if (used[i])
			continue;
		if (!d->family && sockets++ < 8)
			st = socket_note(r, l, d, e);
		else if (d->family && vf_egress_dest_local(d))
			local++;
		else if (d->family)
			st = add_event_attempt(r, l, d, allow, nallow, e);
	}
	if (st == EXAI_OK)
		st = note(r, e,
			  "exai-egress: %llu events from %zu processes; %llu local-host "
			  "destinations (not egress) not itemised",
			  (unsigned long long)l->events, l->nprocs, (unsigned long long)local);
	if (st == EXAI_OK && sockets > 8)
		st = note(r, e, "exai-egress: %llu more raw or unusual sockets not listed",
			  (unsigned long long)(sockets - 8));
	if (st == EXAI_OK && !at->pids_translated)
		st = note(
		    r, e,
		    "exai-egress: pids are the kernel's global ones (pid ?): the verifier does "
		    "not run in the initial PID namespace, so the run's pids are not known");
	else if (st == EXAI_OK && l->unresolved)
		st = note(
		    r, e,
		    "exai-egress: %llu processes had ended before they could be named by their "
		    "pid in the run (pid ?; the host pid is the kernel's)",
		    (unsigned long long)l->unresolved);
	if (st == EXAI_OK && (l->bad_lines || l->foreign || l->lost_procs || l->lost_dests ||
			      (at->counters_read && at->kernel_lost)))
		st = note(
		    r, e,
		    "exai-egress: attribution incomplete: %llu events lost in the kernel (ring "
		    "buffer full), %llu destinations and %llu processes past the tables, %llu "
		    "event lines unreadable, %llu for another cgroup",
		    (unsigned long long)at->kernel_lost, (unsigned long long)l->lost_dests,
		    (unsigned long long)l->lost_procs, (unsigned long long)l->bad_lines,
		    (unsigned long long)l->foreign);
	if (st == EXAI_OK && !at->counters_read)
		st = note(r, e,
			  "exai-egress: its counters could not be read: events may have been "
			  "lost unseen");
	if (st == EXAI_OK && at->trouble && at->trouble[0])
		st = note(r, e, "exai-egress: trouble: %s", at->trouble);
	return st;
}

exai_status vf_run_report_build(vf_report *r, const vf_run_log *log, const vf_allow *allow,
				size_t nallow, const vf_run_info *info, exai_error *e)
{
	bool *used = NULL;
	exai_status st;
	size_t i;

	if (attributing(info) && info->attrib->log->ndests &&
	    !(used = calloc(info->attrib->log->ndests, sizeof(*used))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");

	st = vf_report_rule(r, RULE_ATTEMPT, VF_SEV_HIGH,
			    "a packet for a non-loopback address tried to leave", e);
	if (st == EXAI_OK)
		st = vf_report_rule(r, RULE_LOOKUP, VF_SEV_HIGH, "a DNS name was looked up", e);
	if (st == EXAI_OK)
		st = vf_report_rule(r, RULE_MALFORMED, VF_SEV_HIGH,
				    "DNS messages that could not be parsed were sent", e);
	if (st == EXAI_OK)
		st = outcome_notes(r, info, e);
	if (st == EXAI_OK)
		st = isolation_notes(r, log, info, e);
	for (i = 0; st == EXAI_OK && i < log->nattempts; i++)
		st = add_attempt(r, &log->attempts[i], allow, nallow, info, used, e);
	for (i = 0; st == EXAI_OK && i < log->nlookups; i++)
		st = add_lookup(r, &log->lookups[i], info, used, e);
	if (st == EXAI_OK && log->malformed_dns)
		st = add_malformed(r, log->malformed_dns, info, used, e);
	if (st == EXAI_OK && attributing(info))
		st = attrib_rest(r, info, used ? used : (bool[1]){false}, allow, nallow, e);
	if (st == EXAI_OK)
		st = vf_report_rule(r, RULE_INCOMPLETE, VF_SEV_HIGH,
				    "the run saw traffic it could not itemise", e);
	if (st == EXAI_OK)
		st = add_incomplete(r, log, info, e);
	free(used);
	return st;
}
