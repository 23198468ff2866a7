/*
 * extract: hardened, streaming extraction of a verified tar component into a staging dir.
 *
 * The payload pipeline pushes plaintext (exai_sink data callbacks); libarchive pulls. A
 * thread per component runs libarchive with read callbacks that hand it the producer's buffer
 * itself (no copy, nothing buffered beyond the chunk in flight): the producer waits until
 * libarchive asks for the next block, which is when it is done with the previous one.
 *
 * Rules (each refusal names the entry): paths are relative, without '..' or empty parts, and
 * never pass through a symlink or non-directory (every component is opened with O_NOFOLLOW
 * under the staging dir fd; files are created O_EXCL, so an entry cannot replace an earlier
 * one); symlink targets are relative with '..' only as a leading prefix that does not climb
 * above the staging dir; hard links name an earlier regular file of the same archive; no
 * device nodes, FIFOs or sockets; setuid/setgid only with @allow_setuid; at most
 * @max_entries entries and @max_bytes of file content (the signed manifest's numbers); the
 * tar stream after decompression (gzip, zstd) at most @max_ratio times the bytes fed.
 */
#ifndef UPD_EXTRACT_H
#define UPD_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "files.h"

typedef struct upd_extract_limits {
	uint64_t max_entries;
	uint64_t max_bytes;
	uint64_t max_ratio;
	bool allow_setuid;
	/* When not NULL, every entry created is recorded here (files with the SHA-256 of the
	 * bytes written, computed as they are written; directories made implicitly for a
	 * deeper entry as 0755). Owned by the caller; only the extractor touches it until
	 * upd_extract_finish/abort returns. */
	upd_filelist *files;
} upd_extract_limits;

typedef struct upd_extract upd_extract;

/* Starts extracting into @rootfd (dup'ed; the caller keeps its own). */
exai_status upd_extract_start(int rootfd, const upd_extract_limits *lim, upd_extract **out,
			      exai_error *e) EXAI_WUR;
/* Hands @len bytes to the extractor; returns once it has consumed them. */
exai_status upd_extract_feed(upd_extract *x, const uint8_t *buf, size_t len,
			     exai_error *e) EXAI_WUR;
/* End of input: waits for the extractor and frees @x, whatever the outcome. */
exai_status upd_extract_finish(upd_extract *x, exai_error *e) EXAI_WUR;
/* Stops the extractor and frees @x. NULL-safe. */
void upd_extract_abort(upd_extract *x);

/* Opens the directory holding @path's last component under @rootfd, component by component
 * with O_NOFOLLOW; *leaf points into @path. With @create, missing directories are made
 * (mode 0755 exactly, whatever the umask). A component that is a symlink or not a directory
 * is refused (EXAI_EUNSAFE). */
exai_status upd_open_parent(int rootfd, char *path, bool create, int *dfd_out, const char **leaf,
			    exai_error *e) EXAI_WUR;
/* The same, recording each directory it creates in @rec (NULL: not recorded). */
exai_status upd_open_parent_rec(int rootfd, char *path, bool create, upd_filelist *rec,
				int *dfd_out, const char **leaf, exai_error *e) EXAI_WUR;

/* Exposed for tests: cleans a tar path (strips "./" prefixes and a trailing '/'); false if it
 * is absolute, empty, or has '..', '.' or empty components. */
bool upd_tar_path_clean(const char *in, char *out, size_t cap);
/* Whether symlink @target, placed at @path (cleaned), stays inside the tree. */
bool upd_symlink_target_ok(const char *path, const char *target);

#endif
