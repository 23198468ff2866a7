/*
 * scan_walk: a scan's life (init, finish), dispatch by content, tree walking and the worker
 * pool. The findings sink is scan_sink.c.
 *
 * The walk (single-threaded, never following symlinks, skipping `skip_dirs`) lists regular
 * files first; then one worker per core takes files by an atomic cursor, reads each (read()
 * into a per-thread buffer for small files, mmap for large ones) and dispatches on content:
 * ELF, archive (recursing into layers), binary (strings only), text (plus YAML checks).
 * Workers share only the report (locked inside), the held-findings list and the k8s state
 * (each under the scan lock) and atomic counters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/progress.h"
#include "scan_allow.h"
#include "scan_archive.h"
#include "scan_dup.h"
#include "scan_elf.h"
#include "scan_group.h"
#include "scan_helm.h"
#include "scan_k8s.h"
#include "scan_text.h"
#include "scan_walk.h"
#include "scan_walker.h"

#define SMALL_FILE     (16u << 20) /* read() below this, mmap above */
#define DIRFDS_MAX     65536	   /* directories held open for their files */
#define MAX_WALK_DEPTH 256
#define SNIFF	       8192

/* ---- a scan's life ---- */

exai_status vf_scan_init(vf_scan *s, vf_rules *rules, vf_scan_allow *allow, vf_report *report,
			 exai_error *e)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(s, 0, sizeof(*s));
	s->rules = rules;
	s->allow = allow;
	s->report = report;
	s->threads = cpus > 0 ? (unsigned)(cpus > 64 ? 64 : cpus) : 1;
	s->helm_render = true;
	if (!(s->dup = vf_dup_new()))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		vf_dup_free(s->dup);
		return exai_error_set(e, EXAI_EINTERNAL, "mutex init failed");
	}
	return vf_k8s_state_new(&s->k8s, e);
}

void vf_scan_fini(vf_scan *s)
{
	vf_dup_free(s->dup);
	vf_scan_sink_free(s);
	vf_k8s_state_free(s->k8s);
	pthread_mutex_destroy(&s->lock);
}

/* ---- dispatch ---- */

static bool is_yaml_name(const char *base)
{
	size_t l = strlen(base);

	return (l > 5 && strcmp(base + l - 5, ".yaml") == 0) ||
	       (l > 4 && strcmp(base + l - 4, ".yml") == 0);
}

static void scan_elf(vf_scan *s, const vf_buf *b)
{
	const vf_rule *r = vf_rules_for(s->rules, VF_CHK_ELF_IMPORTS);
	char *syms = NULL, what[EXAI_ERROR_MSG_MAX + 32];
	uint64_t off = 0;
	exai_error e;

	if (!r)
		return;
	if (vf_elf_net_imports(b->p, b->n, &s->rules->set.network_symbols, &syms, &off, &e)) {
		if (e.code == EXAI_ENOMEM) {
			vf_scan_fail(s, &e);
			return;
		}
		snprintf(what, sizeof(what), "not analysed: %s", e.msg);
		vf_scan_incomplete(s, b, 0, what);
		return;
	}
	if (syms)
		vf_scan_emit(s, r, b, 0, 0, off, syms, NULL);
	free(syms);
}

/* The index of an encrypted exai bundle (a file or .exb entry named "index"): the bundle's
 * manifest and payload next to it are ciphertext nobody can scan without the site key. Any
 * format version (1, 2, or one this build does not know: failing closed, it is not known to
 * be readable). */
static bool is_encrypted_bundle_index(const vf_buf *b)
{
	static const char magic[] = "exai-bundle-index ", key[] = "\nencryption ";
	const uint8_t *p = b->p, *end = b->p + b->n, *l;

	if (strcmp(b->base, "index") || b->n < sizeof(magic) - 1 ||
	    memcmp(p, magic, sizeof(magic) - 1))
		return false;
	for (l = p; l && l < end; l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
		size_t left = (size_t)(end - l);
		if (left > sizeof(key) - 1 && !memcmp(l, key, sizeof(key) - 1))
			return !(left >= sizeof(key) - 1 + 5 &&
				 !memcmp(l + sizeof(key) - 1, "none\n", 5));
		if (left <= 1)
			break;
	}
	return true; /* an index without an encryption line: not known to be readable */
}

