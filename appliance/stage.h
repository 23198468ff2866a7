/*
 * stage: the exai_sink that writes each verified component into its staging place during
 * the one streaming pass over the payload.
 *
 * tar components are extracted (extract.h) into the op's staging dir; raw components are
 * written as the file <stage>/<target>; rootfs is written to the inactive raw slot, then
 * fsynced, dropped from the page cache and read back and hash-checked. Components whose op
 * is skip/reuse are consumed and discarded (a tar one still passes the extraction rules, check
 * only). Each staging tree is flushed with syncfs() when
 * its component ends ("stage.syncfs"), so everything staged is durable before the journal
 * moves to the switch phase.
 *
 * Every staged tree is also recorded file by file into files[i] (the op's index): tar
 * entries as the extractor writes them (hashed on the way), a raw file with the component's
 * verified plaintext hash (no second pass), a rootfs image as one raw record. Records are
 * always plain SHA-256 of the installed bytes (what airgap-verifier host compares): in a
 * format-2 bundle the component digest is a tree (exai/cdigest.h), so a raw or rootfs
 * component is hashed once more with SHA-256 as it is written, on the sink's own thread. The root
 * directory of a tree is made 0755 exactly, so the record matches the disk whatever the
 * umask.
 */
#ifndef UPD_STAGE_H
#define UPD_STAGE_H

#include "config.h"
#include "exai/bundle.h"
#include "extract.h"
#include "exai/wb.h"
#include "files.h"
#include "plan.h"

typedef struct upd_stager {
	const upd_config *cfg;
	const exai_manifest *m;
	upd_plan *plan;
	/* the component in progress */
	const upd_op *op;
	upd_extract *x;
	int dirfd;			  /* its staging dir */
	int fd;				  /* raw file or rootfs slot */
	exai_wb wb;			  /* streaming writeback of fd (exai/wb.h) */
	bool hashing;			  /* h is open: format 2, raw or rootfs being written */
	exai_sha256 h;			  /* SHA-256 of what is written (the record) */
	uint8_t written[EXAI_SHA256_LEN]; /* its digest once the component ended */
	upd_filelist *files;		  /* one per plan op, owned by the caller */
} upd_stager;

/* @files: an array of plan->n empty lists (caller-owned), filled as components are staged;
 * a list is finished (sorted) when its component ends. */
void upd_stager_init(upd_stager *s, const upd_config *cfg, const exai_manifest *m, upd_plan *plan,
		     upd_filelist *files);
/* The sink callbacks over @s. */
exai_sink upd_stager_sink(upd_stager *s);
/* Releases whatever a failed stream left open (threads, fds). */
void upd_stager_cleanup(upd_stager *s);

#endif
