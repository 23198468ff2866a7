/* Check suite for lib/core/mirror_send.c: batches to a fake mirror (a forked child on a unix
 * socket in a temp dir that reads the lines it is told to expect and answers with scripted
 * reply lines): an ack that covers everything, per-line refusals, a partial ack then a closed
 * connection, a nack, a refused connection (error line 0), numbering across batches, and a
 * line holding a newline refused before anything is sent. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exai/mirror_send.h"
#include "testutil.h"

static char dir[] = "/tmp/exai-mirror-send-XXXXXX";
static char path[100];

/* One step the fake mirror plays: read @lines lines, then write @reply (may be ""). */
typedef struct step {
	int lines;
	const char *reply;
} step;

/* Serves one connection in a child: each step in turn, then closes it. */
static pid_t fake_mirror(const step *steps, int n)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int ls = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;

	ck_assert_int_ge(ls, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int c = accept(ls, NULL, NULL);
		char ch;

		for (int r = 0; r < n && c >= 0; r++) {
			for (int got = 0; got < steps[r].lines;)
				if (read(c, &ch, 1) != 1)
					_exit(1);
				else if (ch == '\n')
					got++;
			if (steps[r].reply[0] &&
			    write(c, steps[r].reply, strlen(steps[r].reply)) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(ls);
	return pid;
}

static void reap(pid_t pid)
{
	int st = 0;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fake mirror: status 0x%x", st);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ingest.sock", dir);
	signal(SIGPIPE, SIG_IGN);
}

static void teardown(void)
{
	unlink(path);
	rmdir(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static const char *const three[] = {"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"};

START_TEST(ack_covers_the_batch_and_numbering_goes_on)
{
	const step r[] = {{3, "{\"ack\":{\"through_line\":2}}\n{\"ack\":{\"through_line\":3}}\n"},
			  {2, "{\"ack\":{\"through_line\":5,\"stored\":2}}\n"},
			  {1, "{\"ack\":{\"through_line\":3}}\n"}};
	pid_t pid = fake_mirror(r, 3);
	exai_mirror_conn *c = NULL;
	exai_mirror_batch b;
	exai_error e;

	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, three, 3, &b, &e), EXAI_OK);
	ck_assert_uint_eq(b.settled, 3);
	ck_assert_uint_eq(b.n_refused, 0);
	/* the second batch is lines 4 and 5 of the connection: an ack through 3 would not do */
	ck_assert_int_eq(exai_mirror_send(c, three, 2, &b, &e), EXAI_OK);
	ck_assert_uint_eq(b.settled, 2);
	/* line 6: an old ack (through 3) settles none of it */
	ck_assert_int_eq(exai_mirror_send(c, three, 1, &b, &e), EXAI_EIO);
	ck_assert_uint_eq(b.settled, 0);
	exai_mirror_close(c);
	reap(pid);
}
END_TEST

START_TEST(a_refused_line_is_named_and_the_rest_settled)
{
	const step r[] = {{3, "{\"error\":{\"line\":2,\"code\":\"EFORMAT\",\"message\":\"line 2: "
			      "bad\"}}\n{\"error\":{\"line\":2,\"message\":\"again\"}}\n"
			      "{\"ack\":{\"through_line\":3}}\n"}};
	pid_t pid = fake_mirror(r, 1);
	exai_mirror_conn *c = NULL;
	exai_mirror_batch b;
	exai_error e;

	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, three, 3, &b, &e), EXAI_OK);
	ck_assert_uint_eq(b.settled, 3);
	ck_assert_uint_eq(b.n_refused, 1); /* named twice, counted once */
	ck_assert(!b.refused[0] && b.refused[1] && !b.refused[2]);
	ck_assert_uint_eq(b.first_refused, 1);
	ck_assert_str_eq(b.why, "line 2: bad");
	exai_mirror_close(c);
	reap(pid);
}
END_TEST

START_TEST(a_partial_ack_then_a_close_settles_only_what_it_covers)
{
	const step r[] = {{3, "{\"ack\":{\"through_line\":1}}\n"}};
	pid_t pid = fake_mirror(r, 1);
	exai_mirror_conn *c = NULL;
	exai_mirror_batch b;
	exai_error e;

	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, three, 3, &b, &e), EXAI_EIO);
	ck_assert_str_eq(e.msg, "mirror: connection closed before the ack of line 3");
	ck_assert_uint_eq(b.settled, 1);
	exai_mirror_close(c);
	reap(pid);
}
END_TEST

START_TEST(a_nack_and_a_refused_connection_fail)
{
	const step r1[] = {{2, "{\"nack\":{\"through_line\":2,\"message\":\"disk I/O\"}}\n"}};
	const step r2[] = {{1, "{\"error\":{\"line\":0,\"message\":\"unmapped peer\"}}\n"}};
	exai_mirror_conn *c = NULL;
	exai_mirror_batch b;
	exai_error e;
	pid_t pid = fake_mirror(r1, 1);

	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, three, 2, &b, &e), EXAI_EIO);
	ck_assert_str_eq(e.msg, "mirror: lines through 2 not committed: disk I/O");
	ck_assert_uint_eq(b.settled, 0);
	exai_mirror_close(c);
	reap(pid);
	pid = fake_mirror(r2, 1);
	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, three, 1, &b, &e), EXAI_EREFUSED);
	ck_assert_str_eq(e.msg, "mirror refused the connection: unmapped peer");
	ck_assert_uint_eq(b.settled, 0);
	exai_mirror_close(c);
	reap(pid);
}
END_TEST

START_TEST(bad_batches_and_no_listener)
{
	const char *const nl[] = {"{\"a\":1}", "{\"a\":\n2}"};
	const step r[] = {{0, ""}};
	exai_mirror_conn *c = NULL;
	exai_mirror_batch b;
	exai_error e;
	pid_t pid;

	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_ENOENT); /* no socket */
	ck_assert_ptr_null(c);
	ck_assert_ptr_nonnull(strstr(e.msg, "mirror: connect "));
	pid = fake_mirror(r, 1);
	ck_assert_int_eq(exai_mirror_connect(path, &c, &e), EXAI_OK);
	ck_assert_int_eq(exai_mirror_send(c, nl, 2, &b, &e), EXAI_EINVAL);
	ck_assert_str_eq(e.msg, "mirror: line 2 of a batch holds a newline");
	ck_assert_int_eq(exai_mirror_send(c, nl, 0, &b, &e), EXAI_EINVAL);
	ck_assert_int_eq(exai_mirror_send(c, nl, EXAI_MIRROR_BATCH_MAX + 1, &b, &e), EXAI_EINVAL);
	exai_mirror_close(c);
	exai_mirror_close(NULL);
	reap(pid);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mirror_send");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ack_covers_the_batch_and_numbering_goes_on);
	tcase_add_test(tc, a_refused_line_is_named_and_the_rest_settled);
	tcase_add_test(tc, a_partial_ack_then_a_close_settles_only_what_it_covers);
	tcase_add_test(tc, a_nack_and_a_refused_connection_fail);
	tcase_add_test(tc, bad_batches_and_no_listener);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
