/*
 * sandbox.c: the confinement of 'exai-egress run' (sandbox.h). Called in the forked child
 * only; on failure the child reports and exits without running the command.
 */
#include "sandbox.h"

#include <errno.h>
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

static exai_status deny_packet_sockets(exai_error *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!ctx)
		return exai_error_set(e, EXAI_ENOMEM, "seccomp_init");
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
			      SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return exai_error_set(e, EXAI_EIO, "seccomp filter refusing AF_PACKET: %s",
				      strerror(-rc));
	return EXAI_OK;
}

exai_status egress_sandbox_enter(const char *cgroup, exai_error *e)
{
	exai_status st = join_cgroup(cgroup, e);

	if (st == EXAI_OK)
		st = drop_net_raw(e);
	if (st == EXAI_OK)
		st = deny_packet_sockets(e);
	return st;
}
