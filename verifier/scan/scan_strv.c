/*
 * scan_strv: the string vector (owned copies, grown one at a time) and the file-name glob test
 * over a vector of globs.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "scan_strv.h"

exai_status vf_strv_push(vf_strv *sv, const char *s)
{
	char **nv;
	char *c = strdup(s);

	if (!c)
		return EXAI_ENOMEM;
	nv = realloc(sv->v, (sv->n + 1) * sizeof(*nv));
	if (!nv) {
		free(c);
		return EXAI_ENOMEM;
	}
	sv->v = nv;
	sv->v[sv->n++] = c;
	return EXAI_OK;
}

void vf_strv_free(vf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

bool vf_files_match(const vf_strv *globs, const char *base, const uint8_t *p, size_t n)
{
	size_t bl = strlen(base);

	for (size_t i = 0; i < globs->n; i++) {
		const char *g = globs->v[i];
		if (strcmp(g, "#!") == 0) {
			if (n >= 2 && p[0] == '#' && p[1] == '!')
				return true;
		} else if (g[0] == '*' && g[1] == '.' && !strpbrk(g + 1, "*?[")) {
			size_t gl = strlen(g + 1); /* "*.ext": a plain suffix test */
			if (bl >= gl && strcmp(base + bl - gl, g + 1) == 0)
				return true;
		} else if (fnmatch(g, base, 0) == 0) {
			return true;
		}
	}
	return false;
}
