/*
 * scan_ctx: the context of a finding (see scan_ctx.h). File kinds come from names only (plus a
 * shebang), never from guessing at content; comment syntax is a small lexer per language
 * family that knows line comments, block comments, quoted strings and Python docstrings, and
 * nothing else (a regex literal in JS can fool it; it then errs towards "not a comment",
 * which keeps a finding at its full severity).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "scan_ctx.h"

#define LOOK 64 /* bytes a local test looks at around its offset */

static bool is_word_byte(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t l = strlen(s), k = strlen(suf);

	return l >= k && strcasecmp(s + l - k, suf) == 0;
}

static bool has_prefix(const char *s, const char *pre)
{
	return strncasecmp(s, pre, strlen(pre)) == 0;
}

static bool any_suffix(const char *s, const char *const *v)
{
	for (; *v; v++)
		if (has_suffix(s, *v))
			return true;
	return false;
}

static bool any_prefix(const char *s, const char *const *v)
{
	for (; *v; v++)
		if (has_prefix(s, *v))
			return true;
	return false;
}

/* "ls.1", "printf.3p", "foo.8.gz" is decompressed to "foo.8" */
static bool is_man_page(const char *base)
{
	const char *dot = strrchr(base, '.');

	if (!dot || dot == base || dot[1] < '1' || dot[1] > '9')
		return false;
	for (const char *c = dot + 2; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')) || c - dot > 4)
			return false;
	return true;
}

static bool path_has(const char *path, const char *dir)
{
	return strstr(path, dir) != NULL;
}

/* A Debian package's control file @name: DEBIAN/<name> in an unpacked package (dpkg-deb -R),
 * debian/<name> in a source tree, or a member of a .deb's control archive, whose location reads
 * "x.deb!control.tar.xz!<name>". */
static bool deb_control_file(const char *path, const char *name)
{
	char a[40], b[40];
	const char *c = strstr(path, ".deb!control.tar");

	snprintf(a, sizeof(a), "DEBIAN/%s", name);
	snprintf(b, sizeof(b), "debian/%s", name);
	if (path_has(path, a) || path_has(path, b))
		return true;
	if (!c || !(c = strchr(c + 5, '!')))
		return false;
	return !strcmp(c + 1, name);
}

/* A program or configuration file by its extension: "history.js" is code, whatever its name
 * says. */
static bool code_ext(const char *base)
{
	static const char *const exts[] = {
	    "js",   "mjs",  "cjs",    "ts",   "tsx",   "jsx",	"py",  "rb",  "pl",   "pm",   "go",
	    "java", "c",    "h",      "cc",   "cpp",   "rs",	"cs",  "php", "sh",   "bash", "zsh",
	    "json", "yaml", "yml",    "toml", "ini",   "conf",	"cfg", "xml", "html", "htm",  "css",
	    "scss", "vue",  "svelte", "kt",   "swift", "scala", "lua", "map", NULL};
	const char *dot = strrchr(base, '.');

	if (!dot)
		return false;
	for (const char *const *e = exts; *e; e++)
		if (strcasecmp(dot + 1, *e) == 0)
			return true;
	return false;
}

/* @base is one of @names (case-insensitively), alone or with a suffix after '.', '-' or '_'
 * ("README", "README.md", "LICENSE-MIT", "NEWS_2024"), and not a program ("history.js"). */
static bool doc_name(const char *base, const char *const *names)
{
	for (const char *const *n = names; *n; n++) {
		size_t k = strlen(*n);
		if (strncasecmp(base, *n, k) != 0)
			continue;
		if (base[k] == '\0')
			return true;
		if ((base[k] == '.' || base[k] == '-' || base[k] == '_') && !code_ext(base))
			return true;
	}
	return false;
}

static bool is_doc(const char *base, const char *path)
{
	static const char *const names[] = {"README",	    "CHANGELOG",    "CHANGES",
					    "NEWS",	    "HISTORY",	    "AUTHORS",
					    "CONTRIBUTORS", "COPYING",	    "LICENSE",
					    "LICENCE",	    "NOTICE",	    "THANKS",
					    "TODO",	    "CONTRIBUTING", "CREDITS",
					    "MAINTAINERS",  "changelog",    "PRIVACY",
					    "SECURITY",	    "SUPPORT",	    "CODE_OF_CONDUCT",
					    "UPGRADING",    "MIGRATION",    NULL};
	static const char *const exts[] = {".md",   ".markdown", ".rst", ".adoc", ".asciidoc",
					   ".mo",   ".po",	 ".pot", ".gmo",  ".texi",
					   ".info", ".man",	 ".txt", ".map",  NULL};
	static const char *const dirs[] = {"usr/share/doc/", "usr/share/man/", "usr/share/info/",
					   "usr/share/locale/", NULL};

	/* Text files that are configuration, not prose. */
	if (has_prefix(base, "requirements") || has_prefix(base, "constraints") ||
	    strcasecmp(base, "CMakeLists.txt") == 0)
		return false;
	if (doc_name(base, names) || any_suffix(base, exts) || is_man_page(base))
		return true;
	/* Rendered documentation: HTML under a doc/ or docs/ directory (npm ships its manual as
	 * docs/output/ *.html); code there (docs/conf.py) is still code. */
	if ((has_suffix(base, ".html") || has_suffix(base, ".htm")) &&
	    (path_has(path, "/docs/") || path_has(path, "/doc/") || has_prefix(path, "docs/") ||
	     has_prefix(path, "doc/")))
		return true;
	/* debconf templates: the prompts shown at install time, in every translation */
	if (!strcmp(base, "templates") && deb_control_file(path, "templates"))
		return true;
	for (const char *const *d = dirs; *d; d++)
		if (path_has(path, *d))
			return true;
	return false;
}

static bool is_changelog(const char *base, const char *path)
{
	static const char *const names[] = {"CHANGELOG", "CHANGES", "NEWS", "HISTORY", NULL};

	if (code_ext(base))
		return false;
	return doc_name(base, names) || has_suffix(base, ".changes") ||
	       path_has(path, "/changelog") || has_prefix(path, "changelog");
}

/* The interpreter a shebang names ("#!/usr/bin/env python3" -> "python3"), into @out. */
static void shebang(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i = 2, w = 0, a;

	out[0] = '\0';
	if (n < 2 || p[0] != '#' || p[1] != '!')
		return;
	for (;;) {
		while (i < n && i < 256 && (p[i] == ' ' || p[i] == '\t'))
			i++;
		a = i;
		while (i < n && i < 256 && p[i] != ' ' && p[i] != '\t' && p[i] != '\n')
			i++;
		for (size_t k = a; k < i; k++)
			if (p[k] == '/')
				a = k + 1;
		w = i - a < cap - 1 ? i - a : cap - 1;
		memcpy(out, p + a, w);
		out[w] = '\0';
		if (strcmp(out, "env") != 0)
			return;
	}
}

void vf_ftype_path(const char *base, const char *path, vf_ftype *out)
{
	memset(out, 0, sizeof(*out));
	out->doc = is_doc(base, path);
	out->manifest = !strcmp(base, "package.json") || !strcmp(base, "PKG-INFO") ||
			!strcmp(base, "METADATA") || !strcmp(base, "Chart.yaml") ||
			(!strcmp(base, "control") && deb_control_file(path, "control"));
	out->changelog = is_changelog(base, path);
}

/* Everything but doc, manifest and changelog comes from @base, those three and the first
 * bytes: the duplicate cache (scan_dup.c) relies on it. */
void vf_ftype_of(const char *base, const char *path, const uint8_t *p, size_t n, vf_ftype *out)
{
	static const char *const c_exts[] = {
	    ".js",     ".mjs", ".cjs",	".jsx",	 ".ts",	   ".tsx",   ".mts",   ".cts",
	    ".c",      ".h",   ".cc",	".cpp",	 ".cxx",   ".hpp",   ".go",    ".java",
	    ".kt",     ".kts", ".rs",	".cs",	 ".swift", ".scala", ".dart",  ".groovy",
	    ".gradle", ".css", ".scss", ".less", ".jsonc", ".json5", ".proto", NULL};
	static const char *const py_exts[] = {".py", ".pyw", ".pyi", NULL};
	static const char *const ini_exts[] = {
	    ".ini",	".service", ".socket", ".timer",   ".mount", ".target", ".path",
	    ".network", ".netdev",  ".link",   ".desktop", ".cfg",   ".npmrc",	NULL};
	static const char *const hash_exts[] = {
	    ".yaml", ".yml", ".sh",	    ".bash", ".zsh",	   ".ksh",	    ".conf", ".cnf",
	    ".toml", ".env", ".properties", ".rb",   ".pl",	   ".pm",	    ".r",    ".tf",
	    ".hcl",  ".mk",  ".cmake",	    ".txt",  ".gitignore", ".dockerignore", NULL};
	static const char *const hash_names[] = {
	    "Dockerfile", "Containerfile", "Makefile", "Corefile", "CMakeLists", ".env", NULL};
	static const char *const shells[] = {"sh",  "bash", "zsh",     "dash", "ksh",
					     "ash", "mksh", "busybox", NULL};
	char interp[32];

	vf_ftype_path(base, path, out);
	shebang(p, n, interp, sizeof(interp));
	if (interp[0]) {
		bool sh = false;
		for (const char *const *s = shells; *s; s++)
			sh |= strcmp(interp, *s) == 0;
		if (has_prefix(interp, "python"))
			out->lang = VF_LANG_PY;
		else if (!strcmp(interp, "node") || !strcmp(interp, "deno") ||
			 !strcmp(interp, "bun"))
			out->lang = VF_LANG_C;
		else
			out->lang = VF_LANG_HASH; /* shells, perl, ruby, awk ... */
		out->program = !sh;
		return;
	}
	if (out->doc && !has_suffix(base, ".txt"))
		return;
	if (any_suffix(base, py_exts)) {
		out->lang = VF_LANG_PY;
		out->program = true;
	} else if (any_suffix(base, c_exts)) {
		out->lang = VF_LANG_C;
		out->program = !has_suffix(base, ".css") && !has_suffix(base, ".scss") &&
			       !has_suffix(base, ".less");
	} else if (any_suffix(base, ini_exts)) {
		out->lang = VF_LANG_INI;
	} else if (any_suffix(base, hash_exts) || any_prefix(base, hash_names)) {
		out->lang = has_suffix(base, ".txt") ? VF_LANG_HASHLINE : VF_LANG_HASH;
		out->program = has_suffix(base, ".rb") || has_suffix(base, ".pl") ||
			       has_suffix(base, ".pm") || has_suffix(base, ".r");
	} else if (!has_suffix(base, ".json") && !has_suffix(base, ".md") &&
		   !has_suffix(base, ".html") && !has_suffix(base, ".htm") &&
		   !has_suffix(base, ".xml") && !has_suffix(base, ".svg")) {
		out->lang = VF_LANG_HASHLINE; /* data tables, lists: '#' lines are comments */
	}
}

static bool key_in(const uint8_t *p, size_t a, size_t k, const char *const *keys)
{
	for (const char *const *w = keys; *w; w++)
		if (strlen(*w) == k - a && strncasecmp((const char *)p + a, *w, k - a) == 0)
			return true;
	return false;
}

/* The list item starting its line at @ls ("  - https://...", Chart.yaml's sources) belongs to
 * a key in @keys: the nearest line above it with less indentation reads "KEY:" (1 KiB back at
 * most; sibling items on the way are skipped). */
static bool list_of_key(const uint8_t *p, size_t ls, const char *const *keys)
{
	size_t ind = 0, le = ls;

	while (p[ls + ind] == ' ')
		ind++;
	if (p[ls + ind] != '-')
		return false;
	while (le > 0 && ls - le < 16 * LOOK) {
		size_t pe = le - 1, ps = pe, pi = 0, k, z; /* the line before: [ps, pe) */
		while (ps > 0 && p[ps - 1] != '\n')
			ps--;
		while (ps + pi < pe && p[ps + pi] == ' ')
			pi++;
		le = ps;
		if (ps + pi == pe || pi >= ind)
			continue; /* blank, or a sibling / deeper line */
		for (k = ps + pi; k < pe && (is_word_byte(p[k]) || p[k] == '-'); k++)
			;
		for (z = k + 1; z < pe && (p[z] == ' ' || p[z] == '\r'); z++)
			;
		return k < pe && p[k] == ':' && z >= pe && key_in(p, ps + pi, k, keys);
	}
	return false;
}

bool vf_url_is_metadata(const vf_ftype *ft, const uint8_t *p, size_t n, size_t pos)
{
	static const char *const keys[] = {"homepage",
					   "home",
					   "url",
					   "bugs",
					   "repository",
					   "author",
					   "funding",
					   "email",
					   "contributors",
					   "maintainers",
					   "icon",
					   "sources",
					   "vcs-git",
					   "vcs-browser",
					   "vcs-svn",
					   "home-page",
					   "project-url",
					   "source",
					   "upstream-contact",
					   "documentation",
					   "web",
					   NULL};
	size_t a = pos, k, ls;

	if (!ft->manifest || pos >= n)
		return false;
	while (a > 0 && pos - a < 4 * LOOK && p[a - 1] != '\n')
		a--;
	ls = a;
	while (a < pos && (p[a] == ' ' || p[a] == '\t' || p[a] == '"' || p[a] == '-'))
		a++;
	for (k = a; k < pos && k - a < 32 && (is_word_byte(p[k]) || p[k] == '-'); k++)
		;
	/* A person in package.json's contributors: "Name <mail> (https://site)". */
	if (a > 0 && p[a - 1] == '"' && pos > 0 && p[pos - 1] == '(' && k < pos && p[k] != ':' &&
	    (p[k] != '"' || k + 1 >= pos || p[k + 1] != ':'))
		return true;
	if (k == pos && (ls == 0 || p[ls - 1] == '\n'))
		return list_of_key(p, ls, keys);
	if (k == a || k >= pos || (p[k] != '"' && p[k] != ':'))
		return false;
	return key_in(p, a, k, keys);
}

/* ---- the comment lexer ---- */

enum { ST_CODE = 0, ST_SQ, ST_DQ, ST_BT, ST_LINE, ST_BLOCK, ST_TDQ, ST_TSQ };

void vf_lexer_init(vf_lexer *lx, vf_lang lang)
{
	memset(lx, 0, sizeof(*lx));
	lx->lang = lang;
	lx->line_blank = true;
}

/* One step of the CODE state at p[i]; returns how many bytes it consumed. */
static size_t code_step(vf_lexer *lx, const uint8_t *p, size_t n, size_t i)
{
	uint8_t c = p[i];
	bool blank = lx->line_blank;
	bool after_blank = i == 0 || p[i - 1] == ' ' || p[i - 1] == '\t' || p[i - 1] == '\n';

	if (c != ' ' && c != '\t')
		lx->line_blank = false;
	switch (lx->lang) {
	case VF_LANG_HASHLINE:
		if (c == '#' && blank)
			lx->state = ST_LINE;
		return 1;
	case VF_LANG_INI:
		if ((c == '#' || c == ';') && blank)
			lx->state = ST_LINE;
		return 1;
	case VF_LANG_HASH:
		if (c == '#' && after_blank && !(i == 0 && i + 1 < n && p[1] == '!'))
			lx->state = ST_LINE;
		else if (c == '"')
			lx->state = ST_DQ;
		else if (c == '\'')
			lx->state = ST_SQ;
		return 1;
	case VF_LANG_PY:
		if (c == '#') {
			lx->state = ST_LINE;
		} else if ((c == '"' || c == '\'') && i + 2 < n && p[i + 1] == c && p[i + 2] == c) {
			lx->state = c == '"' ? ST_TDQ : ST_TSQ;
			lx->docstring = blank;
			return 3;
		} else if (c == '"' || c == '\'') {
			lx->state = c == '"' ? ST_DQ : ST_SQ;
		}
		return 1;
	case VF_LANG_C:
		if (c == '/' && i + 1 < n && p[i + 1] == '/' && !(i > 0 && p[i - 1] == ':')) {
			lx->state = ST_LINE;
			return 2;
		}
		if (c == '/' && i + 1 < n && p[i + 1] == '*') {
			lx->state = ST_BLOCK;
			return 2;
		}
		if (c == '"')
			lx->state = ST_DQ;
		else if (c == '\'')
			lx->state = ST_SQ;
		else if (c == '`')
			lx->state = ST_BT;
		return 1;
	case VF_LANG_NONE:
		break;
	}
	return 1;
}

/* One step at p[i] in any state; returns how many bytes it consumed. */
static size_t step(vf_lexer *lx, const uint8_t *p, size_t n, size_t i)
{
	uint8_t c = p[i];

	if (c == '\n') {
		lx->line_blank = true;
		if (lx->state != ST_BLOCK && lx->state != ST_BT && lx->state != ST_TDQ &&
		    lx->state != ST_TSQ)
			lx->state = ST_CODE; /* line comments and one-line strings end here */
		return 1;
	}
	switch (lx->state) {
	case ST_CODE:
		return code_step(lx, p, n, i);
	case ST_LINE:
		return 1;
	case ST_SQ:
	case ST_DQ:
	case ST_BT:
		if (c == '\\' && lx->lang != VF_LANG_HASH)
			return i + 1 < n && p[i + 1] != '\n' ? 2 : 1;
		if (c == (lx->state == ST_SQ ? '\'' : lx->state == ST_DQ ? '"' : '`'))
			lx->state = ST_CODE;
		return 1;
	case ST_BLOCK:
		if (c == '*' && i + 1 < n && p[i + 1] == '/') {
			lx->state = ST_CODE;
			return 2;
		}
		return 1;
	case ST_TDQ:
	case ST_TSQ: {
		uint8_t q = lx->state == ST_TDQ ? '"' : '\'';
		if (c == '\\')
			return i + 1 < n ? 2 : 1;
		if (c == q && i + 2 < n && p[i + 1] == q && p[i + 2] == q) {
			lx->state = ST_CODE;
			lx->docstring = false;
			return 3;
		}
		return 1;
	}
	}
	return 1;
}

bool vf_lexer_in_comment(vf_lexer *lx, const uint8_t *p, size_t n, size_t off)
{
	if (lx->lang == VF_LANG_NONE || off >= n)
		return false;
	while (lx->pos < off)
		lx->pos += step(lx, p, n, lx->pos);
	/* A multi-byte step may have stepped over @off: it is inside what that step opened. */
	return lx->state == ST_LINE || lx->state == ST_BLOCK ||
	       ((lx->state == ST_TDQ || lx->state == ST_TSQ) && lx->docstring);
}

/* ---- off switches ---- */

/* A literal value at p[i]: a number, true/false/yes/no/on/off, or a non-empty quoted string
 * on one line (not an expression: os.environ.get(...) does not set anything). */
static bool literal_value(const uint8_t *p, size_t n, size_t i)
{
	static const char *const words[] = {"true", "false", "yes", "no", "on", "off", NULL};
	size_t k;

	if (i >= n)
		return false;
	if (p[i] == '"' || p[i] == '\'') {
		for (k = i + 1; k < n && k - i < LOOK && p[k] != '\n'; k++)
			if (p[k] == p[i])
				return k > i + 1;
		return false;
	}
	if (p[i] >= '0' && p[i] <= '9') {
		for (k = i; k < n && p[k] >= '0' && p[k] <= '9'; k++)
			;
		return k == n || !is_word_byte(p[k]);
	}
	for (const char *const *w = words; *w; w++) {
		k = strlen(*w);
		if (i + k <= n && strncasecmp((const char *)p + i, *w, k) == 0 &&
		    (i + k == n || !is_word_byte(p[i + k])))
			return true;
	}
	return false;
}

static size_t skip_blanks(const uint8_t *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

/* The first word of the line holding @a, case-insensitively equal to @w. */
static bool line_starts_with(const uint8_t *p, size_t a, const char *w)
{
	size_t s = a, k = strlen(w);

	while (s > 0 && a - s < LOOK && p[s - 1] != '\n')
		s--;
	while (s < a && (p[s] == ' ' || p[s] == '\t'))
		s++;
	return a - s >= k && strncasecmp((const char *)p + s, w, k) == 0 &&
	       (p[s + k] == ' ' || p[s + k] == '\t');
}

/* "- name: NAME" then, on the next line, "value: TRUTHY" (a Kubernetes env entry). */
static bool k8s_env_entry(const uint8_t *p, size_t n, size_t a, size_t i)
{
	size_t s = a;

	while (s > 0 && a - s < LOOK && p[s - 1] != '\n')
		s--;
	if (!memmem(p + s, a - s, "name:", 5))
		return false;
	if (i < n && p[i] == '\r')
		i++;
	if (i >= n || p[i] != '\n')
		return false;
	i = skip_blanks(p, n, i + 1);
	if (i + 6 > n || memcmp(p + i, "value:", 6) != 0)
		return false;
	return literal_value(p, n, skip_blanks(p, n, i + 6));
}

/* The marker at @a is the first argument of a call that sets a variable:
 * setdefault("NAME", putenv("NAME", setenv("NAME", Setenv("NAME". */
static bool set_call_before(const uint8_t *p, size_t a)
{
	static const char *const calls[] = {"setdefault(", "putenv(", "setenv(", "Setenv(", NULL};
	size_t e = a;

	if (e > 0 && (p[e - 1] == '"' || p[e - 1] == '\''))
		e--;
	for (const char *const *c = calls; *c; c++) {
		size_t k = strlen(*c);
		if (e >= k && memcmp(p + e - k, *c, k) == 0)
			return true;
	}
	return false;
}

bool vf_switch_is_set(const uint8_t *p, size_t n, size_t a, size_t z)
{
	size_t i = z;

	if (a > 0 && (p[a - 1] == '$' || p[a - 1] == '{' || p[a - 1] == '%'))
		return false; /* $NAME, ${NAME}, %NAME%: a read */
	/* The marker must be the whole name: not HF_HUB_OFFLINE_X, not MY_HF_HUB_OFFLINE. */
	if (a > 0 &&
	    ((p[a - 1] >= 'A' && p[a - 1] <= 'Z') || (p[a - 1] >= 'a' && p[a - 1] <= 'z') ||
	     (p[a - 1] >= '0' && p[a - 1] <= '9') || p[a - 1] == '_'))
		return false;
	if (i < n && ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
		return false;
	if (i < n && (p[i] == '"' || p[i] == '\''))
		i++;
	if (i < n && p[i] == ']')
		i++; /* os.environ["NAME"] */
	if (i < n && (p[i] == '\n' || p[i] == '\r'))
		return k8s_env_entry(p, n, a, i);
	if (i < n && (p[i] == ' ' || p[i] == '\t') && line_starts_with(p, a, "ENV")) {
		size_t v = skip_blanks(p, n, i);
		if (v > i && v < n && p[v] != '=')
			return literal_value(p, n, v); /* Dockerfile: ENV NAME 1 */
	}
	i = skip_blanks(p, n, i);
	if (i >= n)
		return false;
	if (p[i] == '=') {
		if (i + 1 < n && p[i + 1] == '=')
			return false; /* a comparison */
		if (i > 0 && (p[i - 1] == '!' || p[i - 1] == '<' || p[i - 1] == '>'))
			return false;
	} else if (p[i] == ',') {
		if (!set_call_before(p, a))
			return false; /* os.environ.get("NAME", "1") reads it */
	} else if (p[i] != ':') {
		return false;
	}
	return literal_value(p, n, skip_blanks(p, n, i + 1));
}

/* ---- secrets ---- */

static bool is_b64(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* An RFC 1421 header line at p[i] ("Proc-Type: 4,ENCRYPTED"): the offset after it, or 0. */
static size_t pem_header(const uint8_t *p, size_t lim, size_t i)
{
	size_t k = i;
	const uint8_t *nl;

	while (k < lim && k - i < 32 && (is_b64(p[k]) || p[k] == '-') && p[k] != '/' && p[k] != '+')
		k++;
	if (k == i || k >= lim || p[k] != ':' || !(nl = memchr(p + k, '\n', lim - k)))
		return 0;
	return (size_t)(nl - p) + 1;
}

/* The bytes at p[i] that separate lines of a key: line breaks (real, "\n" in a string, #10 in
 * Pascal), blanks, the quotes and '+' of a string spread over lines, comment leaders
 * (# ; * //).
 * Returns how many there are. */
static size_t pem_gap(const uint8_t *p, size_t lim, size_t i)
{
	size_t a = i;

	while (i < lim) {
		uint8_t c = p[i];
		if ((c == '\\' && i + 1 < lim && p[i + 1] == 'n') ||
		    (c == '/' && i + 1 < lim && p[i + 1] == '/'))
			i += 2;
		else if (c == '#' && i + 1 < lim && p[i + 1] >= '0' && p[i + 1] <= '9')
			for (i++; i < lim && p[i] >= '0' && p[i] <= '9'; i++)
				; /* Pascal's '...'#10+ */
		else if (c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == '"' || c == '\'' ||
			 c == '#' || c == ';' || c == '*' || c == '+' || c == ',' || c == '`')
			i++;
		else
			break;
	}
	return i - a;
}

bool vf_pem_has_body(const uint8_t *p, size_t n, size_t end)
{
	size_t i = end, lim = end + 1024 < n ? end + 1024 : n, h, run;

	for (unsigned lines = 0; i < lim && lines < 8; lines++) {
		i += pem_gap(p, lim, i);
		if ((h = pem_header(p, lim, i))) {
			i = h;
			continue;
		}
		for (run = 0; i < lim && is_b64(p[i]); i++)
			run++;
		return run >= 16;
	}
	return false;
}

/* ---- dotted quads ---- */

static bool is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool vf_ipv4_is_version(const uint8_t *p, size_t n, size_t a, size_t z, bool changelog)
{
	static const char *const words[] = {"version",	"versions", "ver", "vers",
					    "v",	"release",  "rel", "rev",
					    "revision", "build",    NULL};
	size_t i = a, w;

	if (changelog)
		return true;
	if (z + 1 < n && (p[z] == '-' || p[z] == '~' || p[z] == '+') &&
	    (is_alpha(p[z + 1]) || (p[z] != '-' && p[z + 1] >= '0' && p[z + 1] <= '9')))
		return true;
	/* Back over blanks and punctuation (version: "1.2.3.4", version=1.2.3.4), at most a few. */
	while (i > 0 && a - i < 4 &&
	       (p[i - 1] == ' ' || p[i - 1] == '\t' || p[i - 1] == ':' || p[i - 1] == '=' ||
		p[i - 1] == '"' || p[i - 1] == '\'' || p[i - 1] == '('))
		i--;
	if (i == a)
		return false;
	w = i;
	while (w > 0 && i - w < 16 && is_alpha(p[w - 1]))
		w--;
	if (w == i || (w > 0 && (p[w - 1] == '_' || (p[w - 1] >= '0' && p[w - 1] <= '9'))))
		return false;
	for (const char *const *x = words; *x; x++)
		if (strlen(*x) == i - w && strncasecmp((const char *)p + w, *x, i - w) == 0)
			return true;
	return false;
}

bool vf_ipv4_not_destination(const uint8_t a[16])
{
	uint32_t v = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
	uint32_t inv = ~v;

	if (a[12] == 0)
		return true;
	return a[12] == 255 && (inv & (inv + 1)) == 0;
}

bool vf_line_spawns(const uint8_t *p, size_t ls, size_t le)
{
	static const char *const calls[] = {"system(",	    "subprocess", "Popen",    "check_call",
					    "check_output", "exec(",	  "execSync", "execFile",
					    "spawn",	    "popen(",	  "os.exec",  "shell=True",
					    "run(",	    "call(",	  "`",	      NULL};

	for (const char *const *c = calls; *c; c++)
		if (memmem(p + ls, le - ls, *c, strlen(*c)))
			return true;
	return false;
}
