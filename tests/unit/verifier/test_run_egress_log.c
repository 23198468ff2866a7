/* Check suite for verifier/run/run_egress_log.c: exai-egress event lines for attribution. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "run_egress_log.h"
#include "testutil.h"

#define WL 4242

/* An event line as `exai-egress events --json` writes it. */
static size_t line(char *buf, size_t cap, const char *hook, const char *proto, int family,
		   const char *daddr, int dport, unsigned pid, const char *comm, unsigned wl)
{
	char dest[96] = "";

	if (daddr)
		snprintf(dest, sizeof(dest), "\"daddr\":\"%s\",\"dport\":%d,", daddr, dport);
	return (size_t)snprintf(
	    buf, cap,
	    "{\"verdict\":\"audit\",\"hook\":\"%s\",\"protocol\":\"%s\",\"family\":%d,%s"
	    "\"sock_type\":2,\"reason\":\"no-rule\",\"pid\":%u,\"uid\":65534,\"comm\":\"%s\","
	    "\"cgroup_id\":%u,\"workload\":\"airgap-verifier-run\",\"workload_cgroup_id\":%u,"
	    "\"generation\":1,\"ts_ns\":12345}",
	    hook, proto, family, dest, pid, comm, wl, wl);
}

static void take(vf_egress_log *l, const char *s)
{
	exai_error e;

	ck_assert_int_eq(vf_egress_log_line(l, s, strlen(s), &e), EXAI_OK);
}

static void take_event(vf_egress_log *l, const char *hook, const char *proto, int family,
		       const char *daddr, int dport, unsigned pid, const char *comm)
{
	char buf[1024];

	line(buf, sizeof(buf), hook, proto, family, daddr, dport, pid, comm, WL);
	take(l, buf);
}

/* vf_egress_resolve_fn for the tests: pid + 1000 -> pid, others unknown; counts calls. */
static int resolves;
static bool fake_resolve(uint32_t host_pid, uint32_t *pid, void *ctx)
{
	(void)ctx;
	resolves++;
	if (host_pid < 1000)
		return false;
	*pid = host_pid - 1000;
	return true;
}

static void addr_of(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	*family = strchr(s, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(*family, s, out), 1);
}

START_TEST(events_become_destinations_with_processes)
{
	vf_egress_log l;
	const vf_egress_dest *d;

	vf_egress_log_init(&l, WL);
	l.resolve = fake_resolve;
	resolves = 0;
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 1003, "tcp_child");
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 1003, "tcp_child");
	take_event(&l, "sendmsg4", "udp", 4, "203.0.113.9", 53, 1004, "udp_child");
	take_event(&l, "connect6", "tcp", 6, "2001:db8::1", 8443, 1004, "udp_child");
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 77, "gone");
	ck_assert_uint_eq(l.events, 5);
	ck_assert_uint_eq(l.bad_lines, 0);
	ck_assert_uint_eq(l.ndests, 3);
	ck_assert_uint_eq(l.nprocs, 3);
	ck_assert_int_eq(resolves, 3); /* each process named once, when first seen */
	ck_assert_uint_eq(l.unresolved, 1);
	d = &l.dests[0];
	ck_assert_int_eq(d->family, AF_INET);
	ck_assert_uint_eq(d->proto, IPPROTO_TCP);
	ck_assert_uint_eq(d->port, 443);
	ck_assert_str_eq(d->hook, "connect4");
	ck_assert_uint_eq(d->events, 3);
	ck_assert_uint_eq(d->nprocs, 2);
	ck_assert_uint_eq(l.procs[d->procs[0]].host_pid, 1003);
	ck_assert_uint_eq(l.procs[d->procs[0]].pid, 3);
	ck_assert_str_eq(l.procs[d->procs[0]].comm, "tcp_child");
	ck_assert_uint_eq(l.procs[d->procs[1]].host_pid, 77);
	ck_assert_uint_eq(l.procs[d->procs[1]].pid, 0); /* ended: not known */
	d = &l.dests[2];
	ck_assert_int_eq(d->family, AF_INET6);
	ck_assert_uint_eq(d->nprocs, 1);
	ck_assert_str_eq(l.procs[d->procs[0]].comm, "udp_child");
	vf_egress_log_free(&l);
}
END_TEST

