/*
 * egress.bpf.c: the kernel side of exai-egress. Default-deny egress for the sockets of every
 * workload cgroup, decided per destination in the cgroup/connect{4,6} and sendmsg{4,6} hooks,
 * and a cgroup/sock_create filter that refuses raw sockets and protocols other than TCP, UDP
 * and ICMP echo and records who created each socket (socket local storage).
 *
 * cgroup_skb/egress is the backstop for sockets the socket hooks never saw (created before
 * the programs were attached): a packet of a socket without a "hooked" mark is decided again
 * from its own headers, and one it cannot parse is dropped. ICMP echo sockets are always
 * re-checked there (their sends do not pass a sendmsg hook).
 *
 * Invariants:
 *  - Fail closed: no policy in the map, no workload for the socket or no rule for the
 *    destination is a deny (audit mode: an event with verdict AUDIT, and the call proceeds).
 *  - IPv4-mapped IPv6 destinations are decided as IPv4; 0.0.0.0 and :: (the local host to the
 *    kernel) are decided as 127.0.0.1 and ::1.
 *  - Event identity comes from the socket's storage, written when the socket was created;
 *    only a socket that predates the programs gets the identity of the task using it.
 *  - One policy lookup (the array-of-maps slot) per decision: rules, workloads, generation
 *    and mode are read from the same trie, so a swap is seen whole or not at all.
 *  - A remembered verdict (the socket's last destination allowed, struct egress_allowed, and
 *    the verdict cache shared by all sockets, struct egress_vkey) is reused only for the same
 *    destination, protocol and workload while the SAME trie is live, named by the id read
 *    from the live map pointer; see "The verdict record" and "The verdict cache" below for
 *    why that can only ever allow what the live policy allows. Denials are never
 *    remembered: each one is decided, counted and reported.
 *
 * The lookups of a decision: the socket's record (no lookup in the trie); the workload's
 * marker (generation, mode, trie id), from the socket's marker cache while the same trie is
 * live; the verdict cache; and only when all of them miss, the protocol's rule and then
 * any's in the trie. META is read only when the socket has no workload in the trie (the
 * event still names the generation and mode).
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "egress.h"

#define AF_INET	       2
#define AF_INET6       10
#define SOCK_STREAM    1
#define SOCK_DGRAM     2
#define SOCK_RAW       3
#define IPPROTO_ICMPV6 58
#define ETH_P_IP       0x0800
#define ETH_P_IPV6     0x86DD
#define NSEC_PER_SEC   1000000000ULL

char LICENSE[] SEC("license") = "GPL";

struct policy_trie {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct egress_key));
	__uint(value_size, sizeof(struct egress_val));
	__uint(map_flags, BPF_F_NO_PREALLOC);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct policy_trie);
} policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	/* CLONE: a connection accepted by a listener keeps the listener's record and mark */
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct egress_sock);
} socks SEC(".maps");

/* The verdict cache: decisions allowed, shared by every socket (see "The verdict cache"). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EGRESS_VERDICT_CACHE);
	__type(key, struct egress_vkey);
	__type(value, __u32);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, EGRESS_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Written and read by the loader only: what was applied, and the workloads' names. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct egress_state);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EGRESS_MAX_WORKLOADS);
	__type(key, __u64);
	__type(value, struct egress_wlinfo);
} workloads SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);

	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline void *active_policy(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&policy, &zero);
}

/*
 * The kernel's id of the live trie, read from the inner map pointer itself (the verifier
 * allows reading struct bpf_map's fields to a program loaded with CAP_PERFMON; the inner
 * map is a struct lpm_trie, whose first member is the struct bpf_map). It is the same id the
 * loader wrote into META and the markers once the kernel made the map, so it names the
 * trie without a lookup in it.
 */
static __always_inline __u32 trie_id_of(void *trie)
{
	return trie ? ((struct bpf_map *)trie)->id : 0;
}

/* What a decision needs of a workload's marker: the trie's generation, mode and id. */
struct mark {
	__u32 generation;
	__u32 trie_id;
	__u8 mode;
};

static __always_inline void key_set_cgid(struct egress_key *k, __u64 id)
{
	for (int i = 0; i < 8; i++)
		k->cgid[i] = (__u8)(id >> (8 * i));
}

