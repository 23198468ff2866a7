/*
 * fuzz_extract_selftest: the invariant check of fuzz_extract (fuzz_extract_inv.c) must see
 * every kind of escape the harness is there to catch. Each case lays out a fresh work dir,
 * takes the listing, plants one violation by hand (as a broken extractor would leave it),
 * and requires fx_check to name it; a clean tree with the same shapes (relative links that
 * stay inside, an internal hard link, a sticky world-writable dir) must pass, and so must
 * setuid and world-writable bits when the manifest flags allow them. Exit 0 when every case
 * behaves, 1 otherwise (each failure printed). The device node case needs root (mknod); as
 * a normal user it prints a skip line.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "exai/manifest.h"
#include "fuzz_extract.h"

static char base[256], stage[512], other[256];
static int failures;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void path_in(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", stage, rel);
}

static void touch(const char *rel, mode_t mode)
{
	char p[1024];
	int fd;

	path_in(p, sizeof(p), rel);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || fchmod(fd, mode) != 0) {
		perror(p);
		exit(1);
	}
	close(fd);
}

static void mkd(const char *rel, mode_t mode)
{
	char p[1024];

	path_in(p, sizeof(p), rel);
	if (mkdir(p, 0700) != 0 || chmod(p, mode) != 0) {
		perror(p);
		exit(1);
	}
}

static void lnk(const char *target, const char *rel)
{
	char p[1024];

	path_in(p, sizeof(p), rel);
	if (symlink(target, p) != 0) {
		perror(p);
		exit(1);
	}
}

/* A clean tree every case starts from: it passes on its own. */
static void clean_tree(void)
{
	char a[1024], b[1024];

	mkd("a", 0755);
	mkd("a/b", 0750);
	mkd("tmp", 01777);
	touch("a/b/f", 0644);
	touch("x", 0755);
	lnk("../x", "a/lx");
	lnk("b/f", "a/lf");
	lnk("..", "a/up");    /* the stage itself */
	lnk("a/up/x", "via"); /* through a link in the tree, still inside */
	lnk("missing/name", "dangling");
	path_in(a, sizeof(a), "x");
	path_in(b, sizeof(b), "a/b/hard");
	if (link(a, b) != 0) {
		perror(b);
		exit(1);
	}
}

typedef void (*plant_fn)(void);

static void check(const char *name, plant_fn plant, unsigned flags, const char *want)
{
	const char *why;
	char *before;

	if (!mkdtemp(strcpy(base, "/dev/shm/fx_selftest.XXXXXX")) &&
	    !mkdtemp(strcpy(base, "/tmp/fx_selftest.XXXXXX"))) {
		perror("mkdtemp");
		exit(1);
	}
	if (!fx_layout(base, stage, sizeof(stage)) || mkdir(stage, 0755) != 0 ||
	    !(before = fx_listing(base, stage))) {
		fprintf(stderr, "%s: cannot lay out %s\n", name, base);
		exit(1);
	}
	clean_tree();
	if (plant)
		plant();
	why = fx_check(base, stage, before, flags);
	if (want ? !why || !strstr(why, want) : why != NULL) {
		printf("FAIL %s: expected %s%s, got: %s\n", name,
		       want ? "a report with " : "no report", want ? want : "",
		       why ? why : "no report");
		failures++;
	} else {
		printf("ok   %s%s%.*s\n", name, why ? ": " : "", why ? (int)strcspn(why, "\n") : 0,
		       why ? why : "");
	}
	free(before);
	nftw(base, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static void p_outside_file(void)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/o1/o2/o3/escaped", base);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	close(fd);
}

static void p_canary_mode(void)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/canary", base);
	chmod(p, 0666);
}

static void p_canary_link(void)
{
	char p[1024], q[1024];

	snprintf(p, sizeof(p), "%s/canary", base);
	path_in(q, sizeof(q), "a/canary");
	link(p, q);
}

