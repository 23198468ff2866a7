/*
 * events: reading the deny (and audit) events from the pinned ring buffer and writing them,
 * one line each, as text or JSON. Reading consumes: an event is shown once, by whichever
 * reader takes it first (the ring buffer keeps its read position in the pinned map).
 */
#ifndef EXAI_EGRESS_EVENTS_H
#define EXAI_EGRESS_EVENTS_H

#include <stdbool.h>
#include <stdio.h>

#include "pins.h"

/* Writes every event waiting now (@follow false) or until SIGINT/SIGTERM (@follow true) to
 * @out; *@count is how many were written. */
exai_status egress_events_read(const egress_pins *p, bool follow, bool json, FILE *out,
			       unsigned long *count, exai_error *e) EXAI_WUR;

/* Names for the codes of egress.h, for status and events. */
const char *egress_hook_name(unsigned hook);
const char *egress_proto_name(unsigned proto);
const char *egress_reason_name(unsigned reason);

#endif
