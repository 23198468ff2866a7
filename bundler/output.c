/*
 * output: crash-safe creation of bundle directories and .exb files.
 */
#include "output.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/wb.h"

#define MAX_BLOBS 80

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
	if ((o->cb_rc = exai_write_full(o->fd, buf, len, o->tmp, o->cb_e)))
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
				: exai_error_set(e, EXAI_EIO, "%s: %s", o->tmp,
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
					: exai_error_set(e, EXAI_EIO, "%s: %s", o->tmp,
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
			return exai_error_sys(e, EXAI_EIO, "%s: create", o->tmp);
		if (fchmod(o->fd, 0644) != 0)
			return exai_error_sys(e, EXAI_EIO, "%s: chmod", o->tmp);
		exai_wb_init(&o->wb, o->fd, 0, o->tmp);
		return EXAI_OK;
	}
	if (!mkdtemp(o->tmp))
		return exai_error_sys(e, EXAI_EIO, "%s: create", o->tmp);
	if (chmod(o->tmp, 0755) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", o->tmp);
	o->dirfd = open(o->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", o->tmp);
	o->fd = openat(o->dirfd, "payload", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s/payload: create", o->tmp);
	exai_wb_init(&o->wb, o->fd, 0, o->tmp);
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
	if (o->exb)
		return tar_data(o, buf, len, e);
	exai_status rc = exai_write_full(o->fd, buf, len, "payload", e);
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
			return exai_error_sys(e, EXAI_EIO, "%s/%s: mkdir", o->tmp, sub);
	}
	fd = openat(o->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s/%s: create", o->tmp, name);
	rc = exai_write_full(fd, data, (size_t)len, name, e);
	if (!rc && fsync(fd) != 0)
		rc = exai_error_sys(e, EXAI_EIO, "%s/%s: fsync", o->tmp, name);
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
				      : exai_error_set(e, EXAI_EIO, "%s: %s", o->tmp,
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
				rc = exai_error_sys(e, EXAI_EIO, "%s: write %s", o->tmp, f->name);
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
		rc = exai_error_sys(e, EXAI_EIO, "%s: fsync", o->tmp);
		goto fail;
	}
	if (!o->exb && (fsync(o->dirfd) != 0 || (rc = exai_fsync_dir_of(o->tmp, e)))) {
		rc = rc ? rc : exai_error_sys(e, EXAI_EIO, "%s: fsync", o->tmp);
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
	exb_output_abort(o);
	return rc;
}

void exb_output_abort(exb_output *o)
{
	exai_error ignore;

	if (!o)
		return;
	(void)exai_wb_finish(&o->wb, NULL);
	if (o->a)
		archive_write_free(o->a);
	if (o->fd >= 0)
		close(o->fd);
	if (o->dirfd >= 0)
		close(o->dirfd);
	if (o->tmp && exai_tree_remove(o->tmp, &ignore) != EXAI_OK)
		fprintf(stderr, "warning: could not remove %s: %s\n", o->tmp, ignore.msg);
	free(o->tmp);
	free(o->path);
	free(o);
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
	if (m->len + len > m->cap) {
		size_t ncap = (m->len + len) * 2;
		uint8_t *n = realloc(m->buf, ncap);
		if (!n)
			return -1;
		m->buf = n;
		m->cap = ncap;
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return (la_ssize_t)len;
}

exai_status exb_exb_append(const char *path, const char *name, const uint8_t *data, size_t len,
			   uint64_t mtime, exai_error *e)
{
	static const uint8_t zero[1024];
	struct archive *a = archive_write_new();
	struct archive_entry *ent = archive_entry_new();
	mem_sink m = {0};
	uint8_t tail[1024];
	struct stat st;
	exai_status rc = EXAI_OK;
	int fd = -1;

	if (!a || !ent) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	/* The entry plus a new end-of-archive marker, built in memory. */
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)len);
	archive_entry_set_mtime(ent, (time_t)mtime, 0);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
	    archive_write_open2(a, &m, NULL, mem_cb, NULL, NULL) != ARCHIVE_OK ||
	    archive_write_header(a, ent) != ARCHIVE_OK ||
	    archive_write_data(a, data, len) != (la_ssize_t)len ||
	    archive_write_close(a) != ARCHIVE_OK) {
		rc = exai_error_set(e, EXAI_EIO, "tar: %s", archive_error_string(a));
		goto out;
	}
	rc = exai_file_open_regular(path, O_RDWR, 0, &fd, e);
	if (rc)
		goto out;
	if (fstat(fd, &st) != 0 || st.st_size < 2048 || st.st_size % 512 ||
	    pread(fd, tail, sizeof(tail), st.st_size - 1024) != 1024 ||
	    memcmp(tail, zero, sizeof(tail)) != 0) {
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "%s: does not end with a tar end marker as exai-bundle writes "
				    "it (was it re-packed by another tool? sign the directory "
				    "form instead)",
				    path);
		goto out;
	}
	if (pwrite(fd, m.buf, m.len, st.st_size - 1024) != (ssize_t)m.len || fsync(fd) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: append signature", path);
		/* Put the end marker back so the bundle reads as before. */
		if (ftruncate(fd, st.st_size - 1024) == 0)
			(void)!pwrite(fd, zero, sizeof(zero), st.st_size - 1024);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	free(m.buf);
	archive_entry_free(ent);
	archive_write_free(a);
	return rc;
}
