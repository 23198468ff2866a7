/*
 * run_egress: the attribution session, exai-egress run as a child (run_egress.h).
 *
 * Invariants: the session owns everything it makes (temp dir, bpffs mount, cgroup, the
 * event reader) and removes it in vf_run_egress_free whatever happened before; every
 * exai-egress child dies with the verifier (PR_SET_PDEATHSIG), is given --pin-dir of the
 * private bpffs (never the host's pins) and is bounded in time and output.
 */
#include "run_egress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mntent.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/progress.h"
#include "run_proc.h"

#ifndef VF_EGRESS_INSTALLED
#define VF_EGRESS_INSTALLED "/usr/local/sbin/exai-egress"
#endif

#define TOOL_TIMEOUT_MS	 30000
#define STOP_TIMEOUT_MS	 5000
#define TOOL_OUT_MAX	 (4u << 20) /* the drain: a full 256 KiB ring is about 1 MiB of lines */
#define TOOL_STATUS_MAX	 (256u << 10)
#define TOOL_ERR_MAX	 512
#define WORKLOAD_NAME	 "airgap-verifier-run"
#define BPFFS		 "/sys/fs/bpf"
#define INIT_PID_NS_INUM 0xEFFFFFFCu /* PROC_PID_INIT_INO: the initial PID namespace */

void vf_run_egress_init(vf_run_egress *g)
{
	memset(g, 0, sizeof(*g));
	g->follower = -1;
	g->follow_fd = -1;
	vf_egress_log_init(&g->log, 0);
}

/* ---- running exai-egress ---- */

/* Forks `exai-egress ARGS... --pin-dir PINS` with stdin from /dev/null and stdout/stderr to
 * pipes (*out_fd, *err_fd: the read ends, close-on-exec; stderr to /dev/null when @err_fd is
 * NULL); it dies with the verifier. */
static exai_status tool_spawn(const vf_run_egress *g, const char *const *args, pid_t *pid,
			      int *out_fd, int *err_fd, exai_error *e)
{
	const char *argv[16];
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	pid_t parent = getpid();
	size_t n = 0;

	argv[n++] = g->bin;
	while (*args && n < sizeof(argv) / sizeof(argv[0]) - 3)
		argv[n++] = *args++;
	argv[n++] = "--pin-dir";
	argv[n++] = g->pins;
	argv[n] = NULL;
	if (pipe2(out, O_CLOEXEC) < 0 || (err_fd && pipe2(err, O_CLOEXEC) < 0)) {
		exai_error_sys(e, EXAI_EIO, "pipe");
		goto fail;
	}
	*pid = fork();
	if (*pid < 0) {
		exai_error_sys(e, EXAI_EIO, "fork %s", g->bin);
		goto fail;
	}
	if (*pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err_fd ? err[1] : null, 2) < 0)
			_exit(127);
		execv(g->bin, (char *const *)argv);
		dprintf(2, "exec %s: %s\n", g->bin, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	*out_fd = out[0];
	if (err_fd) {
		close(err[1]);
		*err_fd = err[0];
	}
	return EXAI_OK;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return e->code;
}

/* Waits for @pid; its wait status, or -1. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* The first line of @err (what exai-egress said), for messages. */
static const char *first_line(char *err)
{
	err[strcspn(err, "\n")] = '\0';
	return err[0] ? err : "(no message)";
}

/* What one run of exai-egress gave. */
typedef struct tool_result {
	char *out; /* stdout, NUL-terminated (malloc'ed) */
	size_t len;
	char err[TOOL_ERR_MAX]; /* the start of stderr */
	int wstatus;
} tool_result;

/* Appends what is ready on @fd to @r's stdout (over @max: refused) or stderr (kept up to
 * its buffer); false at the end of @fd. */
