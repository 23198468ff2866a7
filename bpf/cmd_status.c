/*
 * cmd_status.c: 'exai-egress status'. Reports from the kernel's own objects, not from a file:
 * the live policy's generation and mode as the programs see them (the policy slot's trie),
 * every workload's links (one someone detached shows as DETACHED and fails the status), the
 * counters, and whether the policy was applied unsigned.
 */
#include <bpf/bpf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "egress_cli.h"
#include "exai/json.h"
#include "links.h"
#include "lsm_probe.h"
#include "ratchet.h"
#include "serve_config.h"
#include "spool.h"

const char egress_status_help[] =
    "usage: exai-egress status [--config FILE] [--state-dir DIR] [--pin-dir DIR] [--json]\n"
    "\n"
    "Whether enforcement is attached and which policy generation is live, read from the\n"
    "pinned programs and maps: per workload its cgroup and the state of each hook's link,\n"
    "the counters (denied, audited, suppressed by the rate limit, events lost), and whether\n"
    "the policy was applied --unsigned, and the ratchet record (--state-dir DIR, "
    "default\n" EGRESS_DEFAULT_STATE_DIR "): its sequence, or why signed policies are refused.\n"
    "Exit 0 when every link is attached and the live\n"
    "policy is the one applied; 1 when nothing is applied or something was detached.\n"
    "With a serve config (--config FILE, $EXAI_EGRESS_CONFIG, else " EGRESS_DEFAULT_CONFIG "\n"
    "when it exists) also the daemon: running or not, the events waiting in its spool, those\n"
    "it refused at its bound, those delivered to the mirror and why delivery fails now.\n";

enum { O_CONFIG = EGRESS_O_FIRST_OWN, O_STATE_DIR };

static const exai_cli_opt opts[] = {{"json", false, EGRESS_O_JSON},
				    {"pin-dir", true, EGRESS_O_PIN_DIR},
				    {"config", true, O_CONFIG},
				    {"state-dir", true, O_STATE_DIR},
				    {NULL, false, 0}};

struct live {
	bool has_policy;
	struct egress_val meta;
	uint64_t counters[EGRESS_CNT_MAX];
};

/* The live trie's META entry, through the policy slot (what the programs read). */
static void read_live(const egress_pins *p, struct live *l)
{
	uint32_t zero = 0, id = 0;
	struct egress_key k;
	int fd;

	memset(l, 0, sizeof(*l));
	for (uint32_t i = 0; i < EGRESS_CNT_MAX; i++)
		(void)bpf_map_lookup_elem(p->maps[EGRESS_MAP_COUNTERS], &i, &l->counters[i]);
	if (bpf_map_lookup_elem(p->maps[EGRESS_MAP_POLICY], &zero, &id) != 0)
		return;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return;
	egress_key_meta(&k);
	l->has_policy = bpf_map_lookup_elem(fd, &k, &l->meta) == 0;
	close(fd);
}

static const char *link_word(int state)
{
	return state == 1 ? "attached" : state == 0 ? "DETACHED" : "MISSING";
}

/* Every workload with its links; *@bad counts links not attached. */
static json_t *workloads(const egress_pins *p, bool text, int *bad)
{
	json_t *arr = json_array();
	uint64_t key, next;
	bool more = bpf_map_get_next_key(p->maps[EGRESS_MAP_WORKLOADS], NULL, &key) == 0;

	while (more) {
		struct egress_wlinfo wi;
		json_t *o = json_object(), *hooks = json_object();

		more = bpf_map_get_next_key(p->maps[EGRESS_MAP_WORKLOADS], &key, &next) == 0;
		memset(&wi, 0, sizeof(wi));
		(void)bpf_map_lookup_elem(p->maps[EGRESS_MAP_WORKLOADS], &key, &wi);
		wi.name[sizeof(wi.name) - 1] = wi.cgroup[sizeof(wi.cgroup) - 1] = '\0';
		if (text)
			printf("workload %s: cgroup %s (id %" PRIu64 ")\n", wi.name, wi.cgroup,
			       key);
		for (int h = 0; h < EGRESS_NHOOKS; h++) {
			int st = egress_link_state(p, key, h);

			*bad += st != 1;
			exai_json_set(hooks, egress_hooks[h].name, json_string(link_word(st)));
			if (text)
				printf("  %-12s %s\n", egress_hooks[h].name, link_word(st));
		}
		exai_json_set(o, "name", json_string(wi.name));
		exai_json_set(o, "cgroup", json_string(wi.cgroup));
		exai_json_set(o, "cgroup_id", json_integer((json_int_t)key));
		exai_json_set(o, "links", hooks);
		json_array_append_new(arr, o);
		key = next;
	}
	return arr;
}

