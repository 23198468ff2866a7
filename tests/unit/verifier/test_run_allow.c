/* Check suite for verifier/run/run_allow.c: `--allow CIDR:PORT` parsing and matching. */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "run_allow.h"
#include "testutil.h"

static vf_allow rule(const char *s)
{
	vf_allow a;
	exai_error e;

	ck_assert_msg(vf_allow_parse(s, &a, &e) == EXAI_OK, "%s: %s", s, e.msg);
	return a;
}

/* Does rule @r match @addr:@port (port < 0: no port)? */
static bool hit(const char *r, const char *addr, int port)
{
	vf_allow a = rule(r);
	uint8_t b[16] = {0};
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;

	ck_assert_int_eq(inet_pton(fam, addr, b), 1);
	return vf_allow_match(&a, fam, b, port >= 0, (uint16_t)(port >= 0 ? port : 0));
}

START_TEST(parses_ipv4_and_ipv6_forms)
{
	vf_allow a;

	a = rule("10.0.0.0/8:443");
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_uint_eq(a.prefix, 8);
	ck_assert_int_eq(a.port, 443);
	ck_assert_str_eq(a.text, "10.0.0.0/8:443");
	a = rule("192.0.2.7:*");
	ck_assert_uint_eq(a.prefix, 32);
	ck_assert_int_eq(a.port, -1);
	a = rule("[2001:db8::/32]:53");
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_uint_eq(a.prefix, 32);
	ck_assert_int_eq(a.port, 53);
	a = rule("2001:db8::/32:*");
	ck_assert_uint_eq(a.prefix, 32);
	a = rule("[::1]:8080");
	ck_assert_uint_eq(a.prefix, 128);
	a = rule("0.0.0.0/0:65535");
	ck_assert_uint_eq(a.prefix, 0);
	a = rule("[::/0]:1");
	ck_assert_uint_eq(a.prefix, 0);
}
END_TEST

START_TEST(refuses_bad_rules)
{
	static const char *const bad[] = {
	    "",
	    "10.0.0.0/8",
	    "10.0.0.0/8:",
	    "10.0.0.0/8:0",
	    "10.0.0.0/8:65536",
	    "10.0.0.0/8:-1",
	    "10.0.0.0/8:+5",
	    "10.0.0.0/8: 5",
	    "10.0.0.0/33:1",
	    "10.0.0.0/:1",
	    "10.0.0.0/-1:1",
	    "10.0.0.1/8:443",
	    "300.0.0.0:1",
	    "example.com:443",
	    "2001:db8::1:443",
	    "[2001:db8::1]443",
	    "[2001:db8::1:443",
	    "[2001:db8::/129]:1",
	    "[2001:db8::1/64]:1",
	    "[10.0.0.0/8]x:1",
	    "10.0.0.0/008:1",
	    "1234567890123456789012345678901234567890123456789012345678901234567890123456789.0:1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vf_allow a;
		exai_error e;

		ck_assert_msg(vf_allow_parse(bad[i], &a, &e) == EXAI_EINVAL, "accepted '%s'",
			      bad[i]);
		ck_assert_ptr_nonnull(strstr(e.msg, "--allow"));
	}
}
END_TEST

START_TEST(host_bits_message_is_clear)
{
	vf_allow a;
	exai_error e;

	ck_assert_int_eq(vf_allow_parse("192.0.2.1/24:80", &a, &e), EXAI_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "bits set past /24"));
}
END_TEST

START_TEST(matches_prefix_and_port)
{
	ck_assert(hit("10.0.0.0/8:443", "10.200.1.2", 443));
	ck_assert(!hit("10.0.0.0/8:443", "10.200.1.2", 444));
	ck_assert(!hit("10.0.0.0/8:443", "11.0.0.1", 443));
	ck_assert(hit("192.0.2.0/25:*", "192.0.2.127", 9));
	ck_assert(!hit("192.0.2.0/25:*", "192.0.2.128", 9));
	ck_assert(hit("192.0.2.1:53", "192.0.2.1", 53));
	ck_assert(!hit("192.0.2.1:53", "192.0.2.2", 53));
	ck_assert(hit("0.0.0.0/0:*", "203.0.113.9", -1));
	ck_assert(hit("[2001:db8::/32]:443", "2001:db8:ffff::1", 443));
	ck_assert(!hit("[2001:db8::/32]:443", "2001:db9::1", 443));
	ck_assert(hit("[2001:db8::/33]:*", "2001:db8:7fff::1", 1));
	ck_assert(!hit("[2001:db8::/33]:*", "2001:db8:8000::1", 1));
	ck_assert(hit("[2001:db8::1]:*", "2001:db8::1", -1));
	/* families never cross */
	ck_assert(!hit("0.0.0.0/0:*", "::ffff:192.0.2.1", 1));
	ck_assert(!hit("[::/0]:*", "192.0.2.1", 1));
}
END_TEST

START_TEST(portless_attempts_need_a_star)
{
	ck_assert(!hit("203.0.113.0/24:443", "203.0.113.9", -1));
	ck_assert(hit("203.0.113.0/24:*", "203.0.113.9", -1));
}
END_TEST

START_TEST(find_returns_first_match)
{
	vf_allow rules[3];
	uint8_t b[4];

	rules[0] = rule("10.0.0.0/8:80");
	rules[1] = rule("10.1.0.0/16:*");
	rules[2] = rule("0.0.0.0/0:*");
	inet_pton(AF_INET, "10.1.2.3", b);
	ck_assert_ptr_eq(vf_allow_find(rules, 3, AF_INET, b, true, 80), &rules[0]);
	ck_assert_ptr_eq(vf_allow_find(rules, 3, AF_INET, b, true, 81), &rules[1]);
	ck_assert_ptr_eq(vf_allow_find(rules, 2, AF_INET, (const uint8_t *)"\x0b\0\0\1", true, 81),
			 NULL);
	ck_assert_ptr_eq(vf_allow_find(rules, 0, AF_INET, b, true, 80), NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_allow");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, parses_ipv4_and_ipv6_forms);
	tcase_add_test(tc, refuses_bad_rules);
	tcase_add_test(tc, host_bits_message_is_clear);
	tcase_add_test(tc, matches_prefix_and_port);
	tcase_add_test(tc, portless_attempts_need_a_star);
	tcase_add_test(tc, find_returns_first_match);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
