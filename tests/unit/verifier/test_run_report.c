/* Check suite for verifier/run/run_report.c: what the run mode saw, as findings and notes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "run_report.h"
#include "testutil.h"

static void add_attempt(vf_run_log *log, const char *dst, uint8_t proto, int port, int icmp)
{
	vf_pkt p;
	exai_error e;

	memset(&p, 0, sizeof(p));
	p.family = strchr(dst, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(p.family, dst, p.dst), 1);
	p.proto = proto;
	if (port >= 0) {
		p.has_ports = true;
		p.dport = (uint16_t)port;
	}
	if (icmp >= 0) {
		p.has_icmp = true;
		p.icmp_type = (uint8_t)icmp;
	}
	ck_assert_int_eq(vf_run_log_packet(log, &p, &e), EXAI_OK);
}

/* The report as JSON text (malloc'ed). */
static char *as_json(const vf_report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	exai_error e;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(vf_report_write(r, VF_FMT_JSON, f, &e), EXAI_OK);
	fclose(f);
	return buf;
}

static char *argv_true[] = {"/bin/true", "--flag", NULL};

static vf_run_info info_for(const vf_run_outcome *o)
{
	vf_run_info in = {
	    .argv = argv_true, .outcome = o, .timeout_s = 5, .caps_dropped = true, .masked = ""};
	return in;
}

START_TEST(attempts_and_lookups_become_findings)
{
	vf_run_log log;
	vf_report *r = vf_report_new("run");
	vf_run_outcome o = {.finished = true, .wstatus = 3 << 8};
	vf_run_info in = info_for(&o);
	vf_allow allow[1];
	const vf_finding *f;
	exai_error e;
	exai_status st;
	char *json;

	vf_run_log_init(&log);
	add_attempt(&log, "192.0.2.1", IPPROTO_TCP, 443, -1);
	add_attempt(&log, "192.0.2.1", IPPROTO_TCP, 443, -1);
	add_attempt(&log, "203.0.113.9", IPPROTO_ICMP, -1, 8);
	add_attempt(&log, "2001:db8::2", IPPROTO_UDP, 123, -1);
	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 28, "sink/udp", &e), EXAI_OK);
	log.malformed_dns = 2;
	ck_assert_int_eq(vf_allow_parse("[2001:db8::/32]:123", &allow[0], &e), EXAI_OK);
	st = vf_run_report_build(r, &log, allow, 1, &in, &e);
	ck_assert_msg(st == EXAI_OK, "%s", e.msg);

	ck_assert_uint_eq(vf_report_size(r), 5);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_HIGH), 4);
	f = vf_report_get(r, 0);
	ck_assert_str_eq(f->rule_id, "run.egress.attempt");
	ck_assert_int_eq(f->severity, VF_SEV_HIGH);
	ck_assert_str_eq(f->path, "192.0.2.1:443");
	ck_assert_str_eq(f->evidence, "proto=tcp dst=192.0.2.1 port=443 packets=2");
	ck_assert_ptr_nonnull(strstr(f->message, "2 packets"));
	ck_assert_ptr_nonnull(strstr(f->hint, "--allow 192.0.2.1:443"));
	ck_assert(!f->suppressed);
	f = vf_report_get(r, 1);
	ck_assert_str_eq(f->path, "203.0.113.9");
	ck_assert_str_eq(f->evidence, "proto=icmp dst=203.0.113.9 icmp_type=8 packets=1");
	ck_assert_ptr_nonnull(strstr(f->hint, "--allow 203.0.113.9:*"));
	f = vf_report_get(r, 2);
	ck_assert_str_eq(f->path, "[2001:db8::2]:123");
	ck_assert_str_eq(f->evidence, "proto=udp dst=2001:db8::2 port=123 packets=1");
	ck_assert(f->suppressed);
	ck_assert_str_eq(f->suppress_reason, "allowed by --allow [2001:db8::/32]:123");
	ck_assert_ptr_nonnull(strstr(f->hint, "--allow [2001:db8::2]:123"));
	f = vf_report_get(r, 3);
	ck_assert_str_eq(f->rule_id, "run.dns.lookup");
	ck_assert_str_eq(f->path, "example.com");
	ck_assert_str_eq(f->evidence, "qname=example.com qtype=AAAA via=sink/udp count=1");
	f = vf_report_get(r, 4);
	ck_assert_str_eq(f->rule_id, "run.dns.malformed");
	ck_assert_str_eq(f->evidence, "messages=2");

	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "\"command: /bin/true --flag\""));
	ck_assert_ptr_nonnull(strstr(json, "\"command exit status: 3\""));
	ck_assert_ptr_nonnull(strstr(json, "ran without CAP_SYS_ADMIN"));
	ck_assert_ptr_nonnull(strstr(json, "exai-egress: not used"));
	ck_assert_ptr_null(strstr(json, "timed out"));
	free(json);
	vf_report_free(r);
	vf_run_log_free(&log);
}
END_TEST

