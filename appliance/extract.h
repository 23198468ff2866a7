/*
 * extract: hardened, streaming extraction of a verified tar component into a staging dir.
 *
 * The rules and the pass over the stream are the library's (exai/tarcheck.h): every entry is
 * decided there from its header, with the signed manifest's limits, before anything is
 * written, and `exai-update verify` and `airgap-verifier bundle` run the same pass without
 * writing. This module only writes what the pass accepted, and keeps the disk checks as a
 * second line: every path component is opened with O_NOFOLLOW under the staging dir fd, files
 * are created O_EXCL, a hard link's source must be a regular file on disk.
 *
 * With a negative root fd nothing is written: the pass checks only (the verify path). With a
 * negative root fd and limits' files set, the check-only pass still records every entry, the
 * records the writing pass would make of the same stream (file hashes of the verified bytes,
 * implicit directories as 0755, explicit ones with the owner bits added, hard links to be
 * resolved by upd_filelist_finish): the per-file content of a tar component without a disk,
 * which the appliance compares with an installed version's records in the state database.
 */
#ifndef UPD_EXTRACT_H
#define UPD_EXTRACT_H

#include <stdbool.h>
#include <stdint.h>

#include "exai/error.h"
#include "files.h"

typedef struct upd_extract_limits {
	uint64_t max_entries; /* the manifest's entries */
	uint64_t max_bytes;   /* the manifest's unpacked */
	uint64_t max_ratio;   /* max_unpack_ratio */
	unsigned flags;	      /* the manifest's EXAI_CFLAG_* */
	/* When not NULL, every entry created is recorded here (files with the SHA-256 of the
	 * bytes written, computed as they are written; directories made implicitly for a
	 * deeper entry as 0755). Owned by the caller; only the extractor touches it until
	 * upd_extract_finish/abort returns. */
	upd_filelist *files;
} upd_extract_limits;

typedef struct upd_extract upd_extract;

/* Starts extracting into @rootfd (dup'ed; the caller keeps its own); @rootfd < 0: check
 * only, nothing written. */
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

#endif