static __always_inline struct egress_val *policy_meta(void *trie)
{
	struct egress_key k = {};

	k.prefixlen = EGRESS_KEY_FULL_BITS;
	k.kind = EGRESS_KIND_META;
	return bpf_map_lookup_elem(trie, &k);
}

/* The marker of workload cgroup @id in @trie (generation, mode, trie id), NULL if none. */
static __always_inline struct egress_val *workload_marker(void *trie, __u64 id)
{
	struct egress_key k = {};

	k.prefixlen = EGRESS_KEY_FULL_BITS;
	k.kind = EGRESS_KIND_WORKLOAD;
	key_set_cgid(&k, id);
	return bpf_map_lookup_elem(trie, &k);
}

static __always_inline bool is_workload(void *trie, __u64 id)
{
	return workload_marker(trie, id) != NULL;
}

/*
 * The deepest cgroup above (or at) the current task's that the policy names a workload.
 * The task's own cgroup is the deepest of all, so when it is a workload it is the answer:
 * that common case costs one trie lookup instead of one per level from the root (a search
 * from the deepest level up trips the verifier's instruction limit in egress_skb). In that
 * case *@own_marker (when not NULL) gets its marker, for sock_create's marker cache; it stays
 * NULL otherwise.
 */
static __always_inline __u64 current_workload(void *trie, struct egress_val **own_marker)
{
	__u64 found = 0, own = bpf_get_current_cgroup_id();
	struct egress_val *m;

	if (!trie)
		return 0;
	if (own && (m = workload_marker(trie, own))) {
		if (own_marker)
			*own_marker = m;
		return own;
	}
	for (int level = 0; level < EGRESS_ANCESTOR_DEPTH; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);

		if (!id)
			break;
		if (is_workload(trie, id))
			found = id;
	}
	return found;
}

/*
 * The marker cache. Most decisions are for sockets created under sock_create, whose
 * workload was found there, before any other task could hold the socket, and never changes
 * (wl_fixed). For those, the workload's marker in the live trie is kept in the socket's
 * storage, so a decision need not look it up in the trie again while the same trie is live:
 *  - each of the two words (mk_gen, mk_mode) carries the trie id it was read from in its
 *    low half, and a word is written and read in one 64-bit access; the cache is used only
 *    when BOTH carry the live trie's id (trie_id_of), so a reader never mixes the generation
 *    of one trie with the mode of another, even when two deciders write at once;
 *  - a trie never changes once swapped in, and its id is unique among the maps that exist
 *    (see "The verdict record"), so "workload W has this marker in the trie with id T"
 *    stays true while T is live; after a swap both words are stale at once;
 *  - only a marker whose own trie_id equals the live map id is cached (a trie the loader
 *    has not stamped, trie_id 0, is never cached).
 */
static __always_inline void cache_marker(struct egress_sock *s, const struct egress_val *marker,
					 __u32 live)
{
	if (!s || !s->wl_fixed || !live || marker->trie_id != live)
		return;
	s->mk_gen = (__u64)live | (__u64)marker->generation << 32;
	s->mk_mode = (__u64)live | (__u64)marker->mode << 32;
}

static __always_inline bool cached_marker(const struct egress_sock *s, __u32 live, struct mark *m)
{
	__u64 g, md;

	if (!s || !s->wl_fixed || !live)
		return false;
	g = *(volatile const __u64 *)&s->mk_gen;
	md = *(volatile const __u64 *)&s->mk_mode;
	if ((__u32)g != live || (__u32)md != live)
		return false;
	m->generation = (__u32)(g >> 32);
	m->mode = (__u8)(md >> 32);
	m->trie_id = live;
	return true;
}

/* A new record: the current task's identity, the socket's workload and protocol, and whether
 * the socket hooks decide its destinations (@hooked: 0 for one the backstop found first). */
static __always_inline void fill_identity(struct egress_sock *s, __u64 workload, __u32 protocol,
					  __u8 hooked)
{
	s->cgroup_id = bpf_get_current_cgroup_id();
	s->pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	s->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(s->comm, sizeof(s->comm));
	s->workload = workload;
	s->icmp = protocol == 1 || protocol == IPPROTO_ICMPV6;
	s->hooked = hooked;
}

/* The socket's storage; created (with the current task's identity) for a socket from before
 * the programs were attached. NULL only when the kernel cannot allocate it. */
