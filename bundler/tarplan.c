/*
 * tarplan: deterministic tar streams of component sources, with change detection.
 */
#include "tarplan.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/grow.h"

#define MAX_ITEMS 1000000
#define MAX_DEPTH 64
#define IO_BLOCK  (1u << 20)

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static exai_status add_item(exb_plan *p, const char *rel, const char *abs, const struct stat *st,
			    exai_error *e)
{
	exb_item *it;
	exai_status rc;

	if (p->n_items == MAX_ITEMS)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: more than %d entries", p->spec->source,
				      MAX_ITEMS);
	if ((rc = EXAI_GROW(&p->items, &p->cap_items, p->n_items, 1, MAX_ITEMS, e)))
		return rc;
	it = &p->items[p->n_items];
	memset(it, 0, sizeof(*it));
	it->rel = strdup(rel);
	it->abs = strdup(abs);
	it->st = *st;
	p->n_items++;
	if (!it->rel || !it->abs)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

/* A symlink target must be relative and, resolved lexically from the link's directory,
 * stay inside the tree. */
static bool link_stays_inside(const char *rel, const char *target)
{
	int depth = 0;

	if (target[0] == '/' || !*target)
		return false;
	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	for (const char *s = target; *s;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (!(n == 0 || (n == 1 && s[0] == '.'))) {
			depth++;
		}
		s += n + (slash ? 1 : 0);
	}
	return true;
}

/* What exai-update refuses unless the manifest says world-writable (exai/tarcheck.h). */
static bool world_writable(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return (st->st_mode & S_IWOTH) != 0;
	return S_ISDIR(st->st_mode) && (st->st_mode & S_IWOTH) && !(st->st_mode & S_ISVTX);
}

