/*
 * tarplan: turning a component source into its payload bytes.
 *
 * A directory becomes a deterministic pax tar stream: entries sorted bytewise, owner 0:0, no
 * user or group names, mtime = the bundle's creation time, permissions kept (setuid/setgid
 * only when the spec allows them), symlinks kept when they stay inside the tree. Devices,
 * FIFOs and sockets are refused. A file is streamed raw.
 *
 * Planning (exb_plan_component) walks the source once and computes the exact stream size by
 * writing the tar headers alone; streaming (exb_stream_component) writes it for real and
 * refuses any file whose size, inode or mtime changed since planning, or that ends early or
 * grows: "source changed while being read".
 */
#ifndef EXB_TARPLAN_H
#define EXB_TARPLAN_H

#include <sys/stat.h>

#include "exai/manifest.h"
#include "spec.h"

typedef struct exb_item {
	char *rel;  /* path inside the tree */
	char *abs;  /* path on disk */
	char *link; /* symlink target, or NULL */
	struct stat st;
} exb_item;

typedef struct exb_plan {
	const exb_spec_component *spec;
	exai_component mc; /* manifest entry: offset/size/entries/unpacked filled, sha256 later */
	exb_item *items;
	size_t n_items, cap_items;
	uint64_t mtime;
} exb_plan;

/* Output of the stream: called with consecutive pieces of the component's bytes. */
typedef exai_status (*exb_write_fn)(void *arg, const void *buf, size_t len, exai_error *e);
/* Optional: where the next bytes of a raw source may be read directly (zero copy); the bytes
 * are then passed to the write function at that same address. */
typedef exai_status (*exb_reserve_fn)(void *arg, uint8_t **buf, size_t *room, exai_error *e);

exai_status exb_plan_component(exb_plan *p, const exb_spec_component *spec, uint64_t mtime,
			       exai_error *e) EXAI_WUR;
exai_status exb_stream_component(exb_plan *p, exb_write_fn fn, exb_reserve_fn reserve, void *arg,
				 exai_error *e) EXAI_WUR;
void exb_plan_free(exb_plan *p);

#endif