static __always_inline struct egress_sock *sock_identity(struct bpf_sock *sk, void *trie)
{
	struct egress_sock *s;

	if (!sk)
		return NULL;
	s = bpf_sk_storage_get(&socks, sk, 0, 0);
	if (s)
		return s;
	s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (s)
		fill_identity(s, current_workload(trie, NULL), sk->protocol, 1);
	return s;
}

/* Whether this event repeats the socket's last one within a second (then it is counted, not
 * sent: TCP retries and tight loops must not flood the ring buffer). */
static __always_inline bool rate_limited(struct egress_sock *s, __u8 hook, const __u8 *addr,
					 __u16 port)
{
	__u64 now = bpf_ktime_get_ns();
	bool same = s->last_hook == hook && s->last_port == port;

	for (int i = 0; i < 16; i++)
		same = same && s->last_addr[i] == addr[i];

	if (same && s->last_event_ns && now - s->last_event_ns < NSEC_PER_SEC)
		return true;
	s->last_event_ns = now;
	s->last_hook = hook;
	s->last_port = port;
	__builtin_memcpy(s->last_addr, addr, 16);
	return false;
}

struct decision {
	__u8 hook;
	__u8 family; /* 4 or 6 after normalisation, 0 for sock_create */
	__u8 proto;
	__u16 sock_type;
	__u16 port;
	__u8 addr[16];
	__u32 reason;
	__u32 generation;
	__u8 mode;
	__u64 cgroup_id; /* backstop without a socket record: the packet's cgroup */
};

static __always_inline void emit(const struct decision *d, struct egress_sock *s)
{
	struct egress_event *ev;

	if (s && d->hook != EGRESS_HOOK_SOCK_CREATE && rate_limited(s, d->hook, d->addr, d->port)) {
		count(EGRESS_CNT_SUPPRESSED);
		return;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(EGRESS_CNT_LOST);
		return;
	}
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	if (s) {
		ev->cgroup_id = s->cgroup_id;
		ev->workload = s->workload;
		ev->pid = s->pid;
		ev->uid = s->uid;
		__builtin_memcpy(ev->comm, s->comm, sizeof(ev->comm));
	} else if (d->hook == EGRESS_HOOK_SKB) {
		ev->cgroup_id = d->cgroup_id; /* softirq: no task to name */
	} else {
		ev->cgroup_id = bpf_get_current_cgroup_id();
		ev->pid = (__u32)(bpf_get_current_pid_tgid() >> 32);
		ev->uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	}
	ev->generation = d->generation;
	ev->hook = d->hook;
	ev->verdict = d->mode == EGRESS_MODE_AUDIT ? EGRESS_VERDICT_AUDIT : EGRESS_VERDICT_DENY;
	ev->family = d->family;
	ev->proto = d->proto;
	ev->dport = d->port;
	ev->sock_type = d->sock_type;
	ev->reason = d->reason;
	__builtin_memcpy(ev->daddr, d->addr, 16);
	bpf_ringbuf_submit(ev, 0);
}

/* Return value of a hook for a denied decision: 0 (EPERM) when enforcing, 1 in audit mode. */
static __always_inline int refuse(struct decision *d, struct egress_sock *s)
{
	count(d->mode == EGRESS_MODE_AUDIT ? EGRESS_CNT_AUDITED : EGRESS_CNT_DENIED);
	emit(d, s);
	return d->mode == EGRESS_MODE_AUDIT ? 1 : 0;
}

static __always_inline bool ports_allow(const struct egress_val *v, __u16 port)
{
	__u32 n = v->nranges;

	for (__u32 i = 0; i < EGRESS_MAX_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= v->r[i].lo && port <= v->r[i].hi)
			return true;
	}
	return false;
}

static __always_inline bool rule_allows(void *trie, struct decision *d, __u64 workload, __u8 proto)
{
	struct egress_key k = {};
	struct egress_val *v;

	k.prefixlen = EGRESS_KEY_FULL_BITS;
	k.kind = d->family == 4 ? EGRESS_KIND_V4 : EGRESS_KIND_V6;
	k.proto = proto;
	key_set_cgid(&k, workload);
	__builtin_memcpy(k.addr, d->addr, 16);
	v = bpf_map_lookup_elem(trie, &k);
	return v && ports_allow(v, d->port);
}

static __always_inline __u8 key_proto(__u32 protocol)
{
	return protocol == IPPROTO_ICMPV6 ? EGRESS_PROTO_ICMP : (__u8)protocol;
}