static void print_head(const struct egress_state *s, const struct live *l, bool ok)
{
	printf("exai-egress: %s, generation %u live (applied %u), mode %s\n",
	       ok ? "enforcement attached" : "ENFORCEMENT INCOMPLETE", l->meta.generation,
	       s->generation,
	       !l->has_policy			   ? "none"
	       : l->meta.mode == EGRESS_MODE_AUDIT ? "audit"
						   : "enforce");
	printf("policy: %s%s\n", s->policy_path,
	       s->unsigned_policy ? " (UNSIGNED: --unsigned)" : "");
	if (s->signers[0])
		printf("signed by: %s\n", s->signers);
	if (s->sequence)
		printf("sequence: %llu pinned (a signed policy below it is refused)\n",
		       (unsigned long long)s->sequence);
}

static json_t *state_json(const struct egress_state *s, const struct live *l)
{
	json_t *o = json_object(), *c = json_object();

	exai_json_set(o, "generation", json_integer(l->has_policy ? l->meta.generation : 0));
	exai_json_set(o, "applied_generation", json_integer(s->generation));
	exai_json_set(o, "mode",
		      json_string(!l->has_policy		      ? "none"
				  : l->meta.mode == EGRESS_MODE_AUDIT ? "audit"
								      : "enforce"));
	exai_json_set(o, "unsigned", json_boolean(s->unsigned_policy));
	exai_json_set(o, "policy", json_string(s->policy_path));
	exai_json_set(o, "policy_sha256",
		      exai_json_hex(s->policy_sha256, sizeof(s->policy_sha256)));
	exai_json_set(o, "signers", json_string(s->signers));
	exai_json_set(o, "applied_unix", json_integer((json_int_t)s->applied_unix));
	exai_json_set(o, "entries", json_integer((json_int_t)s->nentries));
	exai_json_set(o, "sequence", json_integer((json_int_t)s->sequence));
	exai_json_set(c, "denied", json_integer((json_int_t)l->counters[EGRESS_CNT_DENIED]));
	exai_json_set(c, "audited", json_integer((json_int_t)l->counters[EGRESS_CNT_AUDITED]));
	exai_json_set(c, "suppressed",
		      json_integer((json_int_t)l->counters[EGRESS_CNT_SUPPRESSED]));
	exai_json_set(c, "lost", json_integer((json_int_t)l->counters[EGRESS_CNT_LOST]));
	exai_json_set(o, "counters", c);
	return o;
}

/* The ratchet record of @dir against the pinned sequence @pinned (0: none), as text or
 * JSON. Never changes the exit status: enforcement does not depend on it, signed applies do
 * (and say so). */
static json_t *ratchet_part(const char *dir, uint64_t pinned, bool text)
{
	char path[EGRESS_RATCHET_PATH_MAX] = "", sha[EXAI_SHA256_HEX] = "";
	egress_ratchet r;
	exai_error e = {0};
	json_t *o = json_object();
	bool ok = egress_ratchet_path(dir, path, sizeof(path), &e) == EXAI_OK &&
		  egress_ratchet_load(dir, &r, &e) == EXAI_OK;

	exai_json_set(o, "path", json_string(path[0] ? path : dir));
	if (!ok) {
		exai_json_set(o, "usable", json_false());
		exai_json_set(o, "error", json_string(e.msg));
		if (text)
			printf("ratchet record: UNUSABLE: %s\n", e.msg);
		return o;
	}
	if (r.has_sha)
		exai_hex_encode(r.policy_sha256, sizeof(r.policy_sha256), sha);
	exai_json_set(o, "usable", json_true());
	exai_json_set(o, "sequence", json_integer((json_int_t)r.sequence));
	exai_json_set(o, "policy_sha256", r.has_sha ? json_string(sha) : json_null());
	exai_json_set(o, "created_unix", json_integer((json_int_t)r.created));
	exai_json_set(o, "below_pinned", json_boolean(r.sequence < pinned));
	if (text)
		printf(
		    "ratchet record: %s: sequence %llu%s (signed policies below the larger of it "
		    "and the pinned one are refused; --unsigned neither checks nor moves it)\n",
		    path, (unsigned long long)r.sequence,
		    r.sequence < pinned ? ", BELOW the pinned sequence: raised at the next "
					  "signed apply"
					: "");
	return o;
}

