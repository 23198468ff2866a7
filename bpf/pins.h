/*
 * pins: the programs and maps of exai-egress, pinned under one bpffs directory (default
 * /sys/fs/bpf/exai) so that enforcement outlives the loader. The first apply loads the
 * skeleton and pins everything; every later command adopts what is pinned (the programs
 * pinned then keep running; a newer loader's code is not swapped in: detach first).
 *
 *   DIR/map_{policy,socks,events,counters,state,workloads}   DIR/prog_<hook>
 *   DIR/links/<cgroup id>-<hook>                             one link per workload and hook
 */
#ifndef EXAI_EGRESS_PINS_H
#define EXAI_EGRESS_PINS_H

#include <stdbool.h>
#include <stdint.h>

#include "egress.h"
#include "exai/error.h"

#define EGRESS_DEFAULT_PIN_DIR "/sys/fs/bpf/exai"
#define EGRESS_NHOOKS	       6

enum {
	EGRESS_MAP_POLICY,
	EGRESS_MAP_SOCKS,
	EGRESS_MAP_EVENTS,
	EGRESS_MAP_COUNTERS,
	EGRESS_MAP_STATE,
	EGRESS_MAP_WORKLOADS,
	EGRESS_MAP_VERDICTS,
	EGRESS_NMAPS
};

typedef struct egress_hook_desc {
	const char *name; /* "connect4": pin and link names */
	int attach_type;  /* enum bpf_attach_type */
} egress_hook_desc;

extern const egress_hook_desc egress_hooks[EGRESS_NHOOKS];

typedef struct egress_pins {
	char dir[256];
	int maps[EGRESS_NMAPS];
	int progs[EGRESS_NHOOKS];
} egress_pins;

/* Sets every descriptor of @p to -1 (nothing open), its dir to @dir. */
void egress_pins_init(egress_pins *p, const char *dir);

/* Whether @dir holds a pinned exai-egress (its policy map). */
bool egress_pins_exist(const char *dir);

/* Opens the pinned maps and programs in @dir. EXAI_ENOENT when nothing is pinned there. */
exai_status egress_pins_open(const char *dir, egress_pins *p, exai_error *e) EXAI_WUR;

/* Loads the programs (a fresh start: nothing pinned in @dir) and pins them and their maps.
 * Mounts bpffs on /sys/fs/bpf when @dir is under it and nothing is mounted there. */
exai_status egress_pins_create(const char *dir, egress_pins *p, exai_error *e) EXAI_WUR;

/* Closes every descriptor; the pins stay. NULL-safe. */
void egress_pins_close(egress_pins *p);

/* Removes every pin of @dir (the links must be detached first: egress_links_detach_all). */
exai_status egress_pins_remove(const char *dir, exai_error *e) EXAI_WUR;

/* The state record (zeroes when none was written yet). */
exai_status egress_state_get(const egress_pins *p, struct egress_state *s, exai_error *e) EXAI_WUR;
exai_status egress_state_put(const egress_pins *p, const struct egress_state *s,
			     exai_error *e) EXAI_WUR;

#endif
