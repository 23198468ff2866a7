/*
 * scan_k8s: Kubernetes (and Helm values / compose) YAML checks, the namespaces seen by the
 * scan, and the textual fast path for plain documents (scan_k8s_fast.c).
 */
#ifndef VF_SCAN_K8S_H
#define VF_SCAN_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "scan_sink.h"

/* Namespaces one scan keeps track of (Kubernetes' own scalability limit for a cluster). Over
 * it, the default-deny egress check of a new namespace is not done: one scan.incomplete
 * finding says so. */
#define VF_K8S_NS_MAX 10000
/* Positions of hard words (vf_k8s_hard_words) kept for one buffer; over it (pathological
 * input) every document of the buffer goes to libyaml, which is always right, only slower. */
#define VF_K8S_HARD_MAX (1u << 20)

void vf_scan_k8s(vf_scan *s, const vf_buf *b);
exai_status vf_k8s_state_new(struct vf_k8s_state **out, exai_error *e) EXAI_WUR;
void vf_k8s_state_free(struct vf_k8s_state *k);
void vf_k8s_finish(vf_scan *s);
bool vf_k8s_is_workload(const char *kind, size_t len);
/* Records that namespace @ns runs workloads (first location kept) or, with @denied, has a
 * default-deny egress policy. */
void vf_k8s_ns_mark(vf_scan *s, const vf_buf *b, const char *ns, uint64_t line, uint64_t col,
		    bool denied);
/* scan_k8s_fast.c: handles one plain block-style document textually (image checks and
 * namespace bookkeeping) and returns true, or returns false (having done nothing) when the
 * document needs a real YAML parse. @first_line: its first line in the buffer. The caller
 * sends documents holding any of vf_k8s_hard_words to libyaml without asking. */
extern const char *const vf_k8s_hard_words[];
bool vf_k8s_fast_doc(vf_scan *s, const vf_buf *b, const uint8_t *p, size_t n, uint64_t first_line,
		     uint64_t *emitted);
/* Image reference checks on one reference; returns the number of findings. */
unsigned vf_k8s_check_image(vf_scan *s, const vf_buf *b, const char *ref, uint64_t line,
			    uint64_t col);

#endif
