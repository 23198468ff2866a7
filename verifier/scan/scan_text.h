/*
 * scan_text: text and binary-string rules over one buffer (prefilter hits -> rule checks).
 */
#ifndef VF_SCAN_TEXT_H
#define VF_SCAN_TEXT_H

#include <stdbool.h>

#include "scan_sink.h"

/* Text / binary-string rules over one buffer. */
void vf_scan_text(vf_scan *s, const vf_buf *b, bool binary);

#endif
