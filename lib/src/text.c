/*
 * text: strict number, name and path checks shared by every parser of ours.
 */
#include "exai/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
