/*
 * text: strict number, name and path checks shared by every parser of ours, and the
 * "did you mean" suggestion their error messages give for a mistyped key.
 */
#include "exai/text.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "exai/grow.h"

bool exai_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool exai_parse_u64_canon(const char *s, uint64_t *out)
{
	if (!s || (s[0] == '0' && s[1] != '\0') || strlen(s) > 20)
		return false;
	return exai_parse_u64(s, out);
}

bool exai_parse_time(const char *s, uint64_t *out)
{
	struct tm tm = {0};
	const char *end;
	time_t t;

	if (exai_parse_u64(s, out))
		return true;
	if (!(end = strptime(s, "%Y-%m-%d", &tm)))
		return false;
	if (*end == 'T') {
		end = strptime(end + 1, "%H:%M:%S", &tm);
		if (!end || strcmp(end, "Z") != 0)
			return false;
	} else if (*end) {
		return false;
	}
	if ((t = timegm(&tm)) < 0)
		return false;
	*out = (uint64_t)t;
	return true;
}

static bool name_char(char c, bool at_sign)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '+' || c == '-' || (at_sign && c == '@');
}

bool exai_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > EXAI_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(s[i], false))
			return false;
	return true;
}

bool exai_name_reserved(const char *s)
{
	static const char *const layout[] = {"current", "a", "b"};

	if (!s || s[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++)
		if (!strcasecmp(s, layout[i]))
			return true;
	return false;
}

bool exai_relpath_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0, seg = 0;

	if (n == 0 || n > EXAI_RELPATH_MAX || s[0] == '/' || s[n - 1] == '/')
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			if (seg == 0)
				return false;
			if ((seg == 1 && s[i - 1] == '.') ||
			    (seg == 2 && s[i - 1] == '.' && s[i - 2] == '.'))
				return false;
			seg = 0;
			continue;
		}
		if (!name_char(s[i], true))
			return false;
		seg++;
	}
	return true;
}

int exai_split_fields(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;

	if (*p == '\0')
		return 0;
	for (;;) {
		char *sp = strchr(p, ' ');
		if (n == max || sp == p)
			return -1;
		fields[n++] = p;
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
		if (*p == '\0')
			return -1;
	}
	return n;
}

void exai_strbuf_printf(exai_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || EXAI_GROW(&b->p, &b->cap, b->len, (size_t)n + 1, EXAI_GROW_NOCAP, NULL)) {
		free(b->p);
		b->p = NULL;
		b->oom = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *exai_strbuf_take(exai_strbuf *b)
{
	char *p = b->oom ? NULL : b->p;

	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

const char *exai_plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one
 * substring), case-insensitive; both strings at most EXAI_SUGGEST_MAX_LEN bytes. Three rows. */
static unsigned osa_distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned rows[3][EXAI_SUGGEST_MAX_LEN + 1];
	unsigned *pp = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			unsigned cost = ca != cb, v = prev[j - 1] + cost;
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			cur[j] = v;
		}
		unsigned *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *exai_suggest(const char *typo, const char *const *words, unsigned max_dist)
{
	const char *best = NULL;
	unsigned best_d = max_dist + 1;
	size_t lt;

	if (!typo || !words || (lt = strlen(typo)) > EXAI_SUGGEST_MAX_LEN)
		return NULL;
	for (const char *const *w = words; *w; w++) {
		size_t lw = strlen(*w);
		unsigned d;
		if (lw > EXAI_SUGGEST_MAX_LEN)
			continue;
		if (!strcmp(*w, typo))
			return NULL;
		/* The distance is at least the difference in length: skip the table. */
		if ((lw > lt ? lw - lt : lt - lw) > max_dist)
			continue;
		d = osa_distance(typo, lt, *w, lw);
		if (d < best_d && d < lt) {
			best = *w;
			best_d = d;
		}
	}
	return best;
}
