/*
 * fuzz_extract_inv: the extraction invariants of fuzz_extract.h, checked on disk with lstat
 * and readlink only (nothing is followed by the kernel). Symlinks are resolved here, part by
 * part, against the tree itself: a part that is a symlink in the tree is replaced by its
 * target (at most 40 times, the kernel's own limit, after which the kernel refuses the path
 * too); '..' at the top of the tree, or an absolute target, is an escape. Parts that do not
 * exist are taken as names, which is stricter than the kernel (a later file could make them
 * exist). Single-threaded (nftw callbacks keep their state in file statics).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/manifest.h"
#include "fuzz_extract.h"

#define MAX_HOPS  40
#define MAX_FILES 8192

static char why[1024];
const char *fx_abs_canary = FX_ABS_CANARY;

__attribute__((format(printf, 1, 2))) static const char *say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return why;
}

bool fx_layout(const char *base, char *stage, size_t cap)
{
	char p[4096];
	int fd;

	snprintf(p, sizeof(p), "%s/canary", base);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "canary\n", 7) != 7) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	snprintf(p, sizeof(p), "%s/outside", base);
	if (mkdir(p, 0755) != 0)
		return false;
	snprintf(p, sizeof(p), "%s/outside/file", base);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0)
		return false;
	close(fd);
	const char *const dirs[] = {"o1", "o1/o2", "o1/o2/o3"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", base, dirs[i]);
		if (mkdir(p, 0755) != 0)
			return false;
	}
	return (size_t)snprintf(stage, cap, "%s/o1/o2/o3/stage", base) < cap;
}

/* ---- the listing outside the stage ---- */

static struct {
	const char *base, *stage;
	char **lines;
	size_t n, cap;
	bool failed;
} L;

static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	size_t sl = strlen(L.stage);
	char line[4200];

	(void)flag;
	(void)ftw;
	if (!strncmp(path, L.stage, sl) && (path[sl] == '\0' || path[sl] == '/'))
		return 0; /* the stage itself: exists before and after, its contents are checked */
	snprintf(line, sizeof(line), "%s %o %lu %lld", path + strlen(L.base), (unsigned)st->st_mode,
		 (unsigned long)st->st_nlink, (long long)st->st_size);
	if (L.n == L.cap) {
		size_t cap = L.cap ? L.cap * 2 : 64;
		char **nl = realloc(L.lines, cap * sizeof(*nl));
		if (!nl) {
			L.failed = true;
			return 1;
		}
		L.lines = nl;
		L.cap = cap;
	}
	if (!(L.lines[L.n++] = strdup(line))) {
		L.failed = true;
		return 1;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fx_listing(const char *base, const char *stage)
{
	size_t total = 1;
	char *out = NULL;

	memset(&L, 0, sizeof(L));
	L.base = base;
	L.stage = stage;
	if (nftw(base, list_one, 32, FTW_PHYS) != 0)
		L.failed = true;
	if (!L.failed) {
		qsort(L.lines, L.n, sizeof(*L.lines), cmp_str);
		for (size_t i = 0; i < L.n; i++)
			total += strlen(L.lines[i]) + 1;
		if ((out = malloc(total))) {
			out[0] = '\0';
			for (size_t i = 0, off = 0; i < L.n; i++) {
				size_t k = strlen(L.lines[i]);
				memcpy(out + off, L.lines[i], k);
				out[off + k] = '\n';
				off += k + 1;
				out[off] = '\0';
			}
		}
	}
	for (size_t i = 0; i < L.n; i++)
		free(L.lines[i]);
	free(L.lines);
	return out;
}

/* ---- symlinks, resolved against the tree ---- */

/* Whether the symlink at @rel (relative to @stage) with target @target stays in @stage. */
static bool link_stays(const char *stage, const char *rel, const char *target)
{
	static char cur[16384], todo[65536], next[65536], cand[16384], full[20000], t[4200];
	const char *slash = strrchr(rel, '/');
	unsigned hops = 0;

	if (target[0] == '/')
		return false;
	snprintf(cur, sizeof(cur), "%.*s", slash ? (int)(slash - rel) : 0, rel);
	snprintf(todo, sizeof(todo), "%s", target);
	while (todo[0]) {
		size_t seg = strcspn(todo, "/");
		char part[300];
		struct stat st;

		if (seg >= sizeof(part))
			return true; /* a part over NAME_MAX: the kernel refuses the path */
		memcpy(part, todo, seg);
		part[seg] = '\0';
		memmove(todo, todo + seg + (todo[seg] == '/'),
			strlen(todo + seg + (todo[seg] == '/')) + 1);
		if (!part[0] || !strcmp(part, "."))
			continue;
		if (!strcmp(part, "..")) {
			char *up = strrchr(cur, '/');
			if (!cur[0])
				return false; /* above the stage */
			if (up)
				*up = '\0';
			else
				cur[0] = '\0';
			continue;
		}
		if ((size_t)snprintf(cand, sizeof(cand), "%s%s%s", cur, cur[0] ? "/" : "", part) >=
		    sizeof(cand))
			return true; /* longer than any path the kernel resolves */
		snprintf(full, sizeof(full), "%s/%s", stage, cand);
		if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(full, t, sizeof(t) - 1);
			if (n < 0)
				return true;
			t[n] = '\0';
			if (t[0] == '/')
				return false;
			if (++hops > MAX_HOPS)
				return true; /* ELOOP for the kernel too */
			if ((size_t)snprintf(next, sizeof(next), "%s/%s", t, todo) >= sizeof(next))
				return true;
			memcpy(todo, next, strlen(next) + 1);
			continue;
		}
		memcpy(cur, cand, strlen(cand) + 1);
	}
	return true;
}

