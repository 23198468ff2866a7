/*
 * extract: streaming tar extraction under a staging dir fd. See extract.h for the rules.
 *
 * Invariants: nothing is created outside the staging dir (every path is resolved component by
 * component with openat(O_NOFOLLOW) from the dir fd, never by concatenating strings); the
 * producer's buffer is only read by libarchive between the hand-over and the next read
 * callback; every limit is checked before the bytes it limits are written.
 */
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/hash.h"
#include "exai/strset.h"
#include "exai/tarcheck.h"
#include "exai/wb.h"

struct upd_extract {
	int rootfd;
	upd_extract_limits lim;
	exai_tarwalk *w;
	/* Check-only recording: the directories the tree holds so far (explicit or implicit),
	 * so that implicit ones are recorded once, as the writing pass records them. */
	exai_strset dirs; /* a keyed hash set: a list scan per entry was quadratic */
};

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

static exai_status pwrite_all(int fd, const void *blk, size_t n, uint64_t off, const char *path,
			      exai_error *e)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = pwrite(fd, (const char *)blk + done, n - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return exai_error_sys(e, EXAI_EIO, "%s: write", path);
		done += (size_t)w;
	}
	return EXAI_OK;
}

/* Writes the stored blocks at their offsets (the walker checked order and bounds); holes
 * stay holes on disk and hash as the zeros they read back as. */
static exai_status write_data(upd_extract *x, exai_tarwalk *w, const exai_tar_entry *te, int fd,
			      exai_sha256 *h, exai_wb *wb, exai_error *e)
{
	uint64_t hashed = 0;
	exai_status rc;

	for (;;) {
		const void *blk;
		size_t n;
		uint64_t off;
		bool end;
		if ((rc = exai_tarwalk_data(w, &blk, &n, &off, &end, e)))
			return rc;
		if (end)
			break;
		if (x->lim.files) {
			hash_zeros(h, off - hashed);
			exai_sha256_update(h, blk, n);
			hashed = off + n;
		}
		if ((rc = pwrite_all(fd, blk, n, off, te->path, e)))
			return rc;
		if (off == wb->written) /* after a sparse hole: hints stop */
			exai_wb_wrote(wb, n);
	}
	if (x->lim.files)
		hash_zeros(h, te->size - hashed); /* a sparse tail */
	return EXAI_OK;
}

static exai_status write_file(upd_extract *x, exai_tarwalk *w, const exai_tar_entry *te,
			      exai_error *e)
{
	char path[EXAI_TAR_PATH_MAX];
	const char *leaf;
	exai_status rc;
	int dfd, fd;
	uint8_t md[EXAI_SHA256_LEN];
	exai_sha256 h = {0};
	exai_wb wb;

	snprintf(path, sizeof(path), "%s", te->path);
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
	if ((rc = write_data(x, w, te, fd, &h, &wb, e)))
		goto out;
	if (ftruncate(fd, (off_t)te->size) != 0 || fchmod(fd, te->perm) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: set size/mode", path);
		goto out;
	}
	struct timespec ts[2] = {{te->mtime, 0}, {te->mtime, 0}};
	(void)futimens(fd, ts);
	if (x->lim.files) {
		exai_sha256_final(&h, md);
		rc = upd_filelist_add(x->lim.files, path, UPD_F_FILE, te->perm, te->size, md, NULL,
				      e);
	}
out:;
	exai_status frc = exai_wb_finish(&wb, rc ? NULL : e); /* a background fdatasync */
	if (!rc)
		rc = frc;
	exai_sha256_free(&h);
	close(fd);
	return rc;
}

static exai_status make_dir(upd_extract *x, const exai_tar_entry *te, exai_error *e)
{
	char path[EXAI_TAR_PATH_MAX];
	const char *leaf;
	exai_status rc;
	int dfd, fd;

	snprintf(path, sizeof(path), "%s", te->path);
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
	if (fchmod(fd, te->perm | 0700) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "%s: chmod", path);
	else if (x->lim.files)
		rc = upd_filelist_add(x->lim.files, path, UPD_F_DIR, te->perm | 0700, 0, NULL, NULL,
				      e);
	close(fd);
	return rc;
}

