/* Check suite for the host mode's parsers: /proc/net tables (real kernel lines, malformed
 * and over-long lines refused without stopping the rest), default-route and listener
 * predicates, local address/name classes, server and listener allowlists, the host config
 * (errors at file:line:col), and root-confined reads. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"
#include "testutil.h"

typedef struct collect {
	vf_route r[16];
	vf_sock s[16];
	size_t n;
} collect;

static exai_status on_route(void *arg, const vf_route *r, exai_error *e)
{
	collect *c = arg;
	(void)e;
	if (c->n < 16)
		c->r[c->n++] = *r;
	return EXAI_OK;
}

static exai_status on_sock(void *arg, const vf_sock *s, exai_error *e)
{
	collect *c = arg;
	(void)e;
	if (c->n < 16)
		c->s[c->n++] = *s;
	return EXAI_OK;
}

static void ipstr(const uint8_t ip[16], char *out)
{
	vf_host_ip_str(ip, out, 64);
}

START_TEST(route4_real_lines)
{
	static const char buf[] =
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT   "
	    "\n"
	    "eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0        \n"
	    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0     \n"
	    "eth0\t00000000\t010200C0\t0203\t0\t0\t0\t00000000\t0\t0\t0\n" /* reject */
	    "eth0\tXYZ\n"
	    "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\textra\n";
	collect c = {0};
	vf_proc_stats st;
	exai_error e;
	char ip[64];

	ck_assert_int_eq(vf_proc_routes(buf, strlen(buf), false, on_route, &c, &st, &e), EXAI_OK);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.bad, 2);
	ck_assert_uint_eq(st.first_bad, 5);
	ck_assert_uint_eq(c.r[0].line, 2);
	ck_assert(vf_route_is_default(&c.r[0]));
	ipstr(c.r[0].gw, ip);
	ck_assert_str_eq(ip, "192.0.2.1");
	ck_assert_uint_eq(c.r[0].metric, 100);
	ck_assert_str_eq(c.r[0].iface, "eth0");
	ck_assert(!vf_route_is_default(&c.r[1]));
	ck_assert_uint_eq(c.r[1].plen, 24);
	ipstr(c.r[1].dst, ip);
	ck_assert_str_eq(ip, "192.0.2.0");
	ck_assert(!vf_route_is_default(&c.r[2])); /* RTF_REJECT */
}
END_TEST

START_TEST(route6_real_lines)
{
	static const char buf[] =
	    "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n"
	    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	    "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n"
	    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
	    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
	    "0000 00 lo\n";
	collect c = {0};
	vf_proc_stats st;
	exai_error e;
	char ip[64];

	ck_assert_int_eq(vf_proc_routes(buf, strlen(buf), true, on_route, &c, &st, &e), EXAI_OK);
	ck_assert_uint_eq(st.records, 3); /* no header line in ipv6_route */
	ck_assert_uint_eq(st.bad, 1);
	ck_assert_uint_eq(st.first_bad, 4);
	ck_assert(!vf_route_is_default(&c.r[0]));
	ck_assert_uint_eq(c.r[0].plen, 64);
	ck_assert(vf_route_is_default(&c.r[1]));
	ck_assert_uint_eq(c.r[1].line, 2);
	ipstr(c.r[1].gw, ip);
	ck_assert_str_eq(ip, "fd00::1");
	ck_assert(!vf_route_is_default(&c.r[2])); /* unreachable default on lo: not up */
}
END_TEST

