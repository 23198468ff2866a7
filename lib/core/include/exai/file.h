/*
 * file: safe file I/O for hostile media and crash-consistent state.
 *
 * - Regular files only are opened, always with O_NOFOLLOW|O_CLOEXEC: a symlink or a device node
 *   where a file is expected is refused, never followed.
 * - Every read of untrusted input has a hard cap, checked before allocating.
 * - Atomic replacement: write a temp file in the same directory, fsync it, rename it over the
 *   target, fsync the directory. A crash at any point leaves either the old or the new file,
 *   never a mix; a failure removes the temp file.
 */
#ifndef EXAI_FILE_H
#define EXAI_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exai/error.h"

/* Reads exactly @len bytes; EINTR is retried; an early end of file is EXAI_ESHORT with the
 * offset reached. @what names the source in messages. */
exai_status exai_read_full(int fd, void *buf, size_t len, const char *what, exai_error *e) EXAI_WUR;

/* Writes all @len bytes (retrying short writes and EINTR). */
exai_status exai_write_full(int fd, const void *buf, size_t len, const char *what,
			    exai_error *e) EXAI_WUR;

/* Opens a regular file with O_NOFOLLOW|O_CLOEXEC plus @flags (O_RDONLY, ...); refuses
 * symlinks, directories, FIFOs and devices. With O_CREAT, @mode is used. */
exai_status exai_file_open_regular(const char *path, int flags, mode_t mode, int *fd_out,
				   exai_error *e) EXAI_WUR;

/* Reads a whole regular file of at most @max bytes into a malloc'ed buffer (NUL-terminated for
 * convenience; the NUL is not counted in *len_out). A larger file is refused with EXAI_ETOOBIG
 * before anything is allocated. The caller frees *buf_out. */
exai_status exai_file_read_bounded(const char *path, size_t max, uint8_t **buf_out, size_t *len_out,
				   exai_error *e) EXAI_WUR;

/* fsyncs the directory that holds @path (or @path itself if it is a directory). */
exai_status exai_fsync_dir_of(const char *path, exai_error *e) EXAI_WUR;
exai_status exai_fsync_dir(const char *dir, exai_error *e) EXAI_WUR;

/* Atomically replaces @path with @len bytes of @buf, file mode @mode (a device or FIFO at
 * @path is written in place, as for exai_afile_open). */
exai_status exai_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
				   exai_error *e) EXAI_WUR;

/* Streaming form of atomic write, for large outputs. An existing character device or FIFO at
 * @path (/dev/null, /dev/stdout) is written in place instead, never replaced; a directory,
 * socket or block device there is refused. */
typedef struct exai_afile {
	int fd;
	char *path; /* final name */
	char *tmp;  /* temp name in the same directory */
} exai_afile;

exai_status exai_afile_open(exai_afile *af, const char *path, mode_t mode, exai_error *e) EXAI_WUR;
exai_status exai_afile_write(exai_afile *af, const void *buf, size_t len, exai_error *e) EXAI_WUR;
/* fsync, rename over the final name, fsync the directory. Frees @af's resources either way. */
exai_status exai_afile_commit(exai_afile *af, exai_error *e) EXAI_WUR;
/* Removes the temp file and frees; safe on a zeroed, aborted or committed afile. */
void exai_afile_abort(exai_afile *af);

/* Writes @text to a new file (O_EXCL|O_NOFOLLOW) with @mode, fsynced; refuses to overwrite an
 * existing file and removes a partial one on failure. */
exai_status exai_write_new_file(const char *path, const char *text, mode_t mode,
				exai_error *e) EXAI_WUR;

/* Creates a new private (0700) directory "<base>/<prefix>XXXXXX"; *out is malloc'ed.
 * @base NULL means $TMPDIR or /tmp. */
exai_status exai_tempdir_create(const char *base, const char *prefix, char **out,
				exai_error *e) EXAI_WUR;

/* Removes a directory tree without following symlinks. Missing tree is not an error. */
exai_status exai_tree_remove(const char *path, exai_error *e) EXAI_WUR;

/* mkdir -p with @mode for created components. */
exai_status exai_mkdir_p(const char *path, mode_t mode, exai_error *e) EXAI_WUR;

/* Joins two path parts with one '/'; returns malloc'ed string or NULL on OOM. */
char *exai_path_join(const char *a, const char *b);

/*
 * Fault injection for crash-consistency tests. EXAI_FAULT="<point>[:<n>][:<action>]" makes the
 * n-th (default 1st) time that exai_fault("<point>") is reached either fail (action "fail",
 * default: the call site reports an injected error) or kill the process at once ("crash":
 * _exit(86), as a power cut would stop it) or stop it ("stop": SIGSTOP, so a test can change
 * files at that exact point, then SIGCONT; the call then returns false). EXAI_FAULT_LOG=<file>
 * appends every point reached, one per line, so a test can enumerate them. Inactive (and cheap)
 * when the variables are unset.
 *
 * Compiled only into test builds (-DEXAI_TESTING=ON, which `make`, `make test`, `make asan`
 * and the fuzz builds configure); a release build (EXAI_TESTING off, CMake's default) reads
 * neither variable and has no exai_fault symbol: every point is a constant false. .ci/run
 * checks the release build with nm.
 */
#ifdef EXAI_TESTING
bool exai_fault(const char *point);
#else
static inline bool exai_fault(const char *point)
{
	(void)point;
	return false;
}
#endif

/* Refuses (EXAI_EUNSAFE, with the chmod to run) a secret key file at @path that belongs to
 * the running user and has any group or other mode bit, as ssh does; a file of another owner,
 * or one that cannot be stat'ed (the read reports it), passes. */
exai_status exai_file_secret_mode_ok(const char *path, exai_error *e) EXAI_WUR;

#define EXAI_ABSPATH_MAX 1024
/* A path a config may name: absolute, at most EXAI_ABSPATH_MAX bytes, and without a ".."
 * segment anywhere (so "/a/../b" and "/a/.." are refused). The one check for exai-update's
 * config and for every reader of it (airgap-verifier host). */
bool exai_abspath_valid(const char *s);

#endif