/*
 * The verdict record. A UDP flow sends to the same destination again and again, and each
 * send would walk the trie (100,000 rules: the deepest walk of a decision) for the same
 * answer. So an ALLOW is remembered in the socket's storage with every input of the decision
 * (struct egress_allowed: trie id and generation, mode, workload, family, normalised address,
 * port, protocol), and a later decision whose inputs are all equal reuses it.
 *
 * Why a reused verdict is the live policy's:
 *  - rule_allows() reads nothing but the trie, the workload, family, address, port and
 *    protocol, and all of them are compared, so equal inputs in the same trie give the same
 *    answer;
 *  - the trie is named by its id, which the loader writes into META and every marker after
 *    the kernel created the map (egress_val.trie_id): the kernel's map ids are unique among
 *    the maps that exist and handed out cyclically (1..INT_MAX), so the trie swapped in by a
 *    reload never has the id of the one it replaces, even when the generation number repeats
 *    (two loaders racing on the state map, or a swap whose record then failed). A trie is
 *    never changed after it is swapped in (a reload builds a new one), and 0 (a trie
 *    without an id) is never remembered;
 *  - the live trie's id is read from the live map pointer in THIS decision (trie_id_of),
 *    so a reload is seen by the very next send: every remembered verdict is stale at once.
 *    A record is written only when the marker of its decision carries that same id, so
 *    its generation and mode are those of the live trie (which never change): the fast
 *    path compares the trie id, workload, family, address, port and protocol, and needs no
 *    lookup in the trie at all;
 *  - denials and audit mode's would-be denials are never remembered (they are counted and
 *    reported every time, and rate limited as before), so a record can only say "allowed".
 *
 * Concurrency: two threads may send on one socket at once, and the backstop decides packets
 * of a socket from before attach in whatever context sends them (softirq included). A
 * record written field by field by two deciders could mix the address of one allowed
 * destination with the port of another into one that was never allowed, and a third
 * decision would then let it through. So the record is guarded by a sequence count (seq):
 *  - a writer claims it by a compare-and-swap from an even count to the next odd one, and
 *    skips remembering when the count is odd or the swap fails (another writer is at it:
 *    a skipped record only costs a later full decision); it stores the record, then adds
 *    one (even again). So there is never more than one writer, with no lock to wait on,
 *    also when a softirq backstop interrupts a hook on the same CPU;
 *  - a reader takes the count, compares, and takes the count again; the record is a hit
 *    only when both are the same even count, that is, no writer touched it in between.
 *    The writer's updates are atomic read-modify-writes, full barriers on every
 *    architecture the BPF JIT supports; the reader's takes are too, except on x86-64,
 *    where ordinary loads are already ordered (seq_take), so the comparison's loads stay
 *    between them.
 * (The kernel runs the connect and sendmsg hooks under the socket's lock_sock today, but the
 * backstop runs without it, and the record must not depend on a caller's locking.)
 */
static __always_inline void allowed_key(struct egress_allowed *a, const struct decision *d,
					const struct mark *m, __u64 workload)
{
	a->workload = workload;
	__builtin_memcpy(a->addr, d->addr, sizeof(a->addr));
	a->generation = m->generation;
	a->trie_id = m->trie_id;
	a->port = d->port;
	a->family = d->family;
	a->proto = d->proto;
	a->mode = m->mode;
}

/*
 * A reader's take of the record's count. On x86-64 (total store order: loads are not
 * reordered with other loads, nor stores with other stores, and the writer's count updates
 * are locked instructions) a plain load between compiler barriers keeps the comparison's
 * loads between the reader's two takes, as the kernel's own seqcount does with smp_rmb(),
 * which is a compiler barrier there; it saves two locked read-modify-writes on every
 * decision that reuses a record (a UDP sendto's). Elsewhere an atomic add of 0, a full
 * barrier.
 */
static __always_inline __u64 seq_take(__u64 *seq)
{
#if defined(__TARGET_ARCH_x86)
	__u64 v;

	asm volatile("" ::: "memory");
	v = *(volatile __u64 *)seq;
	asm volatile("" ::: "memory");
	return v;
#else
	return __sync_fetch_and_add(seq, 0);
#endif
}

/* Whether the socket's record allows destination @d of workload @workload in the live trie
 * with id @live (not 0). */