static exai_status make_symlink(upd_extract *x, const exai_tar_entry *te, exai_error *e)
{
	char path[EXAI_TAR_PATH_MAX];
	const char *leaf;
	exai_status rc;
	int dfd;

	snprintf(path, sizeof(path), "%s", te->path);
	if ((rc = upd_open_parent_rec(x->rootfd, path, true, x->lim.files, &dfd, &leaf, e)))
		return rc;
	if (exai_fault("stage.write") || symlinkat(te->link, dfd, leaf) != 0)
		rc = errno == EEXIST
			 ? exai_error_set(e, EXAI_EUNSAFE, "%s: refused: entry appears twice", path)
			 : exai_error_sys(e, EXAI_EIO, "%s: symlink", path);
	else if (x->lim.files)
		rc = upd_filelist_add(x->lim.files, path, UPD_F_LINK, 0, strlen(te->link), NULL,
				      te->link, e);
	close(dfd);
	return rc;
}

static exai_status make_hardlink(upd_extract *x, const exai_tar_entry *te, exai_error *e)
{
	char path[EXAI_TAR_PATH_MAX], src[EXAI_TAR_PATH_MAX];
	const char *leaf, *sleaf;
	struct stat st;
	exai_status rc;
	int dfd, sfd;

	snprintf(path, sizeof(path), "%s", te->path);
	snprintf(src, sizeof(src), "%s", te->link);
	if ((rc = upd_open_parent(x->rootfd, src, false, &sfd, &sleaf, e)))
		return exai_error_prefix(e, "%s: hard link source", path);
	if (fstatat(sfd, sleaf, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
		close(sfd);
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: refused: hard link source '%.200s' is not an earlier "
				      "regular file of this archive",
				      path, src);
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
		rc = upd_filelist_add(x->lim.files, path, UPD_F_HARD, 0, 0, NULL, src, e);
	close(sfd);
	close(dfd);
	return rc;
}

/* The walker's callback: @te passed every rule; the disk checks (O_NOFOLLOW, O_EXCL, the
 * source's type) stay as a second line. */
static exai_status one_entry(void *arg, exai_tarwalk *w, const exai_tar_entry *te, exai_error *e)
{
	upd_extract *x = arg;

	switch (te->kind) {
	case EXAI_TAR_FILE:
		return write_file(x, w, te, e);
	case EXAI_TAR_DIR:
		return make_dir(x, te, e);
	case EXAI_TAR_SYMLINK:
		return make_symlink(x, te, e);
	case EXAI_TAR_HARDLINK:
		return make_hardlink(x, te, e);
	default:
		return EXAI_OK;
	}
}

/* ---- check-only recording: the records the writing pass would make, without a disk ---- */

static bool rec_has_dir(const upd_extract *x, const char *path)
{
	return exai_strset_has(&x->dirs, path);
}

static exai_status rec_note_dir(upd_extract *x, const char *path, exai_error *e)
{
	return exai_strset_add(&x->dirs, path, NULL, e);
}

/* The parents of @path the writing pass would create (mode 0755, recorded when made). */
static exai_status rec_parents(upd_extract *x, const char *path, exai_error *e)
{
	char buf[EXAI_TAR_PATH_MAX];
	exai_status rc;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *slash = strchr(buf, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (!rec_has_dir(x, buf) &&
		    ((rc = rec_note_dir(x, buf, e)) ||
		     (rc = upd_filelist_add(x->lim.files, buf, UPD_F_DIR, 0755, 0, NULL, NULL, e))))
			return rc;
		*slash = '/';
	}
	return EXAI_OK;
}

static exai_status rec_file(upd_extract *x, exai_tarwalk *w, const exai_tar_entry *te,
			    exai_error *e)
{
	uint8_t md[EXAI_SHA256_LEN];
	uint64_t hashed = 0;
	exai_sha256 h = {0};
	exai_status rc;

	if ((rc = rec_parents(x, te->path, e)) || (rc = exai_sha256_init(&h, e)))
		return rc;
	for (;;) {
		const void *blk;
		size_t n;
		uint64_t off;
		bool end;
		if ((rc = exai_tarwalk_data(w, &blk, &n, &off, &end, e)))
			goto out;
		if (end)
			break;
		hash_zeros(&h, off - hashed);
		exai_sha256_update(&h, blk, n);
		hashed = off + n;
	}
	hash_zeros(&h, te->size - hashed);
	exai_sha256_final(&h, md);
	rc = upd_filelist_add(x->lim.files, te->path, UPD_F_FILE, te->perm, te->size, md, NULL, e);
out:
	exai_sha256_free(&h);
	return rc;
}

/* The check-only walker's callback when records are wanted: what one_entry would record. */
static exai_status rec_entry(void *arg, exai_tarwalk *w, const exai_tar_entry *te, exai_error *e)
{
	upd_extract *x = arg;
	exai_status rc;

	switch (te->kind) {
	case EXAI_TAR_FILE:
		return rec_file(x, w, te, e);
	case EXAI_TAR_DIR:
		if ((rc = rec_parents(x, te->path, e)) || (rc = rec_note_dir(x, te->path, e)))
			return rc;
		return upd_filelist_add(x->lim.files, te->path, UPD_F_DIR, te->perm | 0700, 0, NULL,
					NULL, e);
	case EXAI_TAR_SYMLINK:
		if ((rc = rec_parents(x, te->path, e)))
			return rc;
		return upd_filelist_add(x->lim.files, te->path, UPD_F_LINK, 0, strlen(te->link),
					NULL, te->link, e);
	case EXAI_TAR_HARDLINK:
		if ((rc = rec_parents(x, te->path, e)))
			return rc;
		return upd_filelist_add(x->lim.files, te->path, UPD_F_HARD, 0, 0, NULL, te->link,
					e);
	default:
		return EXAI_OK;
	}
}

exai_status upd_extract_start(int rootfd, const upd_extract_limits *lim, upd_extract **out,
			      exai_error *e)
{
	upd_extract *x = calloc(1, sizeof(*x));
	exai_tar_limits tl;
	exai_status rc;

	*out = NULL;
	if (!x)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	x->lim = *lim;
	exai_strset_init(&x->dirs, 0); /* bounded by the walk's entry limit */
	tl = (exai_tar_limits){.max_entries = lim->max_entries,
			       .max_bytes = lim->max_bytes,
			       .max_ratio = lim->max_ratio,
			       .flags = lim->flags};
	x->rootfd = -1;
	if (rootfd >= 0 && (x->rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		free(x);
		return exai_error_sys(e, EXAI_EIO, "dup");
	}
	if ((rc = exai_tarwalk_start(&tl,
				     x->rootfd >= 0 ? one_entry
				     : lim->files   ? rec_entry
						    : NULL,
				     x, &x->w, e))) {
		if (x->rootfd >= 0)
			close(x->rootfd);
		free(x);
		return rc;
	}
	*out = x;
	return EXAI_OK;
}

exai_status upd_extract_feed(upd_extract *x, const uint8_t *buf, size_t len, exai_error *e)
{
	return exai_tarwalk_feed(x->w, buf, len, e);
}

static void destroy(upd_extract *x)
{
	if (x->rootfd >= 0)
		close(x->rootfd);
	exai_strset_free(&x->dirs);
	free(x);
}

exai_status upd_extract_finish(upd_extract *x, exai_error *e)
{
	exai_status rc = exai_tarwalk_finish(x->w, e);

	destroy(x);
	return rc;
}

void upd_extract_abort(upd_extract *x)
{
	if (!x)
		return;
	exai_tarwalk_abort(x->w);
	destroy(x);
}
