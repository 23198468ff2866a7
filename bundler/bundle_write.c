/*
 * bundle_write: crash-safe creation of bundle directories and .exb files. Error messages name the
 * path the user gave (--out), never the temporary name it is written under; only the warning
 * about a temporary output that could not be removed names that (it is what to remove).
 */
#include "bundle_write.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/progress.h"
#include "exai/wb.h"

#define MAX_BLOBS 80

static volatile sig_atomic_t caught_signal;

static void on_signal(int sig)
{
	caught_signal = sig;
}

void exb_output_catch_signals(void)
{
	struct sigaction sa;
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second signal: the default action */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* An ignored signal stays ignored (nohup, a background job of a script). */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		(void)sigaction(sigs[i], &sa, NULL);
	}
}

int exb_output_signal(void)
{
	return caught_signal;
}

static exai_status interrupted(exai_error *e)
{
	return exai_error_set(e, EXAI_EIO, "interrupted by %s",
			      caught_signal == SIGINT	 ? "SIGINT"
			      : caught_signal == SIGTERM ? "SIGTERM"
							 : "SIGHUP");
}

struct exb_output {
	bool exb;
	char *path, *tmp;
	int fd;	   /* .exb file, or payload file of a directory */
	int dirfd; /* temp directory (directory form) */
	struct archive *a;
	uint64_t pos; /* bytes written to the .exb so far */
	exai_wb wb;   /* streaming writeback of fd (exai/wb.h) */
	exai_status cb_rc;
	exai_error *cb_e;
	size_t n;
	char names[MAX_BLOBS][32];
	uint64_t offs[MAX_BLOBS], lens[MAX_BLOBS];
};

static la_ssize_t exb_cb(struct archive *a, void *client, const void *buf, size_t len)
{
	exb_output *o = client;

	(void)a;
	if (o->cb_rc)
		return -1;
	if ((o->cb_rc = exai_write_full(o->fd, buf, len, o->path, o->cb_e)))
		return -1;
	o->pos += len;
	exai_wb_wrote(&o->wb, len);
	return (la_ssize_t)len;
}

static exai_status tar_entry(exb_output *o, const char *name, uint64_t len, uint64_t mtime,
			     exai_error *e)
{
	struct archive_entry *ent = archive_entry_new();
	int r;

	if (!ent)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)len);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	archive_entry_set_uid(ent, 0);
	archive_entry_set_gid(ent, 0);
	o->cb_e = e;
	r = archive_write_header(o->a, ent);
	archive_entry_free(ent);
	if (r != ARCHIVE_OK)
		return o->cb_rc ? o->cb_rc
				: exai_error_set(e, EXAI_EIO, "%s: %s", o->path,
						 archive_error_string(o->a));
	return EXAI_OK;
}

static exai_status tar_data(exb_output *o, const void *buf, size_t len, exai_error *e)
{
	o->cb_e = e;
	while (len) {
		la_ssize_t n = archive_write_data(o->a, buf, len);
		if (n <= 0)
			return o->cb_rc ? o->cb_rc
					: exai_error_set(e, EXAI_EIO, "%s: %s", o->path,
							 archive_error_string(o->a));
		buf = (const uint8_t *)buf + n;
		len -= (size_t)n;
	}
	return EXAI_OK;
}

static exai_status write_zeros(exb_output *o, uint64_t len, exai_error *e)
{
	static const uint8_t zeros[65536];
	exai_status rc = EXAI_OK;

	while (len && !rc) {
		size_t n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		rc = tar_data(o, zeros, n, e);
		len -= n;
	}
	return rc;
}

