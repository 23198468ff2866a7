/*
 * scan_imageref: the one image-reference extractor of the verifier, used by scan mode's
 * Kubernetes / values checks (scan_k8s.c) and bundle mode's closure check
 * (bundlemode_closure.c).
 *
 * In a YAML document tree it finds every mapping key `image` whose value is a reference, every
 * values-style map {registry, repository, tag, digest} under a key `image`, and every other map
 * that looks like one (a repository with a tag, digest or registry: Helm values put images
 * under any key). For YAML that does not parse (Helm templates) it reads `image: REF` lines
 * instead. Each reference comes to a callback with its position and whether it is template
 * syntax; the extractor judges nothing else.
 *
 * Bounded: a walk goes into maps and sequences at most max_depth levels deep and visits at
 * most budget nodes (an alias can make a small document look huge, or loop); reaching either sets
 * `incomplete`, so the caller reports the document as not fully read instead of silently finding
 * fewer references.
 */
#ifndef VF_SCAN_IMAGEREF_H
#define VF_SCAN_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/yaml.h"

#define VF_IREF_DEPTH  64
#define VF_IREF_BUDGET 200000

typedef enum vf_iref_kind {
	VF_IREF_VALUE,	    /* image: REF */
	VF_IREF_IMAGE_MAP,  /* image: {registry, repository, tag, digest} */
	VF_IREF_VALUES_MAP, /* another map with a repository and a tag, digest or registry */
	VF_IREF_LINE	    /* image: REF, read line by line */
} vf_iref_kind;

typedef struct vf_iref {
	const char *ref; /* as written, or composed from a map: [REGISTRY/]REPO[:TAG][@DIGEST] */
	vf_iref_kind kind;
	bool templated;	      /* template syntax ({{ or $): its value comes from elsewhere */
	bool url_repo;	      /* VF_IREF_IMAGE_MAP whose repository is a URL (not an image) */
	uint64_t line, col;   /* 1-based, in the document (YAML) or the buffer (lines) */
	const exai_ynode *at; /* the scalar it came from (value or repository); NULL for lines */
} vf_iref;

typedef struct vf_iref_walk {
	void (*on_ref)(void *arg, const vf_iref *r);
	/* Optional: every other key of a map (not `image: REF`), with the key of the map it is in
	 * (@parent, NULL at the top or under a non-scalar key), before the walk goes into @v. */
	void (*on_key)(void *arg, const char *parent, const char *key, exai_ynode *v);
	void *arg;
	unsigned max_depth; /* levels of maps and sequences below the root visited */
	size_t budget;	    /* nodes left to visit: spent across walks until reset */
	bool incomplete;    /* max_depth or budget was reached: part of a tree was not visited */
} vf_iref_walk;

/* A walk with the default bounds (VF_IREF_DEPTH, VF_IREF_BUDGET) reporting to @on_ref. */
void vf_imageref_init(vf_iref_walk *w, void (*on_ref)(void *arg, const vf_iref *r), void *arg);
/* Walks the tree under @root of document @y. */
void vf_imageref_walk(vf_iref_walk *w, exai_yaml *y, exai_ynode *root);
/* Line by line: `image: REF` (also after "- "), the value unquoted and without a trailing
 * comment; a block scalar, flow map or anchor is not a reference. Lines over 1023 bytes are
 * skipped. */
void vf_imageref_lines(vf_iref_walk *w, const uint8_t *p, size_t n);
/* Whether @v is template syntax ({{ or $). */
bool vf_imageref_templated(const char *v);

#endif
