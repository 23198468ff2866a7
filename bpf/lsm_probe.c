/*
 * lsm_probe.c: the BPF LSM probe of lsm_probe.h. Loads "r0 = 1; exit" as an lsm_cgroup
 * program against bpf_lsm_socket_post_create's BTF id, then closes it at once.
 */
#include "lsm_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* 1: "bpf" is in the active LSM list; 0: it is not; -1: the list cannot be read (securityfs
 * not mounted): the load attempt decides. */
static int lsm_listed(void)
{
	char buf[512] = "";
	FILE *f = fopen("/sys/kernel/security/lsm", "r");
	int found = 0;

	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f)) {
		for (char *t = strtok(buf, ",\n"); t; t = strtok(NULL, ",\n"))
			found = found || strcmp(t, "bpf") == 0;
	}
	fclose(f);
	return found;
}

bool egress_lsm_probe(char *why, size_t cap)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_LSM_CGROUP);
	struct btf *vmlinux = NULL;
	int id, fd;

	if (lsm_listed() == 0) {
		snprintf(why, cap, "bpf is not in the active LSM list (/sys/kernel/security/lsm)");
		return false;
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(why, cap, "no kernel BTF");
		return false;
	}
	id = btf__find_by_name_kind(vmlinux, "bpf_lsm_socket_post_create", BTF_KIND_FUNC);
	btf__free(vmlinux);
	if (id < 0) {
		snprintf(why, cap, "the kernel has no bpf_lsm_socket_post_create hook");
		return false;
	}
	opts.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_LSM, "exai_lsm_probe", "GPL", insns, 2, &opts);
	if (fd < 0) {
		snprintf(why, cap, "the kernel refuses lsm_cgroup programs: %s", strerror(errno));
		return false;
	}
	close(fd);
	why[0] = '\0';
	return true;
}
