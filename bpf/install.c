/*
 * install.c: compile, attach, build the new trie, swap, record, prune (install.h).
 */
#include "install.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compile.h"
#include "links.h"

#define TRIE_BATCH 4096 /* entries per BPF_MAP_UPDATE_BATCH call */

/* A kernel whose LPM tries have no batch update answers ENOTSUPP (524), one without the
 * command at all (before 5.6) EINVAL: then every entry is its own update. */
static bool batch_unsupported(int err)
{
	return err == EINVAL || err == EOPNOTSUPP || err == 524;
}

/* The value entry @en gets in the trie whose map id is @trie_id: META and the workload
 * markers name their trie, so that the programs reuse a socket's remembered verdict only
 * while that very trie is live (egress.bpf.c, "The verdict record"). */
static struct egress_val entry_val(const egress_entry *en, uint32_t trie_id)
{
	struct egress_val v = en->val;

	if (en->key.kind == EGRESS_KIND_META || en->key.kind == EGRESS_KIND_WORKLOAD)
		v.trie_id = trie_id;
	return v;
}

/* Fills trie @m (map id @trie_id) with the entries of @c: in batches (one system call per
 * TRIE_BATCH entries, keys and values copied side by side into @keys and @vals, TRIE_BATCH
 * each), or one by one where batches are not supported. The entries are distinct (compile
 * merged equal keys), so the batch's BPF_ANY adds each one, as BPF_NOEXIST does one by one. */
static exai_status fill_trie(int m, uint32_t trie_id, const egress_compiled *c,
			     struct egress_key *keys, struct egress_val *vals, exai_error *e)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo, .elem_flags = BPF_ANY);
	size_t i = 0;

	while (i < c->n) {
		uint32_t k, cnt = (uint32_t)(c->n - i < TRIE_BATCH ? c->n - i : TRIE_BATCH);

		for (k = 0; k < cnt; k++) {
			keys[k] = c->entries[i + k].key;
			vals[k] = entry_val(&c->entries[i + k], trie_id);
		}
		if (bpf_map_update_batch(m, keys, vals, &cnt, &bo) == 0) {
			i += cnt;
			continue;
		}
		if (i > 0 || cnt > 0 || !batch_unsupported(errno))
			return exai_error_sys(e, EXAI_EIO, "policy map entry %zu of %zu (a batch)",
					      i + cnt, c->n);
		break;
	}
	for (; i < c->n; i++) {
		struct egress_val v = entry_val(&c->entries[i], trie_id);

		if (bpf_map_update_elem(m, &c->entries[i].key, &v, BPF_NOEXIST) != 0)
			return exai_error_sys(e, EXAI_EIO, "policy map entry %zu of %zu", i, c->n);
	}
	return EXAI_OK;
}

/* The id the kernel gave map @m (never 0). */
static exai_status map_id(int m, uint32_t *id, exai_error *e)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(m, &info, &len) != 0)
		return exai_error_sys(e, EXAI_EIO, "the id of the new policy map");
	if (info.id == 0)
		return exai_error_set(e, EXAI_EIO, "the new policy map has no id");
	*id = info.id;
	return EXAI_OK;
}

/* A new trie holding every entry of @c; its descriptor in *@fd. */
static exai_status build_trie(const egress_compiled *c, int *fd, exai_error *e)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct egress_key *keys = malloc(TRIE_BATCH * sizeof(*keys));
	struct egress_val *vals = malloc(TRIE_BATCH * sizeof(*vals));
	int m = -1;
	uint32_t id = 0;
	exai_status st = EXAI_OK;

	if (!keys || !vals) {
		st = exai_error_set(e, EXAI_ENOMEM, "out of memory loading the policy map");
		goto out;
	}
	m = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "exai_policy", sizeof(struct egress_key),
			   sizeof(struct egress_val), (uint32_t)(c->n ? c->n : 1), &opts);
	if (m < 0) {
		st = exai_error_sys(e, EXAI_EIO, "create a policy map of %zu entries", c->n);
		goto out;
	}
	st = map_id(m, &id, e);
	if (st == EXAI_OK)
		st = fill_trie(m, id, c, keys, vals, e);
	if (st != EXAI_OK) {
		close(m);
		m = -1;
	}
out:
	*fd = m;
	free(keys);
	free(vals);
	return st;
}

static exai_status swap_in(const egress_pins *pins, int trie, exai_error *e)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(pins->maps[EGRESS_MAP_POLICY], &zero, &trie, BPF_ANY) != 0)
		return exai_error_sys(e, EXAI_EIO, "swap in the new policy");
	return EXAI_OK;
}

