/*
 * run_ns: the network and mount namespace the run mode puts a command in.
 *
 * The caller has already unshared a fresh network namespace and a mount namespace. Network:
 * loopback up, one TUN device (IFF_TUN|IFF_NO_PI) addressed 192.0.0.8/32 (RFC 7600's dummy
 * address) and fd00:a1e9:a9::8/128, and IPv4 and IPv6 default routes through it, all set up
 * with rtnetlink, so every packet for a non-loopback address is handed to the verifier and
 * goes nowhere else: the namespace has no other interface. Mounts: made private, then a
 * resolv.conf naming the DNS sink is bind-mounted read-only over /etc/resolv.conf, and the
 * sockets of local resolver daemons (nscd, systemd-resolved, avahi) are covered with /dev/null,
 * because a lookup through one of them would be made from the host's namespace.
 */
#ifndef VF_RUN_NS_H
#define VF_RUN_NS_H

#include <stddef.h>

#include "exai/error.h"

#define VF_RUN_TUN_NAME	 "vfegress0"
#define VF_RUN_TUN_ADDR4 "192.0.0.8"
#define VF_RUN_TUN_ADDR6 "fd00:a1e9:a9::8"
#define VF_RUN_DNS_ADDR	 "127.0.0.53"

typedef struct vf_run_net {
	int tun_fd; /* non-blocking, close-on-exec; -1 when closed */
	unsigned ifindex;
} vf_run_net;

/* Sets up loopback, the TUN device, its addresses and the default routes in the current
 * (fresh) network namespace. On failure everything opened is closed. */
exai_status vf_run_net_setup(vf_run_net *net, exai_error *e) EXAI_WUR;
void vf_run_net_close(vf_run_net *net);

/* In the current (fresh) mount namespace: makes every mount private, binds a resolv.conf
 * naming @nameserver over /etc/resolv.conf and masks resolver daemon sockets. @masked (of
 * @cap bytes) receives the masked paths, comma-separated ("" if none). */
exai_status vf_run_mounts_setup(const char *nameserver, char *masked, size_t cap,
				exai_error *e) EXAI_WUR;

#endif
