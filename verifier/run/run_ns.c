/*
 * run_ns: loopback, TUN device, addresses and default routes over rtnetlink, and the mount
 * namespace's resolv.conf and resolver-socket masks.
 *
 * Invariant after vf_run_net_setup(): the namespace has exactly two interfaces, lo and the TUN
 * device, and the main tables' only non-local routes are the two default routes through the
 * TUN device, so anything not for a local address is read by the verifier and never sent on.
 * Netlink requests are sent one at a time and each must be acknowledged (NLM_F_ACK); a refusal
 * is reported with the operation and the kernel's errno.
 */
#include "run_ns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"

typedef struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rt;
	} u;
	uint8_t attrs[128];
} nl_req;

static void nl_init(nl_req *r, uint16_t type, uint16_t flags, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	r->nh.nlmsg_type = type;
	r->nh.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
}

/* Appends an attribute; the callers' attributes always fit in attrs[]. */
static void nl_attr(nl_req *r, unsigned short type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->nh.nlmsg_len);
	struct rtattr *rta = (struct rtattr *)((uint8_t *)r + off);

	if (off + RTA_SPACE(len) > sizeof(*r))
		abort(); /* a programming error, not input */
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	r->nh.nlmsg_len = (uint32_t)(off + RTA_ALIGN(rta->rta_len));
}

/* Sends @r and waits for its acknowledgement. */
static exai_status nl_talk(int fd, nl_req *r, uint32_t seq, const char *what, exai_error *e)
{
	uint8_t buf[4096];
	ssize_t n;

	r->nh.nlmsg_seq = seq;
	if (send(fd, r, r->nh.nlmsg_len, 0) != (ssize_t)r->nh.nlmsg_len)
		return exai_error_sys(e, EXAI_EIO, "netlink: %s: send", what);
	for (;;) {
		struct nlmsghdr *h;
		size_t len;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return exai_error_sys(e, EXAI_EIO, "netlink: %s: recv", what);
		len = (size_t)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			const struct nlmsgerr *err;

			if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*err)))
				return exai_error_set(e, EXAI_EIO, "netlink: %s: short ack", what);
			err = NLMSG_DATA(h);
			if (err->error == 0)
				return EXAI_OK;
			errno = -err->error;
			return exai_error_sys(e, EXAI_EIO, "netlink: %s", what);
		}
	}
}

static exai_status link_up(int fd, unsigned ifindex, uint32_t seq, const char *name, exai_error *e)
{
	nl_req r;
	char what[64];

	nl_init(&r, RTM_NEWLINK, 0, sizeof(r.u.ifi));
	r.u.ifi.ifi_family = AF_UNSPEC;
	r.u.ifi.ifi_index = (int)ifindex;
	r.u.ifi.ifi_flags = IFF_UP;
	r.u.ifi.ifi_change = IFF_UP;
	snprintf(what, sizeof(what), "bring %s up", name);
	return nl_talk(fd, &r, seq, what, e);
}

static exai_status addr_add(int fd, unsigned ifindex, int family, const char *text, uint32_t seq,
			    exai_error *e)
{
	uint8_t addr[16];
	size_t alen = family == AF_INET ? 4 : 16;
	nl_req r;
	char what[96];

	if (inet_pton(family, text, addr) != 1)
		return exai_error_set(e, EXAI_EINTERNAL, "bad built-in address %s", text);
	nl_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(r.u.ifa));
	r.u.ifa.ifa_family = (uint8_t)family;
	r.u.ifa.ifa_prefixlen = (uint8_t)(alen * 8);
	/* no duplicate address detection: the address must be usable at once, and DAD would
	 * send neighbour solicitations into the TUN device */
	r.u.ifa.ifa_flags = family == AF_INET6 ? IFA_F_NODAD : 0;
	r.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	r.u.ifa.ifa_index = ifindex;
	nl_attr(&r, IFA_LOCAL, addr, alen);
	nl_attr(&r, IFA_ADDRESS, addr, alen);
	snprintf(what, sizeof(what), "add address %s to %s", text, VF_RUN_TUN_NAME);
	return nl_talk(fd, &r, seq, what, e);
}