START_TEST(sockets_real_lines)
{
	static const char tcp[] =
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n"
	    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0    "
	    "    0 21001 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000    "
	    "    0 21002 1 0000000000000000 100 0 0 10 0\n"
	    "   2: 0A00000A:0016 0B00000A:D431 01 00000000:00000000 02:0009F3A1 00000000     0    "
	    "    0 21003 4 0000000000000000 20 4 29 10 -1\n"
	    "   3: 0100007F:1F9 00000000:0000 0A 0 0 0 0 0 1\n"
	    "   4 0100007F:1F90 00000000:0000 0A 0 0 0 0 0 1\n";
	static const char tcp6[] =
	    "  sl  local_address                         remote_address                        st\n"
	    "   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A "
	    "00000000:00000000 00:00000000 00000000     0        0 21005 1 0000000000000000 100 0 "
	    "0 10 0\n";
	static const char udp[] =
	    "   sl  local_address rem_address   st\n"
	    "  123: 00000000:007B 00000000:0000 07 00000000:00000000 00:00000000 00000000     0   "
	    "     0 21006 2 0000000000000000 0\n"
	    "  789: 0A00000A:A1B2 0200000A:0035 01 00000000:00000000 00:00000000 00000000     0   "
	    "     0 21008 2 0000000000000000 0\n";
	collect c = {0};
	vf_proc_stats st;
	exai_error e;
	char ip[64];

	ck_assert_int_eq(vf_proc_socks(tcp, strlen(tcp), false, false, on_sock, &c, &st, &e), 0);
	ck_assert_uint_eq(st.records, 3);
	ck_assert_uint_eq(st.bad, 2);
	ck_assert_uint_eq(st.first_bad, 5);
	ck_assert(vf_sock_is_listener(&c.s[0]));
	ck_assert_uint_eq(c.s[0].lport, 22);
	ck_assert_uint_eq(c.s[0].line, 2);
	ipstr(c.s[1].local, ip);
	ck_assert_str_eq(ip, "127.0.0.1");
	ck_assert_uint_eq(c.s[1].lport, 8080);
	ck_assert_uint_eq(c.s[1].uid, 1000);
	ck_assert_uint_eq(c.s[1].inode, 21002);
	ck_assert(!vf_sock_is_listener(&c.s[2]));
	c.n = 0;
	ck_assert_int_eq(vf_proc_socks(tcp6, strlen(tcp6), true, false, on_sock, &c, &st, &e), 0);
	ck_assert_uint_eq(st.records, 1);
	ipstr(c.s[0].local, ip);
	ck_assert_str_eq(ip, "::1");
	ck_assert_uint_eq(c.s[0].lport, 631);
	c.n = 0;
	ck_assert_int_eq(vf_proc_socks(udp, strlen(udp), false, true, on_sock, &c, &st, &e), 0);
	ck_assert_uint_eq(st.records, 2);
	ck_assert(vf_sock_is_listener(&c.s[0]));
	ck_assert(!vf_sock_is_listener(&c.s[1])); /* connected */
}
END_TEST

/* Garbage never crashes and never yields records: NULs, huge lines, no newline at the end,
 * every truncation of a good line. */
START_TEST(malformed_input_is_refused)
{
	static const char good[] = "hdr\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 "
				   "00:00000000 00000000     0        0 21001 1 0 100 0 0 10 0";
	char *big = malloc(VF_HOST_LINE_MAX * 3);
	collect c = {0};
	vf_proc_stats st;
	exai_error e;

	for (size_t n = 0; n <= sizeof(good) - 1; n++) {
		c.n = 0;
		ck_assert_int_eq(vf_proc_socks(good, n, false, false, on_sock, &c, &st, &e), 0);
		ck_assert_uint_le(st.records, 1);
		if (st.records)
			ck_assert_uint_eq(c.s[0].inode,
					  n == sizeof(good) - 1 ? 21001 : c.s[0].inode);
	}
	memset(big, '1', VF_HOST_LINE_MAX * 3);
	big[0] = 'h';
	big[1] = '\n';
	ck_assert_int_eq(
	    vf_proc_socks(big, VF_HOST_LINE_MAX * 3, false, false, on_sock, &c, &st, &e), 0);
	ck_assert_uint_eq(st.records, 0);
	ck_assert_uint_eq(st.bad, 1);
	big[50] = '\0';
	ck_assert_int_eq(vf_proc_routes(big, 100, true, on_route, &c, &st, &e), 0);
	ck_assert_uint_eq(st.records, 0);
	free(big);
}
END_TEST

