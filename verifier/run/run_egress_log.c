/*
 * run_egress_log: exai-egress's event lines, parsed and aggregated (run_egress_log.h).
 *
 * Invariants: every destination's process indexes point into the process table; a process
 * is added to the table once, and named (its run-namespace pid looked up) then.
 */
#include "run_egress_log.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exai/grow.h"
#include "run_ns.h"

void vf_egress_log_init(vf_egress_log *l, uint64_t workload_id)
{
	memset(l, 0, sizeof(*l));
	l->workload_id = workload_id;
}

void vf_egress_log_free(vf_egress_log *l)
{
	free(l->dests);
	free(l->procs);
	l->dests = NULL;
	l->procs = NULL;
	l->ndests = l->capdests = l->nprocs = l->capprocs = 0;
}

/* One event, as parsed from its line. */
typedef struct event {
	vf_egress_dest d; /* key and first hook/reason; no processes */
	uint32_t pid;
	char comm[VF_EGRESS_COMM + 1];
	uint64_t workload;
} event;

/* @key's string member of @o into @out (at most @cap - 1 bytes); false if absent, not a
 * string, empty, too long or holding a NUL. */
static bool get_str(json_t *o, const char *key, char *out, size_t cap)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	if (n == 0 || n >= cap || strlen(json_string_value(v)) != n)
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

/* @key's integer member of @o, in [@lo, @hi]. */
static bool get_int(json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool proto_of(const char *name, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} t[] = {{"tcp", IPPROTO_TCP},
		 {"udp", IPPROTO_UDP},
		 {"icmp", IPPROTO_ICMP},
		 {"icmpv6", IPPROTO_ICMPV6},
		 {"other", VF_EGRESS_PROTO_OTHER}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(name, t[i].name) == 0) {
			*out = t[i].proto;
			return true;
		}
	return false;
}

/* The destination members: "family", and with "daddr" the address and "dport". */
static bool parse_dest(json_t *o, event *ev)
{
	char addr[INET6_ADDRSTRLEN];
	json_int_t family, port;

	if (!get_int(o, "family", 0, 6, &family) || (family != 0 && family != 4 && family != 6))
		return false;
	if (!json_object_get(o, "daddr")) {
		ev->d.family = 0; /* sock_create, or a packet that is not IP */
		return !json_object_get(o, "dport");
	}
	if (family == 0 || !get_str(o, "daddr", addr, sizeof(addr)) ||
	    !get_int(o, "dport", 0, 65535, &port))
		return false;
	ev->d.family = family == 4 ? AF_INET : AF_INET6;
	if (inet_pton(ev->d.family, addr, ev->d.addr) != 1)
		return false;
	ev->d.unparsed = strcmp(ev->d.reason, "unparsed") == 0;
	if (!ev->d.unparsed && (ev->d.proto == IPPROTO_TCP || ev->d.proto == IPPROTO_UDP))
		ev->d.port = (uint16_t)port;
	return true;
}

/* Parses one line into @ev; false when it is not an exai-egress event. */
static bool parse_event(const char *line, size_t len, event *ev)
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	char proto[VF_EGRESS_WORD];
	json_int_t pid, sock_type, workload;
	bool ok;

	memset(ev, 0, sizeof(*ev));
	ok = json_is_object(o) && get_str(o, "hook", ev->d.hook, sizeof(ev->d.hook)) &&
	     get_str(o, "reason", ev->d.reason, sizeof(ev->d.reason)) &&
	     get_str(o, "protocol", proto, sizeof(proto)) && proto_of(proto, &ev->d.proto) &&
	     get_int(o, "sock_type", 0, 65535, &sock_type) &&
	     get_int(o, "pid", 0, UINT32_MAX, &pid) &&
	     get_int(o, "workload_cgroup_id", 0, INT64_MAX, &workload) && parse_dest(o, ev);
	/* the command name: empty for an event without a task */
	ok = ok && (get_str(o, "comm", ev->comm, sizeof(ev->comm)) ||
		    (json_is_string(json_object_get(o, "comm")) &&
		     json_string_length(json_object_get(o, "comm")) == 0));
	if (ok) {
		ev->d.sock_type = (uint16_t)sock_type;
		ev->pid = (uint32_t)pid;
		ev->workload = (uint64_t)workload;
	}
	json_decref(o);
	return ok;
}