START_TEST(outcomes_are_noted)
{
	vf_run_log log;
	vf_run_outcome o = {.timed_out = true, .elapsed_ms = 5001};
	vf_run_info in = info_for(&o);
	vf_report *r;
	exai_error e;
	char *json;

	vf_run_log_init(&log);
	log.lost_attempts = 7;
	log.link_chatter = 4;
	in.caps_dropped = false;
	in.masked = "/run/nscd/socket";
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	/* Attempts seen but not itemised: the run cannot show nothing left, so it fails. */
	ck_assert_uint_eq(vf_report_size(r), 1);
	ck_assert_str_eq(vf_report_get(r, 0)->rule_id, "run.incomplete");
	ck_assert_str_eq(vf_report_get(r, 0)->evidence,
			 "attempts_not_itemised=7 lookups_not_itemised=0 dns_conns_closed_unread=0 "
			 "unparsable_packets=0");
	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "\"passed\": false"));
	free(json);
	vf_report_free(r);
	log.lost_attempts = 0;
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	ck_assert_uint_eq(vf_report_size(r), 0);
	in.dns_refused_conns = 2;
	vf_report_free(r);
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	ck_assert_uint_eq(vf_report_size(r), 1);
	in.dns_refused_conns = 0;
	log.bad_packets = 1;
	vf_report_free(r);
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	ck_assert_uint_eq(vf_report_size(r), 1);
	log.bad_packets = 0;
	log.lost_attempts = 7;
	vf_report_free(r);
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "timed out after 5 s"));
	ck_assert_ptr_nonnull(strstr(json, "--keep-caps"));
	ck_assert_ptr_nonnull(strstr(json, "hidden from the command: /run/nscd/socket"));
	ck_assert_ptr_nonnull(strstr(json, "7 further attempts"));
	ck_assert_ptr_nonnull(strstr(json, "4 kernel IPv6 link packets ignored"));
	free(json);
	vf_report_free(r);

	o = (vf_run_outcome){.finished = true, .wstatus = 9, .leftovers = 2};
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, NULL, 0, &in, &e), EXAI_OK);
	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "command killed by signal 9"));
	ck_assert_ptr_nonnull(strstr(json, "2 processes the command left running were killed"));
	free(json);
	vf_report_free(r);
	vf_run_log_free(&log);
}
END_TEST

START_TEST(attempt_text_for_fragments_and_other_protocols)
{
	vf_run_attempt a;
	char where[96], ev[192];

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	inet_pton(AF_INET, "198.51.100.1", a.dst);
	a.proto = IPPROTO_UDP; /* a non-first fragment: no port */
	a.packets = 3;
	vf_run_attempt_text(&a, where, sizeof(where), ev, sizeof(ev));
	ck_assert_str_eq(where, "198.51.100.1");
	ck_assert_str_eq(ev, "proto=udp dst=198.51.100.1 fragment packets=3");
	a.proto = 47;
	vf_run_attempt_text(&a, where, sizeof(where), ev, sizeof(ev));
	ck_assert_str_eq(ev, "proto=ip-proto-47 dst=198.51.100.1 packets=3");
}
END_TEST