static exai_status update_workloads(const egress_pins *pins, const egress_policy *p, exai_error *e)
{
	int fd = pins->maps[EGRESS_MAP_WORKLOADS];
	uint64_t key, next;
	bool more;

	for (size_t i = 0; i < p->nworkloads; i++) {
		struct egress_wlinfo wi;

		memset(&wi, 0, sizeof(wi));
		snprintf(wi.name, sizeof(wi.name), "%s", p->workloads[i].name);
		snprintf(wi.cgroup, sizeof(wi.cgroup), "%s", p->workloads[i].cgroup);
		if (bpf_map_update_elem(fd, &p->workloads[i].cgid, &wi, BPF_ANY) != 0)
			return exai_error_sys(e, EXAI_EIO, "record workload %s", wi.name);
	}
	/* drop the names of workloads no longer in the policy */
	more = bpf_map_get_next_key(fd, NULL, &key) == 0;
	while (more) {
		bool keep = false;

		more = bpf_map_get_next_key(fd, &key, &next) == 0;
		for (size_t i = 0; i < p->nworkloads; i++)
			keep = keep || p->workloads[i].cgid == key;
		if (!keep)
			(void)bpf_map_delete_elem(fd, &key);
		key = next;
	}
	return EXAI_OK;
}

/* The ratchet: a signed policy older than the signed one in force is refused (a replay of a
 * wider policy that was once validly signed). */
static exai_status check_sequence(const egress_policy *p, const egress_install_info *info,
				  const struct egress_state *old, exai_error *e)
{
	if (info->unsigned_policy || old->sequence == 0)
		return EXAI_OK;
	if (p->sequence == 0)
		return exai_error_set(e, EXAI_EREFUSED,
				      "the policy has no sequence; the signed policy in force has "
				      "sequence %llu",
				      (unsigned long long)old->sequence);
	if (p->sequence < old->sequence)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "sequence %llu is older than sequence %llu in force (a replay?)",
		    (unsigned long long)p->sequence, (unsigned long long)old->sequence);
	/* the same sequence again: only the same policy (ratchet.h, egress_ratchet_admit) */
	if (p->sequence == old->sequence && !old->unsigned_policy &&
	    (!info->sha256 ||
	     memcmp(info->sha256, old->policy_sha256, sizeof(old->policy_sha256)) != 0))
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "sequence %llu is in force with different content: a policy is re-applied "
		    "only byte for byte; a new one needs a higher sequence",
		    (unsigned long long)p->sequence);
	return EXAI_OK;
}

static exai_status record(const egress_pins *pins, const egress_policy *p,
			  const egress_install_info *info, uint32_t gen, size_t nentries,
			  const struct egress_state *old, exai_error *e)
{
	struct egress_state s;

	memset(&s, 0, sizeof(s));
	s.sequence = info->unsigned_policy ? old->sequence : p->sequence;
	s.generation = gen;
	s.mode = (uint8_t)info->mode;
	s.unsigned_policy = info->unsigned_policy;
	s.nworkloads = (uint16_t)p->nworkloads;
	s.applied_unix = (uint64_t)time(NULL);
	s.nentries = nentries;
	if (info->sha256)
		memcpy(s.policy_sha256, info->sha256, sizeof(s.policy_sha256));
	snprintf(s.policy_path, sizeof(s.policy_path), "%s", info->path ? info->path : "");
	snprintf(s.signers, sizeof(s.signers), "%s", info->signers ? info->signers : "");
	return egress_state_put(pins, &s, e);
}

exai_status egress_install(const egress_pins *pins, const egress_policy *p,
			   const egress_install_info *info, uint32_t *generation, exai_error *e)
{
	egress_compiled c = {0};
	struct egress_state old;
	int trie = -1;
	uint32_t gen;
	exai_status st;

	if ((st = egress_state_get(pins, &old, e)) != EXAI_OK)
		return st;
	gen = old.generation + 1;
	if ((st = check_sequence(p, info, &old, e)) != EXAI_OK)
		return st;
	if ((st = egress_compile(p, gen, info->mode, &c, e)) != EXAI_OK)
		return st;
	/* the trie first: a failure there leaves nothing changed, not even new links */
	st = build_trie(&c, &trie, e);
	for (size_t i = 0; i < p->nworkloads && st == EXAI_OK; i++)
		st = egress_links_attach(pins, p->workloads[i].cgid, p->workloads[i].cgroup, e);
	if (st == EXAI_OK)
		st = swap_in(pins, trie, e);
	if (st == EXAI_OK)
		st = update_workloads(pins, p, e);
	if (st == EXAI_OK)
		st = record(pins, p, info, gen, c.n, &old, e);
	if (st == EXAI_OK)
		st = egress_links_prune(pins, p, e);
	if (trie >= 0)
		close(trie); /* the policy slot holds it */
	egress_compiled_free(&c);
	if (st == EXAI_OK)
		*generation = gen;
	return st;
}