static bool same_dest(const vf_egress_dest *a, const vf_egress_dest *b)
{
	if (a->family != b->family || a->proto != b->proto)
		return false;
	if (a->family == 0) /* no destination: kept apart by kind */
		return a->sock_type == b->sock_type && strcmp(a->reason, b->reason) == 0;
	return a->port == b->port && a->unparsed == b->unparsed &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* The table index of @ev's process (added, and named, when new); -1 when the table is full
 * (counted) or the event names no process. */
static long proc_index(vf_egress_log *l, const event *ev, exai_status *st, exai_error *e)
{
	vf_egress_proc *p;

	*st = EXAI_OK;
	if (ev->pid == 0)
		return -1;
	for (size_t i = 0; i < l->nprocs; i++)
		if (l->procs[i].host_pid == ev->pid && strcmp(l->procs[i].comm, ev->comm) == 0)
			return (long)i;
	if (l->nprocs == VF_EGRESS_MAX_PROCS) {
		l->lost_procs++;
		return -1;
	}
	*st = EXAI_GROW(&l->procs, &l->capprocs, l->nprocs, 1, VF_EGRESS_MAX_PROCS, e);
	if (*st != EXAI_OK)
		return -1;
	p = &l->procs[l->nprocs];
	memset(p, 0, sizeof(*p));
	p->host_pid = ev->pid;
	memcpy(p->comm, ev->comm, sizeof(p->comm));
	if (!l->resolve || !l->resolve(ev->pid, &p->pid, l->resolve_ctx)) {
		p->pid = 0;
		l->unresolved++;
	}
	return (long)l->nprocs++;
}

/* @ev's destination entry (added when new); NULL when the table is full (counted). */
static vf_egress_dest *dest_of(vf_egress_log *l, const event *ev, exai_status *st, exai_error *e)
{
	*st = EXAI_OK;
	for (size_t i = 0; i < l->ndests; i++)
		if (same_dest(&l->dests[i], &ev->d))
			return &l->dests[i];
	if (l->ndests == VF_EGRESS_MAX_DESTS) {
		l->lost_dests++;
		return NULL;
	}
	*st = EXAI_GROW(&l->dests, &l->capdests, l->ndests, 1, VF_EGRESS_MAX_DESTS, e);
	if (*st != EXAI_OK)
		return NULL;
	l->dests[l->ndests] = ev->d;
	return &l->dests[l->ndests++];
}

static void dest_add_proc(vf_egress_dest *d, long pi)
{
	if (pi < 0 || (d->seen[pi / 64] >> (pi % 64) & 1))
		return;
	d->seen[pi / 64] |= 1ull << (pi % 64);
	if (d->nprocs < VF_EGRESS_DEST_PROCS)
		d->procs[d->nprocs++] = (uint32_t)pi;
	else
		d->procs_more++;
}

exai_status vf_egress_log_line(vf_egress_log *l, const char *line, size_t len, exai_error *e)
{
	vf_egress_dest *d;
	exai_status st;
	event ev;
	long pi;

	if (len > VF_EGRESS_LINE_MAX || !parse_event(line, len, &ev)) {
		l->bad_lines++;
		return EXAI_OK;
	}
	if (l->workload_id && ev.workload != l->workload_id) {
		l->foreign++;
		return EXAI_OK;
	}
	l->events++;
	pi = proc_index(l, &ev, &st, e);
	if (st != EXAI_OK)
		return exai_error_prefix(e, "exai-egress processes");
	d = dest_of(l, &ev, &st, e);
	if (st != EXAI_OK)
		return exai_error_prefix(e, "exai-egress destinations");
	if (!d)
		return EXAI_OK;
	d->events++;
	dest_add_proc(d, pi);
	return EXAI_OK;
}

bool vf_egress_dest_local(const vf_egress_dest *d)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t one[16] = {[15] = 1};

	if (d->family == AF_INET)
		return d->addr[0] == 127;
	if (d->family == AF_INET6)
		return memcmp(d->addr, one, 16) == 0 ||
		       (memcmp(d->addr, mapped, 12) == 0 && d->addr[12] == 127);
	return false;
}

void vf_egress_dest_via(const vf_egress_dest *d, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN], sink[4];

	out[0] = '\0';
	if (!d->family || d->unparsed || (d->proto != IPPROTO_UDP && d->proto != IPPROTO_TCP))
		return;
	if (d->family == AF_INET && d->port == 53 &&
	    inet_pton(AF_INET, VF_RUN_DNS_ADDR, sink) == 1 && memcmp(d->addr, sink, 4) == 0) {
		snprintf(out, cap, "sink/%s", d->proto == IPPROTO_UDP ? "udp" : "tcp");
		return;
	}
	if (d->proto != IPPROTO_UDP || !inet_ntop(d->family, d->addr, addr, sizeof(addr)))
		return;
	snprintf(out, cap, d->family == AF_INET6 ? "[%s]:%u/udp" : "%s:%u/udp", addr, d->port);
}

bool vf_egress_dest_matches(const vf_egress_dest *d, int family, uint8_t proto,
			    const uint8_t addr[16], bool has_port, uint16_t port)
{
	size_t alen = family == AF_INET ? 4 : 16;

	if (d->family != family || memcmp(d->addr, addr, alen) != 0)
		return false;
	if (d->unparsed)
		return true;
	if (d->proto != proto)
		return false;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		return true;
	return has_port ? d->port == port : true;
}
