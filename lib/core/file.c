/*
 * file: bounded reads, O_NOFOLLOW opens, atomic replacement, temp dirs, fault injection.
 *
 * Invariant: a function that fails leaves no temp file behind and never leaves a partially
 * written file under a final name.
 */
#include "exai/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

exai_status exai_read_full(int fd, void *buf, size_t len, const char *what, exai_error *e)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (exai_fault("read")) {
			errno = EIO;
			n = -1;
		} else {
			n = read(fd, p + done, len - done);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return exai_error_sys(e, EXAI_EIO, "%s: read at offset %zu", what, done);
		}
		if (n == 0)
			return exai_error_set(e, EXAI_ESHORT,
					      "%s: short read: ended after %zu of %zu bytes", what,
					      done, len);
		done += (size_t)n;
	}
	return EXAI_OK;
}

exai_status exai_write_full(int fd, const void *buf, size_t len, const char *what, exai_error *e)
{
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		ssize_t n;

		if (exai_fault("write")) {
			errno = ENOSPC;
			n = -1;
		} else {
			n = write(fd, p + done, len - done);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return exai_error_sys(e, EXAI_EIO, "%s: write", what);
		}
		if (n == 0) {
			errno = ENOSPC;
			return exai_error_sys(e, EXAI_EIO, "%s: write", what);
		}
		done += (size_t)n;
	}
	return EXAI_OK;
}

static const char *kind_of(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device node";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

exai_status exai_file_open_regular(const char *path, int flags, mode_t mode, int *fd_out,
				   exai_error *e)
{
	struct stat st;
	int fd;

	*fd_out = -1;
	/* O_NONBLOCK so that opening a FIFO does not hang before we can refuse it. */
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", path);
	if (fstat(fd, &st) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: stat", path);
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refused: %s", path,
				      kind_of(st.st_mode));
	}
	if (fcntl(fd, F_SETFL, flags & O_APPEND) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: fcntl", path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return EXAI_OK;
}

exai_status exai_file_read_bounded(const char *path, size_t max, uint8_t **buf_out, size_t *len_out,
				   exai_error *e)
{
	struct stat st;
	uint8_t *buf = NULL;
	exai_status rc;
	int fd = -1;
	ssize_t extra;
	uint8_t probe;

	*buf_out = NULL;
	*len_out = 0;
	rc = exai_file_open_regular(path, O_RDONLY, 0, &fd, e);
	if (rc)
		return rc;
	if (fstat(fd, &st) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: stat", path);
		goto out_close;
	}
	if ((uint64_t)st.st_size > max) {
		rc = exai_error_set(e, EXAI_ETOOBIG, "%s: %lld bytes, over the limit of %zu", path,
				    (long long)st.st_size, max);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
		goto out_close;
	}
	rc = exai_read_full(fd, buf, (size_t)st.st_size, path, e);
	if (rc)
		goto out_free;
	/* The file may have grown since fstat: refuse rather than silently truncate. */
	do {
		extra = read(fd, &probe, 1);
	} while (extra < 0 && errno == EINTR);
	if (extra != 0) {
		rc = extra < 0
			 ? exai_error_sys(e, EXAI_EIO, "%s: read", path)
			 : exai_error_set(e, EXAI_EIO, "%s: file changed while being read", path);
		goto out_free;
	}
	buf[st.st_size] = '\0';
	*buf_out = buf;
	*len_out = (size_t)st.st_size;
	buf = NULL;
out_free:
	free(buf);
out_close:
	close(fd);
	return rc;
}

exai_status exai_fsync_dir(const char *dir, exai_error *e)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open directory", dir);
	if (exai_fault("fsyncdir") || fsync(fd) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: fsync directory", dir);
		close(fd);
		return rc;
	}
	close(fd);
	return EXAI_OK;
}

exai_status exai_fsync_dir_of(const char *path, exai_error *e)
{
	char *copy = strdup(path);
	exai_status rc;

	if (!copy)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = exai_fsync_dir(dirname(copy), e);
	free(copy);
	return rc;
}

/* An existing character device or FIFO (/dev/null, /dev/stdout, a pipe) is written in place:
 * renaming a temp file over it would replace the device node with a regular file. Anything
 * else that is not a regular file (a directory, a socket, a block device) is refused. */
