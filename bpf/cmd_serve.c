/*
 * cmd_serve.c: 'exai-egress serve', the long-running loader. It adopts the pinned programs
 * and maps (waiting while nothing is applied), reads the event ring buffer continuously into
 * the spool (a batch is committed before the ring's consumer position moves past it: ring.h,
 * spool.h), turns the kernel's lost and suppressed counters and the spool's own refusals into
 * events, hands delivery to its thread (deliver.h), and answers reload requests on the
 * control socket (serve_ctl.c). SIGTERM and SIGINT drain: the ring is read to its end, one
 * last delivery round runs, the control socket is removed, exit 0. Enforcement is never
 * touched: the programs stay attached and pinned whether serve runs or not.
 *
 * One reader: serve holds an exclusive flock on the pin directory while it reads the ring,
 * and 'exai-egress events' takes the same lock, so the two never consume each other's events.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "egress_cli.h"
#include "events.h"
#include "exai/file.h"
#include "exai/json.h"
#include "ratchet.h"
#include "serve.h"

const char egress_serve_help[] =
    "usage: exai-egress serve [--config FILE] [--pin-dir DIR] [--json]\n"
    "\n"
    "The daemon: reads the deny (and audit) events from the pinned ring buffer into a\n"
    "durable spool, delivers them to exai-mirror (mirror_socket, audit class) or else to the\n"
    "journal (journal_socket, default /dev/log), and answers reload requests on its control\n"
    "socket ('exai-egress reload' finds it): the daemon checks the caller, reads the policy,\n"
    "checks its signatures against its trust_root and swaps it in. Until SIGTERM, then it\n"
    "drains and exits 0; enforcement stays pinned. The config is --config FILE, else\n"
    "$EXAI_EGRESS_CONFIG, else " EGRESS_DEFAULT_CONFIG " (docs/egress.md).\n";

enum { O_CONFIG = EGRESS_O_FIRST_OWN };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"config", true, O_CONFIG},
				    {NULL, false, 0}};

int64_t serve_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Says @msg once (until another message is said). */
static void say_once(serve *S, const char *msg)
{
	if (strcmp(S->said, msg) == 0)
		return;
	snprintf(S->said, sizeof(S->said), "%s", msg);
	fprintf(stderr, "exai-egress serve: %s\n", msg);
}

bool serve_spool_own(serve *S, json_t *body, const char *text)
{
	exai_error e = {0};
	char *line = NULL;
	bool fits = false, stored = false;

	if (!body)
		return false;
	json_object_set_new(body, "time", json_integer((json_int_t)time(NULL)));
	line = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!line)
		return false;
	if (egress_spool_begin(S->spool, &e) == EXAI_OK) {
		if (egress_spool_fits(S->spool, strlen(line) + strlen(text),
				      S->cfg->spool_max_events, S->cfg->spool_max_bytes, &fits,
				      &e) == EXAI_OK &&
		    fits &&
		    egress_spool_add(S->spool, time(NULL), line, text, S->cfg->spool_max_events,
				     S->cfg->spool_max_bytes, &stored, &e) == EXAI_OK &&
		    egress_spool_commit(S->spool, &e) == EXAI_OK) {
			egress_deliver_wake(S->deliver);
		} else {
			egress_spool_rollback(S->spool);
			stored = false;
		}
	}
	if (e.msg[0])
		fprintf(stderr, "exai-egress serve: spool: %s\n", e.msg);
	free(line);
	return stored;
}

/* ---- the ring buffer ---- */

typedef struct ring_batch {
	serve *S;
	int64_t mono_ns, real_s; /* now, on both clocks: event times are CLOCK_MONOTONIC */
	size_t n;
	char *body[SERVE_RING_BATCH];
	char text[SERVE_RING_BATCH][512];
	int64_t time[SERVE_RING_BATCH];
} ring_batch;

