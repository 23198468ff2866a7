/*
 * scan_k8s_fast: the textual fast path for plain Kubernetes documents.
 *
 * libyaml runs at a few tens of MB/s, and most manifests in a release are plain block-style
 * workloads whose only interesting content is a few `image:` lines and the namespace. Such a
 * document is handled here line by line, with the same results (and the same line:column)
 * the parsed path would give. Anything this reader does not fully understand makes it give up
 * before doing anything, and the document goes to libyaml: a "hard word" (a keyword of another
 * check: Always, hostNetwork, LoadBalancer, NetworkPolicy, Corefile...; anchors, aliases,
 * merge keys, tags, tabs, directives; found by the caller in one pass over the file), flow
 * collections that mention images or span lines, quoted values with escapes, `image:` keys
 * whose value is not a one-line scalar, lines that are neither keys nor continuations.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "scan_k8s.h"

#define MAX_IMAGES 64

typedef struct img {
	char ref[512];
	uint64_t line, col;
} img;

typedef struct fast {
	const uint8_t *p, *end;
	uint64_t line;
	char kind[64], ns[254];
	bool in_meta, api;
	long meta_indent;
	long block_indent; /* inside a block scalar deeper than this; -1: not */
	uint64_t root_line;
	long root_col;
	size_t nimg;
	img imgs[MAX_IMAGES]; /* last: not cleared */
} fast;

static bool has(const uint8_t *p, size_t n, const char *s)
{
	return memmem(p, n, s, strlen(s)) != NULL;
}

/* Copies a one-line scalar value v[0..len) into out, unquoting; false when it is anything
 * this reader does not handle. */
static bool scalar(const uint8_t *v, size_t len, char *out, size_t cap)
{
	size_t a = 0, z = len;

	if (len && (v[0] == '"' || v[0] == '\'')) {
		const uint8_t *q = memchr(v + 1, v[0], len - 1);
		if (!q || memchr(v + 1, '\\', (size_t)(q - v - 1)))
			return false;
		a = 1;
		z = (size_t)(q - v);
		for (const uint8_t *r = q + 1; r < v + len; r++)
			if (*r != ' ' && *r != '\r') {
				if (*r != '#' || r[-1] != ' ')
					return false;
				break;
			}
	} else {
		for (size_t i = 0; i < len; i++)
			if (v[i] == '#' && i > 0 && v[i - 1] == ' ') {
				z = i;
				break;
			}
		while (z > a && (v[z - 1] == ' ' || v[z - 1] == '\r'))
			z--;
		if (a < z && strchr("{[|>&*!%@`,?:-", v[a]) &&
		    !(v[a] == '-' && z - a > 1 && v[a + 1] != ' '))
			return false;
	}
	if (z - a >= cap)
		return false;
	memcpy(out, v + a, z - a);
	out[z - a] = '\0';
	return true;
}