static exai_status open_special(exai_afile *af, const char *path, bool *special, exai_error *e)
{
	struct stat st;

	*special = false;
	if (lstat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
		return EXAI_OK;
	if (!S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode))
		return exai_error_set(e, EXAI_EUNSAFE, "%s: refusing to replace %s", path,
				      kind_of(st.st_mode));
	*special = true;
	af->fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (af->fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", path);
	if (!(af->path = strdup(path))) {
		exai_afile_abort(af);
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
	}
	return EXAI_OK;
}

exai_status exai_afile_open(exai_afile *af, const char *path, mode_t mode, exai_error *e)
{
	size_t n = strlen(path);
	bool special;
	exai_status rc;

	af->fd = -1;
	af->path = NULL;
	af->tmp = NULL;
	if ((rc = open_special(af, path, &special, e)) || special)
		return rc;
	af->path = strdup(path);
	af->tmp = malloc(n + sizeof(".tmp.XXXXXX"));
	if (!af->path || !af->tmp) {
		exai_afile_abort(af);
		return exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
	}
	memcpy(af->tmp, path, n);
	memcpy(af->tmp + n, ".tmp.XXXXXX", sizeof(".tmp.XXXXXX"));
	af->fd = mkostemp(af->tmp, O_CLOEXEC);
	if (af->fd < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: create temp file", path);
		free(af->tmp);
		af->tmp = NULL;
		exai_afile_abort(af);
		return rc;
	}
	if (fchmod(af->fd, mode) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: chmod", af->path);
		exai_afile_abort(af);
		return rc;
	}
	return EXAI_OK;
}

exai_status exai_afile_write(exai_afile *af, const void *buf, size_t len, exai_error *e)
{
	exai_status rc = exai_write_full(af->fd, buf, len, af->path, e);

	if (rc)
		exai_afile_abort(af);
	return rc;
}

exai_status exai_afile_commit(exai_afile *af, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (!af->tmp) { /* a device or FIFO written in place */
		if (close(af->fd) != 0)
			rc = exai_error_sys(e, EXAI_EIO, "%s: close", af->path);
		af->fd = -1;
		exai_afile_abort(af);
		return rc;
	}

	if (exai_fault("fsync") || fsync(af->fd) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: fsync", af->path);
		goto fail;
	}
	if (close(af->fd) != 0) {
		af->fd = -1;
		rc = exai_error_sys(e, EXAI_EIO, "%s: close", af->path);
		goto fail;
	}
	af->fd = -1;
	if (exai_fault("rename") || rename(af->tmp, af->path) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: rename into place", af->path);
		goto fail;
	}
	free(af->tmp);
	af->tmp = NULL;
	rc = exai_fsync_dir_of(af->path, e);
	exai_afile_abort(af);
	return rc;
fail:
	exai_afile_abort(af);
	return rc;
}

void exai_afile_abort(exai_afile *af)
{
	if (!af)
		return;
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp)
		unlink(af->tmp);
	free(af->tmp);
	free(af->path);
	af->tmp = NULL;
	af->path = NULL;
}

exai_status exai_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
				   exai_error *e)
{
	exai_afile af;
	exai_status rc;

	rc = exai_afile_open(&af, path, mode, e);
	if (rc)
		return rc;
	rc = exai_afile_write(&af, buf, len, e);
	if (rc)
		return rc;
	return exai_afile_commit(&af, e);
}

exai_status exai_write_new_file(const char *path, const char *text, mode_t mode, exai_error *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	exai_status rc;

	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: create", path);
	rc = exai_write_full(fd, text, strlen(text), path, e);
	if (!rc && fsync(fd) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "%s: fsync", path);
	close(fd);
	if (rc)
		unlink(path);
	return rc;
}

exai_status exai_tempdir_create(const char *base, const char *prefix, char **out, exai_error *e)
{
	char *tmpl;
	size_t n;

	*out = NULL;
	if (!base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	n = strlen(base) + strlen(prefix) + sizeof("/XXXXXX");
	tmpl = malloc(n);
	if (!tmpl)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	snprintf(tmpl, n, "%s/%sXXXXXX", base, prefix);
	if (!mkdtemp(tmpl)) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "%s: create temp dir", tmpl);
		free(tmpl);
		return rc;
	}
	*out = tmpl;
	return EXAI_OK;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) != 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) != 0 && errno != ENOENT ? -1 : 0;
}