static exai_status walk(exb_plan *p, const char *abs, const char *rel, int depth, exai_error *e)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	exai_status rc = EXAI_OK;
	struct dirent *de;
	DIR *d;

	if (depth > MAX_DEPTH)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: nested deeper than %d levels", abs,
				      MAX_DEPTH);
	d = opendir(abs);
	if (!d)
		return exai_error_sys(e, EXAI_EIO, "%s: open directory", abs);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((rc = EXAI_GROW(&names, &cap, n, 1, EXAI_GROW_NOCAP, e)))
			goto out;
		if (!(names[n++] = strdup(de->d_name))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (n) /* an empty directory: names is NULL */
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !rc; i++) {
		char *cabs = exai_path_join(abs, names[i]);
		char *crel = *rel ? exai_path_join(rel, names[i]) : strdup(names[i]);
		struct stat st;

		if (!cabs || !crel)
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		else if (lstat(cabs, &st) != 0)
			rc = exai_error_sys(e, EXAI_EIO, "%s: stat", cabs);
		else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
			rc = exai_error_set(e, EXAI_EUNSAFE,
					    "%s: devices, FIFOs and sockets cannot be bundled",
					    cabs);
		else if ((st.st_mode & (S_ISUID | S_ISGID)) && !S_ISLNK(st.st_mode) &&
			 !p->spec->setuid)
			/* exai-update refuses these without the flag, directories included */
			rc = exai_error_set(e, EXAI_EUNSAFE,
					    "%s: setuid/setgid %s; remove the bit or declare "
					    "'setuid: true' for component %s (%s)",
					    cabs, S_ISDIR(st.st_mode) ? "directory" : "file",
					    p->spec->name, p->spec->where);
		else if (world_writable(&st) && !p->spec->world_writable)
			rc = exai_error_set(e, EXAI_EUNSAFE,
					    "%s: world-writable %s (mode %04o); remove o+w%s or "
					    "declare 'world_writable: true' for component %s (%s)",
					    cabs, S_ISDIR(st.st_mode) ? "directory" : "file",
					    (unsigned)(st.st_mode & 07777),
					    S_ISDIR(st.st_mode) ? ", add the sticky bit" : "",
					    p->spec->name, p->spec->where);
		else if (!(rc = add_item(p, crel, cabs, &st, e))) {
			exb_item *it = &p->items[p->n_items - 1];
			if (S_ISLNK(st.st_mode)) {
				char buf[4096];
				ssize_t l = readlink(cabs, buf, sizeof(buf) - 1);
				if (l < 0)
					rc = exai_error_sys(e, EXAI_EIO, "%s: readlink", cabs);
				else {
					buf[l] = '\0';
					if (!link_stays_inside(crel, buf))
						rc =
						    exai_error_set(e, EXAI_EUNSAFE,
								   "%s: symlink to '%s' leaves the "
								   "tree",
								   cabs, buf);
					else if (!(it->link = strdup(buf)))
						rc =
						    exai_error_set(e, EXAI_ENOMEM, "out of memory");
				}
			} else if (S_ISDIR(st.st_mode)) {
				rc = walk(p, cabs, crel, depth + 1, e);
			}
		}
		free(cabs);
		free(crel);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/* ---- tar writing through libarchive ---- */

typedef struct tar_sink {
	exb_write_fn fn;
	exb_reserve_fn reserve;
	void *arg;
	exai_error *e;
	exai_status rc;
	uint64_t bytes;
} tar_sink;

static la_ssize_t tar_cb(struct archive *a, void *client, const void *buf, size_t len)
{
	tar_sink *s = client;

	(void)a;
	if (s->rc)
		return -1;
	if (s->fn && (s->rc = s->fn(s->arg, buf, len, s->e)))
		return -1;
	s->bytes += len;
	return (la_ssize_t)len;
}

static exai_status copy_file(exb_plan *p, exb_item *it, struct archive *a, tar_sink *s,
			     exai_error *e)
{
	uint8_t *buf = malloc(IO_BLOCK);
	uint64_t done = 0;
	struct stat st;
	exai_status rc = EXAI_OK;
	int fd = -1;

	if (!buf)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = exai_file_open_regular(it->abs, O_RDONLY, 0, &fd, e);
	if (rc)
		goto out;
	if (fstat(fd, &st) != 0 || st.st_size != it->st.st_size || st.st_ino != it->st.st_ino ||
	    st.st_mtim.tv_sec != it->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != it->st.st_mtim.tv_nsec) {
		rc = exai_error_set(e, EXAI_EIO, "%s: source changed while being read", it->abs);
		goto out;
	}
	for (;;) {
		uint8_t *dst = buf;
		size_t want = IO_BLOCK;
		/* Once the planned size is read, probe for growth with the private buffer. */
		if (!a && s->reserve && done < (uint64_t)it->st.st_size) {
			if ((rc = s->reserve(s->arg, &dst, &want, e)))
				goto out;
			if (want > IO_BLOCK)
				want = IO_BLOCK;
		}
		ssize_t n = read(fd, dst, want);
		if (n < 0) {
			rc = exai_error_sys(e, EXAI_EIO, "%s: read", it->abs);
			goto out;
		}
		if (n == 0)
			break;
		if (done + (uint64_t)n > (uint64_t)it->st.st_size) {
			rc = exai_error_set(e, EXAI_EIO,
					    "%s: source changed while being read (grew)", it->abs);
			goto out;
		}
		done += (uint64_t)n;
		if (a) {
			if (archive_write_data(a, dst, (size_t)n) != n) {
				rc = s->rc ? s->rc
					   : exai_error_set(e, EXAI_EIO, "tar: %s",
							    archive_error_string(a));
				goto out;
			}
		} else if ((rc = s->fn(s->arg, dst, (size_t)n, e))) {
			goto out;
		}
	}
	if (done != (uint64_t)it->st.st_size)
		rc = exai_error_set(e, EXAI_EIO, "%s: source changed while being read (shrank)",
				    it->abs);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	(void)p;
	return rc;
}

/* Writes the tar stream; with @fn NULL only headers are produced (sizing pass). */
static exai_status tar_run(exb_plan *p, exb_write_fn fn, void *arg, uint64_t *bytes, exai_error *e)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	tar_sink s = {.fn = fn, .arg = arg, .e = e};
	exai_status rc = EXAI_OK;

	if (!a || !ent) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open2(a, &s, NULL, tar_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EINTERNAL, "tar: %s", archive_error_string(a));
		goto out;
	}
	for (size_t i = 0; i < p->n_items && !rc; i++) {
		exb_item *it = &p->items[i];
		archive_entry_clear(ent);
		archive_entry_set_pathname(ent, it->rel);
		archive_entry_set_uid(ent, 0);
		archive_entry_set_gid(ent, 0);
		archive_entry_set_mtime(ent, (time_t)p->mtime, 0);
		archive_entry_set_perm(ent, it->st.st_mode & 07777);
		if (S_ISDIR(it->st.st_mode)) {
			archive_entry_set_filetype(ent, AE_IFDIR);
		} else if (S_ISLNK(it->st.st_mode)) {
			archive_entry_set_filetype(ent, AE_IFLNK);
			archive_entry_set_symlink(ent, it->link);
		} else {
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_size(ent, it->st.st_size);
		}
		if (archive_write_header(a, ent) != ARCHIVE_OK) {
			rc = s.rc ? s.rc
				  : exai_error_set(e, EXAI_EIO, "tar: %s: %s", it->rel,
						   archive_error_string(a));
			break;
		}
		if (fn && S_ISREG(it->st.st_mode))
			rc = copy_file(p, it, a, &s, e);
		if (!rc && archive_write_finish_entry(a) != ARCHIVE_OK)
			rc = s.rc ? s.rc
				  : exai_error_set(e, EXAI_EIO, "tar: %s", archive_error_string(a));
	}
	if (!rc && archive_write_close(a) != ARCHIVE_OK)
		rc = s.rc ? s.rc : exai_error_set(e, EXAI_EIO, "tar: %s", archive_error_string(a));
	*bytes = s.bytes;