/* Formats that hold compressed or encrypted content this scanner does not open: scanning
 * their bytes as strings would pass whatever they hold. NULL for anything else. */
static const char *unread_format(const uint8_t *p, size_t n)
{
	static const struct {
		const char *magic;
		size_t len, off;
		const char *name;
	} f[] = {
	    {"Rar!\x1a\x07", 6, 0, "RAR archive"},
	    {"\x04\x22\x4d\x18", 4, 0, "LZ4 data"},
	    {"LZIP", 4, 0, "lzip data"},
	    {"hsqs", 4, 0, "squashfs image"},
	    {"Salted__", 8, 0, "OpenSSL-encrypted data"},
	    {"age-encryption.org/v1\n", 22, 0, "age-encrypted data"},
	    {"-----BEGIN PGP MESSAGE-----", 27, 0, "PGP message"},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (n >= f[i].off + f[i].len && !memcmp(p + f[i].off, f[i].magic, f[i].len))
			return f[i].name;
	if (n >= 10 && !memcmp(p, "BZh", 3) && p[3] >= '1' && p[3] <= '9' &&
	    !memcmp(p + 4, "1AY&SY", 6))
		return "bzip2 data";
	return NULL;
}

void vf_scan_buffer(vf_scan *s, const vf_buf *b)
{
	const vf_rules *rs = s->rules;
	size_t sniff = b->n < SNIFF ? b->n : SNIFF;
	const char *fmt;
	char what[160];

	vf_scan_count(s, 1, b->n);
	if (is_encrypted_bundle_index(b))
		vf_scan_incomplete(s, b, 0,
				   "encrypted exai bundle: its manifest and payload are ciphertext "
				   "and were not scanned; scan it with 'airgap-verifier bundle "
				   "--root ROOT --key SITE.key'");
	if ((fmt = unread_format(b->p, b->n))) {
		snprintf(what, sizeof(what),
			 "not scanned: %s (a format this scanner does not open)", fmt);
		vf_scan_incomplete(s, b, 0, what);
	}
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].enabled && rs->r[i].check == VF_CHK_FILENAME &&
		    vf_files_match(&rs->r[i].files, b->base, b->p, b->n))
			vf_scan_emit(s, &rs->r[i], b, 0, 0, 0, b->base, NULL);
	if (vf_is_elf(b->p, b->n)) {
		scan_elf(s, b);
		vf_scan_text(s, b, true);
	} else if (vf_is_archive(b->p, b->n) || vf_is_seek_archive(b->p, b->n)) {
		vf_buf ab = *b;
		if (b->depth == 0) /* a package of its own (an npm tarball, a .deb) */
			ab.root = vf_scan_new_root(s);
		if (b->depth >= rs->set.max_archive_depth)
			vf_scan_incomplete(s, b, 0, "archive nested deeper than max_archive_depth");
		else
			vf_scan_archive_mem(s, &ab);
	} else if (memchr(b->p, '\0', sniff)) {
		vf_scan_text(s, b, true);
	} else {
		vf_scan_text(s, b, false);
		if (is_yaml_name(b->base))
			vf_scan_k8s(s, b);
	}
}

/* ---- files on disk ---- */

typedef struct job {
	char *path;
	const char *rel; /* the path relative to its scan root: a suffix of @path */
	uint64_t size;
	unsigned root;
	bool named_twice; /* another file listed has its name: through the duplicate cache */
	int dfd;	  /* its directory, held open by the walk, or -1: opened by @path */
} job;

typedef struct jobs {
	job *v;
	size_t n, cap;
	bool sizes; /* stat every file while walking (for a progress bar's total) */
	char **charts;
	unsigned *chart_roots;
	size_t ncharts, capcharts, caproots;
	uint64_t total;
	/* Directories held open for their files to be opened relative to them (no lookup of the
	 * whole path per file), at most @max_dirfds: past that, files are opened by path. */
	int *dirfds;
	size_t ndirfds, capdirfds, max_dirfds;
} jobs;

