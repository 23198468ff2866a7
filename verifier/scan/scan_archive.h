/*
 * scan_archive: scan mode's archives (tar family, zip, 7z) through the archive walker.
 */
#ifndef VF_SCAN_ARCHIVE_H
#define VF_SCAN_ARCHIVE_H

#include "scan_sink.h"

/* Walks the archive held at b->p, b->n (scan_walker.h) and scans its
 * entries. */
void vf_scan_archive_mem(vf_scan *s, const vf_buf *b);

#endif