static __always_inline bool allowed_before(struct egress_sock *s, const struct decision *d,
					   __u64 workload, __u32 live)
{
	__u64 seq = seq_take(&s->seq);
	__u64 addr[2];
	bool hit;

	if (seq & 1)
		return false;
	__builtin_memcpy(addr, d->addr, sizeof(addr));
	hit = s->allowed.trie_id == live && s->allowed.workload == workload &&
	      s->allowed.addr[0] == addr[0] && s->allowed.addr[1] == addr[1] &&
	      s->allowed.port == d->port && s->allowed.family == d->family &&
	      s->allowed.proto == d->proto;
	return hit && seq_take(&s->seq) == seq;
}

static __always_inline void remember_allowed(struct egress_sock *s, const struct egress_allowed *k,
					     __u32 live)
{
	__u64 seq;

	if (!k->trie_id || k->trie_id != live)
		return;
	seq = __sync_fetch_and_add(&s->seq, 0);
	if ((seq & 1) || __sync_val_compare_and_swap(&s->seq, seq, seq + 1) != seq)
		return;
	s->allowed = *k;
	__sync_fetch_and_add(&s->seq, 1);
}

/*
 * The verdict cache. A TCP client connects to the same few in-site services again and
 * again, each connect a new socket with no record yet, and each would walk the trie for the
 * same answer. So an allowed decision is also kept in one LRU hash shared by all sockets,
 * keyed by every input of the decision (struct egress_vkey: the live trie's id, workload,
 * family, normalised address, port, protocol); a later decision with the same key is
 * allowed without the walk. Why that is the live policy's answer: the same argument as the
 * record's (equal inputs in the same, unchanging trie give the same answer; the key holds
 * the trie's id read from the live map pointer, so entries of a trie swapped out are never
 * hit again and age out); the map itself compares the whole key, so no torn entry can be
 * read; only allowed decisions are ever inserted. An entry evicted (the LRU is full, say a
 * workload reaching thousands of destinations) only costs a full decision; a workload
 * cannot make another's decision differ, since the workload is part of the key.
 */
static __always_inline void vkey_of(struct egress_vkey *v, const struct decision *d, __u64 workload,
				    __u32 live)
{
	v->trie_id = live;
	v->family = d->family;
	v->proto = d->proto;
	v->port = d->port;
	v->workload = workload;
	__builtin_memcpy(v->addr, d->addr, sizeof(v->addr));
}

/* The marker of @workload in @trie (id @live): from the socket's cache when it holds the live
 * trie's, else looked up (and cached). False when the workload has none. */
static __always_inline bool find_marker(void *trie, __u32 live, struct egress_sock *s,
					__u64 workload, struct mark *m)
{
	struct egress_val *marker;

	if (cached_marker(s, live, m))
		return true;
	marker = trie && workload ? workload_marker(trie, workload) : NULL;
	if (!marker)
		return false;
	m->generation = marker->generation;
	m->mode = marker->mode;
	m->trie_id = marker->trie_id;
	cache_marker(s, marker, live);
	return true;
}

/* The decision for destination d->addr/d->port of a socket of workload @workload (record @s,
 * NULL if none) under policy @trie (map id @live): 1 allow, 0 deny. @reuse: whether the
 * socket's verdict record is consulted and kept (not for a TCP connect: once per socket,
 * nothing to reuse). */
static __always_inline int decide_in(struct decision *d, void *trie, __u32 live,
				     struct egress_sock *s, __u64 workload, bool reuse)
{
	struct egress_allowed k = {};
	struct egress_vkey v = {};
	struct mark m = {};
	bool allowed, cacheable;
	__u32 one = 1;

	reuse = reuse && s && live && workload;
	if (reuse && allowed_before(s, d, workload, live))
		return 1;
	if (!find_marker(trie, live, s, workload, &m)) {
		struct egress_val *meta = trie ? policy_meta(trie) : NULL;

		if (!meta) {
			d->reason = EGRESS_REASON_NO_POLICY;
			return refuse(d, s);
		}
		d->generation = meta->generation;
		d->mode = meta->mode;
		d->reason = EGRESS_REASON_NO_WORKLOAD;
		return refuse(d, s);
	}
	d->generation = m.generation;
	d->mode = m.mode;
	/* the verdict cache, only for a marker of the live trie (0, unstamped: never) */
	cacheable = live && m.trie_id == live;
	if (cacheable)
		vkey_of(&v, d, workload, live);
	allowed = cacheable && bpf_map_lookup_elem(&verdicts, &v);
	if (!allowed && (rule_allows(trie, d, workload, key_proto(d->proto)) ||
			 rule_allows(trie, d, workload, EGRESS_PROTO_ANY))) {
		allowed = true;
		if (cacheable) /* best effort: a failed insert is a later miss */
			bpf_map_update_elem(&verdicts, &v, &one, BPF_ANY);
	}
	if (allowed) {
		if (reuse) {
			allowed_key(&k, d, &m, workload);
			remember_allowed(s, &k, live);
		}
		return 1;
	}
	d->reason = EGRESS_REASON_NO_RULE;
	return refuse(d, s);
}