/* One exai-egress event line into @l (workload 0: any). */
static void egress_event(vf_egress_log *l, const char *hook, const char *proto, int family,
			 const char *daddr, int dport, unsigned pid, const char *comm)
{
	char buf[1024];
	exai_error e;

	snprintf(buf, sizeof(buf),
		 "{\"verdict\":\"audit\",\"hook\":\"%s\",\"protocol\":\"%s\",\"family\":%d,"
		 "\"daddr\":\"%s\",\"dport\":%d,\"sock_type\":1,\"reason\":\"no-rule\","
		 "\"pid\":%u,\"uid\":0,\"comm\":\"%s\",\"cgroup_id\":9,\"workload\":\"w\","
		 "\"workload_cgroup_id\":9,\"generation\":1,\"ts_ns\":1}",
		 hook, proto, family, daddr, dport, pid, comm);
	ck_assert_int_eq(vf_egress_log_line(l, buf, strlen(buf), &e), EXAI_OK);
}

/* vf_egress_resolve_fn: host pid 1000 + N is pid N in the run; others have ended. */
static bool resolve_minus_1000(uint32_t host_pid, uint32_t *pid, void *ctx)
{
	(void)ctx;
	if (host_pid <= 1000)
		return false;
	*pid = host_pid - 1000;
	return true;
}