out:
	archive_entry_free(ent);
	archive_write_free(a);
	return rc;
}

exai_status exb_plan_component(exb_plan *p, const exb_spec_component *spec, uint64_t mtime,
			       exai_error *e)
{
	exai_component *mc = &p->mc;
	struct stat st;
	exai_status rc;

	memset(p, 0, sizeof(*p));
	p->spec = spec;
	p->mtime = mtime;
	mc->type = spec->type;
	strcpy(mc->name, spec->name);
	strcpy(mc->version, spec->version);
	strcpy(mc->target, spec->target);
	mc->flags = (spec->setuid ? EXAI_CFLAG_SETUID : 0) |
		    (spec->world_writable ? EXAI_CFLAG_WORLD_WRITABLE : 0);
	if (lstat(spec->source, &st) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s", spec->source);
	if (!spec->is_dir) {
		if (!S_ISREG(st.st_mode))
			return exai_error_set(e, EXAI_EUNSAFE, "%s: not a regular file",
					      spec->source);
		if ((rc = add_item(p, spec->target, spec->source, &st, e)))
			return rc;
		mc->encoding = EXAI_CENC_RAW;
		mc->size = mc->unpacked = (uint64_t)st.st_size;
		mc->entries = 1;
		return EXAI_OK;
	}
	mc->encoding = EXAI_CENC_TAR;
	if ((rc = walk(p, spec->source, "", 0, e)))
		return rc;
	for (size_t i = 0; i < p->n_items; i++)
		if (S_ISREG(p->items[i].st.st_mode))
			mc->unpacked += (uint64_t)p->items[i].st.st_size;
	mc->entries = p->n_items;
	return tar_run(p, NULL, NULL, &mc->size, e);
}

exai_status exb_stream_component(exb_plan *p, exb_write_fn fn, exb_reserve_fn reserve, void *arg,
				 exai_error *e)
{
	uint64_t bytes = 0;
	exai_status rc;

	if (p->mc.encoding == EXAI_CENC_RAW) {
		tar_sink s = {.fn = fn, .reserve = reserve, .arg = arg, .e = e};
		return copy_file(p, &p->items[0], NULL, &s, e);
	}
	rc = tar_run(p, fn, arg, &bytes, e);
	if (!rc && bytes != p->mc.size)
		rc = exai_error_set(e, EXAI_EIO, "%s: source changed while being read (tar size)",
				    p->spec->source);
	return rc;
}

void exb_plan_free(exb_plan *p)
{
	for (size_t i = 0; i < p->n_items; i++) {
		free(p->items[i].rel);
		free(p->items[i].abs);
		free(p->items[i].link);
	}
	free(p->items);
	p->items = NULL;
	p->n_items = 0;
}
