/*
 * floor.bpf.c: the floor of bench/egress.sh. The six hooks exai-egress attaches, each
 * allowing at once, and sock_create also creating a socket-storage entry of the size of
 * exai-egress's record (struct egress_sock), which the issue requires for every socket (the
 * creator's identity). What this costs over nothing attached is the kernel's part of the
 * overhead: running cgroup programs at all (the socket lock taken around the sendmsg hooks,
 * the program runs) and the storage's allocation and its freeing when the socket closes.
 * Whatever exai-egress costs above it is its own decisions. Loaded with bpftool by the
 * benchmark only; never installed.
 */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "../../bpf/egress.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct egress_sock);
} floor_socks SEC(".maps");

SEC("cgroup/sock_create")
int floor_sock_create(struct bpf_sock *ctx)
{
	struct egress_sock *s =
	    bpf_sk_storage_get(&floor_socks, ctx, 0, BPF_SK_STORAGE_GET_F_CREATE);

	if (s)
		s->hooked = 1;
	return 1;
}

/* The other five hooks: allow at once. */
#define ALLOW(sec, name, ctx_type)       \
	SEC(sec) int name(ctx_type *ctx) \
	{                                \
		return 1;                \
	}
ALLOW("cgroup/connect4", floor_connect4, struct bpf_sock_addr)
ALLOW("cgroup/connect6", floor_connect6, struct bpf_sock_addr)
ALLOW("cgroup/sendmsg4", floor_sendmsg4, struct bpf_sock_addr)
ALLOW("cgroup/sendmsg6", floor_sendmsg6, struct bpf_sock_addr)
ALLOW("cgroup_skb/egress", floor_skb, struct __sk_buff)
