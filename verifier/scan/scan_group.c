/*
 * scan_group: what the report's grouping needs from the file system: the package root a
 * finding's path belongs to, and whether a file is a duplicate of a scanned source (a source
 * map, or x.min.js next to x.js).
 *
 * A package root is the nearest directory at or above the file, and not above the scan PATH
 * that holds the file, that has one of the markers below (package.json, pyproject.toml,
 * Chart.yaml, a Debian package's DEBIAN/control, ...). A file under no marker belongs to the
 * whole scan (key NULL). Everything inside an archive belongs to the archive file (an image
 * or a tarball is one shipped item). Directory answers are cached: a report holds up to
 * hundreds of thousands of findings and each directory is looked at once.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/grow.h"
#include "scan_group.h"

const char *const vf_package_root_markers[] = {
    "package.json", "pyproject.toml", "setup.py",      "setup.cfg",	 "Chart.yaml",	   "go.mod",
    "Cargo.toml",   "pom.xml",	      "composer.json", "DEBIAN/control", "debian/control", NULL};

typedef struct dir_ent {
	char *dir;
	char *root;    /* the package root for files in @dir, or NULL (none) */
	bool resolved; /* @root is known; else only @marker is (vf_group_ctx_learn) */
	bool marker;
} dir_ent;

struct vf_group_ctx {
	char *const *roots; /* the scan PATHs */
	size_t nroots;
	dir_ent *t; /* open addressing, power-of-two size */
	size_t cap, n;
	char **keys; /* archive keys handed out */
	size_t nkeys, capkeys;
	bool oom;
};

static uint64_t hash_str(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

vf_group_ctx *vf_group_ctx_new(char *const *roots, size_t nroots)
{
	vf_group_ctx *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->roots = roots;
	g->nroots = nroots;
	g->cap = 1024;
	if (!(g->t = calloc(g->cap, sizeof(*g->t)))) {
		free(g);
		return NULL;
	}
	return g;
}

void vf_group_ctx_free(vf_group_ctx *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->cap; i++) {
		if (g->t[i].root != g->t[i].dir)
			free(g->t[i].root);
		free(g->t[i].dir);
	}
	for (size_t i = 0; i < g->nkeys; i++)
		free(g->keys[i]);
	free(g->keys);
	free(g->t);
	free(g);
}

bool vf_group_ctx_oom(const vf_group_ctx *g)
{
	return g->oom;
}

/* Whether @dir holds a marker that is a regular file. Its names are read once (a getdents or
 * two) and only a name that is a marker is looked at with fstatat, rather than one fstatat
 * per marker for every directory a finding is in. */
static bool has_marker(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		for (size_t i = 0; vf_package_root_markers[i] && !found; i++) {
			const char *m = vf_package_root_markers[i], *slash = strchr(m, '/');
			size_t k = slash ? (size_t)(slash - m) : strlen(m);
			if (strncmp(de->d_name, m, k) || de->d_name[k])
				continue;
			found = fstatat(dirfd(d), m, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				S_ISREG(st.st_mode);
		}
	}
	closedir(d);
	return found;
}

static dir_ent *slot(vf_group_ctx *g, const char *dir, size_t len)
{
	size_t i = hash_str(dir, len) & (g->cap - 1);

	while (g->t[i].dir && (strlen(g->t[i].dir) != len || memcmp(g->t[i].dir, dir, len)))
		i = (i + 1) & (g->cap - 1);
	return &g->t[i];
}

static bool rehash(vf_group_ctx *g)
{
	dir_ent *old = g->t;
	size_t oc = g->cap;

	if (!(g->t = calloc(oc * 2, sizeof(*g->t)))) {
		g->t = old;
		return false;
	}
	g->cap = oc * 2;
	for (size_t i = 0; i < oc; i++)
		if (old[i].dir)
			*slot(g, old[i].dir, strlen(old[i].dir)) = old[i];
	free(old);
	return true;
}

void vf_group_ctx_learn(vf_group_ctx *g, const char *dir, bool marker)
{
	size_t len = strlen(dir);
	dir_ent *d;

	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (g->n * 2 >= g->cap && !rehash(g))
		return; /* not learnt: looked at when asked */
	d = slot(g, dir, len);
	if (d->dir || !(d->dir = strndup(dir, len)))
		return;
	d->marker = marker;
	g->n++;
}