START_TEST(attribution_names_processes_and_keeps_event_only_attempts)
{
	vf_run_log log;
	vf_egress_log eg;
	vf_run_outcome o = {.finished = true};
	vf_run_info in = info_for(&o);
	vf_run_attrib at = {.active = true,
			    .status = "attribution on: test",
			    .trouble = "",
			    .log = &eg,
			    .pids_translated = true,
			    .counters_read = true};
	vf_report *r = vf_report_new("run");
	const vf_finding *f;
	vf_allow allow[1];
	exai_error e;
	char *json;

	vf_run_log_init(&log);
	vf_egress_log_init(&eg, 9);
	eg.resolve = resolve_minus_1000;
	add_attempt(&log, "192.0.2.1", IPPROTO_TCP, 443, -1);
	add_attempt(&log, "203.0.113.9", IPPROTO_ICMP, -1, 8);
	add_attempt(&log, "198.51.100.7", IPPROTO_UDP, 123, -1); /* no event: a packet socket */
	ck_assert_int_eq(vf_run_log_lookup(&log, "example.com", 1, "sink/udp", &e), EXAI_OK);
	egress_event(&eg, "connect4", "tcp", 4, "192.0.2.1", 443, 1003, "tcp_child");
	egress_event(&eg, "connect4", "tcp", 4, "192.0.2.1", 443, 900, "gone");
	egress_event(&eg, "skb_egress", "icmp", 4, "203.0.113.9", 0, 1005, "ping");
	egress_event(&eg, "connect4", "udp", 4, "127.0.0.53", 53, 1006, "getent");
	egress_event(&eg, "connect4", "tcp", 4, "127.0.0.1", 8080, 1006, "getent");
	egress_event(&eg, "sendmsg4", "udp", 4, "255.255.255.255", 9, 1004, "udp_child");
	egress_event(&eg, "sendmsg4", "udp", 4, "192.0.2.99", 9, 1004, "udp_child");
	ck_assert_int_eq(vf_allow_parse("192.0.2.99:9", &allow[0], &e), EXAI_OK);
	in.attrib = &at;
	ck_assert_int_eq(vf_run_report_build(r, &log, allow, 1, &in, &e), EXAI_OK);

	/* 3 attempts, 1 lookup, 2 attempts only exai-egress saw (one allowed); the loopback
	 * event is not an attempt */
	ck_assert_uint_eq(vf_report_size(r), 6);
	f = vf_report_get(r, 0);
	ck_assert_str_eq(f->path, "192.0.2.1:443");
	ck_assert(f->attributed);
	ck_assert_uint_eq(f->nprocs, 2);
	ck_assert_uint_eq(f->procs[0].pid, 3);
	ck_assert_uint_eq(f->procs[0].host_pid, 1003);
	ck_assert_str_eq(f->procs[0].comm, "tcp_child");
	ck_assert_uint_eq(f->procs[1].pid, 0);
	ck_assert_uint_eq(f->procs[1].host_pid, 900);
	f = vf_report_get(r, 1);
	ck_assert_uint_eq(f->nprocs, 1);
	ck_assert_str_eq(f->procs[0].comm, "ping");
	f = vf_report_get(r, 2); /* no event matched it: attributed, nobody named */
	ck_assert_str_eq(f->path, "198.51.100.7:123");
	ck_assert(f->attributed);
	ck_assert_uint_eq(f->nprocs, 0);
	f = vf_report_get(r, 3);
	ck_assert_str_eq(f->rule_id, "run.dns.lookup");
	ck_assert_uint_eq(f->nprocs, 1);
	ck_assert_str_eq(f->procs[0].comm, "getent");
	ck_assert_uint_eq(f->procs[0].pid, 6);
	f = vf_report_get(r, 4);
	ck_assert_str_eq(f->rule_id, "run.egress.attempt");
	ck_assert_str_eq(f->path, "255.255.255.255:9");
	ck_assert_str_eq(f->evidence, "proto=udp dst=255.255.255.255 port=9 packets=0 "
				      "seen_by=exai-egress hook=sendmsg4");
	ck_assert(!f->suppressed);
	ck_assert_uint_eq(f->nprocs, 1);
	ck_assert_uint_eq(f->procs[0].pid, 4);
	f = vf_report_get(r, 5);
	ck_assert_str_eq(f->path, "192.0.2.99:9");
	ck_assert(f->suppressed);
	ck_assert_uint_eq(vf_report_count(r, VF_SEV_HIGH), 5);

	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "\"processes\": [{\"pid\": 3, \"host_pid\": 1003, "
					   "\"comm\": \"tcp_child\"}, {\"pid\": null, "
					   "\"host_pid\": 900, \"comm\": \"gone\"}]"));
	ck_assert_ptr_nonnull(strstr(json, "exai-egress: attribution on: test"));
	ck_assert_ptr_nonnull(strstr(json, "1 local-host destinations"));
	ck_assert_ptr_nonnull(strstr(json, "1 processes had ended before they could be named"));
	ck_assert_ptr_null(strstr(json, "attribution incomplete"));
	free(json);
	vf_report_free(r);

	/* off: no processes anywhere, and the report says why */
	at = (vf_run_attrib){.active = false, .status = "attribution off (--no-egress): x"};
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, allow, 1, &in, &e), EXAI_OK);
	ck_assert_uint_eq(vf_report_size(r), 4);
	for (size_t i = 0; i < vf_report_size(r); i++)
		ck_assert(!vf_report_get(r, i)->attributed);
	json = as_json(r);
	ck_assert_ptr_null(strstr(json, "\"processes\""));
	ck_assert_ptr_nonnull(strstr(json, "exai-egress: attribution off (--no-egress)"));
	free(json);
	vf_report_free(r);

	/* lost events are said; destinations past the table make the run incomplete */
	at = (vf_run_attrib){.active = true,
			     .status = "on",
			     .log = &eg,
			     .pids_translated = true,
			     .counters_read = true,
			     .kernel_lost = 3};
	eg.lost_dests = 2;
	r = vf_report_new("run");
	ck_assert_int_eq(vf_run_report_build(r, &log, allow, 1, &in, &e), EXAI_OK);
	f = vf_report_get(r, vf_report_size(r) - 1);
	ck_assert_str_eq(f->rule_id, "run.incomplete");
	ck_assert_ptr_nonnull(strstr(f->evidence, "egress_destinations_not_itemised=2"));
	json = as_json(r);
	ck_assert_ptr_nonnull(strstr(json, "attribution incomplete: 3 events lost in the kernel"));
	free(json);
	vf_report_free(r);
	vf_egress_log_free(&eg);
	vf_run_log_free(&log);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_report");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, attempts_and_lookups_become_findings);
	tcase_add_test(tc, outcomes_are_noted);
	tcase_add_test(tc, attempt_text_for_fragments_and_other_protocols);
	tcase_add_test(tc, attribution_names_processes_and_keeps_event_only_attempts);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
