/*
 * egress.h: what the kernel programs (egress.bpf.c) and the loader (exai-egress) share: the
 * policy trie's key and value, the socket identity kept in socket local storage, the deny
 * event on the ring buffer and the counter slots. Only fixed-size integer types, so the same
 * layout holds on both sides (the kernel side includes vmlinux.h first, the loader
 * <linux/types.h>).
 *
 * The policy is ONE longest-prefix-match trie, reached through a one-slot array of maps, so
 * that swapping in a new policy is one pointer update. A key is (kind, protocol, workload
 * cgroup id, address): the prefix always covers kind, protocol and workload (80 bits) and then
 * as many address bits as the rule's CIDR. Besides rules (kind V4, V6) the same trie holds a
 * marker per workload cgroup (kind WORKLOAD) and the policy's generation and mode (kind META),
 * so a swap changes rules, workloads, generation and mode together. Each marker repeats the
 * generation and mode, and both markers and META carry the trie's id (the map id the kernel
 * gave it): a socket's record of the last destination allowed names the trie it was allowed
 * in, and the programs reuse that verdict only while the same trie is live (egress.bpf.c).
 */
#ifndef EXAI_EGRESS_H
#define EXAI_EGRESS_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h> /* the loader; the kernel side has vmlinux.h */
#include <linux/types.h>
#endif

enum {
	EGRESS_KIND_V4 = 1,
	EGRESS_KIND_V6 = 2,
	EGRESS_KIND_WORKLOAD = 3,
	EGRESS_KIND_META = 4,
};

/* Protocols in a key: the socket's IPPROTO_*, ICMPv6 folded into ICMP; 0 matches any. */
enum {
	EGRESS_PROTO_ANY = 0,
	EGRESS_PROTO_ICMP = 1,
	EGRESS_PROTO_TCP = 6,
	EGRESS_PROTO_UDP = 17,
};

#define EGRESS_KEY_FIXED_BITS 80 /* kind + proto + cgid, always in the prefix */
#define EGRESS_KEY_FULL_BITS  (EGRESS_KEY_FIXED_BITS + 128)
#define EGRESS_MAX_RANGES     16 /* port ranges per trie entry; more is refused at compile */
#define EGRESS_MAX_WORKLOADS  256
#define EGRESS_ANCESTOR_DEPTH 32 /* cgroup levels searched for a workload */

struct egress_key {
	__u32 prefixlen;
	__u8 kind;
	__u8 proto;
	__u8 cgid[8]; /* workload cgroup id, little-endian; 0 for META */
	__u8 addr[16];
} __attribute__((packed));

struct egress_ports {
	__u16 lo, hi; /* inclusive, host order */
};

enum { EGRESS_MODE_ENFORCE = 0, EGRESS_MODE_AUDIT = 1 };

struct egress_val {
	__u32 generation; /* every entry: the policy's generation */
	__u8 mode;	  /* META and WORKLOAD: EGRESS_MODE_* */
	__u8 nranges;	  /* V4, V6: ranges in r */
	__u16 reserved;
	union {
		struct egress_ports r[EGRESS_MAX_RANGES]; /* V4, V6 */
		/* META and WORKLOAD: the map id of the trie holding the entry, set by the loader
		 * once the kernel made the map (0: none, then no verdict is ever remembered) */
		__u32 trie_id;
	};
};

/* The last destination a socket was allowed to reach, with everything the verdict depended
 * on: the trie it was decided in (id and generation; its mode), the workload, and the
 * destination exactly as decided (family 4 for IPv4-mapped IPv6, 0.0.0.0 as 127.0.0.1; an
 * IPv4 address in the first 4 bytes of addr, the rest 0). Denials are never recorded. */
struct egress_allowed {
	__u64 workload;
	__u64 addr[2];
	__u32 generation;
	__u32 trie_id; /* 0: nothing recorded */
	__u16 port;
	__u8 family;
	__u8 proto; /* the socket's IPPROTO_* */
	__u8 mode;
	__u8 pad[3];
};

/* A key of the verdict cache (egress.bpf.c, "The verdict cache"): one allowed decision, with
 * every input it depended on. */
struct egress_vkey {
	__u32 trie_id; /* the kernel's id of the trie that allowed it (never 0) */
	__u8 family;   /* 4 or 6, after normalisation */
	__u8 proto;    /* the socket's IPPROTO_* */
	__u16 port;
	__u64 workload;
	__u64 addr[2];
};

#define EGRESS_VERDICT_CACHE 16384 /* entries of the verdict cache (LRU) */