START_TEST(local_classes)
{
	static const char *const local[] = {"127.0.0.53",  "10.1.2.3", "172.31.0.1", "192.168.9.9",
					    "169.254.1.1", "::1",      "fe80::1",    "fd00::53",
					    "fc12::1",	   "0.0.0.0"};
	static const char *const pub[] = {"8.8.8.8",	 "172.32.0.1", "192.169.0.1", "1.1.1.1",
					  "2001:db8::1", "fe00::1",    "11.0.0.1"};
	uint8_t ip[16];

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		ck_assert_msg(vf_host_ip_parse(local[i], ip), "%s", local[i]);
		ck_assert_msg(vf_host_ip_local(ip), "%s should be local", local[i]);
	}
	for (size_t i = 0; i < sizeof(pub) / sizeof(pub[0]); i++) {
		ck_assert(vf_host_ip_parse(pub[i], ip));
		ck_assert_msg(!vf_host_ip_local(ip), "%s should not be local", pub[i]);
	}
	ck_assert(!vf_host_ip_parse("1.2.3", ip));
	ck_assert(!vf_host_ip_parse("", ip));
	ck_assert(vf_host_name_local("localhost"));
	ck_assert(vf_host_name_local("ntp.site.internal"));
	ck_assert(vf_host_name_local("printer.LOCAL."));
	ck_assert(!vf_host_name_local("pool.ntp.org"));
	ck_assert(!vf_host_name_local("xinternal"));
	ck_assert(!vf_host_name_local("internal.example.com"));
}
END_TEST

START_TEST(allowlists)
{
	vf_host_allow a = {0};
	vf_host_listen_rule r;
	vf_sock s = {0};
	bool oom;

	ck_assert(vf_host_allow_add(&a, "100.64.0.0/10", &oom));
	ck_assert(vf_host_allow_add(&a, "2001:db8::53", &oom));
	ck_assert(vf_host_allow_add(&a, "ntp.site.example", &oom));
	ck_assert(vf_host_allow_add(&a, "*.corp.example", &oom));
	ck_assert(!vf_host_allow_add(&a, "10.0.0.0/33", &oom));
	ck_assert(!vf_host_allow_add(&a, "bad name!", &oom));
	ck_assert(!vf_host_allow_add(&a, "10.0.0.0/08", &oom));
	ck_assert(vf_host_server_local(&a, "100.100.1.1"));
	ck_assert(!vf_host_server_local(&a, "100.128.0.1"));
	ck_assert(vf_host_server_local(&a, "2001:db8::53"));
	ck_assert(vf_host_server_local(&a, "NTP.site.example"));
	ck_assert(vf_host_server_local(&a, "a.b.corp.example"));
	ck_assert(!vf_host_server_local(&a, "corp.example"));
	ck_assert(!vf_host_server_local(&a, "pool.ntp.org"));
	ck_assert(!vf_host_server_local(NULL, "8.8.8.8"));
	vf_host_allow_free(&a);

	ck_assert(vf_host_listen_parse("tcp *:22", &r));
	s.lport = 22;
	ck_assert(vf_host_listen_match(&r, &s));
	s.udp = true;
	ck_assert(!vf_host_listen_match(&r, &s));
	ck_assert(vf_host_listen_parse("udp [::1]:53", &r));
	ck_assert(vf_host_ip_parse("::1", s.local));
	s.lport = 53;
	ck_assert(vf_host_listen_match(&r, &s));
	ck_assert(vf_host_listen_parse("* 127.0.0.1:*", &r));
	ck_assert(!vf_host_listen_match(&r, &s));
	ck_assert(!vf_host_listen_parse("tcp ::1:53", &r));
	ck_assert(!vf_host_listen_parse("tcp 1.2.3.4:65536", &r));
	ck_assert(!vf_host_listen_parse("sctp *:1", &r));
	ck_assert(!vf_host_listen_parse("tcp [::1]x:1", &r));
}
END_TEST

static exai_status load(const char *text, vf_host_config *c, exai_error *e)
{
	vf_host_config_init(c);
	return vf_host_config_load_buf(c, "host.yaml", text, strlen(text), e);
}

