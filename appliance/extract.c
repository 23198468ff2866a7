/*
 * extract: streaming tar extraction under a staging dir fd. See extract.h for the rules.
 *
 * Invariants: nothing is created outside the staging dir (every path is resolved component by
 * component with openat(O_NOFOLLOW) from the dir fd, never by concatenating strings); the
 * producer's buffer is only read by libarchive between the hand-over and the next read
 * callback; every limit is checked before the bytes it limits are written.
 */
#include "extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/wb.h"

#define PATH_CAP    4096
#define MAX_DEPTH   64
#define RATIO_SLACK (64u << 10)

struct upd_extract {
	int rootfd;
	upd_extract_limits lim;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const uint8_t *buf;
	size_t len;
	bool have;  /* a buffer is offered or in use */
	bool taken; /* ... and libarchive has it */
	bool eof, cancel, done;
	uint64_t fed;
	uint64_t entries, bytes;
	exai_status rc;
	exai_error err;
};

bool upd_tar_path_clean(const char *in, char *out, size_t cap)
{
	size_t n, seg = 0, depth = 0;

	while (in[0] == '.' && in[1] == '/')
		in += 2;
	n = strlen(in);
	while (n > 0 && in[n - 1] == '/')
		n--;
	if (n == 0 || n >= cap || in[0] == '/')
		return false;
	memcpy(out, in, n);
	out[n] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (i < n && out[i] != '/') {
			seg++;
			continue;
		}
		if (seg == 0 || seg > 255 || ++depth > MAX_DEPTH)
			return false;
		if ((seg == 1 && out[i - 1] == '.') ||
		    (seg == 2 && out[i - 1] == '.' && out[i - 2] == '.'))
			return false;
		seg = 0;
	}
	return true;
}

bool upd_symlink_target_ok(const char *path, const char *target)
{
	long depth = 0;
	bool leading = true;
	size_t n = strlen(target);

	if (n == 0 || n >= PATH_CAP || target[0] == '/')
		return false;
	for (const char *p = path; *p; p++)
		depth += *p == '/'; /* directories above the link */
	for (const char *p = target; *p;) {
		const char *end = strchr(p, '/');
		size_t seg = end ? (size_t)(end - p) : strlen(p);
		if (seg == 2 && p[0] == '.' && p[1] == '.') {
			/* '..' after a name could climb out through a symlinked name */
			if (!leading || --depth < 0)
				return false;
		} else if (!(seg == 0 || (seg == 1 && p[0] == '.'))) {
			leading = false;
		}
		p += seg + (end ? 1 : 0);
	}
	return true;
}

/* ---- producer/consumer hand-over ---- */

static la_ssize_t read_cb(struct archive *a, void *arg, const void **out)
{
	upd_extract *x = arg;
	la_ssize_t n;

	pthread_mutex_lock(&x->mu);
	if (x->taken) { /* libarchive is done with the previous buffer */
		x->have = x->taken = false;
		pthread_cond_broadcast(&x->cv);
	}
	while (!x->have && !x->eof && !x->cancel)
		pthread_cond_wait(&x->cv, &x->mu);
	if (x->cancel) {
		pthread_mutex_unlock(&x->mu);
		if (a)
			archive_set_error(a, ECANCELED, "cancelled");
		return -1;
	}
	if (!x->have) {
		pthread_mutex_unlock(&x->mu);
		return 0;
	}
	x->taken = true;
	*out = x->buf;
	n = (la_ssize_t)x->len;
	x->fed += x->len;
	pthread_mutex_unlock(&x->mu);
	return n;
}

/* ---- safe path operations under the root fd ---- */

exai_status upd_open_parent(int rootfd, char *path, bool create, int *dfd_out, const char **leaf,
			    exai_error *e)
{
	return upd_open_parent_rec(rootfd, path, create, NULL, dfd_out, leaf, e);
}

/* A directory this extraction just made: exactly 0755 (not umask-dependent, so the recorded
 * mode is the mode on disk), and recorded. @path is the directory's own path. */
