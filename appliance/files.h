/*
 * files: the per-file record of one installed tree (a software slot, a model version, ...),
 * built while the tree is staged, from the verified bytes as they are written.
 *
 * Each record is what the tree holds at a relative path: a regular file (size, permission
 * bits, SHA-256 of its content), a directory (permission bits), a symlink (its target), or a
 * raw component image (size and SHA-256 only). The root of a tree is the directory ".".
 * Records are added in extraction order; upd_filelist_finish() sorts them by path (strcmp
 * order), keeps the last record of a path that was added twice (a directory made implicitly
 * for an earlier file, then declared by its own entry), and turns hard links into the regular
 * file they share content with. The list goes to the state database (state.h,
 * upd_state_put_files) when the apply reaches its commit point; airgap-verifier host re-hashes
 * the installed tree against it.
 *
 * Not thread-safe: one producer (the extraction thread or the stager) at a time.
 */
#ifndef UPD_FILES_H
#define UPD_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "exai/hash.h"

typedef enum upd_fkind {
	UPD_F_FILE = 'f',
	UPD_F_DIR = 'd',
	UPD_F_LINK = 'l',
	UPD_F_RAW = 'r',  /* a raw image (rootfs slot): size and hash of its first size bytes */
	UPD_F_HARD = 'h', /* transient: a hard link, target = source path until finished */
} upd_fkind;

typedef struct upd_file {
	char *path;    /* relative to the tree root; "." is the root itself */
	char kind;     /* upd_fkind */
	uint32_t mode; /* permission bits (07777); 0 for links and raw images */
	uint64_t size;
	uint8_t sha256[EXAI_SHA256_LEN]; /* files and raw images */
	char *target;			 /* symlink target, NULL otherwise */
	size_t seq;			 /* insertion order, for "last record wins" */
} upd_file;

typedef struct upd_filelist {
	upd_file *v;
	size_t n, cap;
	bool finished;
} upd_filelist;

/* Appends a record (copies @path and @target; @sha may be NULL). */
exai_status upd_filelist_add(upd_filelist *l, const char *path, upd_fkind kind, uint32_t mode,
			     uint64_t size, const uint8_t *sha, const char *target,
			     exai_error *e) EXAI_WUR;
/* Sorts, drops superseded duplicates, resolves hard links (EXAI_EINTERNAL when a hard link
 * names no regular file of the list). Idempotent. */
exai_status upd_filelist_finish(upd_filelist *l, exai_error *e) EXAI_WUR;
/* The record for @path in a finished list, or NULL. */
const upd_file *upd_filelist_find(const upd_filelist *l, const char *path);
/* Frees the records; the list is empty and reusable afterwards. NULL-safe. */
void upd_filelist_clear(upd_filelist *l);

/* The kind as stored in the state database ("file", "dir", "link", "raw") and back. */
const char *upd_fkind_name(char kind);
bool upd_fkind_parse(const char *s, char *kind);

#endif
