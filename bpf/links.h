/*
 * links: the cgroup links that attach the pinned programs to each workload's cgroup, pinned
 * as DIR/links/<cgroup id>-<hook>. A link someone detached (bpftool link detach) stays
 * pinned but names cgroup 0: egress_link_attached tells, and apply replaces it.
 */
#ifndef EXAI_EGRESS_LINKS_H
#define EXAI_EGRESS_LINKS_H

#include "pins.h"
#include "policy.h"

/* Makes sure every hook of cgroup @path (id @cgid) has a live pinned link. */
exai_status egress_links_attach(const egress_pins *p, uint64_t cgid, const char *path,
				exai_error *e) EXAI_WUR;

/* Detaches and unpins the links of every cgroup that @keep (NULL: none) does not name. */
exai_status egress_links_prune(const egress_pins *p, const egress_policy *keep,
			       exai_error *e) EXAI_WUR;

/* The state of hook @hook's link of cgroup @cgid: 1 attached to it, 0 pinned but detached
 * (or attached elsewhere), -1 not pinned. */
int egress_link_state(const egress_pins *p, uint64_t cgid, int hook);

#endif