static exai_status made_dir(int fd, const char *path, upd_filelist *rec, exai_error *e)
{
	if (fchmod(fd, 0755) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", path);
	return rec ? upd_filelist_add(rec, path, UPD_F_DIR, 0755, 0, NULL, NULL, e) : EXAI_OK;
}

exai_status upd_open_parent_rec(int rootfd, char *path, bool create, upd_filelist *rec,
				int *dfd_out, const char **leaf, exai_error *e)
{
	int dfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	char *p = path, *slash;

	*dfd_out = -1;
	if (dfd < 0)
		return exai_error_sys(e, EXAI_EIO, "dup");
	while ((slash = strchr(p, '/'))) {
		int nfd;
		*slash = '\0';
		nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			bool made = mkdirat(dfd, p, 0755) == 0;
			if (!made && errno != EEXIST) {
				exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: mkdir", path);
				*slash = '/';
				close(dfd);
				return rc;
			}
			nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (made && nfd >= 0) {
				exai_status rc = made_dir(nfd, path, rec, e);
				if (rc) {
					*slash = '/';
					close(nfd);
					close(dfd);
					return rc;
				}
			}
		}
		if (nfd < 0) {
			int err = errno;
			*slash = '/';
			close(dfd);
			if (err == ELOOP || err == ENOTDIR)
				return exai_error_set(e, EXAI_EUNSAFE,
						      "%s: refused: a parent is a symlink or not a "
						      "directory",
						      path);
			errno = err;
			return exai_error_sys(e, EXAI_EIO, "%s: open parent", path);
		}
		*slash = '/';
		close(dfd);
		dfd = nfd;
		p = slash + 1;
	}
	*dfd_out = dfd;
	*leaf = p;
	return EXAI_OK;
}

static void hash_zeros(exai_sha256 *h, uint64_t n)
{
	static const uint8_t zeros[16384];

	while (n > 0) {
		size_t k = n < sizeof(zeros) ? (size_t)n : sizeof(zeros);
		exai_sha256_update(h, zeros, k);
		n -= k;
	}
}

/* Hashes a data block in file order: holes before it (sparse entries) hash as the zeros
 * they read back as. Blocks must come in increasing offsets and stay within the entry's
 * size, which libarchive guarantees for well-formed tar; anything else is refused. */
static exai_status hash_block(exai_sha256 *h, uint64_t *hashed, const void *blk, size_t n,
			      la_int64_t off, int64_t size, const char *path, exai_error *e)
{
	if (off < 0 || (uint64_t)off < *hashed || (uint64_t)off > (uint64_t)size ||
	    n > (uint64_t)size - (uint64_t)off)
		return exai_error_set(e, EXAI_EFORMAT, "%s: tar data out of order or past its size",
				      path);
	hash_zeros(h, (uint64_t)off - *hashed);
	exai_sha256_update(h, blk, n);
	*hashed = (uint64_t)off + n;
	return EXAI_OK;
}

