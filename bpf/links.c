/*
 * links.c: attaching, checking and pruning the per-workload cgroup links (links.h). Links are
 * made with BPF_LINK_CREATE (always multi-attach, never an override a child could replace),
 * and a new link is attached before anything old is detached.
 */
#include "links.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int link_path(char *out, size_t size, const egress_pins *p, uint64_t cgid, int hook)
{
	int n =
	    snprintf(out, size, "%s/links/%" PRIu64 "-%s", p->dir, cgid, egress_hooks[hook].name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* 1: @fd is a live link to cgroup @cgid; 0 otherwise. */
static int link_fd_live(int fd, uint64_t cgid)
{
	struct bpf_link_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return 0;
	return info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == cgid;
}

int egress_link_state(const egress_pins *p, uint64_t cgid, int hook)
{
	char path[512];
	int fd, live;

	if (link_path(path, sizeof(path), p, cgid, hook) != 0)
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	live = link_fd_live(fd, cgid);
	close(fd);
	return live;
}

exai_status egress_links_attach(const egress_pins *p, uint64_t cgid, const char *cgpath,
				exai_error *e)
{
	char path[512];
	exai_status st = EXAI_OK;
	int cg = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (cg < 0)
		return exai_error_sys(e, EXAI_EIO, "open cgroup %s", cgpath);
	for (int h = 0; h < EGRESS_NHOOKS && st == EXAI_OK; h++) {
		int state = egress_link_state(p, cgid, h), fd;

		if (state == 1)
			continue;
		if (link_path(path, sizeof(path), p, cgid, h) != 0) {
			st = exai_error_set(e, EXAI_ETOOBIG, "link pin path too long");
			break;
		}
		fd = bpf_link_create(p->progs[h], cg, egress_hooks[h].attach_type, NULL);
		if (fd < 0) {
			st = exai_error_sys(e, EXAI_EIO, "attach %s to cgroup %s",
					    egress_hooks[h].name, cgpath);
			break;
		}
		if (state == 0)
			unlink(path); /* detached by someone: the new link replaces it */
		if (bpf_obj_pin(fd, path) != 0)
			st = exai_error_sys(e, EXAI_EIO, "pin %s", path);
		close(fd); /* pinned: the link stays; not pinned: it goes away with the fd */
	}
	close(cg);
	return st;
}

static bool kept(const egress_policy *keep, uint64_t cgid)
{
	for (size_t i = 0; keep && i < keep->nworkloads; i++)
		if (keep->workloads[i].cgid == cgid)
			return true;
	return false;
}

exai_status egress_links_prune(const egress_pins *p, const egress_policy *keep, exai_error *e)
{
	char dirpath[512], path[1024];
	struct dirent *d;
	exai_status st = EXAI_OK;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "%s/links", p->dir);
	dir = opendir(dirpath);
	if (!dir)
		return errno == ENOENT ? EXAI_OK : exai_error_sys(e, EXAI_EIO, "open %s", dirpath);
	while ((d = readdir(dir))) {
		char *end = NULL;
		uint64_t cgid;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		cgid = strtoull(d->d_name, &end, 10);
		if (!end || *end != '-' || kept(keep, cgid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, d->d_name);
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			if (bpf_link_detach(fd) != 0 && errno != ENOLINK && errno != EINVAL)
				st = exai_error_sys(e, EXAI_EIO, "detach %s", path);
			close(fd);
		}
		if (st == EXAI_OK && unlink(path) != 0)
			st = exai_error_sys(e, EXAI_EIO, "unpin %s", path);
		if (st != EXAI_OK)
			break;
	}
	closedir(dir);
	return st;
}