START_TEST(bad_lines_are_counted_and_change_nothing)
{
	static const char *const bad[] = {
	    "",
	    "not json",
	    "[1,2]",
	    "{\"hook\":\"connect4\"}",
	    /* duplicate key */
	    "{\"verdict\":\"audit\",\"hook\":\"connect4\",\"hook\":\"x\",\"protocol\":\"tcp\","
	    "\"family\":4,\"daddr\":\"192.0.2.1\",\"dport\":1,\"sock_type\":1,\"reason\":\"no-"
	    "rule\","
	    "\"pid\":5,\"comm\":\"a\",\"workload_cgroup_id\":4242}",
	};
	struct {
		const char *proto;
		int family;
		const char *daddr;
		int dport;
		const char *comm;
	} fields[] = {
	    {"sctp", 4, "192.0.2.1", 443, "a"},		       /* unknown protocol name */
	    {"tcp", 5, "192.0.2.1", 443, "a"},		       /* family */
	    {"tcp", 4, "192.0.2.256", 443, "a"},	       /* address */
	    {"tcp", 4, "2001:db8::1", 443, "a"},	       /* v6 address, family 4 */
	    {"tcp", 4, "192.0.2.1", 65536, "a"},	       /* port */
	    {"tcp", 4, "192.0.2.1", -1, "a"},		       /* port */
	    {"tcp", 4, "192.0.2.1", 443, "seventeen-chars!!"}, /* comm over TASK_COMM_LEN */
	    {"tcp", 0, "192.0.2.1", 443, "a"},		       /* an address without a family */
	};
	char buf[VF_EGRESS_LINE_MAX + 64];
	vf_egress_log l;
	size_t n;

	vf_egress_log_init(&l, WL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		take(&l, bad[i]);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		line(buf, sizeof(buf), "connect4", fields[i].proto, fields[i].family,
		     fields[i].daddr, fields[i].dport, 5, fields[i].comm, WL);
		take(&l, buf);
	}
	/* a valid event, but over the line bound */
	n = line(buf, sizeof(buf), "connect4", "tcp", 4, "192.0.2.1", 443, 5, "a", WL);
	memmove(buf + VF_EGRESS_LINE_MAX - n + 1, buf, n);
	memset(buf, ' ', VF_EGRESS_LINE_MAX - n + 1);
	{
		exai_error e;

		ck_assert_int_eq(vf_egress_log_line(&l, buf, VF_EGRESS_LINE_MAX + 1, &e), EXAI_OK);
	}
	ck_assert_uint_eq(l.bad_lines, 5 + 8 + 1);
	ck_assert_uint_eq(l.events, 0);
	ck_assert_uint_eq(l.ndests, 0);
	ck_assert_uint_eq(l.nprocs, 0);
	/* the same event, within the bound, is taken */
	{
		exai_error e;

		ck_assert_int_eq(vf_egress_log_line(&l, buf + VF_EGRESS_LINE_MAX - n + 1, n, &e),
				 EXAI_OK);
	}
	ck_assert_uint_eq(l.events, 1);
	vf_egress_log_free(&l);
}
END_TEST

START_TEST(events_of_another_cgroup_are_not_taken)
{
	char buf[1024];
	vf_egress_log l;

	vf_egress_log_init(&l, WL);
	line(buf, sizeof(buf), "connect4", "tcp", 4, "192.0.2.1", 443, 5, "a", WL + 1);
	take(&l, buf);
	ck_assert_uint_eq(l.foreign, 1);
	ck_assert_uint_eq(l.ndests, 0);
	vf_egress_log_free(&l);
}
END_TEST

START_TEST(tables_are_capped_and_count_the_rest)
{
	char addr[32], comm[16];
	vf_egress_log l;

	vf_egress_log_init(&l, WL);
	for (unsigned i = 0; i < VF_EGRESS_MAX_DESTS + 3; i++) {
		snprintf(addr, sizeof(addr), "10.%u.%u.1", i / 256, i % 256);
		take_event(&l, "connect4", "tcp", 4, addr, 443, 5, "one");
	}
	ck_assert_uint_eq(l.ndests, VF_EGRESS_MAX_DESTS);
	ck_assert_uint_eq(l.lost_dests, 3);
	ck_assert_uint_eq(l.nprocs, 1);
	vf_egress_log_free(&l);

	vf_egress_log_init(&l, WL);
	for (unsigned i = 0; i < VF_EGRESS_MAX_PROCS + 2; i++) {
		snprintf(comm, sizeof(comm), "p%u", i);
		take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 100 + i, comm);
	}
	ck_assert_uint_eq(l.nprocs, VF_EGRESS_MAX_PROCS);
	ck_assert_uint_eq(l.lost_procs, 2);
	ck_assert_uint_eq(l.ndests, 1);
	ck_assert_uint_eq(l.dests[0].nprocs, VF_EGRESS_DEST_PROCS);
	ck_assert_uint_eq(l.dests[0].procs_more, VF_EGRESS_MAX_PROCS - VF_EGRESS_DEST_PROCS);
	ck_assert_uint_eq(l.dests[0].events, VF_EGRESS_MAX_PROCS + 2);
	/* a listed or an unlisted process again: counted once */
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 100, "p0");
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 100 + 500, "p500");
	ck_assert_uint_eq(l.dests[0].nprocs, VF_EGRESS_DEST_PROCS);
	ck_assert_uint_eq(l.dests[0].procs_more, VF_EGRESS_MAX_PROCS - VF_EGRESS_DEST_PROCS);
	vf_egress_log_free(&l);
}
END_TEST