static exai_status write_file(upd_extract *x, struct archive *a, struct archive_entry *ent,
			      char *path, mode_t perm, exai_error *e)
{
	int64_t size = archive_entry_size(ent);
	const char *leaf;
	exai_status rc;
	int dfd, fd;
	uint8_t md[EXAI_SHA256_LEN];
	exai_sha256 h = {0};
	exai_wb wb;
	uint64_t hashed = 0;

	if (size < 0 || (uint64_t)size > x->lim.max_bytes - x->bytes)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%s: file content over the manifest's %llu unpacked bytes",
				      path, (unsigned long long)x->lim.max_bytes);
	x->bytes += (uint64_t)size;
	if ((rc = upd_open_parent_rec(x->rootfd, path, true, x->lim.files, &dfd, &leaf, e)))
		return rc;
	if (exai_fault("stage.write")) {
		close(dfd);
		return exai_error_sys(e, EXAI_EIO, "%s: create (injected)", path);
	}
	if (x->lim.files && (rc = exai_sha256_init(&h, e))) {
		close(dfd);
		return rc;
	}
	fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	close(dfd);
	if (fd < 0) {
		rc = errno == EEXIST
			 ? exai_error_set(e, EXAI_EUNSAFE, "%s: refused: entry appears twice", path)
			 : exai_error_sys(e, EXAI_EIO, "%s: create", path);
		exai_sha256_free(&h);
		return rc;
	}
	/* Large files stream to the disk as they are written (exai/wb.h). */
	exai_wb_init(&wb, fd, 0, path);
	for (;;) {
		const void *blk;
		size_t n;
		la_int64_t off;
		int r = archive_read_data_block(a, &blk, &n, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			rc = exai_error_set(e, EXAI_EFORMAT, "%s: %s", path,
					    archive_error_string(a) ? archive_error_string(a)
								    : "bad tar data");
			goto out;
		}
		if (archive_filter_bytes(a, 0) >
		    (la_int64_t)(x->lim.max_ratio * (x->fed + RATIO_SLACK))) {
			rc = exai_error_set(e, EXAI_ETOOBIG,
					    "%s: decompression ratio over %llu: refused", path,
					    (unsigned long long)x->lim.max_ratio);
			goto out;
		}
		if (x->lim.files && (rc = hash_block(&h, &hashed, blk, n, off, size, path, e)))
			goto out;
		for (size_t done = 0; done < n;) {
			ssize_t w =
			    pwrite(fd, (const char *)blk + done, n - done, off + (off_t)done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = exai_error_sys(e, EXAI_EIO, "%s: write", path);
				goto out;
			}
			done += (size_t)w;
		}
		if ((uint64_t)off == wb.written) /* after a sparse hole: hints stop */
			exai_wb_wrote(&wb, n);
	}
	if (ftruncate(fd, (off_t)size) != 0 || fchmod(fd, perm) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: set size/mode", path);
		goto out;
	}
	struct timespec ts[2] = {{archive_entry_mtime(ent), 0}, {archive_entry_mtime(ent), 0}};
	(void)futimens(fd, ts);
	if (x->lim.files) {
		hash_zeros(&h, (uint64_t)size - hashed); /* a sparse tail */
		exai_sha256_final(&h, md);
		rc = upd_filelist_add(x->lim.files, path, UPD_F_FILE, perm, (uint64_t)size, md,
				      NULL, e);
	}
out:;
	exai_status frc = exai_wb_finish(&wb, rc ? NULL : e); /* a background fdatasync */
	if (!rc)
		rc = frc;
	exai_sha256_free(&h);
	close(fd);
	return rc;
}

static exai_status make_dir(upd_extract *x, char *path, mode_t perm, exai_error *e)
{
	const char *leaf;
	exai_status rc;
	int dfd, fd;

	if ((rc = upd_open_parent_rec(x->rootfd, path, true, x->lim.files, &dfd, &leaf, e)))
		return rc;
	if (mkdirat(dfd, leaf, 0700) != 0 && errno != EEXIST) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: mkdir", path);
		close(dfd);
		return rc;
	}
	/* An existing entry must be a real directory (made implicitly for an earlier file). */
	fd = openat(dfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: exists and is not a directory",
				      path);
	/* Owner keeps write access so later entries can be created inside. */
	if (fchmod(fd, perm | 0700) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "%s: chmod", path);
	else if (x->lim.files)
		rc = upd_filelist_add(x->lim.files, path, UPD_F_DIR, perm | 0700, 0, NULL, NULL, e);
	close(fd);
	return rc;
}