/* One line [l, e). Returns false to give up on the document. */
static bool line(fast *f, const uint8_t *l, const uint8_t *e)
{
	const uint8_t *k = l, *colon, *v;
	long indent;
	size_t klen;

	while (k < e && *k == ' ')
		k++;
	indent = (long)(k - l);
	if (k == e || *k == '#' || *k == '\r')
		return true; /* blank or comment */
	if (f->block_indent >= 0) {
		if (indent > f->block_indent)
			return true; /* block scalar content */
		f->block_indent = -1;
	}
	if (f->root_line == 0) {
		f->root_line = f->line;
		f->root_col = indent + 1;
	}
	while (k + 1 < e && k[0] == '-' && k[1] == ' ') { /* sequence entries */
		k += 2;
		while (k < e && *k == ' ')
			k++;
	}
	if (k < e && (*k == '{' || *k == '[' || *k == '"' || *k == '\''))
		return false;
	colon = k;
	while (colon < e && *colon != ':' && *colon != ' ')
		colon++;
	if (colon >= e || *colon != ':' || (colon + 1 < e && colon[1] != ' ' && colon[1] != '\r'))
		return indent > 0; /* a continuation of a plain scalar; at column 0 it is odd */
	klen = (size_t)(colon - k);
	v = colon + 1;
	while (v < e && *v == ' ')
		v++;
	if (v < e && (*v == '|' || *v == '>')) {
		f->block_indent = indent;
		return true;
	}
	if (v < e && (*v == '{' || *v == '[')) {
		int depth = 0;
		if (indent == 0)
			return false; /* metadata: {namespace: x} and the like */
		for (const uint8_t *c = v; c < e; c++)
			depth += (*c == '{' || *c == '[') - (*c == '}' || *c == ']');
		if (depth != 0 || has(v, (size_t)(e - v), "image"))
			return false;
	}
	if (indent == 0)
		f->in_meta = klen == 8 && memcmp(k, "metadata", 8) == 0 && v == e;
	if (indent == 0 && klen == 10 && memcmp(k, "apiVersion", 10) == 0)
		f->api = true;
	if (indent == 0 && klen == 4 && memcmp(k, "kind", 4) == 0)
		return scalar(v, (size_t)(e - v), f->kind, sizeof(f->kind));
	if (f->in_meta && indent > 0) {
		if (f->meta_indent < 0)
			f->meta_indent = indent;
		if (indent == f->meta_indent && klen == 9 && memcmp(k, "namespace", 9) == 0)
			return scalar(v, (size_t)(e - v), f->ns, sizeof(f->ns));
	}
	if (klen == 5 && memcmp(k, "image", 5) == 0) {
		img *im;
		if (v == e || f->nimg == MAX_IMAGES)
			return false;
		im = &f->imgs[f->nimg];
		if (!scalar(v, (size_t)(e - v), im->ref, sizeof(im->ref)))
			return false;
		im->line = f->line;
		im->col = (uint64_t)(v - l) + 1;
		f->nimg++;
	}
	return true;
}

const char *const vf_k8s_hard_words[] = {
    "Always",	     "hostNetwork", "LoadBalancer", "ExternalName",
    "NetworkPolicy", "Corefile",    "ServiceEntry", "repository",
    "Namespace",     "pullPolicy",  "<<",	    "\t ",
    " \t",	     ": &",	    ": *",	    "- &",
    "- *",	     ": !",	    "- !",	    "%YAML",
    "%TAG",	     NULL};

bool vf_k8s_fast_doc(vf_scan *s, const vf_buf *b, const uint8_t *p, size_t n, uint64_t first_line,
		     uint64_t *emitted)
{
	fast *f = malloc(sizeof(*f));
	bool ok = true;

	if (!f)
		return false;
	memset(f, 0, offsetof(fast, imgs));
	f->nimg = 0;
	f->line = first_line;
	f->meta_indent = -1;
	f->block_indent = -1;
	for (const uint8_t *l = p, *end = p + n; ok && l < end; f->line++) {
		const uint8_t *nl = memchr(l, '\n', (size_t)(end - l)), *e = nl ? nl : end;
		ok = line(f, l, e);
		l = nl ? nl + 1 : end;
	}
	if (ok) {
		uint64_t max = s->rules->set.max_findings_per_file;
		for (size_t i = 0; i < f->nimg; i++) {
			if (*emitted >= max) { /* images left unjudged: the caller reports it */
				*emitted = max + 1;
				break;
			}
			*emitted += vf_k8s_check_image(s, b, f->imgs[i].ref, f->imgs[i].line,
						       f->imgs[i].col);
		}
		if (f->api && f->kind[0] && vf_k8s_is_workload(f->kind, strlen(f->kind)))
			vf_k8s_ns_mark(s, b, f->ns[0] ? f->ns : "default", f->root_line,
				       (uint64_t)f->root_col, false);
	}
	free(f);
	return ok;
}