typedef struct pool {
	vf_scan *s;
	jobs *j;
	size_t next;
	exai_progress *prog;
} pool;

static const char *base_of(const char *path)
{
	const char *sl = strrchr(path, '/');

	return sl ? sl + 1 : path;
}

/* Scans one file; returns its size (for the progress bar). */
static uint64_t scan_file(vf_scan *s, const job *jb, uint8_t **buf, size_t *cap)
{
	vf_buf b = {.path = jb->path, .rel = jb->rel, .base = base_of(jb->path), .root = jb->root};
	int fd = -1;
	struct stat st;
	void *map = MAP_FAILED;
	char what[256];
	uint64_t size = jb->size;
	exai_error e;

	/* One open and one fstat per file (20,000 small files: the syscalls show). O_NONBLOCK
	 * keeps a FIFO swapped in from blocking the open, and changes nothing for a regular
	 * file. Anything else goes through the checked open for its exact refusal. */
	fd = jb->dfd >= 0 ? openat(jb->dfd, b.base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
			  : open(jb->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		if (exai_file_open_regular(jb->path, O_RDONLY, 0, &fd, &e)) {
			snprintf(what, sizeof(what), "not read: %.200s", e.msg);
			vf_scan_incomplete(s, &b, 0, what);
			return 0;
		}
		if (fstat(fd, &st) != 0)
			goto unreadable;
	}
	size = (uint64_t)st.st_size;
	if ((uint64_t)st.st_size > s->rules->set.max_file_size) {
		snprintf(what, sizeof(what), "not scanned: %llu bytes, over max_file_size",
			 (unsigned long long)st.st_size);
		vf_scan_incomplete(s, &b, 0, what);
		goto out;
	}
	if (st.st_size == 0) {
		b.p = (const uint8_t *)"";
		vf_scan_buffer(s, &b);
		goto out;
	}
	if ((uint64_t)st.st_size <= SMALL_FILE) {
		if ((size_t)st.st_size > *cap) { /* grown by doubling; the old bytes are not kept */
			size_t nc = *cap * 2 < SMALL_FILE ? *cap * 2 : SMALL_FILE;
			if (nc < (size_t)st.st_size)
				nc = (size_t)st.st_size;
			free(*buf);
			*cap = 0;
			if (!(*buf = malloc(nc)))
				goto unreadable;
			*cap = nc;
		}
		if (exai_read_full(fd, *buf, (size_t)st.st_size, jb->path, &e))
			goto unreadable;
		b.p = *buf;
	} else {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (map == MAP_FAILED)
			goto unreadable;
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		b.p = map;
	}
	b.n = (size_t)st.st_size;
	if (jb->named_twice)
		vf_dup_scan(s, &b);
	else
		vf_scan_buffer(s, &b);
	goto out;
unreadable:
	snprintf(what, sizeof(what), "not read: %s", strerror(errno));
	vf_scan_incomplete(s, &b, 0, what);
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return size;
}

static void *worker(void *arg)
{
	pool *pl = arg;
	uint8_t *buf = NULL;
	size_t cap = 0;

	for (;;) {
		size_t i = __atomic_fetch_add(&pl->next, 1, __ATOMIC_RELAXED);
		if (i >= pl->j->n || __atomic_load_n(&pl->s->fatal, __ATOMIC_RELAXED))
			break;
		exai_progress_add(pl->prog, scan_file(pl->s, &pl->j->v[i], &buf, &cap));
	}
	free(buf);
	return NULL;
}

/* Lists the file at @path (malloc'ed, which the list then owns, also when it fails), whose path
 * relative to its scan root starts @rel_off bytes in, in the directory held open at @dfd (or
 * -1). */
static exai_status add_job(jobs *j, char *path, size_t rel_off, uint64_t size, unsigned root,
			   int dfd, exai_error *e)
{
	if (EXAI_GROW(&j->v, &j->cap, j->n, 1, VF_SCAN_FILES_MAX, e)) {
		exai_error_prefix(e, "%s: files to scan", path);
		free(path);
		return e->code;
	}
	j->v[j->n] =
	    (job){.path = path, .rel = path + rel_off, .size = size, .root = root, .dfd = dfd};
	j->n++;
	j->total += size;
	return EXAI_OK;
}

static exai_status add_chart(jobs *j, const char *dir, unsigned root, exai_error *e)
{
	if (EXAI_GROW(&j->charts, &j->capcharts, j->ncharts, 1, VF_SCAN_CHARTS_MAX, e) ||
	    EXAI_GROW(&j->chart_roots, &j->caproots, j->ncharts, 1, VF_SCAN_CHARTS_MAX, e))
		return exai_error_prefix(e, "%s: Helm charts to render", dir);
	j->chart_roots[j->ncharts] = root;
	if (!(j->charts[j->ncharts] = strdup(dir)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	j->ncharts++;
	return EXAI_OK;
}

static bool skip_dir(const vf_scan *s, const char *name)
{
	const vf_strv *sd = &s->rules->set.skip_dirs;

	for (size_t i = 0; i < sd->n; i++)
		if (strcmp(sd->v[i], name) == 0)
			return true;
	return false;
}

/* One directory's entries, read in one pass: names (NUL-terminated, back to back) and types. */
typedef struct dents {
	char *names;
	size_t nnames, capnames;
	struct dent {
		size_t name;	    /* offset in names */
		unsigned char type; /* d_type */
	} * v;
	size_t n, cap;
} dents;

static void dents_free(dents *ds)
{
	free(ds->names);
	free(ds->v);
}

/* Reads @d's entries (but . and ..) into @ds, and whether it holds a package root marker
 * (vf_package_root_markers: a package root for off switches), one that is a regular file (a
 * package root for the report's grouping) and a "Chart.yaml": one pass over the names, no
 * system call per marker for every directory of the tree. A marker with a '/'
 * (DEBIAN/control) is looked up only when its first component is there. */
static exai_status read_names(DIR *d, const char *dir, dents *ds, bool *marker, bool *reg_marker,
			      bool *chart, exai_error *e)
{
	struct dirent *de;

	*marker = *reg_marker = *chart = false;
	errno = 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name) + 1;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "Chart.yaml"))
			*chart = true;
		for (const char *const *m = vf_package_root_markers; *m && !*reg_marker; m++) {
			const char *slash = strchr(*m, '/');
			size_t k = slash ? (size_t)(slash - *m) : strlen(*m);
			struct stat st;
			bool there, reg;
			if (strncmp(de->d_name, *m, k) || de->d_name[k])
				continue;
			if (!slash && de->d_type != DT_UNKNOWN) {
				there = true;
				reg = de->d_type == DT_REG;
			} else {
				there = fstatat(dirfd(d), *m, &st, AT_SYMLINK_NOFOLLOW) == 0;
				reg = there && S_ISREG(st.st_mode);
			}
			*marker |= !slash || there;
			*reg_marker |= reg;
		}
		if (EXAI_GROW(&ds->v, &ds->cap, ds->n, 1, VF_SCAN_FILES_MAX, e) ||
		    EXAI_GROW(&ds->names, &ds->capnames, ds->nnames, len, EXAI_GROW_NOCAP, e))
			return exai_error_prefix(e, "%s: directory entries", dir);
		ds->v[ds->n++] = (struct dent){ds->nnames, de->d_type};
		memcpy(ds->names + ds->nnames, de->d_name, len);
		ds->nnames += len;
		errno = 0;
	}
	if (errno)
		return exai_error_sys(e, EXAI_EIO, "%s", dir);
	return EXAI_OK;
}