static exai_status make_tmp(exb_output *o, const char *path, exai_error *e)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return exai_error_set(e, EXAI_EEXIST, "%s: already exists (refusing to replace it)",
				      path);
	o->path = strdup(path);
	if (!o->path || asprintf(&o->tmp, "%s.tmp.XXXXXX", path) < 0) {
		o->tmp = NULL;
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	if (o->exb) {
		o->fd = mkostemp(o->tmp, O_CLOEXEC);
		if (o->fd < 0)
			return exai_error_sys(e, EXAI_EIO, "%s: create", o->path);
		if (fchmod(o->fd, 0644) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: chmod", o->path);
		if (flock(o->fd, LOCK_EX | LOCK_NB) != 0) /* "in use" for exb_output_warn_stale */
			return exai_error_sys(e, EXAI_EIO, "%s: lock", o->path);
		exai_wb_init(&o->wb, o->fd, 0, o->path);
		return EXAI_OK;
	}
	if (!mkdtemp(o->tmp))
		return exai_error_sys(e, EXAI_EIO, "%s: create", o->path);
	if (chmod(o->tmp, 0755) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", o->path);
	o->dirfd = open(o->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", o->path);
	if (flock(o->dirfd, LOCK_EX | LOCK_NB) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: lock", o->path);
	o->fd = openat(o->dirfd, "payload", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s/payload: create", o->path);
	exai_wb_init(&o->wb, o->fd, 0, o->path);
	return EXAI_OK;
}

exai_status exb_output_begin(const char *path, bool exb, const exb_blob *blobs, size_t n_blobs,
			     uint64_t payload_len, uint64_t mtime, exb_output **out, exai_error *e)
{
	exb_output *o = calloc(1, sizeof(*o));
	exai_status rc;

	*out = NULL;
	if (!o)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	o->fd = o->dirfd = -1;
	o->exb = exb;
	if (n_blobs > MAX_BLOBS) {
		free(o);
		return exai_error_set(e, EXAI_EINTERNAL, "too many entries");
	}
	if ((rc = make_tmp(o, path, e)))
		goto fail;
	for (size_t i = 0; i < n_blobs; i++) {
		snprintf(o->names[i], sizeof(o->names[i]), "%s", blobs[i].name);
		o->lens[i] = blobs[i].len;
	}
	o->n = n_blobs;
	if (!exb) {
		*out = o;
		return EXAI_OK;
	}
	o->a = archive_write_new();
	if (!o->a || archive_write_set_format_pax_restricted(o->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o->a, 0) != ARCHIVE_OK ||
	    archive_write_open2(o->a, o, NULL, exb_cb, NULL, NULL) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EINTERNAL, "cannot start the archive writer");
		goto fail;
	}
	for (size_t i = 0; i < n_blobs; i++) {
		if ((rc = tar_entry(o, blobs[i].name, blobs[i].len, mtime, e)))
			goto fail;
		o->offs[i] = o->pos;
		rc = blobs[i].data ? tar_data(o, blobs[i].data, blobs[i].len, e)
				   : write_zeros(o, blobs[i].len, e);
		if (rc)
			goto fail;
	}
	if ((rc = tar_entry(o, "payload", payload_len, mtime, e)))
		goto fail;
	*out = o;
	return EXAI_OK;
fail:
	exb_output_abort(o);
	return rc;
}

exai_status exb_output_payload(exb_output *o, const void *buf, size_t len, exai_error *e)
{
	(void)exai_fault("create.chunk"); /* tests: "stop" here to send a signal mid-payload */
	if (caught_signal)
		return interrupted(e);
	if (o->exb)
		return tar_data(o, buf, len, e);
	exai_status rc = exai_write_full(o->fd, buf, len, o->path, e);
	if (!rc)
		exai_wb_wrote(&o->wb, len);
	return rc;
}

static exai_status write_dir_file(exb_output *o, const char *name, const uint8_t *data,
				  uint64_t len, exai_error *e)
{
	const char *slash = strchr(name, '/');
	exai_status rc;
	int fd;

	if (slash) {
		char sub[16];
		snprintf(sub, sizeof(sub), "%.*s", (int)(slash - name), name);
		if (mkdirat(o->dirfd, sub, 0755) != 0 && errno != EEXIST)
			return exai_error_sys(e, EXAI_EIO, "%s/%s: mkdir", o->path, sub);
	}
	fd = openat(o->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s/%s: create", o->path, name);
	rc = exai_write_full(fd, data, (size_t)len, name, e);
	if (!rc && fsync(fd) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "%s/%s: fsync", o->path, name);
	close(fd);
	return rc;
}

static const exb_blob *find_fill(const exb_blob *fill, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(fill[i].name, name))
			return &fill[i];
	return NULL;
}

exai_status exb_output_finish(exb_output *o, const exb_blob *fill, size_t n_fill, exai_error *e)
{
	exai_status rc = EXAI_OK;

	if (o->exb) {
		o->cb_e = e;
		if (archive_write_close(o->a) != ARCHIVE_OK) {
			rc = o->cb_rc ? o->cb_rc
				      : exai_error_set(e, EXAI_EIO, "%s: %s", o->path,
						       archive_error_string(o->a));
			goto fail;
		}
		for (size_t i = 0; i < o->n; i++) {
			const exb_blob *f = find_fill(fill, n_fill, o->names[i]);
			if (!f)
				continue;
			if (f->len != o->lens[i]) {
				rc = exai_error_set(e, EXAI_EINTERNAL, "%s: length changed",
						    f->name);
				goto fail;
			}
			if (pwrite(o->fd, f->data, (size_t)f->len, (off_t)o->offs[i]) !=
			    (ssize_t)f->len) {
				rc = exai_error_sys(e, EXAI_EIO, "%s: write %s", o->path, f->name);
				goto fail;
			}
		}
	} else {
		for (size_t i = 0; i < n_fill; i++)
			if ((rc = write_dir_file(o, fill[i].name, fill[i].data, fill[i].len, e)))
				goto fail;
	}
	if ((rc = exai_wb_finish(&o->wb, e)))
		goto fail;
	if (exai_fault("create.fsync") || fsync(o->fd) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: fsync", o->path);
		goto fail;
	}
	if (!o->exb && (fsync(o->dirfd) != 0 || (rc = exai_fsync_dir_of(o->tmp, e)))) {
		rc = rc ? rc : exai_error_sys(e, EXAI_EIO, "%s: fsync", o->path);
		goto fail;
	}
	if (caught_signal) { /* the last point at which an interrupt undoes the create */
		rc = interrupted(e);
		goto fail;
	}
	if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: rename into place", o->path);
		goto fail;
	}
	free(o->tmp);
	o->tmp = NULL;
	rc = exai_fsync_dir_of(o->path, e);
fail:
	(void)exb_output_abort(o);
	return rc;
}

bool exb_output_abort(exb_output *o)
{
	exai_error ignore;
	bool clean = true;

	if (!o)
		return true;
	(void)exai_wb_finish(&o->wb, NULL);
	if (o->a)
		archive_write_free(o->a);
	if (o->fd >= 0)
		close(o->fd);
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->tmp && exai_tree_remove(o->tmp, &ignore) != EXAI_OK) {
		fprintf(stderr, "warning: could not remove %s: %s\n", o->tmp, ignore.msg);
		clean = false;
	}
	free(o->tmp);
	free(o->path);
	free(o);
	return clean;
}

/* ---- temporary outputs left by earlier runs ---- */

/* "<prefix>.tmp.XXXXXX" as mkstemp/mkdtemp make it; a file needs a prefix ending in .exb. */
static bool stale_name(const char *name, bool dir)
{
	size_t n = strlen(name);

	if (n < 11 || memcmp(name + n - 11, ".tmp.", 5) != 0)
		return false;
	for (size_t i = n - 6; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return false;
	return dir || (n > 15 && !memcmp(name + n - 15, ".exb", 4));
}

/* Prints @s in single quotes for a shell. */
static void put_quoted(const char *s)
{
	fputc('\'', stderr);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", stderr);
		else
			fputc(*s, stderr);
	fputc('\'', stderr);
}

/* The entry @name in @dfd if it is one of ours that nobody holds: its size in *@size. */
static bool stale_entry(int dfd, const char *name, off_t *size, time_t *mtime)
{
	struct stat st;
	bool stale = false;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) || !stale_name(name, S_ISDIR(st.st_mode)))
		return false;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	*size = st.st_size;
	*mtime = st.st_mtime;
	if (S_ISDIR(st.st_mode)) { /* a bundle directory being written has its payload first */
		struct stat ps;
		if (fstatat(fd, "payload", &ps, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(ps.st_mode))
			goto out;
		*size = ps.st_size;
	}
	stale = flock(fd, LOCK_SH | LOCK_NB) == 0; /* a running create holds LOCK_EX */
out:
	close(fd);
	return stale;
}

unsigned exb_output_warn_stale(const char *path)
{
	char *copy = strdup(path), *dir;
	unsigned count = 0;
	DIR *d = NULL;
	struct dirent *de;

	if (!copy)
		return 0;
	dir = dirname(copy);
	if (!(d = opendir(dir)))
		goto out;
	while ((de = readdir(d))) {
		off_t size = 0;
		time_t mt = 0;
		char sz[32], when[32];
		struct tm tm;

		if (!stale_entry(dirfd(d), de->d_name, &size, &mt))
			continue;
		exai_format_bytes(sz, sizeof(sz), (double)size);
		gmtime_r(&mt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		char *full =
		    strcmp(dir, ".") ? exai_path_join(dir, de->d_name) : strdup(de->d_name);
		if (!full)
			break;
		fprintf(stderr,
			"exai-bundle create: warning: %s is left over from an interrupted create "
			"(%s, last written %s); it is not removed automatically: remove it with "
			"rm -rf -- ",
			full, sz, when);
		put_quoted(full);
		fputc('\n', stderr);
		free(full);
		count++;
	}
out:
	if (d)
		closedir(d);
	free(copy);
	return count;
}

/* ---- appending a signature to an .exb ---- */

typedef struct mem_sink {
	uint8_t *buf;
	size_t len, cap;
} mem_sink;

static la_ssize_t mem_cb(struct archive *a, void *client, const void *buf, size_t len)
{
	mem_sink *m = client;

	(void)a;
	if (EXAI_GROW(&m->buf, &m->cap, m->len, len, EXAI_GROW_NOCAP, NULL))
		return -1;
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return (la_ssize_t)len;
}

/* The tar bytes of entries @names/@datas followed by an end-of-archive marker. */
static exai_status tar_tail(char (*names)[48], uint8_t **datas, const size_t *lens, size_t n,
			    uint64_t mtime, mem_sink *m, exai_error *e)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	exai_status rc = EXAI_OK;

	if (!a || !ent) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open2(a, m, NULL, mem_cb, NULL, NULL) != ARCHIVE_OK)
		goto tar_err;
	for (size_t i = 0; i < n; i++) {
		archive_entry_clear(ent);
		archive_entry_set_pathname(ent, names[i]);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_size(ent, (la_int64_t)lens[i]);
		archive_entry_set_mtime(ent, (time_t)mtime, 0);
		if (archive_write_header(a, ent) != ARCHIVE_OK ||
		    archive_write_data(a, datas[i], lens[i]) != (la_ssize_t)lens[i])
			goto tar_err;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto tar_err;
	goto out;
tar_err:
	rc = exai_error_set(e, EXAI_EIO, "tar: %s", archive_error_string(a));
out:
	archive_entry_free(ent);
	archive_write_free(a);
	return rc;
}

static bool block_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

/* The offset of the end-of-archive marker of the .exb open as @fd, as a tar reader finds it:
 * right after the last entry's (padded) data. A crash between the two steps of an append
 * leaves bytes after that first zero block; readers stop at it, and so does this. */
static exai_status exb_end_marker(int fd, const char *path, off_t *end, exai_error *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	int64_t last = -1, size = 0;
	uint8_t blk[512];
	struct stat st;
	off_t o;
	exai_status rc = EXAI_OK;
	int r;

	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK)
		goto bad;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		last = archive_read_header_position(a);
		size = archive_entry_size(ent);
		if (archive_read_data_skip(a) != ARCHIVE_OK)
			goto bad;
	}
	if (r != ARCHIVE_EOF || last < 0 || size < 0 || fstat(fd, &st) != 0)
		goto bad;
	/* From the last entry's first header block: pax extended headers ('x'), then its own
	 * header block, then its data padded to 512. */
	for (o = (off_t)last;;) {
		uint64_t xs = 0;
		if (pread(fd, blk, 512, o) != 512)
			goto bad;
		if (blk[156] != 'x')
			break;
		for (int k = 124; k < 135 && blk[k] >= '0' && blk[k] <= '7'; k++)
			xs = xs * 8 + (uint64_t)(blk[k] - '0');
		o += 512 + (off_t)((xs + 511) / 512 * 512);
	}
	o += 512 + (off_t)(((uint64_t)size + 511) / 512 * 512);
	if (o + 1024 > st.st_size || pread(fd, blk, 512, o) != 512 || !block_is_zero(blk))
		goto bad;
	*end = o;
	goto out;
bad:
	rc = exai_error_set(e, EXAI_EFORMAT,
			    "%s: does not end with a tar end marker as exai-bundle writes it (was "
			    "it re-packed by another tool? sign the directory form instead)",
			    path);
out:
	archive_read_free(a);
	return rc;
}

