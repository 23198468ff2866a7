/*
 * pins.c: loading, pinning and adopting the exai-egress programs and maps (pins.h). A fresh
 * load pins every map and program; DIR/map_policy is pinned last, so its presence means a
 * complete set (egress_pins_exist) and a half-done first load is cleaned up by the next.
 */
#include "pins.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "egress.skel.h"

const egress_hook_desc egress_hooks[EGRESS_NHOOKS] = {
    {"connect4", BPF_CGROUP_INET4_CONNECT},	  {"connect6", BPF_CGROUP_INET6_CONNECT},
    {"sendmsg4", BPF_CGROUP_UDP4_SENDMSG},	  {"sendmsg6", BPF_CGROUP_UDP6_SENDMSG},
    {"sock_create", BPF_CGROUP_INET_SOCK_CREATE}, {"skb_egress", BPF_CGROUP_INET_EGRESS},
};

static const char *const map_names[EGRESS_NMAPS] = {"policy", "socks",	   "events",  "counters",
						    "state",  "workloads", "verdicts"};

static int pin_path(char *out, size_t size, const char *dir, const char *kind, const char *name)
{
	int n = snprintf(out, size, "%s/%s_%s", dir, kind, name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool egress_pins_exist(const char *dir)
{
	char path[512];

	return pin_path(path, sizeof(path), dir, "map", "policy") == 0 && access(path, F_OK) == 0;
}

void egress_pins_init(egress_pins *p, const char *dir)
{
	char copy[sizeof(p->dir)];

	snprintf(copy, sizeof(copy), "%s", dir); /* @dir may be p->dir */
	memset(p, 0, sizeof(*p));
	memcpy(p->dir, copy, sizeof(p->dir));
	for (int i = 0; i < EGRESS_NMAPS; i++)
		p->maps[i] = -1;
	for (int i = 0; i < EGRESS_NHOOKS; i++)
		p->progs[i] = -1;
}

void egress_pins_close(egress_pins *p)
{
	if (!p)
		return;
	for (int i = 0; i < EGRESS_NMAPS; i++)
		if (p->maps[i] >= 0)
			close(p->maps[i]);
	for (int i = 0; i < EGRESS_NHOOKS; i++)
		if (p->progs[i] >= 0)
			close(p->progs[i]);
	egress_pins_init(p, p->dir);
}

/* The map's value size must be this loader's: a pin left by another version is refused. */
static exai_status check_map(int fd, const char *name, exai_error *e)
{
	static const uint32_t sizes[EGRESS_NMAPS] = {
	    sizeof(uint32_t), sizeof(struct egress_sock),  0,
	    sizeof(uint64_t), sizeof(struct egress_state), sizeof(struct egress_wlinfo),
	    sizeof(uint32_t)};
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return exai_error_sys(e, EXAI_EIO, "pinned map %s: info", name);
	for (int i = 0; i < EGRESS_NMAPS; i++)
		if (strcmp(map_names[i], name) == 0 && sizes[i] && info.value_size != sizes[i])
			return exai_error_set(e, EXAI_ECONFIG,
					      "pinned map %s was made by another version of "
					      "exai-egress (value size %u, this one %u): run "
					      "'exai-egress detach' first",
					      name, info.value_size, sizes[i]);
	return EXAI_OK;
}

exai_status egress_pins_open(const char *dir, egress_pins *p, exai_error *e)
{
	char path[512];
	exai_status st = EXAI_OK;

	egress_pins_init(p, dir);
	if (!egress_pins_exist(dir))
		return exai_error_set(e, EXAI_ENOENT, "nothing is pinned in %s (not applied)", dir);
	for (int i = 0; i < EGRESS_NMAPS && st == EXAI_OK; i++) {
		if (pin_path(path, sizeof(path), dir, "map", map_names[i]) != 0)
			st = exai_error_set(e, EXAI_ETOOBIG, "pin directory name too long");
		else if ((p->maps[i] = bpf_obj_get(path)) < 0 && errno == ENOENT)
			st = exai_error_set(
			    e, EXAI_ECONFIG,
			    "%s holds no pinned map %s: pinned by another version of "
			    "exai-egress: run 'exai-egress detach' first",
			    dir, map_names[i]);
		else if (p->maps[i] < 0)
			st = exai_error_sys(e, EXAI_EIO, "open pinned map %s", path);
		else
			st = check_map(p->maps[i], map_names[i], e);
	}
	for (int i = 0; i < EGRESS_NHOOKS && st == EXAI_OK; i++) {
		if (pin_path(path, sizeof(path), dir, "prog", egress_hooks[i].name) != 0)
			st = exai_error_set(e, EXAI_ETOOBIG, "pin directory name too long");
		else if ((p->progs[i] = bpf_obj_get(path)) < 0)
			st = exai_error_sys(e, EXAI_EIO, "open pinned program %s", path);
	}
	if (st != EXAI_OK)
		egress_pins_close(p);
	return st;
}

static bool is_bpffs(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 && s.f_type == BPF_FS_MAGIC;
}

/* bpffs under @dir's parent: mounted at /sys/fs/bpf when missing there (as systemd does). */
static exai_status ensure_bpffs(const char *dir, exai_error *e)
{
	char parent[256];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return exai_error_set(e, EXAI_ECONFIG, "pin directory %s: not under a bpffs", dir);
	*slash = '\0';
	if (is_bpffs(parent))
		return EXAI_OK;
	if (strcmp(parent, "/sys/fs/bpf") == 0 &&
	    mount("bpf", parent, "bpf", 0, "mode=0700") == 0 && is_bpffs(parent))
		return EXAI_OK;
	return exai_error_set(e, EXAI_ECONFIG,
			      "%s is not a bpf file system (mount -t bpf bpf /sys/fs/bpf)", parent);
}

static exai_status pin_fd(int fd, const char *dir, const char *kind, const char *name,
			  exai_error *e)
{
	char path[512];

	if (pin_path(path, sizeof(path), dir, kind, name) != 0)
		return exai_error_set(e, EXAI_ETOOBIG, "pin directory name too long");
	unlink(path); /* left by a first load that did not finish (no map_policy) */
	if (bpf_obj_pin(fd, path) != 0)
		return exai_error_sys(e, EXAI_EIO, "pin %s", path);
	return EXAI_OK;
}

static struct bpf_program *skel_prog(struct egress_bpf *s, int i)
{
	struct bpf_program *progs[EGRESS_NHOOKS] = {
	    s->progs.egress_connect4, s->progs.egress_connect6,	   s->progs.egress_sendmsg4,
	    s->progs.egress_sendmsg6, s->progs.egress_sock_create, s->progs.egress_skb};

	return progs[i];
}

static struct bpf_map *skel_map(struct egress_bpf *s, int i)
{
	struct bpf_map *maps[EGRESS_NMAPS] = {s->maps.policy,	s->maps.socks, s->maps.events,
					      s->maps.counters, s->maps.state, s->maps.workloads,
					      s->maps.verdicts};

	return maps[i];
}

static exai_status pin_all(struct egress_bpf *s, const char *dir, egress_pins *p, exai_error *e)
{
	exai_status st = EXAI_OK;

	for (int i = 0; i < EGRESS_NHOOKS && st == EXAI_OK; i++) {
		st = pin_fd(bpf_program__fd(skel_prog(s, i)), dir, "prog", egress_hooks[i].name, e);
		if (st == EXAI_OK && (p->progs[i] = dup(bpf_program__fd(skel_prog(s, i)))) < 0)
			st = exai_error_sys(e, EXAI_EIO, "dup");
	}
	/* map_policy last: it marks the set complete */
	for (int i = EGRESS_NMAPS - 1; i >= 0 && st == EXAI_OK; i--) {
		st = pin_fd(bpf_map__fd(skel_map(s, i)), dir, "map", map_names[i], e);
		if (st == EXAI_OK && (p->maps[i] = dup(bpf_map__fd(skel_map(s, i)))) < 0)
			st = exai_error_sys(e, EXAI_EIO, "dup");
	}
	return st;
}

/* libbpf's own messages, warnings only; @fmt is libbpf's (a callback cannot say so). */
__attribute__((format(printf, 2, 0))) static int quiet_print(enum libbpf_print_level level,
							     const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

exai_status egress_pins_create(const char *dir, egress_pins *p, exai_error *e)
{
	struct egress_bpf *s = NULL;
	char links[512];
	exai_status st;

	egress_pins_init(p, dir);
	if ((st = ensure_bpffs(dir, e)) != EXAI_OK)
		return st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return exai_error_sys(e, EXAI_EIO, "mkdir %s", dir);
	snprintf(links, sizeof(links), "%s/links", dir);
	if (mkdir(links, 0700) != 0 && errno != EEXIST)
		return exai_error_sys(e, EXAI_EIO, "mkdir %s", links);
	if (rmdir(links) != 0 || mkdir(links, 0700) != 0)
		/* links of an incomplete set would keep running programs this load would not
		 * see; they are removed by detach, never silently adopted or ignored */
		return exai_error_set(e, EXAI_ECONFIG,
				      "%s holds links but no complete set of pins (map_policy "
				      "missing): run 'exai-egress detach' first",
				      links);
	libbpf_set_print(quiet_print);
	s = egress_bpf__open_and_load();
	if (!s)
		return exai_error_sys(e, EXAI_EIO,
				      "load the egress programs (root, cgroup BPF and BTF needed)");
	st = pin_all(s, dir, p, e);
	egress_bpf__destroy(s); /* the pins and dup'd descriptors keep everything */
	if (st != EXAI_OK)
		egress_pins_close(p);
	return st;
}

exai_status egress_pins_remove(const char *dir, exai_error *e)
{
	char path[512];

	if (pin_path(path, sizeof(path), dir, "map", "policy") == 0)
		unlink(path); /* first: the set is no longer complete */
	for (int i = 0; i < EGRESS_NMAPS; i++)
		if (pin_path(path, sizeof(path), dir, "map", map_names[i]) == 0)
			unlink(path);
	for (int i = 0; i < EGRESS_NHOOKS; i++)
		if (pin_path(path, sizeof(path), dir, "prog", egress_hooks[i].name) == 0)
			unlink(path);
	snprintf(path, sizeof(path), "%s/links", dir);
	if (rmdir(path) != 0 && errno != ENOENT)
		return exai_error_sys(e, EXAI_EIO, "remove %s", path);
	if (rmdir(dir) != 0 && errno != ENOENT)
		return exai_error_sys(e, EXAI_EIO, "remove %s", dir);
	return EXAI_OK;
}

exai_status egress_state_get(const egress_pins *p, struct egress_state *s, exai_error *e)
{
	uint32_t zero = 0;

	memset(s, 0, sizeof(*s));
	if (bpf_map_lookup_elem(p->maps[EGRESS_MAP_STATE], &zero, s) != 0)
		return exai_error_sys(e, EXAI_EIO, "read the state map");
	return EXAI_OK;
}

exai_status egress_state_put(const egress_pins *p, const struct egress_state *s, exai_error *e)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(p->maps[EGRESS_MAP_STATE], &zero, s, BPF_ANY) != 0)
		return exai_error_sys(e, EXAI_EIO, "write the state map");
	return EXAI_OK;
}