/* A descriptor of the directory open at @fd that the list keeps for its files, or -1 (at the
 * limit, or none to be had). */
static int hold_dir(jobs *j, int fd)
{
	int k;

	if (j->ndirfds >= j->max_dirfds ||
	    EXAI_GROW(&j->dirfds, &j->capdirfds, j->ndirfds, 1, j->max_dirfds, NULL) ||
	    (k = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	j->dirfds[j->ndirfds++] = k;
	return k;
}

/* Walks directory @dir, which is @name in the directory open at @pfd (or, with @pfd -1, @dir
 * itself): children are opened relative to it, without looking their whole path up again.
 * @rel_off: where the path relative to the scan root starts inside @dir's children; @root:
 * the package root @dir is in (unless it is one itself). */
static exai_status walk(vf_scan *s, jobs *j, int pfd, const char *name, const char *dir,
			size_t rel_off, unsigned depth, unsigned root, exai_error *e)
{
	DIR *d = NULL;
	dents ds = {0};
	exai_status rc = EXAI_OK;
	bool marker, reg_marker, chart;
	int fd, dfd = -2; /* -2: not yet asked for */

	if (depth > MAX_WALK_DEPTH)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: nested deeper than %d directories", dir,
				      MAX_WALK_DEPTH);
	fd = pfd < 0 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		     : openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		rc = exai_error_sys(e, EXAI_EIO, "%s", dir);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	if ((rc = read_names(d, dir, &ds, &marker, &reg_marker, &chart, e)))
		goto out;
	if (s->group)
		vf_group_ctx_learn(s->group, dir, reg_marker);
	if (marker)
		root = vf_scan_new_root(s);
	/* vf_is_chart_dir still checks that Chart.yaml is a regular file. */
	if (chart && vf_is_chart_dir(dir) && (rc = add_chart(j, dir, root, e)))
		goto out;
	for (size_t i = 0; !rc && i < ds.n; i++) {
		const char *cn = ds.names + ds.v[i].name;
		char *child;
		struct stat st = {0};
		bool is_dir = ds.v[i].type == DT_DIR, is_reg = ds.v[i].type == DT_REG;
		if (!(child = exai_path_join(dir, cn))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			break;
		}
		/* The entry's type usually comes with it: a stat per file only for a size the
		 * progress bar shows, or when the file system does not say. */
		if (j->sizes || (!is_dir && !is_reg)) {
			if (fstatat(dirfd(d), cn, &st, AT_SYMLINK_NOFOLLOW) != 0) {
				rc = exai_error_sys(e, EXAI_EIO, "%s", child);
				free(child);
				break;
			}
			is_dir = S_ISDIR(st.st_mode);
			is_reg = S_ISREG(st.st_mode);
		}
		if (is_dir) {
			if (!skip_dir(s, cn))
				rc = walk(s, j, dirfd(d), cn, child, rel_off, depth + 1, root, e);
			free(child);
		} else if (is_reg) {
			if (dfd == -2)
				dfd = hold_dir(j, dirfd(d));
			/* the list owns @child */
			rc = add_job(j, child, rel_off, (uint64_t)st.st_size, root, dfd, e);
		} else {
			if (!S_ISLNK(st.st_mode)) { /* symlinks are never followed, by design */
				vf_buf sb = {.path = child, .rel = child + rel_off, .base = cn};
				vf_scan_incomplete(s, &sb, 0,
						   "not scanned: not a regular file (a FIFO, "
						   "socket or device)");
			}
			free(child);
		}
	}
out:
	dents_free(&ds);
	closedir(d);
	return rc;
}

static void jobs_free(jobs *j)
{
	for (size_t i = 0; i < j->ndirfds; i++)
		close(j->dirfds[i]);
	free(j->dirfds);
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i].path);
	for (size_t i = 0; i < j->ncharts; i++)
		free(j->charts[i]);
	free(j->charts);
	free(j->chart_roots);
	free(j->v);
}