static int take_event(void *ctx, const void *data, size_t size)
{
	ring_batch *b = ctx;
	struct egress_event ev;
	json_t *o, *k;

	if (size < sizeof(ev))
		return 0; /* not an event of ours: skipped */
	memcpy(&ev, data, sizeof(ev));
	o = egress_event_json(&b->S->pins, &ev);
	k = json_object();
	if (!o || !k) {
		json_decref(o);
		json_decref(k);
		return -1; /* out of memory: left in the ring for later */
	}
	b->time[b->n] = b->real_s - (b->mono_ns - (int64_t)ev.ts_ns) / 1000000000;
	json_object_set_new(k, "kind", json_string("verdict"));
	json_object_set_new(k, "time", json_integer(b->time[b->n]));
	json_object_update(k, o);
	json_decref(o);
	b->body[b->n] = json_dumps(k, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(k);
	if (!b->body[b->n])
		return -1;
	egress_event_text(&b->S->pins, &ev, b->text[b->n], sizeof(b->text[0]));
	b->n++;
	return 0;
}

/* Spools @b in one transaction: false when the spool could not be written (the events stay
 * in the ring). Events over the bound are refused and counted, and written to the journal
 * at once (the one place they still reach). */
static bool spool_batch(serve *S, ring_batch *b)
{
	exai_error e = {0};
	bool stored, refused[SERVE_RING_BATCH] = {false};
	int64_t failed = 0;
	exai_status rc = egress_spool_begin(S->spool, &e);

	for (size_t i = 0; i < b->n && !rc; i++) {
		rc = egress_spool_add(S->spool, b->time[i], b->body[i], b->text[i],
				      S->cfg->spool_max_events, S->cfg->spool_max_bytes, &stored,
				      &e);
		refused[i] = !rc && !stored;
	}
	for (size_t i = 0; i < b->n && !rc; i++)
		if (refused[i])
			failed += egress_journal_send(S->journal_fd, S->cfg->journal_socket,
						      b->text[i]) != 0;
	if (!rc && failed)
		rc = egress_spool_count(S->spool, "journal_failed", failed, &e);
	if (!rc && exai_fault("serve.spool")) /* read from the ring, not yet committed */
		rc = exai_error_set(&e, EXAI_EIO, "injected fault");
	if (!rc)
		rc = egress_spool_commit(S->spool, &e);
	if (rc) {
		char msg[EXAI_ERROR_MSG_MAX + 64];

		egress_spool_rollback(S->spool);
		snprintf(msg, sizeof(msg), "spool: %s (the events stay in the ring buffer)", e.msg);
		say_once(S, msg); /* retried every 200 ms: said once until something else is */
	}
	return rc == EXAI_OK;
}

/* Reads the ring to its end (or until the spool cannot be written). */
static void drain_ring(serve *S)
{
	static ring_batch b;
	struct timespec m, r;

	if (!S->adopted)
		return;
	for (;;) {
		size_t n;
		bool ok;

		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_REALTIME, &r);
		memset(&b, 0, sizeof(b));
		b.S = S;
		b.mono_ns = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
		b.real_s = r.tv_sec;
		n = egress_ring_peek(&S->ring, SERVE_RING_BATCH, take_event, &b);
		ok = n == 0 || b.n == 0 || spool_batch(S, &b);
		for (size_t i = 0; i < b.n; i++)
			free(b.body[i]);
		if (!ok || n == 0)
			break;
		if (!egress_ring_commit(&S->ring))
			say_once(S, "another reader moved the ring buffer's position: its events "
				    "may have been read twice");
		if (b.n)
			egress_deliver_wake(S->deliver);
	}
}

/* ---- adopting the pins ---- */