/* Whether @pid is a running exai-egress. */
static bool running(int64_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (pid <= 0 || kill((pid_t)pid, 0) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%lld/comm", (long long)pid);
	if (!(f = fopen(path, "r")))
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "exai-egress", 11) == 0;
}

static json_t *spool_json(const egress_serve_config *c, const egress_spool_stats *st)
{
	json_t *o = json_object();

	exai_json_set(o, "dir", json_string(c->spool_dir));
	exai_json_set(o, "events", json_integer((json_int_t)st->events));
	exai_json_set(o, "bytes", json_integer((json_int_t)st->bytes));
	exai_json_set(o, "max_events", json_integer((json_int_t)c->spool_max_events));
	exai_json_set(o, "max_bytes", json_integer((json_int_t)c->spool_max_bytes));
	exai_json_set(o, "refused", json_integer((json_int_t)st->refused));
	exai_json_set(o, "refused_reported", json_integer((json_int_t)st->refused_reported));
	exai_json_set(o, "delivered", json_integer((json_int_t)st->delivered));
	exai_json_set(o, "last_delivery", json_integer(st->last_delivery));
	exai_json_set(o, "journaled", json_integer((json_int_t)st->journaled));
	exai_json_set(o, "journal_failed", json_integer((json_int_t)st->journal_failed));
	exai_json_set(o, "mirror_error", json_string(st->mirror_error));
	return o;
}