static exai_status default_route(int fd, unsigned ifindex, int family, uint32_t seq, exai_error *e)
{
	uint32_t oif = ifindex;
	nl_req r;

	nl_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(r.u.rt));
	r.u.rt.rtm_family = (uint8_t)family;
	r.u.rt.rtm_dst_len = 0;
	r.u.rt.rtm_table = RT_TABLE_MAIN;
	r.u.rt.rtm_protocol = RTPROT_STATIC;
	r.u.rt.rtm_scope = family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	r.u.rt.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(fd, &r, seq,
		       family == AF_INET ? "add IPv4 default route via " VF_RUN_TUN_NAME
					 : "add IPv6 default route via " VF_RUN_TUN_NAME,
		       e);
}

/* Best effort: a TUN device has no routers to solicit; fewer kernel packets to filter out. */
static void quiet_ipv6(void)
{
	static const char *const knobs[] = {"accept_ra", "router_solicitations"};
	size_t i;

	for (i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		char path[128];
		int fd;

		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", VF_RUN_TUN_NAME,
			 knobs[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "0\n", 2) != 2) {
			/* ignored: only quietens the device */
		}
		close(fd);
	}
}

/* ICMP echo through datagram sockets ("ping sockets") for every group: an unprivileged command
 * has no CAP_NET_RAW, and its pings must still reach the TUN device to be seen. */
static exai_status allow_ping_sockets(exai_error *e)
{
	static const char path[] = "/proc/sys/net/ipv4/ping_group_range",
			  range[] = "0 2147483647\n";
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	exai_status st = EXAI_OK;

	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "open %s", path);
	if (write(fd, range, sizeof(range) - 1) != (ssize_t)(sizeof(range) - 1))
		st = exai_error_sys(e, EXAI_EIO, "write %s", path);
	close(fd);
	return st;
}

static exai_status tun_open(vf_run_net *net, exai_error *e)
{
	struct ifreq ifr;

	net->tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (net->tun_fd < 0)
		return exai_error_sys(e, EXAI_EIO, "open /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, VF_RUN_TUN_NAME, sizeof(VF_RUN_TUN_NAME));
	if (ioctl(net->tun_fd, TUNSETIFF, &ifr) < 0)
		return exai_error_sys(e, EXAI_EIO, "create TUN device %s", VF_RUN_TUN_NAME);
	net->ifindex = if_nametoindex(VF_RUN_TUN_NAME);
	if (net->ifindex == 0)
		return exai_error_sys(e, EXAI_EIO, "index of %s", VF_RUN_TUN_NAME);
	return EXAI_OK;
}

exai_status vf_run_net_setup(vf_run_net *net, exai_error *e)
{
	struct sockaddr_nl sa;
	unsigned lo;
	int fd = -1;
	exai_status st;

	net->tun_fd = -1;
	net->ifindex = 0;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		st = exai_error_sys(e, EXAI_EIO, "netlink socket");
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		st = exai_error_sys(e, EXAI_EIO, "netlink bind");
		goto out;
	}
	lo = if_nametoindex("lo");
	if (lo == 0) {
		st = exai_error_sys(e, EXAI_EIO, "index of lo");
		goto out;
	}
	st = link_up(fd, lo, 1, "lo", e);
	if (st == EXAI_OK)
		st = tun_open(net, e);
	if (st != EXAI_OK)
		goto out;
	quiet_ipv6();
	st = allow_ping_sockets(e);
	if (st == EXAI_OK)
		st = addr_add(fd, net->ifindex, AF_INET, VF_RUN_TUN_ADDR4, 2, e);
	if (st == EXAI_OK)
		st = addr_add(fd, net->ifindex, AF_INET6, VF_RUN_TUN_ADDR6, 3, e);
	if (st == EXAI_OK)
		st = link_up(fd, net->ifindex, 4, VF_RUN_TUN_NAME, e);
	if (st == EXAI_OK)
		st = default_route(fd, net->ifindex, AF_INET, 5, e);
	if (st == EXAI_OK)
		st = default_route(fd, net->ifindex, AF_INET6, 6, e);
out:
	if (fd >= 0)
		close(fd);
	if (st != EXAI_OK)
		vf_run_net_close(net);
	return st;
}