static uint32_t pinned_events_id(const char *dir)
{
	char path[512];
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/map_events", dir);
	if ((fd = bpf_obj_get(path)) < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		info.id = 0;
	close(fd);
	return info.id;
}

static void release(serve *S)
{
	if (!S->adopted)
		return;
	drain_ring(S);
	epoll_ctl(S->ep, EPOLL_CTL_DEL, S->pins.maps[EGRESS_MAP_EVENTS], NULL);
	egress_ring_close(&S->ring);
	egress_pins_close(&S->pins);
	close(S->lock_fd);
	S->lock_fd = -1;
	S->adopted = false;
}

static void adopt(serve *S)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = SERVE_EV_RING};
	char msg[1400];
	exai_error e = {0};

	if (S->adopted) {
		if (pinned_events_id(S->pin_dir) == S->events_map_id)
			return;
		say_once(S, "the pins changed (detached, or applied anew): reading the new ones");
		release(S);
	}
	if (!egress_pins_exist(S->pin_dir)) {
		snprintf(msg, sizeof(msg), "nothing is pinned in %s yet: waiting (apply first)",
			 S->pin_dir);
		say_once(S, msg);
		return;
	}
	S->lock_fd = open(S->pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (S->lock_fd < 0 || flock(S->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(msg, sizeof(msg),
			 "%s is locked by another reader of its events ('exai-egress events' or "
			 "serve): waiting",
			 S->pin_dir);
		say_once(S, msg);
		if (S->lock_fd >= 0)
			close(S->lock_fd);
		S->lock_fd = -1;
		return;
	}
	if (egress_pins_open(S->pin_dir, &S->pins, &e) != EXAI_OK ||
	    egress_ring_open(S->pins.maps[EGRESS_MAP_EVENTS], &S->ring, &e) != EXAI_OK ||
	    epoll_ctl(S->ep, EPOLL_CTL_ADD, S->pins.maps[EGRESS_MAP_EVENTS], &ev) != 0) {
		snprintf(msg, sizeof(msg), "adopt %s: %s", S->pin_dir,
			 e.msg[0] ? e.msg : strerror(errno));
		say_once(S, msg);
		egress_ring_close(&S->ring);
		egress_pins_close(&S->pins);
		close(S->lock_fd);
		S->lock_fd = -1;
		return;
	}
	S->events_map_id = pinned_events_id(S->pin_dir);
	S->adopted = true;
	snprintf(msg, sizeof(msg), "reading the events of %s", S->pin_dir);
	say_once(S, msg);
}

/* ---- counters become events ---- */

/* One counter event, when @now passed @seen (@key: the spool's record of what was reported). */
static void counter_event(serve *S, const char *name, const char *key, uint64_t now, uint64_t seen,
			  const char *what)
{
	json_t *o;
	char text[256];
	exai_error e = {0};

	if (now < seen) { /* new maps (detach and apply): the count starts again */
		if (egress_spool_set(S->spool, key, 0, &e) != EXAI_OK)
			fprintf(stderr, "exai-egress serve: spool: %s\n", e.msg);
		seen = 0;
	}
	if (now == seen || !(o = json_object()))
		return;
	snprintf(text, sizeof(text), "counter %s +%" PRIu64 " (total %" PRIu64 "): %s", name,
		 now - seen, now, what);
	json_object_set_new(o, "kind", json_string("counter"));
	json_object_set_new(o, "counter", json_string(name));
	json_object_set_new(o, "delta", json_integer((json_int_t)(now - seen)));
	json_object_set_new(o, "total", json_integer((json_int_t)now));
	if (!serve_spool_own(S, o, text))
		return; /* no room: reported when there is (the delta grows meanwhile) */
	if (egress_spool_set(S->spool, key, (int64_t)now, &e) != EXAI_OK)
		fprintf(stderr, "exai-egress serve: spool: %s\n", e.msg);
}

static void counters(serve *S)
{
	egress_spool_stats st;
	uint64_t lost = 0, suppressed = 0;
	uint32_t k;
	exai_error e = {0};

	if (egress_spool_stats_get(S->spool, &st, &e) != EXAI_OK) {
		fprintf(stderr, "exai-egress serve: spool: %s\n", e.msg);
		return;
	}
	counter_event(S, "spool_refused", "refused_reported", st.refused, st.refused_reported,
		      "events the spool refused at its bound (not kept)");
	if (!S->adopted)
		return;
	k = EGRESS_CNT_LOST;
	(void)bpf_map_lookup_elem(S->pins.maps[EGRESS_MAP_COUNTERS], &k, &lost);
	k = EGRESS_CNT_SUPPRESSED;
	(void)bpf_map_lookup_elem(S->pins.maps[EGRESS_MAP_COUNTERS], &k, &suppressed);
	counter_event(S, "lost", "lost_seen", lost, st.lost_seen,
		      "events the ring buffer had no room for");
	counter_event(S, "suppressed", "suppressed_seen", suppressed, st.suppressed_seen,
		      "events held back by the per-socket rate limit");
}

/* ---- setup, the loop, the end ---- */

/* The spool (created on first start, with an event saying so). */
static exai_status open_spool(serve *S, exai_error *e)
{
	bool created = false;
	exai_status rc = egress_spool_open(S->cfg->spool_dir, true, &S->spool, &created, e);

	if (rc)
		return exai_error_prefix(e, "spool");
	if ((rc = egress_spool_set(S->spool, "pid", (int64_t)getpid(), e)))
		return exai_error_prefix(e, "spool");
	if (created) {
		json_t *o = json_object();
		char text[600];

		snprintf(text, sizeof(text),
			 "spool created: %s/spool.db (events spooled before it, if any, are gone)",
			 S->cfg->spool_dir);
		fprintf(stderr, "exai-egress serve: %s\n", text);
		if (o) {
			json_object_set_new(o, "kind", json_string("spool"));
			json_object_set_new(o, "op", json_string("created"));
			json_object_set_new(o, "dir", json_string(S->cfg->spool_dir));
		}
		/* the deliver thread does not run yet: woken later */
		(void)serve_spool_own(S, o, text);
	}
	return EXAI_OK;
}

/* The ratchet record of state_dir, checked once at start when reloads are signed: an
 * unusable one is said, and is an event (kind "ratchet"), so the mirror shows that every
 * signed reload will be refused until 'exai-egress init'. Serve runs on either way. */
static void check_ratchet(serve *S)
{
	egress_ratchet r;
	exai_error e = {0};
	json_t *o;
	char text[EXAI_ERROR_MSG_MAX + 64];

	if (!S->cfg->trust_root)
		return;
	if (egress_ratchet_load(S->cfg->state_dir, &r, &e) == EXAI_OK) {
		fprintf(stderr, "exai-egress serve: ratchet record in %s: sequence %llu\n",
			S->cfg->state_dir, (unsigned long long)r.sequence);
		return;
	}
	snprintf(text, sizeof(text), "every signed reload will be refused: %s", e.msg);
	fprintf(stderr, "exai-egress serve: %s\n", text);
	if ((o = json_object())) {
		json_object_set_new(o, "kind", json_string("ratchet"));
		json_object_set_new(o, "outcome", json_string("unusable"));
		json_object_set_new(o, "state_dir", json_string(S->cfg->state_dir));
		json_object_set_new(o, "message", json_string(e.msg));
	}
	(void)serve_spool_own(S, o, text);
}

static exai_status setup(serve *S, const char *config, exai_error *e)
{
	struct epoll_event sev = {.events = EPOLLIN, .data.u64 = SERVE_EV_SIGNAL};
	struct epoll_event cev = {.events = EPOLLIN, .data.u64 = SERVE_EV_CTL};
	sigset_t set;
	exai_status rc;

	if ((rc = egress_serve_config_load(config, &S->cfg, e)) || (rc = open_spool(S, e)))
		return rc;
	check_ratchet(S);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* blocked before the delivery thread starts, so only the signalfd sees them */
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (S->sig_fd = signalfd(-1, &set, SFD_CLOEXEC)) < 0 ||
	    (S->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return exai_error_sys(e, EXAI_EIO, "signalfd/epoll");
	if ((rc = egress_ctl_listen(S->cfg->control_socket, S->cfg->control_mode, &S->ctl_fd, e)))
		return exai_error_prefix(e, "control socket");
	S->ctl_bound = true;
	if (epoll_ctl(S->ep, EPOLL_CTL_ADD, S->sig_fd, &sev) != 0 ||
	    epoll_ctl(S->ep, EPOLL_CTL_ADD, S->ctl_fd, &cev) != 0)
		return exai_error_sys(e, EXAI_EIO, "epoll");
	if ((rc = egress_deliver_start(S->cfg->spool_dir, S->cfg->mirror_socket,
				       S->cfg->journal_socket, &S->deliver, e)))
		return exai_error_prefix(e, "delivery");
	if (S->cfg->mirror_socket)
		fprintf(
		    stderr,
		    "exai-egress serve: control socket %s; spool %s; events to the mirror at %s "
		    "(and to the journal at %s while the mirror is not reached)\n",
		    S->cfg->control_socket, S->cfg->spool_dir, S->cfg->mirror_socket,
		    S->cfg->journal_socket);
	else
		fprintf(
		    stderr,
		    "exai-egress serve: control socket %s; spool %s; events to the journal at %s "
		    "(no mirror_socket: they also stay in the spool)\n",
		    S->cfg->control_socket, S->cfg->spool_dir, S->cfg->journal_socket);
	return EXAI_OK;
}

static void loop(serve *S)
{
	int64_t next_tick = 0;

	while (!S->stop) {
		struct epoll_event evs[16];
		int n = epoll_wait(S->ep, evs, 16, 200);

		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == SERVE_EV_SIGNAL)
				S->stop = true;
			else if (tag == SERVE_EV_CTL)
				serve_ctl_accept(S);
			else if (tag >= SERVE_EV_CONN && tag < SERVE_EV_CONN + SERVE_CTL_CONNS)
				serve_ctl_read(S, &S->conns[tag - SERVE_EV_CONN]);
		}
		drain_ring(S); /* also on a timeout: a wakeup the kernel skipped */
		if (serve_now_ms() >= next_tick) {
			adopt(S);
			counters(S);
			serve_ctl_expire(S);
			next_tick = serve_now_ms() + 1000;
		}
	}
}