/* The package root of files in directory [dir, dir+len) (under scan PATH @top, len @tl). */
static const char *root_of_dir(vf_group_ctx *g, const char *dir, size_t len, size_t tl)
{
	dir_ent *d = slot(g, dir, len);
	const char *up = NULL;
	char *copy;
	bool learnt = d->dir != NULL, marker = d->marker;

	if (d->dir && d->resolved)
		return d->root;
	if (learnt) {
		copy = d->dir;
	} else if (!(copy = strndup(dir, len))) {
		g->oom = true;
		return NULL;
	}
	if (learnt ? marker : has_marker(copy)) {
		up = copy;
	} else if (len > tl) { /* never above the scan PATH */
		size_t p = len;
		while (p > 0 && dir[p - 1] != '/')
			p--;
		if (p > 0)
			up = root_of_dir(g, dir, p > 1 ? p - 1 : 1, tl);
	}
	/* The table may have grown under the recursion: look the slot up again. */
	if (!learnt && g->n * 2 >= g->cap && !rehash(g)) {
		g->oom = true;
		free(copy);
		return NULL;
	}
	d = slot(g, copy, len);
	d->dir = copy;
	d->root = up == copy ? copy : up ? strdup(up) : NULL;
	d->resolved = true;
	if (up && up != copy && !d->root)
		g->oom = true;
	g->n += !learnt;
	return d->root;
}

static const char *archive_key(vf_group_ctx *g, const char *path, size_t len)
{
	char *k;

	for (size_t i = g->nkeys; i-- > 0;)
		if (strlen(g->keys[i]) == len && !memcmp(g->keys[i], path, len))
			return g->keys[i];
	if (EXAI_GROW(&g->keys, &g->capkeys, g->nkeys, 1, EXAI_GROW_NOCAP, NULL)) {
		g->oom = true;
		return NULL;
	}
	if (!(k = strndup(path, len))) {
		g->oom = true;
		return NULL;
	}
	return g->keys[g->nkeys++] = k;
}

const char *vf_group_key(const char *path, void *ctx)
{
	vf_group_ctx *g = ctx;
	size_t fl = strcspn(path, "!"), dl, tl = 0;
	bool under = false;

	if (path[fl] == '!')
		return archive_key(g, path, fl);
	for (size_t i = 0; i < g->nroots && !under; i++) {
		tl = strlen(g->roots[i]);
		while (tl > 1 && g->roots[i][tl - 1] == '/')
			tl--;
		under = strncmp(path, g->roots[i], tl) == 0 && (path[tl] == '/' || !path[tl]);
	}
	dl = fl;
	while (dl > 0 && path[dl - 1] != '/')
		dl--;
	if (dl == 0) /* a bare file name: its directory is "." */
		return has_marker(".") ? "." : NULL;
	dl = dl > 1 ? dl - 1 : dl;
	if (!under || dl < tl)
		tl = dl; /* a file given as a PATH: only its own directory */
	return root_of_dir(g, path, dl, tl);
}

bool vf_group_is_dup(const char *path, void *ctx)
{
	size_t n = strlen(path), fl = strcspn(path, "!");
	static const char *const mins[] = {".min.js", ".min.mjs", ".min.cjs", ".min.css", NULL};
	char *src;
	struct stat st;
	bool dup = false;

	(void)ctx;
	if (n > 4 && !strcmp(path + n - 4, ".map"))
		return true;
	if (path[fl] == '!')
		return false; /* inside an archive: its siblings are not on disk */
	for (size_t i = 0; mins[i] && !dup; i++) {
		size_t ml = strlen(mins[i]);
		if (n <= ml || strcmp(path + n - ml, mins[i]))
			continue;
		/* x.min.js -> x.js */
		if (!(src = malloc(n)))
			return false;
		memcpy(src, path, n - ml);
		strcpy(src + n - ml, mins[i] + 4);
		dup = lstat(src, &st) == 0 && S_ISREG(st.st_mode);
		free(src);
	}
	return dup;
}