/* The decision of a socket hook for socket @sk. A socket created while its cgroup had no
 * workload marker yet (between attach and swap) looks for its workload again, from the task
 * using it; one whose workload a later policy dropped stays denied. */
static __always_inline int decide(struct decision *d, struct bpf_sock *sk)
{
	void *trie = active_policy();
	struct egress_sock *s = sock_identity(sk, trie);

	if (s && !s->workload)
		s->workload = current_workload(trie, NULL);
	return decide_in(d, trie, trie_id_of(trie), s, s ? s->workload : 0,
			 d->sock_type != SOCK_STREAM);
}

static __always_inline void set_v4(struct decision *d, __u32 ip4_be)
{
	d->family = 4;
	if (ip4_be == 0)
		ip4_be = bpf_htonl(0x7f000001); /* 0.0.0.0 is the local host */
	__builtin_memcpy(d->addr, &ip4_be, 4);
}

static __always_inline void set_v6(struct decision *d, const __u32 ip6[4])
{
	if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0xffff)) {
		set_v4(d, ip6[3]); /* ::ffff:a.b.c.d is a.b.c.d */
		return;
	}
	d->family = 6;
	if ((ip6[0] | ip6[1] | ip6[2] | ip6[3]) == 0) {
		__u32 lo[4] = {0, 0, 0, bpf_htonl(1)}; /* :: is the local host */

		__builtin_memcpy(d->addr, lo, 16);
		return;
	}
	__builtin_memcpy(d->addr, ip6, 16);
}

static __always_inline int hook4(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct decision d = {.hook = hook};

	d.proto = (__u8)ctx->protocol;
	d.sock_type = (__u16)ctx->type;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	set_v4(&d, ctx->user_ip4);
	return decide(&d, ctx->sk);
}

static __always_inline int hook6(struct bpf_sock_addr *ctx, __u8 hook)
{
	struct decision d = {.hook = hook};
	__u32 ip6[4];

	ip6[0] = ctx->user_ip6[0];
	ip6[1] = ctx->user_ip6[1];
	ip6[2] = ctx->user_ip6[2];
	ip6[3] = ctx->user_ip6[3];
	d.proto = (__u8)ctx->protocol;
	d.sock_type = (__u16)ctx->type;
	d.port = bpf_ntohs((__u16)ctx->user_port);
	set_v6(&d, ip6);
	return decide(&d, ctx->sk);
}

SEC("cgroup/connect4")
int egress_connect4(struct bpf_sock_addr *ctx)
{
	return hook4(ctx, EGRESS_HOOK_CONNECT4);
}

SEC("cgroup/connect6")
int egress_connect6(struct bpf_sock_addr *ctx)
{
	return hook6(ctx, EGRESS_HOOK_CONNECT6);
}

SEC("cgroup/sendmsg4")
int egress_sendmsg4(struct bpf_sock_addr *ctx)
{
	return hook4(ctx, EGRESS_HOOK_SENDMSG4);
}

SEC("cgroup/sendmsg6")
int egress_sendmsg6(struct bpf_sock_addr *ctx)
{
	return hook6(ctx, EGRESS_HOOK_SENDMSG6);
}

static __always_inline bool sock_kind_allowed(__u32 family, __u32 type, __u32 protocol)
{
	if (type == SOCK_STREAM)
		return protocol == 6; /* TCP (not MPTCP, SCTP...) */
	if (type != SOCK_DGRAM)
		return false; /* SOCK_RAW, SOCK_SEQPACKET... */
	if (protocol == 17)
		return true; /* UDP (not UDP-Lite) */
	return (family == AF_INET && protocol == 1) || (family == AF_INET6 && protocol == 58);
}