static bool tool_read(int fd, bool is_out, tool_result *r, size_t *cap, size_t max, size_t *errlen,
		      exai_status *st, exai_error *e)
{
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (!is_out) {
		size_t k = (size_t)n < sizeof(r->err) - 1 - *errlen ? (size_t)n
								    : sizeof(r->err) - 1 - *errlen;
		memcpy(r->err + *errlen, buf, k);
		*errlen += k;
		r->err[*errlen] = '\0';
		return true;
	}
	if (r->len + (size_t)n > max) {
		*st = exai_error_set(e, EXAI_ETOOBIG, "output over %zu bytes", max);
		return false;
	}
	if (r->len + (size_t)n + 1 > *cap) {
		/* a byte buffer with its own cap (@max), not an array: no exai_grow */
		size_t nc = *cap ? *cap : 65536;
		char *nb;

		while (nc < r->len + (size_t)n + 1)
			nc *= 2;
		if (!(nb = realloc(r->out, nc))) {
			*st = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			return false;
		}
		r->out = nb;
		*cap = nc;
	}
	memcpy(r->out + r->len, buf, (size_t)n);
	r->len += (size_t)n;
	r->out[r->len] = '\0';
	return true;
}

/* Runs `exai-egress ARGS...` to its end (at most TOOL_TIMEOUT_MS, stdout at most @max
 * bytes: past either it is killed and that is the error). */
static exai_status tool_run(const vf_run_egress *g, const char *const *args, size_t max,
			    tool_result *r, exai_error *e)
{
	uint64_t deadline = exai_now_ns() / 1000000 + TOOL_TIMEOUT_MS;
	int fds[2] = {-1, -1};
	size_t cap = 0, errlen = 0;
	exai_status st;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	st = tool_spawn(g, args, &pid, &fds[0], &fds[1], e);
	if (st != EXAI_OK)
		return exai_error_prefix(e, "exai-egress %s", args[0]);
	while (st == EXAI_OK && (fds[0] >= 0 || fds[1] >= 0)) {
		struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN},
				      {.fd = fds[1], .events = POLLIN}};
		uint64_t now = exai_now_ns() / 1000000;

		if (now >= deadline) {
			st = exai_error_set(e, EXAI_EIO, "no answer in %d s",
					    TOOL_TIMEOUT_MS / 1000);
			break;
		}
		if (poll(p, 2, (int)(deadline - now)) < 0 && errno != EINTR) {
			st = exai_error_sys(e, EXAI_EIO, "poll");
			break;
		}
		for (int i = 0; i < 2; i++)
			if (fds[i] >= 0 && p[i].revents &&
			    !tool_read(fds[i], i == 0, r, &cap, max, &errlen, &st, e)) {
				close(fds[i]);
				fds[i] = -1;
			}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (st != EXAI_OK)
		kill(pid, SIGKILL);
	r->wstatus = reap(pid);
	if (st != EXAI_OK) {
		free(r->out);
		r->out = NULL;
		return exai_error_prefix(e, "exai-egress %s", args[0]);
	}
	return EXAI_OK;
}

/* A tool run that must exit 0: its message otherwise. */
static exai_status tool_ok(const vf_run_egress *g, const char *const *args, size_t max,
			   tool_result *r, exai_error *e)
{
	exai_status st = tool_run(g, args, max, r, e);

	if (st == EXAI_OK && (!WIFEXITED(r->wstatus) || WEXITSTATUS(r->wstatus) != 0)) {
		st = exai_error_set(e, EXAI_EIO, "exai-egress %s: %s (exit status %d)", args[0],
				    first_line(r->err),
				    WIFEXITED(r->wstatus) ? WEXITSTATUS(r->wstatus) : -1);
		free(r->out);
		r->out = NULL;
	}
	return st;
}

/* ---- what the session makes ---- */

