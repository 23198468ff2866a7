/*
 * scan_imageref: image references in YAML document trees and, for YAML that does not parse,
 * in `image:` lines (see scan_imageref.h for the contract).
 *
 * Invariants: the walk never goes into a map or sequence deeper than w->max_depth (a scalar
 * is read by the map holding it) nor visits more than w->budget nodes, and says so
 * (w->incomplete) when it stops early; a reference composed from a map is at most 1023 bytes
 * (snprintf truncates); nothing is allocated.
 */
#include <stdio.h>
#include <string.h>

#include "scan_imageref.h"

void vf_imageref_init(vf_iref_walk *w, void (*on_ref)(void *arg, const vf_iref *r), void *arg)
{
	*w = (vf_iref_walk){
	    .on_ref = on_ref, .arg = arg, .max_depth = VF_IREF_DEPTH, .budget = VF_IREF_BUDGET};
}

bool vf_imageref_templated(const char *v)
{
	return strstr(v, "{{") || strchr(v, '$');
}

static void report(vf_iref_walk *w, const char *ref, vf_iref_kind kind, bool url,
		   const exai_ynode *at, uint64_t line, uint64_t col)
{
	vf_iref r = {.ref = ref,
		     .kind = kind,
		     .templated = vf_imageref_templated(ref),
		     .url_repo = url,
		     .line = line,
		     .col = col,
		     .at = at};

	w->on_ref(w->arg, &r);
}

/* Map @m as an image: its kind, or false when it is not one. A map under a key `image` is one
 * when it has a repository; another map when the repository (not a URL: Chart.yaml
 * dependencies) comes with a tag, digest or registry. */
static bool image_map_kind(exai_yaml *y, exai_ynode *m, const char *key, vf_iref_kind *kind,
			   bool *url)
{
	const char *rp = exai_yaml_scalar(exai_yaml_get(y, m, "repository"));

	if (!rp || !*rp)
		return false;
	*url = strstr(rp, "://") != NULL;
	if (key && strcmp(key, "image") == 0) {
		*kind = VF_IREF_IMAGE_MAP;
		return true;
	}
	*kind = VF_IREF_VALUES_MAP;
	return !*url && (exai_yaml_scalar(exai_yaml_get(y, m, "tag")) ||
			 exai_yaml_scalar(exai_yaml_get(y, m, "digest")) ||
			 exai_yaml_scalar(exai_yaml_get(y, m, "registry")));
}

/* A values-style map {registry, repository, tag, digest} as one reference. */
static void ref_from_map(vf_iref_walk *w, exai_yaml *y, exai_ynode *m, vf_iref_kind kind, bool url)
{
	exai_ynode *repo = exai_yaml_get(y, m, "repository");
	const char *reg = exai_yaml_scalar(exai_yaml_get(y, m, "registry"));
	const char *rp = exai_yaml_scalar(repo);
	const char *tag = exai_yaml_scalar(exai_yaml_get(y, m, "tag"));
	const char *dig = exai_yaml_scalar(exai_yaml_get(y, m, "digest"));
	char ref[1024];

	snprintf(ref, sizeof(ref), "%s%s%s%s%s%s%s", reg && *reg ? reg : "", reg && *reg ? "/" : "",
		 rp, tag && *tag ? ":" : "", tag && *tag ? tag : "", dig && *dig ? "@" : "",
		 dig && *dig ? dig : "");
	report(w, ref, kind, url, repo, exai_yaml_line(repo), exai_yaml_col(repo));
}

/* @key_of_n: the key whose value @n is (a sequence passes its key on to its items). */
static void walk(vf_iref_walk *w, exai_yaml *y, exai_ynode *n, const char *key_of_n, unsigned depth)
{
	vf_iref_kind kind;
	bool url;

	if (!n)
		return;
	if (w->budget == 0) {
		w->incomplete = true;
		return;
	}
	w->budget--;
	if (!exai_yaml_is_seq(n) && !exai_yaml_is_map(n))
		return; /* a scalar: read by the map holding it, whatever its depth */
	if (depth > w->max_depth) {
		w->incomplete = true;
		return;
	}
	if (exai_yaml_is_seq(n)) {
		for (size_t i = 0; i < exai_yaml_seq_len(n); i++)
			walk(w, y, exai_yaml_seq_at(y, n, i), key_of_n, depth + 1);
		return;
	}
	if (!exai_yaml_is_map(n))
		return;
	if (image_map_kind(y, n, key_of_n, &kind, &url))
		ref_from_map(w, y, n, kind, url);
	for (size_t i = 0; i < exai_yaml_map_len(n); i++) {
		const char *key = exai_yaml_scalar(exai_yaml_map_key(y, n, i));
		exai_ynode *v = exai_yaml_map_value(y, n, i);
		const char *sv = exai_yaml_scalar(v);
		if (key && !strcmp(key, "image") && sv && *sv)
			report(w, sv, VF_IREF_VALUE, false, v, exai_yaml_line(v), exai_yaml_col(v));
		else if (key && w->on_key && !(!strcmp(key, "image") && sv))
			w->on_key(w->arg, key_of_n, key, v);
		walk(w, y, v, key, depth + 1);
	}
}

void vf_imageref_walk(vf_iref_walk *w, exai_yaml *y, exai_ynode *root)
{
	walk(w, y, root, NULL, 0);
}

/* Trims spaces, a trailing comment and one pair of quotes in place. */
static char *plain_value(char *v)
{
	char *end, *hash;

	while (*v == ' ' || *v == '\t')
		v++;
	if ((*v == '"' || *v == '\'') && (end = strchr(v + 1, *v))) {
		*end = '\0';
		return v + 1;
	}
	if ((hash = strstr(v, " #")))
		*hash = '\0';
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return v;
}

void vf_imageref_lines(vf_iref_walk *w, const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	char line[1024];
	uint64_t ln = 0;

	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *k;
		char *v;
		ln++;
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			k = line;
			while (*k == ' ' || *k == '\t' || (*k == '-' && k[1] == ' '))
				k++;
			if (!strncmp(k, "image:", 6) && (k[6] == ' ' || k[6] == '\t')) {
				v = plain_value((char *)k + 6);
				if (*v && (vf_imageref_templated(v) ||
					   (*v != '{' && *v != '|' && *v != '>' && *v != '&')))
					report(w, v, VF_IREF_LINE, false, NULL, ln,
					       (uint64_t)(v - line) + 1 -
						   (v[-1] == '"' || v[-1] == '\''));
			}
		}
		p = nl ? nl + 1 : end;
	}
}