SEC("cgroup/sock_create")
int egress_sock_create(struct bpf_sock *ctx)
{
	void *trie = active_policy();
	struct egress_sock *s = bpf_sk_storage_get(&socks, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);
	struct decision d = {.hook = EGRESS_HOOK_SOCK_CREATE};
	__u32 family = ctx->family, type = ctx->type, protocol = ctx->protocol;
	struct egress_val *meta;

	if (s) {
		struct egress_val *marker = NULL;

		fill_identity(s, current_workload(trie, &marker), protocol, 1);
		s->wl_fixed = s->workload != 0;
		if (marker)
			cache_marker(s, marker, trie_id_of(trie));
	}
	if (sock_kind_allowed(family, type, protocol))
		return 1;
	meta = trie ? policy_meta(trie) : NULL; /* the event's generation and mode */
	d.proto = (__u8)protocol;
	d.sock_type = (__u16)type;
	d.family = family == AF_INET6 ? 6 : 4;
	if (meta) {
		d.generation = meta->generation;
		d.mode = meta->mode;
	}
	d.reason = type == SOCK_RAW ? EGRESS_REASON_RAW : EGRESS_REASON_PROTOCOL;
	return refuse(&d, s);
}

/* Destination, protocol and port of an outgoing IP packet; false when it cannot be parsed
 * (non-IP, IPv4 options are fine, IPv6 extension headers and fragments are not). */
static __always_inline bool parse_packet(struct __sk_buff *skb, struct decision *d)
{
	__u32 off;
	__u16 ports[2];

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5 ||
		    (ip.frag_off & bpf_htons(0x3fff)))
			return false;
		d->family = 4;
		__builtin_memcpy(d->addr, &ip.daddr, 4);
		d->proto = ip.protocol;
		off = ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return false;
		d->family = 6;
		__builtin_memcpy(d->addr, &ip6.daddr, 16);
		d->proto = ip6.nexthdr;
		off = sizeof(ip6);
	} else {
		return false;
	}
	if (d->proto == 1 || d->proto == IPPROTO_ICMPV6)
		return true;
	if (d->proto != 6 && d->proto != 17)
		return false; /* IPv6 extension headers, anything else */
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)))
		return false;
	d->port = bpf_ntohs(ports[1]);
	return true;
}

/* The workload above the packet's cgroup (the socket's), as current_workload does for tasks
 * (the socket's own cgroup first: the deepest, so the answer when it is a workload). */
static __always_inline __u64 skb_workload(struct __sk_buff *skb, void *trie)
{
	__u64 found = 0, own = bpf_skb_cgroup_id(skb);

	if (!trie)
		return 0;
	if (own && is_workload(trie, own))
		return own;
	for (int level = 0; level < EGRESS_ANCESTOR_DEPTH; level++) {
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, level);

		if (!id)
			break;
		if (is_workload(trie, id))
			found = id;
	}
	return found;
}

SEC("cgroup_skb/egress")
int egress_skb(struct __sk_buff *skb)
{
	struct decision d = {.hook = EGRESS_HOOK_SKB};
	struct bpf_sock *sk = skb->sk;
	struct egress_sock *s = NULL;
	void *trie;

	if (sk) {
		/* the storage helper takes any socket (none for a request or time-wait one), so
		 * the common case, a socket the hooks decided, needs no bpf_sk_fullsock call */
		s = bpf_sk_storage_get(&socks, sk, 0, 0);
		if (s && s->hooked && !s->icmp)
			return 1; /* decided by the socket hooks */
		sk = bpf_sk_fullsock(sk);
		if (sk)
			d.sock_type = (__u16)sk->type;
		else
			s = NULL;
	}
	trie = active_policy();
	d.cgroup_id = bpf_skb_cgroup_id(skb);
	if (!parse_packet(skb, &d)) {
		struct egress_val *meta = trie ? policy_meta(trie) : NULL;

		if (meta) {
			d.generation = meta->generation;
			d.mode = meta->mode;
		}
		d.reason = EGRESS_REASON_UNPARSED;
		return refuse(&d, s);
	}
	if (sk && !s) {
		/* a socket from before attach: recorded now, best effort (the current task is
		 * the sender when the packet is sent from its system call) */
		s = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (s) {
			fill_identity(s, skb_workload(skb, trie), sk->protocol, 0);
			s->cgroup_id = d.cgroup_id;
		}
	}
	/* the record also serves every packet of a socket from before attach */
	return decide_in(&d, trie, trie_id_of(trie), s, s ? s->workload : skb_workload(skb, trie),
			 true);
}
