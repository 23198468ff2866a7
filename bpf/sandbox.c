/*
 * sandbox.c: the confinement of 'exai-egress run' (sandbox.h). Called in the forked child
 * only; on failure the child reports and exits without running the command.
 */
#include "sandbox.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static exai_status join_cgroup(const char *cgroup, exai_error *e)
{
	char path[4096], pid[32];
	int fd, n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup) >= sizeof(path))
		return exai_error_set(e, EXAI_ETOOBIG, "cgroup path too long");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "open %s", path);
	if (write(fd, pid, (size_t)n) != n) {
		exai_status st = exai_error_sys(e, EXAI_EIO, "join cgroup %s", cgroup);

		close(fd);
		return st;
	}
	close(fd);
	return EXAI_OK;
}

static exai_status drop_net_raw(exai_error *e)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const unsigned bit = 1u << (CAP_NET_RAW % 32);
	const int word = CAP_NET_RAW / 32;

	if (prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0) != 0 && errno != EINVAL)
		return exai_error_sys(e, EXAI_EIO, "drop CAP_NET_RAW from the bounding set");
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return exai_error_sys(e, EXAI_EIO, "capget");
	data[word].effective &= ~bit;
	data[word].permitted &= ~bit;
	data[word].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data) != 0)
		return exai_error_sys(e, EXAI_EIO, "capset without CAP_NET_RAW");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return exai_error_sys(e, EXAI_EIO, "no_new_privs");
	return EXAI_OK;
}

static struct scmp_arg_cmp arg_cmp(unsigned int arg, enum scmp_compare op, scmp_datum_t mask,
				   scmp_datum_t value)
{
	struct scmp_arg_cmp c;

	memset(&c, 0, sizeof(c));
	c.arg = arg;
	c.op = op;
	c.datum_a = mask;
	c.datum_b = value;
	return c;
}

/*
 * ERRNO(EPERM) for @sys unless the low 32 bits of argument 0 (the kernel reads the family as
 * an int: high bits are ignored by it, so they must be by the filter) are one of the allowed
 * families: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK. An allow-list: AF_PACKET, AF_VSOCK,
 * AF_XDP and every family added to the kernel later are refused. Built from masked compares
 * only: refuse when a bit outside the allowed families' bits is set, then refuse each value
 * made only of those bits that is not an allowed family.
 */
static int allowed_families_only(scmp_filter_ctx ctx, int sys)
{
	static const unsigned allowed[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK};
	unsigned bits = 0;
	int r = 0;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		bits |= allowed[i];
	for (unsigned b = 0; b < 32 && !r; b++) {
		struct scmp_arg_cmp c;
		if (bits >> b & 1)
			continue;
		c = arg_cmp(0, SCMP_CMP_MASKED_EQ, (scmp_datum_t)1 << b, (scmp_datum_t)1 << b);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), sys, 1, &c);
	}
	for (unsigned v = 0; v <= bits && !r; v++) {
		struct scmp_arg_cmp c;
		bool ok = false;
		if (v & ~bits)
			continue;
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok |= v == allowed[i];
		if (ok)
			continue;
		c = arg_cmp(0, SCMP_CMP_MASKED_EQ, 0xffffffffu, v);
		r = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), sys, 1, &c);
	}
	return r;
}

/* The seccomp filter of the command: socket families on an allow-list, and no bpf() or
 * setns() (no detaching the programs, no joining another cgroup namespace). */
static exai_status confine_syscalls(exai_error *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!ctx)
		return exai_error_set(e, EXAI_ENOMEM, "seccomp_init");
	rc = allowed_families_only(ctx, SCMP_SYS(socket));
	if (rc == 0)
		rc = allowed_families_only(ctx, SCMP_SYS(socketpair));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(bpf), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setns), 0);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return exai_error_set(e, EXAI_EIO, "seccomp filter of the command: %s",
				      strerror(-rc));
	return EXAI_OK;
}

exai_status egress_sandbox_enter(const char *cgroup, exai_error *e)
{
	exai_status st = join_cgroup(cgroup, e);

	/* A cgroup namespace rooted at the transient cgroup: the command cannot move itself (or
	 * anything) to a cgroup outside it, even as root. */
	if (st == EXAI_OK && unshare(CLONE_NEWCGROUP) != 0)
		st = exai_error_sys(e, EXAI_EIO, "cgroup namespace of the command");
	if (st == EXAI_OK)
		st = drop_net_raw(e);
	if (st == EXAI_OK)
		st = confine_syscalls(e);
	return st;
}