/* The verifier's own cgroup directory in the cgroup2 hierarchy, into @out. */
static exai_status own_cgroup(char *out, size_t cap, exai_error *e)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	char mnt[512] = "", *line = NULL, *path = NULL;
	struct mntent *m;
	size_t n = 0;
	exai_status st = EXAI_OK;

	while (f && !mnt[0] && (m = getmntent(f)))
		if (strcmp(m->mnt_type, "cgroup2") == 0)
			snprintf(mnt, sizeof(mnt), "%s", m->mnt_dir);
	if (f)
		endmntent(f);
	if (!mnt[0])
		return exai_error_set(e, EXAI_ENOENT,
				      "no cgroup2 file system is mounted (see /proc/mounts)");
	f = fopen("/proc/self/cgroup", "re");
	while (f && !path && getline(&line, &n, f) > 0)
		if (strncmp(line, "0::/", 4) == 0) {
			line[strcspn(line, "\n")] = '\0';
			path = line + 3;
		}
	if (!path)
		st = exai_error_set(e, EXAI_ENOENT, "no cgroup2 entry in /proc/self/cgroup");
	else if (strstr(path, "/..") ||
		 (size_t)snprintf(out, cap, "%s%s", mnt, strcmp(path, "/") ? path : "") >= cap)
		st = exai_error_set(e, EXAI_EINVAL, "cgroup %s: not usable", path);
	if (f)
		fclose(f);
	free(line);
	return st;
}

/* Whether @dir's cgroup.procs lists the verifier: the proof that @dir is its cgroup (and not
 * a name read relative to a cgroup namespace's root). */
static bool lists_self(const char *dir)
{
	char path[1100], *line = NULL;
	size_t n = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (!(f = fopen(path, "re")))
		return false;
	for (long i = 0; i < 1000000 && !found && getline(&line, &n, f) > 0; i++)
		found = strtol(line, NULL, 10) == (long)getpid();
	fclose(f);
	free(line);
	return found;
}

/* Removes the workload cgroups in @base that runs killed before they could clean up left
 * behind: named after a verifier pid (WORKLOAD_NAME-PID) that no longer exists, and empty
 * (rmdir refuses a cgroup that holds processes: such a one, a killed run's child still
 * running, is left and said). A cgroup of a run in progress is never touched: its verifier is
 * alive. */
static void sweep_stale(const char *base)
{
	static const char prefix[] = WORKLOAD_NAME "-";
	DIR *d = opendir(base);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end, path[2048];
		long pid;

		if (strncmp(de->d_name, prefix, sizeof(prefix) - 1) != 0)
			continue;
		errno = 0;
		pid = strtol(de->d_name + sizeof(prefix) - 1, &end, 10);
		if (errno || *end || end == de->d_name + sizeof(prefix) - 1 || pid <= 0 ||
		    pid == (long)getpid() || !(kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, de->d_name) >= sizeof(path))
			continue;
		if (rmdir(path) == 0)
			continue;
		if (errno == EBUSY)
			fprintf(
			    stderr,
			    "airgap-verifier: warning: %s, left by a run that was killed, still "
			    "holds processes (left alone; see its cgroup.procs)\n",
			    path);
	}
	closedir(d);
}

/* The run's workload cgroup, below the verifier's own; its id (inode) becomes the events'
 * expected workload. */
