/*
 * scan_ctx: what a finding's surroundings say about it. The content rules find literals; this
 * module judges the context a reviewer would look at before trusting one:
 *
 *   - the kind of file (documentation, a changelog, a program that is not a shell script) and
 *     the comment syntax of its language (vf_ftype_of)
 *   - whether an offset is inside a comment (vf_lexer: one forward pass per buffer)
 *   - whether an off-switch marker sets the switch or merely reads it (vf_switch_is_set)
 *   - whether a PEM BEGIN line has a key body after it (vf_pem_has_body)
 *   - whether a dotted quad is a version string or a netmask rather than an address
 *
 * Every test is bounded: it looks at most a fixed number of bytes around the offset, except the
 * lexer, which walks the buffer once, left to right, however many offsets it is asked about.
 */
#ifndef VF_SCAN_CTX_H
#define VF_SCAN_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vf_lang {
	VF_LANG_NONE = 0, /* no comment syntax known (JSON, Markdown, binaries) */
	VF_LANG_HASHLINE, /* '#' at the start of a line (files without a known type) */
	VF_LANG_HASH,	  /* '#' at line start or after blanks, outside quotes (YAML, shell) */
	VF_LANG_INI,	  /* '#' or ';' at the start of a line (INI, systemd units) */
	VF_LANG_PY,	  /* '#' outside strings, and docstrings ("""...""" opening a line) */
	VF_LANG_C	  /* // and block comments, outside strings (JS/TS, C family) */
} vf_lang;

typedef struct vf_ftype {
	vf_lang lang;
	bool doc;	/* never run: documentation (README, changelogs, man pages, catalogues,
			 * licences) and source maps */
	bool changelog; /* a changelog or NEWS file: four-part numbers there are versions */
	bool program;	/* a program in a language that is not a shell (Python, JS, ...) */
	bool manifest;	/* package metadata: package.json, DEBIAN/control, PKG-INFO, Chart.yaml */
} vf_ftype;

/* Whether the URL at @pos in a manifest is package metadata (a homepage, the repository, the
 * bug tracker, the author's site: a key such as homepage, url, bugs, Homepage, Vcs-Git,
 * Home-page, Project-URL, home, icon on its line), which nothing fetches at run time. */
bool vf_url_is_metadata(const vf_ftype *ft, const uint8_t *p, size_t n, size_t pos);

/* Classifies a buffer by its file name @base, its display path @path (for usr/share/doc/ and
 * the like, inside archives too) and its first bytes (a shebang). The path is read only
 * through vf_ftype_path: lang and program follow from @base, the first bytes and doc. */
void vf_ftype_of(const char *base, const char *path, const uint8_t *p, size_t n, vf_ftype *out);
/* The part of vf_ftype_of that reads the path: doc, manifest and changelog (the rest zeroed).
 * The duplicate cache asks it again at each copy's location. */
void vf_ftype_path(const char *base, const char *path, vf_ftype *out);

typedef struct vf_lexer {
	vf_lang lang;
	size_t pos; /* bytes before this have been lexed */
	int state;
	bool line_blank; /* only blanks since the start of the line */
	bool docstring;	 /* the open triple-quoted string opened its line */
} vf_lexer;

void vf_lexer_init(vf_lexer *lx, vf_lang lang);
/* Whether p[@off] is inside a comment (or a docstring). @off must not be less than any
 * earlier call's; the lexer advances over p[lx->pos..off). */
bool vf_lexer_in_comment(vf_lexer *lx, const uint8_t *p, size_t n, size_t off);

/* Whether the marker p[a..z) (a variable or setting name) is given a literal value right there
 * (a number, true/false/yes/no/on/off or a quoted string): NAME=1, NAME: "1",
 * os.environ["NAME"] = "1", setdefault("NAME", "1"), ENV NAME 1, or a Kubernetes env entry
 * "- name: NAME" whose next line is value: "1". Reads ($NAME, getenv("NAME"), .get("NAME",
 * "1")), comparisons (==, ===, !=) and values computed from expressions are not. */
bool vf_switch_is_set(const uint8_t *p, size_t n, size_t a, size_t z);

/* Whether the "-----BEGIN ... PRIVATE KEY-----" line ending at @end is followed by a key body:
 * (after optional RFC 1421 headers) a run of at least 16 base64 characters, on real lines or
 * in a string with "\n" escapes. */
bool vf_pem_has_body(const uint8_t *p, size_t n, size_t end);

/* Whether the dotted quad p[a..z) reads as a version: after "version", "v", "release" and the
 * like, followed by a version suffix (1.2.3.4-beta, ~rc1, +dfsg), or anywhere in a changelog. */
bool vf_ipv4_is_version(const uint8_t *p, size_t n, size_t a, size_t z, bool changelog);
/* Whether the IPv4 address (IPv4-mapped form) is not a destination: a netmask (255 followed
 * by contiguous one bits, 255.255.255.0) or in 0.0.0.0/8 ("this network", RFC 1122). */
bool vf_ipv4_not_destination(const uint8_t addr[16]);

/* Whether the line p[ls..le) hands a command to a process: system(, subprocess, Popen, exec,
 * spawn ... (a program's install command only runs through one of them). */
bool vf_line_spawns(const uint8_t *p, size_t ls, size_t le);

#endif