/* Socket local storage: who created the socket, kept for every later decision and event. */
struct egress_sock {
	__u64 cgroup_id; /* creator's cgroup */
	__u64 workload;	 /* workload cgroup id found above it, 0 if none */
	__u32 pid;	 /* creator's process id (tgid) */
	__u32 uid;
	char comm[16];
	__u64 last_event_ns; /* rate limit: one event per destination and second */
	__u8 last_addr[16];
	__u16 last_port;
	__u8 last_hook;
	__u8 hooked;   /* 1: created under sock_create or seen by a connect/sendmsg hook, so
			* every destination of it was decided there; 0: made by the packet
			* backstop for a socket from before attach (every packet re-checked) */
	__u8 wl_fixed; /* 1: workload found by sock_create, before the socket could be shared;
			* it never changes, so mk_gen/mk_mode may cache its marker */
	__u8 icmp;     /* 1: an ICMP echo socket (its packets are always re-checked by the backstop:
			* their sends pass no sendmsg hook); the protocol never changes */
	__u8 pad[6];
	/* The workload's marker in the live trie, cached (see "The marker cache" in
	 * egress.bpf.c): each word carries the trie's map id in its low 32 bits, so a reader
	 * that finds the live id in both has one consistent copy; 0: none. */
	__u64 mk_gen;  /* trie id | generation << 32 */
	__u64 mk_mode; /* trie id | mode << 32 */
	/* Sequence count of allowed: odd while a writer changes it; a reader uses allowed only
	 * when it read the same even count before and after (egress.bpf.c, "The verdict
	 * record"). A writer that finds it odd, or loses the compare-and-swap, skips. */
	__u64 seq;
	struct egress_allowed allowed;
};

enum {
	EGRESS_HOOK_CONNECT4 = 1,
	EGRESS_HOOK_CONNECT6 = 2,
	EGRESS_HOOK_SENDMSG4 = 3,
	EGRESS_HOOK_SENDMSG6 = 4,
	EGRESS_HOOK_SOCK_CREATE = 5,
	EGRESS_HOOK_SKB = 6, /* cgroup_skb/egress: the packet backstop */
};

enum { EGRESS_VERDICT_DENY = 1, EGRESS_VERDICT_AUDIT = 2 };

enum {
	EGRESS_REASON_NO_RULE = 1,     /* no rule allows the destination */
	EGRESS_REASON_NO_WORKLOAD = 2, /* the socket's cgroup is under no workload of the policy */
	EGRESS_REASON_NO_POLICY = 3,   /* no policy in the map (fail closed) */
	EGRESS_REASON_RAW = 4,	       /* raw socket */
	EGRESS_REASON_PROTOCOL = 5,    /* a protocol other than TCP, UDP, ICMP echo */
	EGRESS_REASON_UNPARSED = 6,    /* backstop: a packet it cannot parse (fail closed) */
};

struct egress_event {
	__u64 ts_ns; /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 cgroup_id;
	__u64 workload;
	__u32 pid;
	__u32 uid;
	__u32 generation;
	__u8 hook;
	__u8 verdict;
	__u8 family; /* 4 or 6: the address as decided (mapped IPv6 is 4); sock_create: the socket's
		      */
	__u8 proto;  /* IPPROTO_* of the socket */
	__u16 dport; /* host order */
	__u16 sock_type;
	__u32 reason;
	__u8 daddr[16];
	char comm[16];
};

/* Slots of the counters array (u64 each). */
enum {
	EGRESS_CNT_LOST = 0,	   /* events the ring buffer had no room for */
	EGRESS_CNT_DENIED = 1,	   /* decisions that denied */
	EGRESS_CNT_AUDITED = 2,	   /* decisions audit mode let through */
	EGRESS_CNT_SUPPRESSED = 3, /* events held back by the per-socket rate limit */
	EGRESS_CNT_MAX = 4,
};

/* The loader's record of what it applied (the state map; the kernel programs never read it). */
struct egress_state {
	__u32 generation;
	__u8 mode;
	__u8 unsigned_policy; /* applied with --unsigned */
	__u16 nworkloads;
	__u64 applied_unix;
	__u64 nentries; /* entries of the policy trie */
	__u64 sequence; /* highest sequence of a signed policy applied (the ratchet) */
	__u8 policy_sha256[32];
	char policy_path[256];
	char signers[256]; /* key ids of the signatures counted, space separated */
};

/* The workloads map (key: cgroup id): names for status and events. */
struct egress_wlinfo {
	char name[64];
	char cgroup[512];
};

#endif