#define MAX_TAIL_SIGS 160

typedef struct sig_tail {
	off_t start; /* offset of the first entry after payload (or the end marker) */
	size_t n;
	char names[MAX_TAIL_SIGS][48];
	uint8_t *datas[MAX_TAIL_SIGS];
	size_t lens[MAX_TAIL_SIGS];
} sig_tail;

static void sig_tail_free(sig_tail *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->datas[i]);
}

/* Reads the entries after payload of the .exb open as @fd (signatures, as bundle_open
 * enforces). A @drop entry before payload is refused. */
static exai_status read_sig_tail(int fd, const char *path, const char *drop, off_t end, sig_tail *t,
				 exai_error *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	bool after = false;
	exai_status rc = EXAI_OK;
	int r;

	t->start = -1;
	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: %s", path, archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		la_int64_t size = archive_entry_size(ent);
		if (!name || size < 0 || size > 16384) {
			if (after) {
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "%s: an entry after payload is not a signature",
						    path);
				goto out;
			}
			if (archive_read_data_skip(a) != ARCHIVE_OK)
				break;
			continue;
		}
		if (!after) {
			if (drop && !strcmp(name, drop)) {
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "%s: %s is stored before payload, not where "
						    "exai-bundle appends signatures: refusing to "
						    "rewrite it",
						    path, name);
				goto out;
			}
			after = !strcmp(name, "payload");
			if (archive_read_data_skip(a) != ARCHIVE_OK)
				break;
			continue;
		}
		if (t->start < 0)
			t->start = (off_t)archive_read_header_position(a);
		if (strncmp(name, "sig/", 4) || strlen(name) >= sizeof(t->names[0]) ||
		    t->n == MAX_TAIL_SIGS) {
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s: entry '%.64s' after payload is not a signature",
					    path, name);
			goto out;
		}
		if (!(t->datas[t->n] = malloc((size_t)size + 1))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(t->names[t->n], sizeof(t->names[0]), "%s", name);
		t->lens[t->n] = (size_t)size;
		t->n++;
		if (archive_read_data(a, t->datas[t->n - 1], (size_t)size) != size) {
			rc = exai_error_set(e, EXAI_EFORMAT, "%s: %s: short read", path, name);
			goto out;
		}
	}
	if (r != ARCHIVE_EOF || !after) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: %s", path,
				    after ? archive_error_string(a) : "no payload entry");
		goto out;
	}
	if (t->start < 0)
		t->start = end;
