/*
 * Check suite for verifier/run/run_sink.c and verifier/run/run_ns.c: the DNS sink's answers and, as
 * root, the real namespace: TUN device, routes, sink sockets and the private resolv.conf.
 *
 * The root tests unshare a fresh network (and mount) namespace in Check's forked test process
 * before anything else, so no packet they make can leave the machine: the documentation
 * addresses they send to are routed into the test's own TUN device.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run_ns.h"
#include "run_sink.h"
#include "testutil.h"

/* A query for example.com of @qtype with header flags @flags into @b; returns its length. */
static size_t query(uint8_t *b, unsigned flags, unsigned qtype)
{
	static const uint8_t name[] = "\x07"
				      "example\x03"
				      "com";
	size_t n = 12;

	memset(b, 0, 12);
	b[0] = 0x42;
	b[1] = 0x24;
	b[2] = (uint8_t)(flags >> 8);
	b[3] = (uint8_t)flags;
	b[5] = 1;
	memcpy(b + n, name, sizeof(name));
	n += sizeof(name);
	b[n++] = 0;
	b[n++] = (uint8_t)qtype;
	b[n++] = 0;
	b[n++] = 1;
	return n;
}

START_TEST(sink_records_and_answers)
{
	vf_run_log log;
	uint8_t q[64], a[512];
	size_t n, alen;
	exai_error e;

	vf_run_log_init(&log);
	n = query(q, 0x0100, 1);
	ck_assert_int_eq(vf_run_sink_query(&log, q, n, "sink/udp", a, sizeof(a), &alen, &e),
			 EXAI_OK);
	ck_assert_uint_eq(alen, n);
	ck_assert_uint_eq(a[3] & 0x0F, 3); /* NXDOMAIN */
	ck_assert_uint_eq(a[2] & 0x80, 0x80);
	ck_assert_uint_eq(log.nlookups, 1);
	ck_assert_str_eq(log.lookups[0].name, "example.com");
	ck_assert_uint_eq(log.lookups[0].qtype, 1);

	n = query(q, 0x2000, 6); /* NOTIFY: recorded, NOTIMP */
	ck_assert_int_eq(vf_run_sink_query(&log, q, n, "sink/udp", a, sizeof(a), &alen, &e),
			 EXAI_OK);
	ck_assert_uint_eq(a[3] & 0x0F, 4);
	ck_assert_uint_eq(log.nlookups, 2);

	n = query(q, 0x8180, 1); /* a response: never answered, never recorded */
	ck_assert_int_eq(vf_run_sink_query(&log, q, n, "sink/udp", a, sizeof(a), &alen, &e),
			 EXAI_OK);
	ck_assert_uint_eq(alen, 0);
	ck_assert_uint_eq(log.nlookups, 2);

	n = query(q, 0x0100, 1);
	q[12] = 0x45; /* bad label type: FORMERR, counted */
	ck_assert_int_eq(vf_run_sink_query(&log, q, n, "sink/udp", a, sizeof(a), &alen, &e),
			 EXAI_OK);
	ck_assert_uint_eq(alen, 12);
	ck_assert_uint_eq(a[3] & 0x0F, 1);
	ck_assert_uint_eq(log.malformed_dns, 1);

	ck_assert_int_eq(vf_run_sink_query(&log, q, 5, "sink/udp", a, sizeof(a), &alen, &e),
			 EXAI_OK);
	ck_assert_uint_eq(alen, 0); /* no header: nothing to answer */
	ck_assert_uint_eq(log.malformed_dns, 2);
	vf_run_log_free(&log);
}
END_TEST

/* Enters fresh namespaces; false (test skipped) when not root. */
static bool enter_namespaces(int flags)
{
	if (!tu_is_root()) {
		fprintf(stderr, "skip: needs root\n");
		return false;
	}
	if (getenv("CK_FORK") && !strcmp(getenv("CK_FORK"), "no"))
		ck_abort_msg("the namespace tests need Check's fork mode");
	ck_assert_msg(unshare(flags) == 0, "unshare: %s", strerror(errno));
	return true;
}

static int udp_to(int family, const char *addr, unsigned port, const void *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s->sin_addr);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s->sin6_addr);
		sl = sizeof(*s);
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(sendto(fd, msg, len, 0, (struct sockaddr *)&ss, sl) == (ssize_t)len,
		      "sendto %s: %s", addr, strerror(errno));
	return fd;
}