exai_status exai_tree_remove(const char *path, exai_error *e)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? EXAI_OK : exai_error_sys(e, EXAI_EIO, "%s: stat", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: remove", path);
		return EXAI_OK;
	}
	if (nftw(path, remove_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: remove tree", path);
	return EXAI_OK;
}

exai_status exai_mkdir_p(const char *path, mode_t mode, exai_error *e)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return exai_error_set(e, EXAI_EINVAL, "mkdir: bad path length");
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return exai_error_sys(e, EXAI_EIO, "%s: mkdir", buf);
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return exai_error_sys(e, EXAI_EIO, "%s: mkdir", buf);
	return EXAI_OK;
}

char *exai_path_join(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	bool slash = na > 0 && a[na - 1] != '/';
	char *out = malloc(na + nb + 2);

	if (!out)
		return NULL;
	memcpy(out, a, na);
	if (slash)
		out[na++] = '/';
	memcpy(out + na, b, nb + 1);
	return out;
}

/* ---- fault injection ---- */

#ifdef EXAI_TESTING
static struct {
	char point[64];
	long nth;
	long seen;
	int crash;
	int stop;
	const char *log;
} fault;
static pthread_once_t fault_once = PTHREAD_ONCE_INIT;

static void fault_init(void)
{
	const char *spec = getenv("EXAI_FAULT");
	fault.log = getenv("EXAI_FAULT_LOG");
	if (!spec || !*spec)
		return;
	const char *c1 = strchr(spec, ':');
	size_t n = c1 ? (size_t)(c1 - spec) : strlen(spec);
	if (n >= sizeof(fault.point))
		return;
	memcpy(fault.point, spec, n);
	fault.point[n] = '\0';
	fault.nth = 1;
	if (c1) {
		char *end;
		long v = strtol(c1 + 1, &end, 10);
		if (end != c1 + 1)
			fault.nth = v;
		if (*end == ':')
			end++;
		fault.crash = strcmp(end, "crash") == 0;
		fault.stop = strcmp(end, "stop") == 0;
	}
}

bool exai_fault(const char *point)
{
	pthread_once(&fault_once, fault_init);
	if (fault.log) {
		FILE *f = fopen(fault.log, "ae");
		if (f) {
			fprintf(f, "%s\n", point);
			fclose(f);
		}
	}
	if (!fault.point[0] || strcmp(point, fault.point) != 0)
		return false;
	if (__atomic_add_fetch(&fault.seen, 1, __ATOMIC_SEQ_CST) != fault.nth)
		return false;
	if (fault.crash)
		_exit(86);
	if (fault.stop) {
		/* Lets a test change the world at this exact point, then SIGCONT. */
		raise(SIGSTOP);
		return false;
	}
	errno = EIO;
	return true;
}
#endif /* EXAI_TESTING */

/*
 * A secret key file that others may read or write is refused, as ssh refuses an unprotected
 * private key: when the file belongs to the user running us and its mode has any group or
 * other bit (mode & 077). A file of another owner is that owner's business (ssh does the
 * same). Checked once the file has parsed as a secret key (a public key given instead is
 * named as such), before the key is used; the bytes read are wiped either way.
 */
exai_status exai_file_secret_mode_ok(const char *path, exai_error *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return EXAI_OK; /* the read that follows reports it */
	if (st.st_uid == geteuid() && (st.st_mode & 077))
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: secret key file is accessible by others (mode %04o): a "
				      "secret key must be readable by its owner only; run 'chmod "
				      "600 %s'",
				      path, (unsigned)(st.st_mode & 07777), path);
	return EXAI_OK;
}

bool exai_abspath_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || s[0] != '/' || n > EXAI_ABSPATH_MAX)
		return false;
	for (const char *p = s; (p = strstr(p, "..")); p += 2) /* ".." as a whole segment */
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return false;
	return true;
}