void vf_run_net_close(vf_run_net *net)
{
	if (net && net->tun_fd >= 0) {
		close(net->tun_fd);
		net->tun_fd = -1;
	}
}

/* Appends @path to the comma-separated list @list of @cap bytes. */
static void list_add(char *list, size_t cap, const char *path)
{
	size_t n = strlen(list);

	snprintf(list + n, cap - n, "%s%s", n ? ", " : "", path);
}

/* Hides local resolver daemons' sockets under /dev/null: a lookup through one of them would be
 * made by the daemon, from the host's namespace. */
static exai_status mask_resolver_daemons(char *masked, size_t cap, exai_error *e)
{
	static const char *const socks[] = {
	    "/run/nscd/socket",
	    "/var/run/nscd/socket",
	    "/run/systemd/resolve/io.systemd.Resolve",
	    "/run/avahi-daemon/socket",
	    "/var/run/avahi-daemon/socket",
	};
	char done[sizeof(socks) / sizeof(socks[0])][PATH_MAX];
	size_t i, j, ndone = 0;

	for (i = 0; i < sizeof(socks) / sizeof(socks[0]); i++) {
		char real[PATH_MAX];
		struct stat st;
		bool seen = false;

		if (!realpath(socks[i], real) || lstat(real, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		for (j = 0; j < ndone; j++)
			seen = seen || !strcmp(done[j], real);
		if (seen)
			continue;
		if (mount("/dev/null", real, NULL, MS_BIND, NULL) < 0)
			return exai_error_sys(e, EXAI_EIO, "mask resolver socket %s", real);
		memcpy(done[ndone++], real, sizeof(real));
		list_add(masked, cap, real);
	}
	return EXAI_OK;
}

exai_status vf_run_mounts_setup(const char *nameserver, char *masked, size_t cap, exai_error *e)
{
	char *dir = NULL, *conf = NULL, text[256];
	exai_error ignored;
	exai_status st;
	int n;

	masked[0] = '\0';
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return exai_error_sys(e, EXAI_EIO, "make mounts private");
	st = exai_tempdir_create(NULL, "airgap-run.", &dir, e);
	if (st != EXAI_OK)
		goto out;
	conf = exai_path_join(dir, "resolv.conf");
	if (!conf) {
		st = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	n = snprintf(text, sizeof(text),
		     "# airgap-verifier run: every lookup goes to its DNS sink\n"
		     "nameserver %s\noptions attempts:1\n",
		     nameserver);
	st = exai_file_write_atomic(conf, text, (size_t)n, 0644, e);
	if (st != EXAI_OK)
		goto out;
	if (mount(conf, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) {
		st = exai_error_sys(e, EXAI_EIO,
				    "bind %s over /etc/resolv.conf (it must exist; a dangling "
				    "symlink cannot be mounted over)",
				    conf);
		goto out;
	}
	if (mount(NULL, "/etc/resolv.conf", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
		st = exai_error_sys(e, EXAI_EIO, "make /etc/resolv.conf read-only");
		goto out;
	}
	st = mask_resolver_daemons(masked, cap, e);
out:
	if (dir && exai_tree_remove(dir, &ignored) != EXAI_OK) {
		/* a leftover empty temp dir is harmless; the mount holds the file */
	}
	free(conf);
	free(dir);
	return st;
}