static exai_status make_symlink(upd_extract *x, char *path, const char *target, exai_error *e)
{
	const char *leaf;
	exai_status rc;
	int dfd;

	if (!target || !upd_symlink_target_ok(path, target))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: symlink target '%.200s' leaves the tree", path,
				      target ? target : "");
	if ((rc = upd_open_parent_rec(x->rootfd, path, true, x->lim.files, &dfd, &leaf, e)))
		return rc;
	if (exai_fault("stage.write") || symlinkat(target, dfd, leaf) != 0)
		rc = errno == EEXIST
			 ? exai_error_set(e, EXAI_EUNSAFE, "%s: refused: entry appears twice", path)
			 : exai_error_sys(e, EXAI_EIO, "%s: symlink", path);
	else if (x->lim.files)
		rc = upd_filelist_add(x->lim.files, path, UPD_F_LINK, 0, strlen(target), NULL,
				      target, e);
	close(dfd);
	return rc;
}

static exai_status make_hardlink(upd_extract *x, char *path, const char *src, exai_error *e)
{
	char clean[PATH_CAP];
	const char *leaf, *sleaf;
	struct stat st;
	exai_status rc;
	int dfd, sfd;

	if (!upd_tar_path_clean(src, clean, sizeof(clean)))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: hard link to '%.200s' leaves the tree", path,
				      src);
	if ((rc = upd_open_parent(x->rootfd, clean, false, &sfd, &sleaf, e)))
		return exai_error_prefix(e, "%s: hard link source", path);
	if (fstatat(sfd, sleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		close(sfd);
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: hard link source '%.200s' is not an earlier "
				      "regular file of this archive",
				      path, clean);
	}
	if ((rc = upd_open_parent_rec(x->rootfd, path, true, x->lim.files, &dfd, &leaf, e))) {
		close(sfd);
		return rc;
	}
	if (exai_fault("stage.write") || linkat(sfd, sleaf, dfd, leaf, 0) != 0)
		rc = errno == EEXIST
			 ? exai_error_set(e, EXAI_EUNSAFE, "%s: refused: entry appears twice", path)
			 : exai_error_sys(e, EXAI_EIO, "%s: hard link", path);
	else if (x->lim.files)
		rc = upd_filelist_add(x->lim.files, path, UPD_F_HARD, 0, 0, NULL, clean, e);
	close(sfd);
	close(dfd);
	return rc;
}

static exai_status one_entry(upd_extract *x, struct archive *a, struct archive_entry *ent,
			     exai_error *e)
{
	const char *raw = archive_entry_pathname(ent);
	mode_t type = archive_entry_filetype(ent);
	mode_t perm = archive_entry_perm(ent) & 07777;
	char path[PATH_CAP];

	if (++x->entries > x->lim.max_entries)
		return exai_error_set(e, EXAI_ETOOBIG, "more than the manifest's %llu entries",
				      (unsigned long long)x->lim.max_entries);
	if (!raw)
		return exai_error_set(e, EXAI_EFORMAT, "entry %llu: no path",
				      (unsigned long long)x->entries);
	if (raw[0] == '/')
		return exai_error_set(e, EXAI_EUNSAFE, "%.200s: refused: absolute path", raw);
	if (!upd_tar_path_clean(raw, path, sizeof(path))) {
		if (type == AE_IFDIR && (!strcmp(raw, ".") || !strcmp(raw, "./")))
			return EXAI_OK;
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%.200s: refused: path with '..', '.' or empty parts", raw);
	}
	if ((perm & (S_ISUID | S_ISGID)) && !x->lim.allow_setuid)
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: setuid/setgid bit and the manifest does not "
				      "allow it",
				      path);
	if (archive_entry_hardlink(ent))
		return make_hardlink(x, path, archive_entry_hardlink(ent), e);
	switch (type) {
	case AE_IFREG:
		return write_file(x, a, ent, path, perm, e);
	case AE_IFDIR:
		return make_dir(x, path, perm, e);
	case AE_IFLNK:
		return make_symlink(x, path, archive_entry_symlink(ent), e);
	case AE_IFCHR:
	case AE_IFBLK:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: device node", path);
	case AE_IFIFO:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: FIFO", path);
	case AE_IFSOCK:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: socket", path);
	default:
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: unknown entry type", path);
	}
}