out:
	archive_read_free(a);
	return rc;
}

/* Copies @len bytes from the start of @in to @out (in the kernel where it can). */
static exai_status copy_prefix(int in, int out, off_t len, const char *path, exai_error *e)
{
	loff_t ioff = 0, ooff = 0;

	while (ioff < len) {
		ssize_t n = copy_file_range(in, &ioff, out, &ooff, (size_t)(len - ioff), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 &&
		    (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) {
			uint8_t buf[1 << 16];
			for (;;) { /* plain copy from where the kernel copy stopped */
				size_t want = len - ioff < (off_t)sizeof(buf) ? (size_t)(len - ioff)
									      : sizeof(buf);
				ssize_t got;
				if (want == 0)
					return EXAI_OK;
				got = pread(in, buf, want, ioff);
				if (got <= 0)
					return exai_error_sys(e, EXAI_EIO, "%s: read", path);
				if (pwrite(out, buf, (size_t)got, ooff) != got)
					return exai_error_sys(e, EXAI_EIO, "%s: write copy", path);
				ioff += got;
				ooff += got;
			}
		}
		if (n <= 0)
			return n < 0
				   ? exai_error_sys(e, EXAI_EIO, "%s: copy", path)
				   : exai_error_set(e, EXAI_ESHORT, "%s: ended while copied", path);
	}
	return EXAI_OK;
}

exai_status exb_exb_rewrite_sigs(const char *path, const char *drop, const char *add_name,
				 const uint8_t *add, size_t add_len, uint64_t mtime,
				 unsigned *dropped, exai_error *e)
{
	sig_tail *t = calloc(1, sizeof(*t));
	mem_sink m = {0};
	exai_afile af = {.fd = -1};
	off_t end = 0;
	int fd = -1;
	size_t keep = 0;
	exai_status rc;

	*dropped = 0;
	if (!t)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = exai_file_open_regular(path, O_RDONLY, 0, &fd, e)) ||
	    (rc = exb_end_marker(fd, path, &end, e)) ||
	    (rc = read_sig_tail(fd, path, drop, end, t, e)))
		goto out;
	for (size_t i = 0; i < t->n; i++) {
		if (drop && !strcmp(t->names[i], drop)) {
			free(t->datas[i]);
			(*dropped)++;
			continue;
		}
		memcpy(t->names[keep], t->names[i], sizeof(t->names[0]));
		t->datas[keep] = t->datas[i];
		t->lens[keep++] = t->lens[i];
	}
	t->n = keep;
	if (add_name) {
		if (t->n == MAX_TAIL_SIGS || strlen(add_name) >= sizeof(t->names[0]) ||
		    !(t->datas[t->n] = malloc(add_len ? add_len : 1))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory or too many signatures");
			goto out;
		}
		snprintf(t->names[t->n], sizeof(t->names[0]), "%s", add_name);
		memcpy(t->datas[t->n], add, add_len);
		t->lens[t->n++] = add_len;
	}
	if ((rc = tar_tail(t->names, t->datas, t->lens, t->n, mtime, &m, e)) ||
	    (rc = exai_afile_open(&af, path, 0644, e)) ||
	    (rc = copy_prefix(fd, af.fd, t->start, path, e)) ||
	    (lseek(af.fd, t->start, SEEK_SET) != t->start &&
	     (rc = exai_error_sys(e, EXAI_EIO, "%s: seek", af.tmp))) ||
	    (rc = exai_afile_write(&af, m.buf, m.len, e)))
		goto out;
	rc = exai_afile_commit(&af, e);