static void teardown(serve *S)
{
	exai_error ignored;

	serve_ctl_close_all(S);
	if (S->ctl_fd >= 0)
		close(S->ctl_fd);
	if (S->ctl_bound)
		unlink(S->cfg->control_socket);
	release(S);			 /* drains the ring first */
	egress_deliver_stop(S->deliver); /* one last round */
	if (S->spool && egress_spool_set(S->spool, "pid", 0, &ignored) != EXAI_OK)
		fprintf(stderr, "exai-egress serve: spool: %s\n", ignored.msg);
	egress_spool_close(S->spool);
	if (S->ep >= 0)
		close(S->ep);
	if (S->journal_fd >= 0)
		close(S->journal_fd);
	if (S->sig_fd >= 0)
		close(S->sig_fd);
	egress_serve_config_free(S->cfg);
}

int egress_cmd_serve(const exai_cli_call *call, int argc, char **argv)
{
	static serve S;
	const char *v, *config = NULL;
	exai_cli_parser p;
	exai_error e = {0};
	bool json = call->json;
	int c, rc;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			json = true;
		else if (c == EGRESS_O_PIN_DIR)
			S.pin_dir = v;
		else if (c == O_CONFIG)
			config = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	S.pin_dir = egress_pin_dir(S.pin_dir);
	S.ep = S.sig_fd = S.ctl_fd = S.lock_fd = -1;
	S.journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	for (size_t i = 0; i < SERVE_CTL_CONNS; i++)
		S.conns[i].fd = -1;
	if (setup(&S, egress_config_path(config), &e) != EXAI_OK) {
		rc = egress_fail(call, json, &e, EXAI_EXIT_USAGE);
		teardown(&S);
		return rc;
	}
	adopt(&S);
	egress_deliver_wake(S.deliver);
	loop(&S);
	fprintf(stderr, "exai-egress serve: stopping: draining the ring buffer and the spool\n");
	teardown(&S);
	return EXAI_EXIT_OK;
}
