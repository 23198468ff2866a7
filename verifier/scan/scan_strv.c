/*
 * scan_strv: the string vector (owned copies, grown by exai_grow up to VF_STRV_MAX) and the
 * file-name glob test over a vector of globs.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"
#include "scan_strv.h"

exai_status vf_strv_push(vf_strv *sv, const char *s, exai_error *e)
{
	exai_status rc;
	char *c;

	if ((rc = EXAI_GROW(&sv->v, &sv->cap, sv->n, 1, VF_STRV_MAX, e)))
		return rc;
	if (!(c = strdup(s)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	sv->v[sv->n++] = c;
	return EXAI_OK;
}

void vf_strv_free(vf_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
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