static exai_status collect(vf_scan *s, jobs *j, const char *path, exai_error *e)
{
	struct stat st;
	size_t len = strlen(path);

	if (stat(path, &st) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s", path);
	if (S_ISREG(st.st_mode)) {
		char *copy = strdup(path);
		if (!copy)
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		return add_job(j, copy, (size_t)(base_of(copy) - copy), (uint64_t)st.st_size,
			       vf_scan_new_root(s), -1, e);
	}
	if (!S_ISDIR(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE, "%s: not a file or directory", path);
	/* Children are "<path>/<name>": their path relative to the root starts after the '/'. */
	return walk(s, j, -1, NULL, path, len + (len && path[len - 1] == '/' ? 0 : 1), 0,
		    vf_scan_new_root(s), e);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* Marks the jobs whose file name another job shares: only those can be copies of each other
 * in the duplicate cache's sense (same name, same bytes), and only they are looked at. Out of
 * memory, none is marked: every file is scanned, which the cache only ever saves. */
static void mark_named_twice(jobs *j)
{
	size_t cap = 16, *first;

	while (cap < 2 * j->n)
		cap *= 2;
	if (!(first = malloc(cap * sizeof(*first))))
		return;
	memset(first, 0xff, cap * sizeof(*first)); /* SIZE_MAX: empty */
	for (size_t i = 0; i < j->n; i++) {
		const char *name = base_of(j->v[i].path);
		size_t k = (size_t)name_hash(name) & (cap - 1);
		while (first[k] != SIZE_MAX && strcmp(base_of(j->v[first[k]].path), name))
			k = (k + 1) & (cap - 1);
		if (first[k] == SIZE_MAX) {
			first[k] = i;
		} else {
			j->v[first[k]].named_twice = true;
			j->v[i].named_twice = true;
		}
	}
	free(first);
}

exai_status vf_scan_paths(vf_scan *s, char *const *paths, size_t n, exai_error *e)
{
	jobs j = {.sizes = isatty(STDERR_FILENO) && !getenv("EXAI_NO_PROGRESS")};
	struct rlimit nofile;
	pool pl = {.s = s, .j = &j};
	pthread_t tid[64];
	unsigned started = 0;
	exai_progress prog;
	exai_status rc = EXAI_OK;

	/* Half of the descriptors the process may still open, leaving room for the walk's own,
	 * the workers' files, archives and helm. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur > 2 * (MAX_WALK_DEPTH + 64))
		j.max_dirfds = (size_t)(nofile.rlim_cur - 2 * (MAX_WALK_DEPTH + 64)) / 2;
	if (j.max_dirfds > DIRFDS_MAX)
		j.max_dirfds = DIRFDS_MAX;
	for (size_t i = 0; i < n && !rc; i++)
		rc = collect(s, &j, paths[i], e);
	if (rc)
		goto out;
	if (s->dup)
		mark_named_twice(&j);
	exai_progress_start(&prog, "scan", j.total);
	pl.prog = &prog;
	for (unsigned t = 0; t < s->threads && t < j.n; t++) {
		if (pthread_create(&tid[t], NULL, worker, &pl) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker(&pl);
	for (unsigned t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	exai_progress_finish(&prog);
	for (size_t i = 0; i < j.ncharts && !s->fatal; i++)
		vf_scan_helm_chart(s, j.charts[i], j.charts[i], j.chart_roots[i]);
	if (s->fatal)
		rc = exai_error_set(e, s->fatal, "%s", s->fatal_err.msg);
out:
	jobs_free(&j);
	return rc;
}

exai_status vf_scan_finish(vf_scan *s, exai_error *e)
{
	const vf_rule *exp = vf_rules_for(s->rules, VF_CHK_ALLOW_EXPIRED);
	char buf[512];

	vf_scan_release_held(s);
	vf_k8s_finish(s);
	for (size_t i = 0; s->allow && i < s->allow->n; i++) {
		const vf_suppression *sp = &s->allow->s[i];
		if (sp->expired && exp) {
			vf_finding f = {.rule_id = exp->id,
					.severity = exp->sev,
					.path = s->allow->path,
					.line = sp->line,
					.column = sp->col,
					.evidence = sp->expires,
					.message = exp->message,
					.hint = exp->hint};
			snprintf(buf, sizeof(buf), "%s (rule %s, expired %s)", exp->message,
				 sp->rule, sp->expires);
			f.message = buf;
			if (vf_report_add(s->report, &f, e))
				return e->code;
		} else if (!sp->expired && sp->used == 0) {
			snprintf(buf, sizeof(buf),
				 "allow: suppression at %s:%lu:%lu matched nothing", s->allow->path,
				 sp->line, sp->col);
			vf_scan_note(s, buf);
		}
	}
	if (s->fatal)
		return exai_error_set(e, s->fatal, "%s", s->fatal_err.msg);
	return EXAI_OK;
}