/* Services the sink until @fd is readable (at most ~2 s). */
static void serve_until(vf_run_sink *s, int fd)
{
	exai_error e;
	int i;

	for (i = 0; i < 200; i++) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		ck_assert_int_eq(vf_run_sink_service(s, &e), EXAI_OK);
		if (poll(&p, 1, 10) == 1)
			return;
	}
	ck_abort_msg("no answer from the sink");
}

START_TEST(namespace_routes_everything_into_the_tun_device)
{
	vf_run_net net;
	vf_run_sink *s = NULL;
	vf_run_log log;
	uint8_t q[64], a[600];
	exai_error e;
	size_t n, i;
	int fd, more;
	bool v4 = false, v6 = false;

	if (!enter_namespaces(CLONE_NEWNET))
		return;
	vf_run_log_init(&log);
	ck_assert_msg(vf_run_net_setup(&net, &e) == EXAI_OK, "%s", e.msg);
	ck_assert_uint_eq(net.ifindex, if_nametoindex(VF_RUN_TUN_NAME));
	ck_assert_msg(vf_run_sink_open(VF_RUN_DNS_ADDR, 53, &log, &s, &e) == EXAI_OK, "%s", e.msg);

	close(udp_to(AF_INET, "192.0.2.1", 9, "x", 1));
	close(udp_to(AF_INET6, "2001:db8::1", 9, "y", 1));
	usleep(50000);
	ck_assert_int_eq(vf_run_sink_tun(s, net.tun_fd, &more, &e), EXAI_OK);
	for (i = 0; i < log.nattempts; i++) {
		v4 = v4 || (log.attempts[i].family == AF_INET && log.attempts[i].port == 9);
		v6 = v6 || (log.attempts[i].family == AF_INET6 && log.attempts[i].port == 9);
	}
	ck_assert_msg(v4 && v6, "attempts seen: %zu", log.nattempts);

	/* the sink answers over UDP */
	n = query(q, 0x0100, 28);
	fd = udp_to(AF_INET, VF_RUN_DNS_ADDR, 53, q, n);
	serve_until(s, fd);
	ck_assert_int_eq(recv(fd, a, sizeof(a), 0), (ssize_t)n);
	ck_assert_uint_eq(a[3] & 0x0F, 3);
	close(fd);
	/* and over TCP, with two-byte framing */
	{
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
		uint8_t framed[66];

		inet_pton(AF_INET, VF_RUN_DNS_ADDR, &sa.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		framed[0] = 0;
		framed[1] = (uint8_t)n;
		memcpy(framed + 2, q, n);
		/* split in two writes: the sink must reassemble */
		ck_assert_int_eq(write(fd, framed, 5), 5);
		ck_assert_int_eq(vf_run_sink_service(s, &e), EXAI_OK);
		ck_assert_int_eq(write(fd, framed + 5, n - 3), (ssize_t)n - 3);
		serve_until(s, fd);
		ck_assert_int_eq(recv(fd, a, sizeof(a), 0), (ssize_t)n + 2);
		ck_assert_uint_eq(a[5] & 0x0F, 3);
		close(fd);
	}
	ck_assert_uint_eq(s->answered, 2);
	ck_assert_str_eq(log.lookups[0].via, "sink/udp");
	ck_assert_str_eq(log.lookups[1].via, "sink/tcp");
	vf_run_sink_free(s);
	vf_run_net_close(&net);
	vf_run_log_free(&log);
}
END_TEST

START_TEST(mounts_replace_resolv_conf_read_only)
{
	char masked[256];
	uint8_t *text;
	exai_error e;
	int fd;

	if (!enter_namespaces(CLONE_NEWNS))
		return;
	ck_assert_msg(vf_run_mounts_setup("127.0.0.53", masked, sizeof(masked), &e) == EXAI_OK,
		      "%s", e.msg);
	text = tu_read("/etc/resolv.conf", NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr((char *)text, "\nnameserver 127.0.0.53\n"));
	free(text);
	fd = open("/etc/resolv.conf", O_WRONLY | O_CLOEXEC);
	ck_assert_int_lt(fd, 0);
	ck_assert_int_eq(errno, EROFS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("run_sink");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, sink_records_and_answers);
	tcase_add_test(tc, namespace_routes_everything_into_the_tun_device);
	tcase_add_test(tc, mounts_replace_resolv_conf_read_only);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