static exai_status make_cgroup(vf_run_egress *g, exai_error *e)
{
	char base[1024];
	struct stat st;
	exai_status rc = own_cgroup(base, sizeof(base), e);

	if (rc != EXAI_OK)
		return rc;
	if (!lists_self(base))
		return exai_error_set(e, EXAI_ENOENT,
				      "cgroup %s does not hold the verifier (a cgroup namespace?)",
				      base);
	sweep_stale(base);
	if (asprintf(&g->cgroup, "%s/%s-%d", base, WORKLOAD_NAME, (int)getpid()) < 0 ||
	    asprintf(&g->cgroup_procs, "%s/cgroup.procs", g->cgroup) < 0) {
		g->cgroup = g->cgroup_procs = NULL;
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	/* one left by an earlier run of the same pid that was killed: empty, so removable */
	if (mkdir(g->cgroup, 0755) < 0 &&
	    !(errno == EEXIST && rmdir(g->cgroup) == 0 && mkdir(g->cgroup, 0755) == 0))
		return exai_error_sys(e, EXAI_EIO, "create cgroup %s", g->cgroup);
	g->cgroup_made = true;
	if (stat(g->cgroup, &st) < 0)
		return exai_error_sys(e, EXAI_EIO, "stat %s", g->cgroup);
	g->log.workload_id = (uint64_t)st.st_ino;
	return EXAI_OK;
}

/* The rules: the local host, but for the DNS sink's port 53, so that what is reported is
 * what matters (attempts to leave, lookups) and loopback chatter does not fill the ring
 * buffer: ::1, 127.0.0.0/8 as the 24 prefixes around 127.0.0.53 (each sibling on the way
 * from /32 up to /9), and 127.0.0.53 itself on every other port. */
static size_t loopback_rules(char *out, size_t cap)
{
	uint32_t sink = 0x7f000035u; /* VF_RUN_DNS_ADDR */
	size_t n = (size_t)snprintf(out, cap, "      - {cidr: \"::1\", protocol: any}\n");

	for (int len = 32; len >= 9 && n < cap; len--) {
		uint32_t mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
		uint32_t net = (sink ^ (1u << (32 - len))) & mask;

		n += (size_t)snprintf(out + n, cap - n,
				      "      - {cidr: %u.%u.%u.%u/%d, protocol: any}\n", net >> 24,
				      (net >> 16) & 255, (net >> 8) & 255, net & 255, len);
	}
	for (int i = 0; i < 2 && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n,
				      "      - {cidr: 127.0.0.53, protocol: %s, ports: [1-52, "
				      "54-65535]}\n",
				      i ? "udp" : "tcp");
	if (n < cap)
		n += (size_t)snprintf(out + n, cap - n,
				      "      - {cidr: 127.0.0.53, protocol: icmp}\n");
	return n;
}

/* The policy: one workload (the run's cgroup), the local host allowed (but for the DNS
 * sink), nothing else (every other connect and send is reported), audit mode (nothing is
 * refused). */
static exai_status write_policy(vf_run_egress *g, char **path, exai_error *e)
{
	char text[4096], rules[2560];
	exai_status st;

	for (const char *c = g->cgroup; *c; c++)
		if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
			return exai_error_set(e, EXAI_EINVAL,
					      "cgroup %s: a quote, backslash or control character "
					      "in its path",
					      g->cgroup);
	if (loopback_rules(rules, sizeof(rules)) >= sizeof(rules) ||
	    (size_t)snprintf(
		text, sizeof(text),
		"# airgap-verifier run: every attempt of the command but those to the "
		"local host reported, nothing refused\nversion: 1\ndefault: deny\n"
		"mode: audit\nworkloads:\n  - name: %s\n    cgroup: \"%s\"\n    rules:\n%s",
		WORKLOAD_NAME, g->cgroup, rules) >= sizeof(text))
		return exai_error_set(e, EXAI_ETOOBIG, "cgroup path too long");
	if (!(*path = exai_path_join(g->dir, "policy.yaml")))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	st = exai_write_new_file(*path, text, 0600, e);
	return st;
}

/* A bpffs of the run's own over /sys/fs/bpf, in the verifier's private mount namespace: the
 * host's pins are out of reach of every exai-egress this run starts (hidden below), and the
 * programs go away with the namespace whatever happens to the verifier. */
static exai_status mount_bpffs(vf_run_egress *g, exai_error *e)
{
	if (!(g->mnt = strdup(BPFFS)) || !(g->pins = exai_path_join(BPFFS, WORKLOAD_NAME)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (mount("bpf", g->mnt, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return exai_error_sys(e, EXAI_EIO, "mount a private bpffs on %s", g->mnt);
	g->mounted = true;
	return EXAI_OK;
}

static exai_status start_follower(vf_run_egress *g, exai_error *e)
{
	static const char *const args[] = {"events", "--follow", "--json", NULL};
	/* its messages are not needed: an early end shows in its exit status */
	exai_status st = tool_spawn(g, args, &g->follower, &g->follow_fd, NULL, e);

	if (st != EXAI_OK)
		return exai_error_prefix(e, "exai-egress events --follow");
	if (fcntl(g->follow_fd, F_SETFL, O_NONBLOCK) < 0)
		return exai_error_sys(e, EXAI_EIO, "fcntl");
	return EXAI_OK;
}

/* Everything but finding the binary; on failure the caller tears down what was made. */
static exai_status setup(vf_run_egress *g, exai_error *e)
{
	tool_result r;
	char *policy = NULL;
	exai_status st;

	st = exai_tempdir_create(NULL, "airgap-run-egress.", &g->dir, e);
	if (st == EXAI_OK)
		st = make_cgroup(g, e);
	if (st == EXAI_OK)
		st = write_policy(g, &policy, e);
	if (st == EXAI_OK)
		st = mount_bpffs(g, e);
	if (st == EXAI_OK) {
		const char *const args[] = {"apply",  "--policy", policy, "--unsigned",
					    "--mode", "audit",	  NULL};

		st = tool_ok(g, args, TOOL_STATUS_MAX, &r, e);
		if (st == EXAI_OK)
			free(r.out);
		g->applied = st == EXAI_OK;
	}
	/* apply has read the policy: nothing of the run stays on disk */
	if (st == EXAI_OK && (st = exai_tree_remove(g->dir, e)) == EXAI_OK) {
		free(g->dir);
		g->dir = NULL;
	}
	if (st == EXAI_OK)
		st = start_follower(g, e);
	free(policy);
	return st;
}

/* Adds "@what: @why" to what went wrong. */
static void trouble(vf_run_egress *g, const char *what, const char *why)
{
	size_t n = strlen(g->trouble);

	snprintf(g->trouble + n, sizeof(g->trouble) - n, "%s%s: %s", n ? "; " : "", what, why);
}

/* Removes what the session made; what fails is added to @trouble. */
static void teardown(vf_run_egress *g)
{
	exai_error e;

	if (g->follower > 0) {
		kill(g->follower, SIGKILL);
		reap(g->follower);
		g->follower = -1;
	}
	if (g->follow_fd >= 0)
		close(g->follow_fd);
	g->follow_fd = -1;
	if (g->mounted && umount2(g->mnt, MNT_DETACH) < 0)
		trouble(g, g->mnt, strerror(errno));
	g->mounted = false;
	if (g->dir && exai_tree_remove(g->dir, &e) != EXAI_OK)
		trouble(g, g->dir, e.msg);
	/* the command's processes are all reaped, but the kernel may take a moment to see the
	 * cgroup empty */
	for (int i = 0; g->cgroup_made && i < 100; i++) {
		if (rmdir(g->cgroup) == 0 || errno == ENOENT)
			g->cgroup_made = false;
		else if (errno == EBUSY)
			usleep(10000);
		else
			break;
	}
	if (g->cgroup_made)
		trouble(g, g->cgroup, strerror(errno));
	g->cgroup_made = false;
	free(g->dir);
	free(g->mnt);
	free(g->pins);
	g->dir = g->mnt = g->pins = NULL;
}

/* ---- naming processes ---- */

/* Reads /proc/@pid/ns/pid; false if it cannot. */
static bool pidns_of(uint32_t pid, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/ns/pid", pid);
	n = readlink(path, out, cap - 1);
	if (n <= 0)
		return false;
	out[n] = '\0';
	return true;
}

/* vf_egress_resolve_fn: the process's pid in the run's namespace, from NSpid in its status
 * (global pid, then the run's: exactly two levels), checked to be the run's namespace. */
static bool resolve(uint32_t host_pid, uint32_t *pid, void *ctx)
{
	const vf_run_egress *g = ctx;
	char ns[64], path[64], *line = NULL;
	unsigned long a, b;
	size_t n = 0;
	bool found = false;
	int k = 0;
	FILE *f;

	if (!g->pidns[0] || !pidns_of(host_pid, ns, sizeof(ns)) || strcmp(ns, g->pidns) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/status", host_pid);
	if (!(f = fopen(path, "re")))
		return false;
	for (int i = 0; i < 128 && !found && getline(&line, &n, f) > 0; i++)
		if (strncmp(line, "NSpid:", 6) == 0) {
			char extra;

			found = true;
			k = sscanf(line + 6, "%lu %lu %c", &a, &b, &extra);
		}
	fclose(f);
	free(line);
	if (!found || k != 2 || a != host_pid || b == 0 || b > UINT32_MAX)
		return false;
	*pid = (uint32_t)b;
	return true;
}

void vf_run_egress_set_pidns(vf_run_egress *g, pid_t init_pid)
{
	struct stat st;

	g->init_ns = stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == INIT_PID_NS_INUM;
	if (!g->active || !g->init_ns || !pidns_of((uint32_t)init_pid, g->pidns, sizeof(g->pidns)))
		g->pidns[0] = '\0';
}

/* ---- the session ---- */

static exai_status find_bin(vf_run_egress *g, vf_egress_want want, const char *path, exai_error *e)
{
	exai_error ignored;

	if (want == VF_EGRESS_REQUIRED) {
		if (vf_run_find_cmd(path, &g->bin, e) != EXAI_OK)
			return exai_error_prefix(e, "--egress");
		return EXAI_OK;
	}
	if (vf_run_find_cmd("exai-egress", &g->bin, &ignored) == EXAI_OK)
		return EXAI_OK;
	if (access(VF_EGRESS_INSTALLED, X_OK) == 0 && (g->bin = strdup(VF_EGRESS_INSTALLED)))
		return EXAI_OK;
	return exai_error_set(e, EXAI_ENOENT, "exai-egress not found (not on PATH, not %s)",
			      VF_EGRESS_INSTALLED);
}

exai_status vf_run_egress_start(vf_run_egress *g, vf_egress_want want, const char *path,
				exai_error *e)
{
	exai_error err;
	exai_status st;

	if (want == VF_EGRESS_OFF) {
		snprintf(g->status, sizeof(g->status),
			 "attribution off (--no-egress): attempts are not attributed to a pid or "
			 "command");
		return EXAI_OK;
	}
	st = find_bin(g, want, path, &err);
	if (st == EXAI_OK) {
		st = setup(g, &err);
		if (st != EXAI_OK)
			exai_error_prefix(&err, "%s", g->bin);
	}
	if (st != EXAI_OK) {
		teardown(g); /* the private bpffs, and with it the programs, gone */
		g->applied = false;
		g->trouble[0] = '\0';
		if (want == VF_EGRESS_REQUIRED) {
			*e = err;
			return exai_error_prefix(e, "attribution requested but not available");
		}
		snprintf(g->status, sizeof(g->status),
			 "attribution off: %.600s; attempts are not attributed to a pid or command",
			 err.msg);
		return EXAI_OK;
	}
	g->active = true;
	g->log.resolve = resolve;
	g->log.resolve_ctx = g;
	snprintf(
	    g->status, sizeof(g->status),
	    "attribution on: %.200s in audit mode (nothing refused) on cgroup %.300s, pinned in "
	    "a private bpffs",
	    g->bin, g->cgroup);
	return EXAI_OK;
}

/* Feeds the complete lines of @buf (@n bytes) to the log, keeping a partial last line. */
static exai_status take(vf_run_egress *g, const char *buf, size_t n, exai_error *e)
{
	exai_status st = EXAI_OK;

	for (size_t i = 0; i < n && st == EXAI_OK; i++) {
		if (buf[i] != '\n') {
			if (g->nline < VF_EGRESS_LINE_MAX)
				g->line[g->nline++] = buf[i];
			else
				g->overlong = true;
			continue;
		}
		if (g->overlong)
			g->log.bad_lines++;
		else if (g->nline)
			st = vf_egress_log_line(&g->log, g->line, g->nline, e);
		g->nline = 0;
		g->overlong = false;
	}
	return st;
}

int vf_run_egress_fd(void *ctx)
{
	const vf_run_egress *g = ctx;

	return g->follow_fd;
}

exai_status vf_run_egress_serve(void *ctx, exai_error *e)
{
	vf_run_egress *g = ctx;
	char buf[8192];

	while (g->follow_fd >= 0) {
		ssize_t n = read(g->follow_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) { /* the reader ended: what is left is drained at the finish */
			close(g->follow_fd);
			g->follow_fd = -1;
			break;
		}
		if (take(g, buf, (size_t)n, e) != EXAI_OK)
			return e->code;
	}
	return EXAI_OK;
}

/* Stops `events --follow` and takes what it still writes. */
static void stop_follower(vf_run_egress *g)
{
	uint64_t deadline = exai_now_ns() / 1000000 + STOP_TIMEOUT_MS;
	exai_error e;
	int st;

	if (g->follower <= 0)
		return;
	kill(g->follower, SIGTERM);
	while (g->follow_fd >= 0) {
		struct pollfd p = {.fd = g->follow_fd, .events = POLLIN};
		uint64_t now = exai_now_ns() / 1000000;

		if (now >= deadline) {
			trouble(g, "events --follow", "did not stop; killed");
			kill(g->follower, SIGKILL);
			break;
		}
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		if (vf_run_egress_serve(g, &e) != EXAI_OK) {
			trouble(g, "events", e.msg);
			break;
		}
	}
	st = reap(g->follower);
	g->follower = -1;
	if (st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
	    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) {
		char why[64];

		snprintf(why, sizeof(why), "ended with wait status %d during the run", st);
		trouble(g, "events --follow", why);
	}
	if (g->nline && !g->overlong && vf_egress_log_line(&g->log, g->line, g->nline, &e))
		trouble(g, "events", e.msg);
	g->nline = 0;
	g->overlong = false;
}

/* The lost and suppressed counters from `status --json`; it must still see the programs
 * attached (a link detached during the run would show here). */
static void read_counters(vf_run_egress *g)
{
	static const char *const args[] = {"status", "--json", NULL};
	json_t *o, *c;
	tool_result r;
	exai_error e;

	if (tool_run(g, args, TOOL_STATUS_MAX, &r, &e) != EXAI_OK) {
		trouble(g, "status", e.msg);
		return;
	}
	o = r.out ? json_loadb(r.out, r.len, 0, NULL) : NULL;
	c = json_object_get(o, "counters");
	if (!json_is_integer(json_object_get(c, "lost")) ||
	    !json_is_integer(json_object_get(c, "suppressed"))) {
		trouble(g, "status", "no counters in its output");
	} else {
		g->kernel_lost = (uint64_t)json_integer_value(json_object_get(c, "lost"));
		g->kernel_suppressed =
		    (uint64_t)json_integer_value(json_object_get(c, "suppressed"));
		g->counters_read = true;
		if (!json_is_true(json_object_get(o, "attached")))
			trouble(g, "status", "the programs were no longer all attached at the end");
	}
	json_decref(o);
	free(r.out);
}

void vf_run_egress_finish(vf_run_egress *g)
{
	static const char *const drain[] = {"events", "--json", NULL};
	static const char *const detach[] = {"detach", NULL};
	tool_result r;
	exai_error e;

	if (!g->applied)
		return;
	stop_follower(g);
	if (tool_ok(g, drain, TOOL_OUT_MAX, &r, &e) != EXAI_OK) {
		trouble(g, "events", e.msg);
	} else {
		if (take(g, r.out ? r.out : "", r.len, &e) != EXAI_OK)
			trouble(g, "events", e.msg);
		if (g->nline && !g->overlong && vf_egress_log_line(&g->log, g->line, g->nline, &e))
			trouble(g, "events", e.msg);
		g->nline = 0;
		free(r.out);
	}
	read_counters(g);
	if (tool_ok(g, detach, TOOL_STATUS_MAX, &r, &e) != EXAI_OK)
		trouble(g, "detach", e.msg); /* the private bpffs goes anyway, and with it all */
	else
		free(r.out);
	g->applied = false;
	teardown(g);
}

void vf_run_egress_free(vf_run_egress *g)
{
	teardown(g);
	free(g->bin);
	free(g->cgroup);
	free(g->cgroup_procs);
	g->bin = g->cgroup = g->cgroup_procs = NULL;
	vf_egress_log_free(&g->log);
}
