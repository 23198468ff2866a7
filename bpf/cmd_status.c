/*
 * cmd_status.c: 'exai-egress status'. Reports from the kernel's own objects, not from a file:
 * the live policy's generation and mode as the programs see them (the policy slot's trie),
 * every workload's links (one someone detached shows as DETACHED and fails the status), the
 * counters, and whether the policy was applied unsigned.
 */
#include <bpf/bpf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compile.h"
#include "egress_cli.h"
#include "exai/json.h"
#include "links.h"
#include "lsm_probe.h"

const char egress_status_help[] =
    "usage: exai-egress status [--pin-dir DIR] [--json]\n"
    "\n"
    "Whether enforcement is attached and which policy generation is live, read from the\n"
    "pinned programs and maps: per workload its cgroup and the state of each hook's link,\n"
    "the counters (denied, audited, suppressed by the rate limit, events lost), and whether\n"
    "the policy was applied --unsigned. Exit 0 when every link is attached and the live\n"
    "policy is the one applied; 1 when nothing is applied or something was detached.\n";

static const exai_cli_opt opts[] = {
    {"json", false, EGRESS_O_JSON}, {"pin-dir", true, EGRESS_O_PIN_DIR}, {NULL, false, 0}};

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
		printf("sequence: %llu (a signed policy below it is refused)\n",
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

static int status(const exai_cli_call *call, const char *dir, bool json)
{
	egress_pins pins;
	struct egress_state s;
	struct live l;
	exai_error e = {0};
	json_t *o, *wl;
	char lsm_why[160];
	int bad = 0;
	bool ok, lsm;

	if (egress_pins_open(dir, &pins, &e) != EXAI_OK ||
	    egress_state_get(&pins, &s, &e) != EXAI_OK) {
		egress_pins_close(&pins);
		if (!json) {
			fprintf(stderr, "%s: %s\n", call->who, e.msg);
			return EXAI_EXIT_FAIL;
		}
		o = json_object();
		exai_json_set(o, "attached", json_false());
		exai_json_set(o, "error", json_string(e.msg));
		(void)exai_json_emit(o, stdout);
		return EXAI_EXIT_FAIL;
	}
	read_live(&pins, &l);
	lsm = egress_lsm_probe(lsm_why, sizeof(lsm_why));
	wl = workloads(&pins, false, &bad);
	ok = bad == 0 && l.has_policy && l.meta.generation == s.generation;
	if (json) {
		o = state_json(&s, &l);
		exai_json_set(o, "attached", json_boolean(ok));
		exai_json_set(o, "pin_dir", json_string(dir));
		exai_json_set(o, "workloads", wl);
		exai_json_set(o, "bpf_lsm", json_string(lsm ? "available, not used" : lsm_why));
		(void)exai_json_emit(o, stdout);
	} else {
		json_decref(wl);
		print_head(&s, &l, ok);
		bad = 0;
		json_decref(workloads(&pins, true, &bad));
		printf("counters: denied %" PRIu64 ", audited %" PRIu64 ", suppressed %" PRIu64
		       ", lost %" PRIu64 "\n",
		       l.counters[EGRESS_CNT_DENIED], l.counters[EGRESS_CNT_AUDITED],
		       l.counters[EGRESS_CNT_SUPPRESSED], l.counters[EGRESS_CNT_LOST]);
		printf("bpf lsm: %s; AF_PACKET is refused only under 'exai-egress run'\n",
		       lsm ? "available, not used yet" : lsm_why);
	}
	egress_pins_close(&pins);
	return ok ? EXAI_EXIT_OK : EXAI_EXIT_FAIL;
}

int egress_cmd_status(const exai_cli_call *call, int argc, char **argv)
{
	exai_cli_parser p;
	const char *v, *dir = NULL;
	bool json = call->json;
	int c;

	exai_cli_parser_init(&p, call, opts, argc, argv, 0);
	while ((c = exai_cli_next(&p, &v)) != EXAI_CLI_END) {
		if (c == EGRESS_O_JSON)
			json = true;
		else if (c == EGRESS_O_PIN_DIR)
			dir = v;
		else if (c == EXAI_CLI_ARG)
			return exai_cli_refuse(call, "unexpected argument '%s'", v);
		else
			return exai_cli_exit(c);
	}
	return status(call, egress_pin_dir(dir), json);
}