static exai_status extract_all(upd_extract *x, exai_error *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	exai_status rc = EXAI_OK;
	const void *dummy;
	int r;

	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (archive_read_open(a, x, NULL, read_cb, NULL) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EFORMAT, "not a tar stream: %s",
				    archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		if (archive_filter_bytes(a, 0) >
		    (la_int64_t)(x->lim.max_ratio * (x->fed + RATIO_SLACK))) {
			rc = exai_error_set(e, EXAI_ETOOBIG,
					    "decompression ratio over %llu: refused",
					    (unsigned long long)x->lim.max_ratio);
			goto out;
		}
		if ((rc = one_entry(x, a, ent, e)))
			goto out;
	}
	if (r != ARCHIVE_EOF) {
		rc = exai_error_set(e, EXAI_EFORMAT, "bad tar data: %s",
				    archive_error_string(a) ? archive_error_string(a) : "?");
		goto out;
	}
	/* Drain what follows the end-of-archive blocks so the producer is never left waiting. */
	while (read_cb(NULL, x, &dummy) > 0)
		;
out:
	archive_read_free(a);
	return rc;
}

static void *thread_main(void *arg)
{
	upd_extract *x = arg;
	exai_error err;

	exai_error_clear(&err);
	exai_status rc = extract_all(x, &err);
	pthread_mutex_lock(&x->mu);
	x->rc = rc;
	x->err = err;
	x->done = true;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

exai_status upd_extract_start(int rootfd, const upd_extract_limits *lim, upd_extract **out,
			      exai_error *e)
{
	upd_extract *x = calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	x->lim = *lim;
	if (x->lim.max_ratio == 0)
		x->lim.max_ratio = 1;
	x->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
	if (x->rootfd < 0) {
		free(x);
		return exai_error_sys(e, EXAI_EIO, "dup");
	}
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	if (pthread_create(&x->thread, NULL, thread_main, x) != 0) {
		close(x->rootfd);
		pthread_mutex_destroy(&x->mu);
		pthread_cond_destroy(&x->cv);
		free(x);
		return exai_error_set(e, EXAI_ENOMEM, "cannot start the extraction thread");
	}
	*out = x;
	return EXAI_OK;
}

exai_status upd_extract_feed(upd_extract *x, const uint8_t *buf, size_t len, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (len == 0)
		return EXAI_OK;
	pthread_mutex_lock(&x->mu);
	if (!x->done) {
		x->buf = buf;
		x->len = len;
		x->have = true;
		pthread_cond_broadcast(&x->cv);
		while (x->have && !x->done)
			pthread_cond_wait(&x->cv, &x->mu);
	}
	if (x->done) {
		rc = x->rc ? x->rc : EXAI_EFORMAT;
		if (x->rc)
			*e = x->err;
		else
			exai_error_set(e, rc, "tar: data after the end of the archive");
	}
	x->have = x->taken = false; /* the buffer goes back to the caller either way */
	pthread_mutex_unlock(&x->mu);
	return rc;
}

static void destroy(upd_extract *x)
{
	pthread_join(x->thread, NULL);
	close(x->rootfd);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cv);
	free(x);
}

exai_status upd_extract_finish(upd_extract *x, exai_error *e)
{
	exai_status rc;

	pthread_mutex_lock(&x->mu);
	x->eof = true;
	pthread_cond_broadcast(&x->cv);
	while (!x->done)
		pthread_cond_wait(&x->cv, &x->mu);
	rc = x->rc;
	if (rc)
		*e = x->err;
	pthread_mutex_unlock(&x->mu);
	destroy(x);
	return rc;
}

void upd_extract_abort(upd_extract *x)
{
	if (!x)
		return;
	pthread_mutex_lock(&x->mu);
	x->cancel = true;
	pthread_cond_broadcast(&x->cv);
	pthread_mutex_unlock(&x->mu);
	destroy(x);
}