/* ---- the walk of the stage ---- */

static struct {
	const char *stage;
	unsigned flags;
	bool bad;
	struct {
		dev_t dev;
		ino_t ino;
		nlink_t links, seen;
	} files[MAX_FILES];
	size_t n_files;
} W;

static int fail(const char *what, const char *path, unsigned mode)
{
	say("%s: %s (mode %o)", path, what, mode);
	W.bad = true;
	return 1;
}

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + strlen(W.stage) + (path[strlen(W.stage)] == '/');
	unsigned m = (unsigned)st->st_mode;

	(void)ftw;
	if (flag == FTW_NS)
		return fail("cannot stat", path, 0);
	if (S_ISLNK(m)) {
		char t[4200];
		ssize_t n = readlink(path, t, sizeof(t) - 1);
		if (n < 0)
			return fail("cannot read the link", path, m);
		t[n] = '\0';
		if (!link_stays(W.stage, rel, t))
			return fail("symlink resolves outside the staging dir", path, m);
		return 0;
	}
	if (!S_ISREG(m) && !S_ISDIR(m))
		return fail("a device, FIFO or socket", path, m);
	if ((m & (S_ISUID | S_ISGID)) && !(W.flags & EXAI_CFLAG_SETUID))
		return fail("setuid/setgid bit not allowed", path, m);
	if (!(W.flags & EXAI_CFLAG_WORLD_WRITABLE) && (m & S_IWOTH) &&
	    (S_ISREG(m) || !(m & S_ISVTX)))
		return fail("world-writable and not allowed", path, m);
	if (S_ISREG(m) && st->st_nlink > 1) {
		size_t i = 0;
		while (i < W.n_files &&
		       !(W.files[i].dev == st->st_dev && W.files[i].ino == st->st_ino))
			i++;
		if (i == W.n_files) {
			if (W.n_files == MAX_FILES)
				return fail("more hard-linked files than the check holds", path, m);
			W.files[i].dev = st->st_dev;
			W.files[i].ino = st->st_ino;
			W.files[i].links = st->st_nlink;
			W.files[i].seen = 0;
			W.n_files++;
		}
		W.files[i].seen++;
	}
	return 0;
}

const char *fx_check(const char *base, const char *stage, const char *before, unsigned flags)
{
	const char *res = NULL;
	char *after;
	struct stat st;

	memset(&W, 0, sizeof(W));
	W.stage = stage;
	W.flags = flags;
	if (lstat(fx_abs_canary, &st) == 0 || errno != ENOENT)
		return say("%s exists", fx_abs_canary);
	if (!(after = fx_listing(base, stage)))
		return say("cannot list %s", base);
	if (strcmp(before, after) != 0)
		res = say(
		    "something outside the staging dir changed:\nbefore:\n%.400s\nafter:\n%.400s",
		    before, after);
	free(after);
	if (res)
		return res;
	if (lstat(stage, &st) != 0 || !S_ISDIR(st.st_mode))
		return say("%s: the staging dir is gone", stage);
	if (nftw(stage, walk_one, 32, FTW_PHYS) != 0 || W.bad)
		return W.bad ? why : say("cannot walk %s", stage);
	for (size_t i = 0; i < W.n_files; i++)
		if (W.files[i].seen != W.files[i].links)
			return say("a file in the staging dir has %lu links, %lu of them inside",
				   (unsigned long)W.files[i].links, (unsigned long)W.files[i].seen);
	return NULL;
}
