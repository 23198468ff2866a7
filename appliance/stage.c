/*
 * stage: staging components from the payload stream. See stage.h.
 */
#include "stage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/wb.h"
#include "apply.h"
#include "install.h"
#include "state.h"

#define READBACK_BUF (1u << 20)

void upd_stager_init(upd_stager *s, const upd_config *cfg, const exai_manifest *m, upd_plan *plan,
		     upd_filelist *files)
{
	memset(s, 0, sizeof(*s));
	s->files = files;
	s->cfg = cfg;
	s->m = m;
	s->plan = plan;
	s->dirfd = -1;
	s->fd = -1;
}

void upd_stager_cleanup(upd_stager *s)
{
	(void)exai_wb_finish(&s->wb, NULL);
	if (s->hashing)
		exai_sha256_free(&s->h);
	s->hashing = false;
	upd_extract_abort(s->x);
	s->x = NULL;
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->fd = s->dirfd = -1;
	s->op = NULL;
}

/* The record list of the component in progress. */
static upd_filelist *op_files(upd_stager *s)
{
	return &s->files[s->op - s->plan->ops];
}

static exai_status open_stage_dir(upd_stager *s, exai_error *e)
{
	char stage[PATH_MAX];
	exai_status rc;

	upd_op_stage_path(s->op, stage, sizeof(stage));
	if ((rc = exai_mkdir_p(s->op->base, 0755, e)) || (rc = exai_tree_remove(stage, e)))
		return rc;
	if (mkdir(stage, 0755) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: mkdir", stage);
	s->dirfd = open(stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: open", stage);
	if (fchmod(s->dirfd, 0755) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", stage);
	return upd_filelist_add(op_files(s), ".", UPD_F_DIR, 0755, 0, NULL, NULL, e);
}

static exai_status open_raw_file(upd_stager *s, const exai_component *c, exai_error *e)
{
	char path[EXAI_RELPATH_MAX + 1];
	const char *leaf;
	exai_status rc;
	int dfd;

	snprintf(path, sizeof(path), "%s", c->target);
	if ((rc = upd_open_parent_rec(s->dirfd, path, true, op_files(s), &dfd, &leaf, e)))
		return rc;
	if (exai_fault("stage.write")) {
		close(dfd);
		return exai_error_sys(e, EXAI_EIO, "%s: create (injected)", c->target);
	}
	s->fd = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	close(dfd);
	if (s->fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: create", c->target);
	if (fchmod(s->fd, 0644) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: chmod", c->target);
	exai_wb_init(&s->wb, s->fd, 0, c->target);
	return EXAI_OK;
}

/* The configured slot is usually a udev symlink (/dev/disk/by-partlabel/...): it is resolved
 * once, then the resolved path is opened without following anything further, non-blocking (a
 * FIFO there cannot hang the apply), and what was opened must be a block device or (tests, VM
 * images) a regular file. */
static exai_status open_rootfs(upd_stager *s, exai_error *e)
{
	char *real = NULL;
	struct stat st;
	int fl;
	exai_status rc = EXAI_OK;

	if (exai_fault("stage.write"))
		return exai_error_sys(e, EXAI_EIO, "%s: open (injected)", s->op->base);
	if (!(real = realpath(s->op->base, NULL)))
		return exai_error_sys(e, EXAI_EIO, "rootfs slot %s: resolve", s->op->base);
	s->fd = open(real, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (s->fd < 0 && errno == EISDIR) {
		rc = exai_error_set(e, EXAI_EUNSAFE,
				    "rootfs slot %s (%s): a directory, not a block device or "
				    "image file",
				    s->op->base, real);
		goto out;
	}
	if (s->fd < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "rootfs slot %s (%s): open", s->op->base, real);
		goto out;
	}
	if (fstat(s->fd, &st) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "rootfs slot %s (%s): fstat", s->op->base, real);
		goto out;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		rc = exai_error_set(e, EXAI_EUNSAFE,
				    "rootfs slot %s (%s): a %s, not a block device or image file",
				    s->op->base, real,
				    S_ISFIFO(st.st_mode)   ? "FIFO"
				    : S_ISCHR(st.st_mode)  ? "character device"
				    : S_ISSOCK(st.st_mode) ? "socket"
				    : S_ISDIR(st.st_mode)  ? "directory"
							   : "special file");
		goto out;
	}
	if ((fl = fcntl(s->fd, F_GETFL)) < 0 || fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "rootfs slot %s (%s): fcntl", s->op->base, real);
		goto out;
	}
	exai_wb_init(&s->wb, s->fd, 0, s->op->base);
out:
	free(real);
	return rc;
}

static exai_status sink_begin(void *arg, const exai_component *c, exai_error *e)
{
	upd_stager *s = arg;
	const upd_op *op = &s->plan->ops[c - s->m->c];
	exai_status rc;

	upd_extract_limits lim = {
	    .max_entries = c->entries,
	    .max_bytes = c->unpacked,
	    .max_ratio = s->cfg->max_ratio,
	    .flags = c->flags,
	};

	s->op = op;
	if (upd_apply_signal())
		return exai_error_set(e, EXAI_EREFUSED, "interrupted");
	/* A component already in place is not written, but its tar still passes the rules (check
	 * only), so apply refuses exactly what verify refuses. */
	if ((op->skip || op->reuse) && !op->xcheck)
		return c->encoding == EXAI_CENC_TAR ? upd_extract_start(-1, &lim, &s->x, e)
						    : EXAI_OK;
	/* Installed from a bundle of the other format: the records of the incoming tree, taken
	 * from the verified stream with nothing written, for apply to compare (upd_op.xcheck). */
	if (op->skip || op->reuse) {
		if ((rc = upd_filelist_add(op_files(s), ".", UPD_F_DIR, 0755, 0, NULL, NULL, e)))
			return rc;
		if (c->encoding == EXAI_CENC_TAR) {
			lim.files = op_files(s);
			return upd_extract_start(-1, &lim, &s->x, e);
		}
		if ((rc = exai_sha256_init(&s->h, e)))
			return rc;
		s->hashing = true;
		return EXAI_OK;
	}
	/* Format 2: the record's plain SHA-256 is taken as the bytes are written. */
	if (s->m->version >= EXAI_FORMAT_V2 &&
	    (op->kind == UPD_K_ROOTFS || c->encoding == EXAI_CENC_RAW)) {
		if ((rc = exai_sha256_init(&s->h, e)))
			return rc;
		s->hashing = true;
	}
	if (op->kind == UPD_K_ROOTFS)
		return open_rootfs(s, e);
	if (!upd_loc_valid(op->kind, op->new_loc)) /* names a stage path and a switch target */
		return exai_error_set(e, EXAI_EUNSAFE, "%s: '%.128s' is a reserved or invalid name",
				      op->base, op->new_loc);
	if ((rc = open_stage_dir(s, e)))
		return rc;
	if (c->encoding == EXAI_CENC_RAW)
		return open_raw_file(s, c, e);
	lim.files = op_files(s);
	return upd_extract_start(s->dirfd, &lim, &s->x, e);
}

static exai_status sink_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			     exai_error *e)
{
	upd_stager *s = arg;

	(void)c;
	(void)exai_fault("stage.data"); /* tests: "stop" here to send a signal while staging */
	if (upd_apply_signal())		/* apply undoes what was staged (apply.h) */
		return exai_error_set(e, EXAI_EREFUSED, "interrupted");
	upd_state_activity_add(len);
	if (s->x)
		return upd_extract_feed(s->x, buf, len, e);
	if (s->hashing)
		exai_sha256_update(&s->h, buf, len);
	if (s->op->skip || s->op->reuse)
		return EXAI_OK;
	exai_status rc = exai_write_full(s->fd, buf, len, "stage", e);
	if (!rc)
		exai_wb_wrote(&s->wb, len);
	return rc;
}

/* The plain SHA-256 of a raw or rootfs component as written: in format 1 the component's
 * verified plaintext hash itself, in format 2 the one taken while writing. */
static const uint8_t *record_sha(const upd_stager *s, const exai_component *c)
{
	return s->m->version >= EXAI_FORMAT_V2 ? s->written : c->sha256;
}

/* Reads the slot back from the device (not the page cache) and compares the hash. */
static exai_status readback(upd_stager *s, const exai_component *c, exai_error *e)
{
	uint8_t md[EXAI_SHA256_LEN], *buf = malloc(READBACK_BUF);
	exai_sha256 h;
	exai_status rc;
	uint64_t off = 0;

	if (!buf)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (exai_fault("stage.fsync") || fsync(s->fd) != 0) {
		free(buf);
		return exai_error_sys(e, EXAI_EIO, "rootfs slot %s: fsync", s->op->base);
	}
	(void)posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED);
	if ((rc = exai_sha256_init(&h, e))) {
		free(buf);
		return rc;
	}
	while (off < c->size) {
		size_t want = c->size - off < READBACK_BUF ? (size_t)(c->size - off) : READBACK_BUF;
		ssize_t n = pread(s->fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? exai_error_sys(e, EXAI_EIO, "rootfs slot %s: read back",
						    s->op->base)
				   : exai_error_set(e, EXAI_ESHORT,
						    "rootfs slot %s: read back ended at %llu",
						    s->op->base, (unsigned long long)off);
			exai_sha256_free(&h);
			free(buf);
			return rc;
		}
		exai_sha256_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	exai_sha256_final(&h, md);
	free(buf);
	if (exai_fault("stage.readback"))
		md[0] ^= 1; /* tests: a slot that does not keep what was written */
	if (!exai_memeq(md, record_sha(s, c), EXAI_SHA256_LEN))
		return exai_error_set(e, EXAI_EVERIFY,
				      "rootfs slot %s: read-back hash mismatch (the slot does not "
				      "hold what was written)",
				      s->op->base);
	return EXAI_OK;
}

/* A raw file or image is recorded with the component's plaintext hash, which the pipeline
 * checks over exactly these bytes: no second pass over what was written. */
static exai_status record_end(upd_stager *s, const exai_component *c, exai_error *e)
{
	upd_filelist *l = op_files(s);
	exai_status rc = EXAI_OK;

	if (s->op->kind == UPD_K_ROOTFS)
		rc = upd_filelist_add(l, ".", UPD_F_RAW, 0, c->size, record_sha(s, c), NULL, e);
	else if (c->encoding == EXAI_CENC_RAW)
		rc = upd_filelist_add(l, c->target, UPD_F_FILE, 0644, c->size, record_sha(s, c),
				      NULL, e);
	return rc ? rc : upd_filelist_finish(l, e);
}

/* What open_raw_file and record_end record of a raw file, without writing it: the parent
 * directories it would make (0755), then the file with the plain SHA-256 taken as it passed. */
static exai_status raw_records(upd_stager *s, const exai_component *c, exai_error *e)
{
	char path[EXAI_RELPATH_MAX + 1];
	exai_status rc;

	snprintf(path, sizeof(path), "%s", c->target);
	for (char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		rc = upd_filelist_add(op_files(s), path, UPD_F_DIR, 0755, 0, NULL, NULL, e);
		*slash = '/';
		if (rc)
			return rc;
	}
	return upd_filelist_add(op_files(s), c->target, UPD_F_FILE, 0644, c->size, s->written, NULL,
				e);
}

static exai_status sink_end(void *arg, const exai_component *c, exai_error *e)
{
	upd_stager *s = arg;
	exai_status rc = EXAI_OK;
	upd_extract *x = s->x;

	s->x = NULL;
	if (s->op->skip || s->op->reuse) {
		rc = x ? upd_extract_finish(x, e) : EXAI_OK;
		if (s->hashing) {
			exai_sha256_final(&s->h, s->written);
			s->hashing = false;
			if (!rc)
				rc = raw_records(s, c, e);
		}
		if (!rc && s->op->xcheck)
			rc = upd_filelist_finish(op_files(s), e);
		s->op = NULL;
		return rc;
	}
	if (x)
		rc = upd_extract_finish(x, e);
	if (s->hashing) {
		exai_sha256_final(&s->h, s->written);
		s->hashing = false;
	}
	if (s->fd >= 0) {
		exai_status frc = exai_wb_finish(&s->wb, rc ? NULL : e);
		rc = rc ? rc : frc;
	}
	if (!rc && s->op->kind == UPD_K_ROOTFS)
		rc = readback(s, c, e);
	if (!rc)
		rc = record_end(s, c, e);
	if (!rc && s->dirfd >= 0 && (exai_fault("stage.syncfs") || syncfs(s->dirfd) != 0))
		rc = exai_error_sys(e, EXAI_EIO, "%s: syncfs", s->op->base);
	upd_stager_cleanup(s);
	return rc;
}

exai_sink upd_stager_sink(upd_stager *s)
{
	/* Its own thread: writing the staged files overlaps the hashing of the next chunks. */
	return (exai_sink){
	    .begin = sink_begin, .data = sink_data, .end = sink_end, .arg = s, .own_thread = true};
}