START_TEST(config_file)
{
	vf_host_config c;
	exai_error e;

	ck_assert_int_eq(load("version: 1\nchecks: [routes, drift]\nroutes: {allow_default: true}\n"
			      "listen: {allow_loopback: true, allow: ['tcp *:22']}\n"
			      "dns: {allow: [10.9.0.0/16]}\nntp: {allow: ['*.corp.example']}\n"
			      "egress: {pins: [/sys/fs/bpf/exai/x]}\n"
			      "drift: {update_config: /etc/u.yaml}\n",
			      &c, &e),
			 EXAI_OK);
	ck_assert_uint_eq(c.checks, VF_HC_ROUTES | VF_HC_DRIFT);
	ck_assert(c.allow_default_route && c.listen_allow_loopback);
	ck_assert_uint_eq(c.nlisten, 1);
	ck_assert_uint_eq(c.dns.ncidrs, 1);
	ck_assert_uint_eq(c.ntp.nnames, 1);
	ck_assert_str_eq(c.pins[0], "/sys/fs/bpf/exai/x");
	ck_assert_str_eq(c.update_config, "/etc/u.yaml");
	vf_host_config_free(&c);

	ck_assert_int_eq(
	    load("version: 1\nlisten:\n  allow: ['tcp *:22', 'tcp nowhere']\n", &c, &e),
	    EXAI_ECONFIG);
	ck_assert_msg(strstr(e.msg, "host.yaml:3:23: listener 'tcp nowhere'"), "%s", e.msg);
	vf_host_config_free(&c);
	ck_assert_int_eq(load("version: 1\nrouts: {}\n", &c, &e), EXAI_ECONFIG);
	ck_assert_msg(strstr(e.msg, "host.yaml:2:1:"), "%s", e.msg);
	vf_host_config_free(&c);
	ck_assert_int_eq(load("version: 2\n", &c, &e), EXAI_ECONFIG);
	vf_host_config_free(&c);
	ck_assert_int_eq(load("version: 1\nchecks: [routes, dns, bogus]\n", &c, &e), EXAI_ECONFIG);
	ck_assert_msg(strstr(e.msg, "host.yaml:2:23: unknown check 'bogus'"), "%s", e.msg);
	vf_host_config_free(&c);
	ck_assert_int_eq(load("version: 1\negress: {pins: [relative/x]}\n", &c, &e), EXAI_ECONFIG);
	vf_host_config_free(&c);
	ck_assert_int_eq(load("version: 1\ndns: {allow: [&a x, *a]}\n", &c, &e), EXAI_ECONFIG);
	vf_host_config_free(&c);
}
END_TEST

/* An absolute symlink inside --root resolves inside it; ".." cannot climb out; a /proc-like
 * file is read to its end; the cap holds. */
START_TEST(reads_stay_in_the_root)
{
	char *dir = tu_tempdir(), path[4200];
	vf_host_root r;
	char *buf;
	size_t len;
	exai_error e;

	snprintf(path, sizeof(path), "%s/etc", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	free(tu_write(path, "real", "inside\n", 7));
	snprintf(path, sizeof(path), "%s/etc/abs", dir);
	ck_assert_int_eq(symlink("/etc/real", path), 0);
	snprintf(path, sizeof(path), "%s/etc/out", dir);
	ck_assert_int_eq(symlink("/etc/hostname", path), 0);
	ck_assert_int_eq(vf_host_root_open(&r, dir, &e), EXAI_OK);
	ck_assert_int_eq(vf_host_read(&r, "/etc/abs", 100, &buf, &len, &e), EXAI_OK);
	ck_assert_str_eq(buf, "inside\n");
	free(buf);
	ck_assert_int_eq(vf_host_read(&r, "/etc/out", 100, &buf, &len, &e), EXAI_ENOENT);
	ck_assert_int_eq(vf_host_read(&r, "/../../../etc/hostname", 100, &buf, &len, &e),
			 EXAI_ENOENT);
	ck_assert_int_eq(vf_host_read(&r, "/etc/real", 3, &buf, &len, &e), EXAI_ETOOBIG);
	ck_assert_int_eq(vf_host_read(&r, "/etc", 100, &buf, &len, &e), EXAI_EUNSAFE);
	vf_host_root_close(&r);
	ck_assert_int_eq(vf_host_root_open(&r, "/", &e), EXAI_OK);
	ck_assert_int_eq(vf_host_read(&r, "/proc/self/status", 1u << 20, &buf, &len, &e), EXAI_OK);
	ck_assert(len > 100 && strstr(buf, "Pid:"));
	free(buf);
	vf_host_root_close(&r);
	tu_rmtree(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verifier_host");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, route4_real_lines);
	tcase_add_test(tc, route6_real_lines);
	tcase_add_test(tc, sockets_real_lines);
	tcase_add_test(tc, malformed_input_is_refused);
	tcase_add_test(tc, local_classes);
	tcase_add_test(tc, allowlists);
	tcase_add_test(tc, config_file);
	tcase_add_test(tc, reads_stay_in_the_root);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