static void spool_text(const egress_serve_config *c, const egress_spool_stats *st)
{
	char when[32] = "never";
	time_t t = (time_t)st->last_delivery;
	struct tm tm;

	printf("spool: %" PRIu64 " event%s (%" PRIu64 " bytes) waiting in %s; bounds %" PRIu64
	       " events, %" PRIu64 " bytes\n",
	       st->events, st->events == 1 ? "" : "s", st->bytes, c->spool_dir, c->spool_max_events,
	       c->spool_max_bytes);
	if (st->refused)
		printf("spool: REFUSED %" PRIu64
		       " event%s at its bound (counted, not kept; %" PRIu64
		       " reported as events)\n",
		       st->refused, st->refused == 1 ? "" : "s", st->refused_reported);
	if (t && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (c->mirror_socket)
		printf("mirror: %s: %" PRIu64 " delivered, last %s%s%s\n", c->mirror_socket,
		       st->delivered, when, st->mirror_error[0] ? "; now failing: " : "",
		       st->mirror_error);
	else
		printf(
		    "mirror: none configured (events go to the journal and stay in the spool)\n");
	if (st->journal_failed)
		printf("journal: %s: %" PRIu64 " write%s failed\n", c->journal_socket,
		       st->journal_failed, st->journal_failed == 1 ? "" : "s");
}

/* The daemon's part, from its config and spool. EXAI_EXIT_USAGE when a config named by
 * --config or $EXAI_EGRESS_CONFIG cannot be loaded; a missing default config is "not
 * configured". */
static int serve_part(const exai_cli_call *call, const char *opt, bool json, json_t **out)
{
	const char *env = getenv("EXAI_EGRESS_CONFIG"), *path = egress_config_path(opt);
	bool named = opt || (env && *env);
	egress_serve_config *c = NULL;
	egress_spool *sp = NULL;
	egress_spool_stats st;
	exai_error e = {0};
	json_t *o = json_object();
	bool run;

	*out = o;
	exai_json_set(o, "config", json_string(path));
	if (egress_serve_config_load(path, &c, &e) != EXAI_OK) {
		if (named) {
			fprintf(stderr, "%s: %s\n", call->who, e.msg);
			return EXAI_EXIT_USAGE;
		}
		exai_json_set(o, "configured", json_false());
		if (e.code != EXAI_ENOENT)
			exai_json_set(o, "error", json_string(e.msg));
		if (!json && e.code == EXAI_ENOENT)
			printf("serve: not configured (no %s)\n", path);
		else if (!json)
			printf("serve: %s\n", e.msg);
		return EXAI_EXIT_OK;
	}
	exai_json_set(o, "configured", json_true());
	exai_json_set(o, "control_socket", json_string(c->control_socket));
	if (egress_spool_open_ro(c->spool_dir, &sp, &e) != EXAI_OK ||
	    egress_spool_stats_get(sp, &st, &e) != EXAI_OK) {
		exai_json_set(o, "running", json_false());
		exai_json_set(o, "error", json_string(e.msg));
		if (!json)
			printf("serve: config %s; spool: %s\n", path,
			       e.code == EXAI_ENOENT ? "none yet (serve has not run)" : e.msg);
		egress_spool_close(sp);
		egress_serve_config_free(c);
		return EXAI_EXIT_OK;
	}
	run = running(st.pid);
	exai_json_set(o, "running", json_boolean(run));
	if (run)
		exai_json_set(o, "pid", json_integer(st.pid));
	exai_json_set(o, "mirror_socket",
		      c->mirror_socket ? json_string(c->mirror_socket) : json_null());
	exai_json_set(o, "spool", spool_json(c, &st));
	if (!json) {
		if (run)
			printf("serve: running (pid %lld), config %s\n", (long long)st.pid, path);
		else
			printf("serve: NOT RUNNING, config %s\n", path);
		spool_text(c, &st);
	}
	egress_spool_close(sp);
	egress_serve_config_free(c);
	return EXAI_EXIT_OK;
}

static int status(const exai_cli_call *call, const char *dir, const char *config,
		  const char *state_dir, bool json)
{
	egress_pins pins;
	struct egress_state s;
	struct live l;
	exai_error e = {0};
	json_t *o, *wl, *sv = NULL;
	char lsm_why[160];
	int bad = 0;
	bool ok, lsm, usage = false;

	if (egress_pins_open(dir, &pins, &e) != EXAI_OK ||
	    egress_state_get(&pins, &s, &e) != EXAI_OK) {
		egress_pins_close(&pins);
		if (!json) {
			fprintf(stderr, "%s: %s\n", call->who, e.msg);
			json_decref(ratchet_part(state_dir, 0, true));
			usage = serve_part(call, config, false, &sv) != EXAI_EXIT_OK;
			json_decref(sv);
			return usage ? EXAI_EXIT_USAGE : EXAI_EXIT_FAIL;
		}
		if (serve_part(call, config, true, &sv) != EXAI_EXIT_OK) {
			json_decref(sv);
			return EXAI_EXIT_USAGE;
		}
		o = json_object();
		exai_json_set(o, "attached", json_false());
		exai_json_set(o, "error", json_string(e.msg));
		exai_json_set(o, "ratchet", ratchet_part(state_dir, 0, false));
		exai_json_set(o, "serve", sv);
		(void)exai_json_emit(o, stdout);
		return EXAI_EXIT_FAIL;
	}
	read_live(&pins, &l);
	if (json && serve_part(call, config, true, &sv) != EXAI_EXIT_OK) {
		json_decref(sv);
		egress_pins_close(&pins);
		return EXAI_EXIT_USAGE;
	}
	lsm = egress_lsm_probe(lsm_why, sizeof(lsm_why));
	wl = workloads(&pins, false, &bad);
	ok = bad == 0 && l.has_policy && l.meta.generation == s.generation;
	if (json) {
		o = state_json(&s, &l);
		exai_json_set(o, "attached", json_boolean(ok));
		exai_json_set(o, "pin_dir", json_string(dir));
		exai_json_set(o, "workloads", wl);
		exai_json_set(o, "bpf_lsm", json_string(lsm ? "available, not used" : lsm_why));
		exai_json_set(o, "ratchet", ratchet_part(state_dir, s.sequence, false));
		exai_json_set(o, "serve", sv);
		(void)exai_json_emit(o, stdout);
	} else {
		json_decref(wl);
		print_head(&s, &l, ok);
		json_decref(ratchet_part(state_dir, s.sequence, true));
		bad = 0;
		json_decref(workloads(&pins, true, &bad));
		printf("counters: denied %" PRIu64 ", audited %" PRIu64 ", suppressed %" PRIu64
		       ", lost %" PRIu64 "\n",
		       l.counters[EGRESS_CNT_DENIED], l.counters[EGRESS_CNT_AUDITED],
		       l.counters[EGRESS_CNT_SUPPRESSED], l.counters[EGRESS_CNT_LOST]);
		printf("bpf lsm: %s; AF_PACKET is refused only under 'exai-egress run'\n",
		       lsm ? "available, not used yet" : lsm_why);
		usage = serve_part(call, config, false, &sv) != EXAI_EXIT_OK;
		json_decref(sv);
	}
	egress_pins_close(&pins);
	return usage ? EXAI_EXIT_USAGE : ok ? EXAI_EXIT_OK : EXAI_EXIT_FAIL;
}

int egress_cmd_status(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v, *dir = NULL, *config = NULL, *state_dir = NULL;
	bool json = call->json;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			json = true;
		else if (c == EGRESS_O_PIN_DIR)
			dir = v;
		else if (c == O_CONFIG)
			config = v;
		else if (c == O_STATE_DIR)
			state_dir = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	return status(call, egress_pin_dir(dir), config, egress_state_dir(state_dir), json);
}
