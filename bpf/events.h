/*
 * events: reading the deny (and audit) events from the pinned ring buffer and writing them,
 * one line each, as text or JSON. Reading consumes: an event is shown once, by whichever
 * reader takes it first (the ring buffer keeps its read position in the pinned map).
 */
#ifndef EXAI_EGRESS_EVENTS_H
#define EXAI_EGRESS_EVENTS_H

#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>

#include "pins.h"

/* Writes every event waiting now (@follow false) or until SIGINT/SIGTERM (@follow true) to
 * @out; *@count is how many were written. */
exai_status egress_events_read(const egress_pins *p, bool follow, bool json, FILE *out,
			       unsigned long *count, exai_error *e) EXAI_WUR;

/* One event as the JSON object of 'events --json' (NULL when out of memory), and as its text
 * line (no newline; cut at @cap). The workload's name is looked up in @p's workloads map. */
json_t *egress_event_json(const egress_pins *p, const struct egress_event *ev);
void egress_event_text(const egress_pins *p, const struct egress_event *ev, char *out, size_t cap);

/* Names for the codes of egress.h, for status and events. */
const char *egress_hook_name(unsigned hook);
const char *egress_proto_name(unsigned proto);
const char *egress_reason_name(unsigned reason);

#endif