START_TEST(sockets_without_a_destination)
{
	vf_egress_log l;

	vf_egress_log_init(&l, WL);
	take(&l,
	     "{\"verdict\":\"audit\",\"hook\":\"sock_create\",\"protocol\":\"icmp\",\"family\":4,"
	     "\"sock_type\":3,\"reason\":\"raw-socket\",\"pid\":1009,\"uid\":0,\"comm\":\"ping\","
	     "\"cgroup_id\":4242,\"workload\":\"w\",\"workload_cgroup_id\":4242,"
	     "\"generation\":1,\"ts_ns\":1}");
	/* a packet the backstop could not parse, from softirq (no task: pid 0, empty comm) */
	take(&l,
	     "{\"verdict\":\"audit\",\"hook\":\"skb_egress\",\"protocol\":\"other\",\"family\":0,"
	     "\"sock_type\":0,\"reason\":\"unparsed\",\"pid\":0,\"uid\":0,\"comm\":\"\","
	     "\"cgroup_id\":4242,\"workload\":\"w\",\"workload_cgroup_id\":4242,"
	     "\"generation\":1,\"ts_ns\":1}");
	ck_assert_uint_eq(l.bad_lines, 0);
	ck_assert_uint_eq(l.ndests, 2);
	ck_assert_int_eq(l.dests[0].family, 0);
	ck_assert_str_eq(l.dests[0].reason, "raw-socket");
	ck_assert_uint_eq(l.dests[0].sock_type, 3);
	ck_assert_uint_eq(l.dests[0].nprocs, 1);
	ck_assert_uint_eq(l.dests[1].nprocs, 0); /* no process to name */
	ck_assert_uint_eq(l.nprocs, 1);
	vf_egress_log_free(&l);
}
END_TEST

START_TEST(matching_local_and_via)
{
	vf_egress_log l;
	uint8_t a[16];
	char via[64];
	int fam;

	vf_egress_log_init(&l, 0); /* 0: any workload */
	take_event(&l, "connect4", "tcp", 4, "192.0.2.1", 443, 5, "a");
	take_event(&l, "skb_egress", "icmp", 4, "203.0.113.9", 0, 5, "a");
	take_event(&l, "connect4", "udp", 4, "127.0.0.53", 53, 5, "a");
	take_event(&l, "connect4", "tcp", 4, "127.0.0.53", 53, 5, "a");
	take_event(&l, "sendmsg6", "udp", 6, "2001:db8::53", 53, 5, "a");
	take_event(&l, "connect6", "tcp", 6, "::1", 80, 5, "a");
	take_event(&l, "connect6", "udp", 6, "::ffff:127.0.0.1", 80, 5, "a");
	ck_assert_uint_eq(l.ndests, 7);

	addr_of("192.0.2.1", &fam, a);
	ck_assert(vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_TCP, a, true, 443));
	ck_assert(!vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_TCP, a, true, 444));
	ck_assert(!vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_UDP, a, true, 443));
	ck_assert(
	    vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_TCP, a, false, 0)); /* fragment */
	addr_of("192.0.2.2", &fam, a);
	ck_assert(!vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_TCP, a, true, 443));
	addr_of("203.0.113.9", &fam, a);
	ck_assert(vf_egress_dest_matches(&l.dests[1], fam, IPPROTO_ICMP, a, false, 0));
	addr_of("::ffff:192.0.2.1", &fam, a); /* a v6 attempt never matches a v4 event */
	ck_assert(!vf_egress_dest_matches(&l.dests[0], fam, IPPROTO_TCP, a, true, 443));

	ck_assert(!vf_egress_dest_local(&l.dests[0]));
	ck_assert(vf_egress_dest_local(&l.dests[2]));
	ck_assert(vf_egress_dest_local(&l.dests[5]));
	ck_assert(vf_egress_dest_local(&l.dests[6]));
	ck_assert(!vf_egress_dest_local(&l.dests[4]));

	vf_egress_dest_via(&l.dests[2], via, sizeof(via));
	ck_assert_str_eq(via, "sink/udp");
	vf_egress_dest_via(&l.dests[3], via, sizeof(via));
	ck_assert_str_eq(via, "sink/tcp");
	vf_egress_dest_via(&l.dests[4], via, sizeof(via));
	ck_assert_str_eq(via, "[2001:db8::53]:53/udp");
	vf_egress_dest_via(&l.dests[0], via, sizeof(via)); /* TCP straight out: no lookup */
	ck_assert_str_eq(via, "");
	vf_egress_dest_via(&l.dests[1], via, sizeof(via));
	ck_assert_str_eq(via, "");
	vf_egress_log_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_egress_log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, events_become_destinations_with_processes);
	tcase_add_test(tc, bad_lines_are_counted_and_change_nothing);
	tcase_add_test(tc, events_of_another_cgroup_are_not_taken);
	tcase_add_test(tc, tables_are_capped_and_count_the_rest);
	tcase_add_test(tc, sockets_without_a_destination);
	tcase_add_test(tc, matching_local_and_via);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