static void p_far_link(void)
{
	char p[1024], q[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/far", other);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	close(fd);
	path_in(q, sizeof(q), "a/far");
	link(p, q);
}

static void p_abs_link(void)
{
	lnk("/etc", "a/etc");
}

static void p_up_link(void)
{
	lnk("../../x", "a/esc");
}

static void p_chain(void)
{
	/* "a/up" -> ".." is the stage; "a/up/.." is above it, though lexically "a/up/.." is
	 * just "a": only following the tree's own link shows the escape. */
	lnk("a/up/..", "esc");
}

static void p_fifo(void)
{
	char p[1024];

	path_in(p, sizeof(p), "a/fifo");
	mkfifo(p, 0644);
}

static void p_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	char p[1024];

	path_in(p, sizeof(p), "sock");
	if (strlen(p) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: path too long for a socket\n", p);
		exit(1);
	}
	memcpy(sa.sun_path, p, strlen(p) + 1);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		perror("bind");
	close(s);
}

static void p_device(void)
{
	char p[1024];

	path_in(p, sizeof(p), "a/null");
	if (mknod(p, S_IFCHR | 0644, makedev(1, 3)) != 0)
		perror("mknod");
}

static void p_setuid(void)
{
	touch("a/su", 04755);
}

static void p_setgid_dir(void)
{
	mkd("sgid", 02755);
}

static void p_ww_file(void)
{
	touch("a/ww", 0666);
}

static void p_ww_dir(void)
{
	mkd("wwd", 0777);
}

static void p_stage_gone(void)
{
	nftw(stage, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* fx_abs_canary points into the work dir here: creating FX_ABS_CANARY itself would break a
 * fuzz_extract run at the same time. */
static char abs_path[600];

static void p_abs_canary(void)
{
	if (mkdir(abs_path, 0700) != 0)
		perror(abs_path);
}

int main(void)
{
	/* on the same file system as the work dirs, so a hard link can reach it */
	if (!mkdtemp(strcpy(other, "/dev/shm/fx_selftest_other.XXXXXX")) &&
	    !mkdtemp(strcpy(other, "/tmp/fx_selftest_other.XXXXXX"))) {
		perror("mkdtemp");
		return 1;
	}
	check("clean tree", NULL, 0, NULL);
	check("file created outside the stage", p_outside_file, 0,
	      "outside the staging dir changed");
	check("canary's mode changed", p_canary_mode, 0, "outside the staging dir changed");
	check("hard link to the canary", p_canary_link, 0, "outside the staging dir changed");
	check("hard link to a file elsewhere", p_far_link, 0, "of them inside");
	check("absolute symlink", p_abs_link, 0, "symlink resolves outside");
	check("symlink climbing out", p_up_link, 0, "symlink resolves outside");
	check("escape through the tree's own link", p_chain, 0, "symlink resolves outside");
	check("FIFO", p_fifo, 0, "a device, FIFO or socket");
	check("socket", p_socket, 0, "a device, FIFO or socket");
	if (geteuid() == 0)
		check("device node", p_device, 0, "a device, FIFO or socket");
	else
		printf("skip device node (needs root for mknod)\n");
	check("setuid file", p_setuid, 0, "setuid/setgid");
	check("setuid file, allowed", p_setuid, EXAI_CFLAG_SETUID, NULL);
	check("setgid directory", p_setgid_dir, 0, "setuid/setgid");
	check("world-writable file", p_ww_file, 0, "world-writable");
	check("world-writable file, allowed", p_ww_file, EXAI_CFLAG_WORLD_WRITABLE, NULL);
	check("world-writable dir without sticky bit", p_ww_dir, 0, "world-writable");
	check("staging dir removed", p_stage_gone, 0, "staging dir");
	snprintf(abs_path, sizeof(abs_path), "%s/abs-canary", other);
	fx_abs_canary = abs_path;
	check("absolute path created", p_abs_canary, 0, "exists");
	fx_abs_canary = FX_ABS_CANARY;
	nftw(other, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	printf("fuzz_extract_selftest: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
