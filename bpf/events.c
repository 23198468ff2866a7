/*
 * events.c: the ring buffer consumer behind 'exai-egress events' (events.h).
 */
#include "events.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>

#include "exai/json.h"

struct reader {
	const egress_pins *p;
	bool json;
	FILE *out;
	unsigned long count;
	int write_error;
};

static volatile sig_atomic_t stop_reading;

static void on_signal(int sig)
{
	(void)sig;
	stop_reading = 1;
}

const char *egress_hook_name(unsigned hook)
{
	static const char *const names[] = {"?",	"connect4",    "connect6",  "sendmsg4",
					    "sendmsg6", "sock_create", "skb_egress"};

	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "?";
}

const char *egress_proto_name(unsigned proto)
{
	switch (proto) {
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	default:
		return "other";
	}
}

const char *egress_reason_name(unsigned reason)
{
	static const char *const names[] = {"?",	  "no-rule",  "no-workload", "no-policy",
					    "raw-socket", "protocol", "unparsed"};

	return reason < sizeof(names) / sizeof(names[0]) ? names[reason] : "?";
}

static void workload_name(const egress_pins *p, uint64_t cgid, char *out, size_t size)
{
	struct egress_wlinfo wi;

	if (cgid && bpf_map_lookup_elem(p->maps[EGRESS_MAP_WORKLOADS], &cgid, &wi) == 0)
		snprintf(out, size, "%.*s", (int)sizeof(wi.name), wi.name);
	else
		snprintf(out, size, "%s", cgid ? "?" : "-");
}

static void event_addr(const struct egress_event *ev, char *out, size_t size)
{
	out[0] = '\0';
	if (ev->hook != EGRESS_HOOK_SOCK_CREATE && (ev->family == 4 || ev->family == 6))
		inet_ntop(ev->family == 4 ? AF_INET : AF_INET6, ev->daddr, out, (socklen_t)size);
}

json_t *egress_event_json(const egress_pins *p, const struct egress_event *ev)
{
	char addr[INET6_ADDRSTRLEN], comm[sizeof(ev->comm) + 1], wl[80];
	json_t *o = json_object();

	if (!o)
		return NULL;
	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(ev->comm), ev->comm);
	event_addr(ev, addr, sizeof(addr));
	workload_name(p, ev->workload, wl, sizeof(wl));
	exai_json_set(o, "verdict",
		      json_string(ev->verdict == EGRESS_VERDICT_AUDIT ? "audit" : "deny"));
	exai_json_set(o, "hook", json_string(egress_hook_name(ev->hook)));
	exai_json_set(o, "protocol", json_string(egress_proto_name(ev->proto)));
	exai_json_set(o, "family", json_integer(ev->family));
	if (addr[0]) {
		exai_json_set(o, "daddr", json_string(addr));
		exai_json_set(o, "dport", json_integer(ev->dport));
	}
	exai_json_set(o, "sock_type", json_integer(ev->sock_type));
	exai_json_set(o, "reason", json_string(egress_reason_name(ev->reason)));
	exai_json_set(o, "pid", json_integer(ev->pid));
	exai_json_set(o, "uid", json_integer(ev->uid));
	exai_json_set(o, "comm", json_string(comm));
	exai_json_set(o, "cgroup_id", json_integer((json_int_t)ev->cgroup_id));
	exai_json_set(o, "workload", json_string(wl));
	exai_json_set(o, "workload_cgroup_id", json_integer((json_int_t)ev->workload));
	exai_json_set(o, "generation", json_integer(ev->generation));
	exai_json_set(o, "ts_ns", json_integer((json_int_t)ev->ts_ns));
	return o;
}

static int write_json(struct reader *r, const struct egress_event *ev)
{
	json_t *o = egress_event_json(r->p, ev);
	int rc;

	if (!o)
		return -1;
	/* one compact object per line (JSON lines), so a follower can read it line by line */
	rc = json_dumpf(o, r->out, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return rc < 0 || fputc('\n', r->out) == EOF ? -1 : 0;
}

void egress_event_text(const egress_pins *p, const struct egress_event *ev, char *out, size_t cap)
{
	char addr[INET6_ADDRSTRLEN], comm[sizeof(ev->comm) + 1], wl[80],
	    dest[INET6_ADDRSTRLEN + 16];

	snprintf(comm, sizeof(comm), "%.*s", (int)sizeof(ev->comm), ev->comm);
	event_addr(ev, addr, sizeof(addr));
	workload_name(p, ev->workload, wl, sizeof(wl));
	if (!addr[0])
		snprintf(dest, sizeof(dest), "-");
	else if (ev->family == 6)
		snprintf(dest, sizeof(dest), "[%s]:%u", addr, (unsigned)ev->dport);
	else
		snprintf(dest, sizeof(dest), "%s:%u", addr, (unsigned)ev->dport);
	snprintf(out, cap,
		 "%s %s %s %s pid=%" PRIu32 " comm=%s uid=%" PRIu32 " cgroup=%" PRIu64
		 " workload=%s generation=%" PRIu32 " reason=%s",
		 ev->verdict == EGRESS_VERDICT_AUDIT ? "audit" : "deny", egress_hook_name(ev->hook),
		 egress_proto_name(ev->proto), dest, ev->pid, comm, ev->uid,
		 (uint64_t)ev->cgroup_id, wl, ev->generation, egress_reason_name(ev->reason));
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct reader *r = ctx;
	struct egress_event ev;
	char line[512];
	int rc;

	if (size < sizeof(ev))
		return 0; /* not ours: skipped */
	memcpy(&ev, data, sizeof(ev));
	if (r->json) {
		rc = write_json(r, &ev);
	} else {
		egress_event_text(r->p, &ev, line, sizeof(line));
		rc = fprintf(r->out, "%s\n", line);
	}
	if (rc < 0 || fflush(r->out) != 0) {
		r->write_error = errno ? errno : EIO;
		return -1;
	}
	r->count++;
	return 0;
}

exai_status egress_events_read(const egress_pins *p, bool follow, bool json, FILE *out,
			       unsigned long *count, exai_error *e)
{
	struct reader r = {.p = p, .json = json, .out = out};
	struct ring_buffer *rb = ring_buffer__new(p->maps[EGRESS_MAP_EVENTS], on_event, &r, NULL);
	exai_status st = EXAI_OK;
	int rc;

	if (!rb)
		return exai_error_sys(e, EXAI_EIO, "open the event ring buffer");
	if (follow) {
		stop_reading = 0;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		do
			rc = ring_buffer__poll(rb, 200);
		while (!stop_reading && (rc >= 0 || rc == -EINTR));
		if (rc == -EINTR)
			rc = 0;
	} else {
		rc = ring_buffer__consume(rb);
	}
	if (r.write_error)
		st = exai_error_set(e, EXAI_EIO, "write events: %s", strerror(r.write_error));
	else if (rc < 0 && !stop_reading)
		st = exai_error_set(e, EXAI_EIO, "read the event ring buffer: %s", strerror(-rc));
	ring_buffer__free(rb);
	*count = r.count;
	return st;
}