out:
	if (rc)
		exai_afile_abort(&af);
	if (fd >= 0)
		close(fd);
	sig_tail_free(t);
	free(t);
	free(m.buf);
	return rc;
}

exai_status exb_exb_append(const char *path, const char *name, const uint8_t *data, size_t len,
			   uint64_t mtime, exai_error *e)
{
	static const uint8_t zero[1024];
	char names[1][48];
	uint8_t *datas[1] = {(uint8_t *)data};
	mem_sink m = {0};
	off_t x = 0;
	exai_status rc = EXAI_OK;
	int fd = -1;

	snprintf(names[0], sizeof(names[0]), "%s", name);
	/* The entry plus a new end-of-archive marker, built in memory. */
	if ((rc = tar_tail(names, datas, &len, 1, mtime, &m, e)))
		goto out;
	if ((rc = exai_file_open_regular(path, O_RDWR, 0, &fd, e)) ||
	    (rc = exb_end_marker(fd, path, &x, e)))
		goto out;
	/* Step 1: all but the first header block, past the old marker's first (zero) block
	 * (and nothing after: left-overs of an interrupted append go). */
	if (m.len < 1024 + 512 || exai_fault("sign.append") ||
	    pwrite(fd, m.buf + 512, m.len - 512, x + 512) != (ssize_t)(m.len - 512) ||
	    ftruncate(fd, x + (off_t)m.len) != 0 || fsync(fd) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: append signature", path);
		goto restore;
	}
	/* Step 2: the header block that makes the entry visible. */
	if (exai_fault("sign.header") || pwrite(fd, m.buf, 512, x) != 512 || fsync(fd) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: append signature", path);
		goto restore;
	}
	goto out;
restore:
	/* Put the old end marker back so the bundle reads (and hashes) as before. */
	if (ftruncate(fd, x + 1024) == 0)
		(void)!pwrite(fd, zero, sizeof(zero), x);
	(void)fsync(fd);
out:
	if (fd >= 0)
		close(fd);
	free(m.buf);
	return rc;
}
