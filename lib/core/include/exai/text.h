/*
 * text: strict parsing helpers for our line-oriented formats (index, manifest, roots).
 */
#ifndef EXAI_TEXT_H
#define EXAI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Unsigned decimal: digits only (no sign, space or prefix), no overflow. */
bool exai_parse_u64(const char *s, uint64_t *out);
/* Canonical unsigned decimal: as above and no leading zero (except "0" itself). */
bool exai_parse_u64_canon(const char *s, uint64_t *out);

/* A time given by a user: unix seconds, or YYYY-MM-DD[THH:MM:SSZ] (UTC). */
bool exai_parse_time(const char *s, uint64_t *out);

#define EXAI_NAME_MAX 128
/* A name (channel, component, version, target class or site): 1..EXAI_NAME_MAX characters of
 * [A-Za-z0-9._+-], starting with a letter or digit. */
bool exai_name_valid(const char *s);
/* A name the appliance's on-disk layout uses for itself, so never a component name or version
 * (docs/format.md): "current" (the active link), "a" and "b" (the A/B slots), any name
 * starting with ".stage" or "." at all (staging trees, temp links, quarantine), compared
 * without regard to case (a case-insensitive file system would confuse "Current" and
 * "current"). NULL is reserved. A valid name must also pass exai_name_valid(). */
bool exai_name_reserved(const char *s);

#define EXAI_RELPATH_MAX 255
/* A relative install path: '/'-separated names of [A-Za-z0-9._+@-], no empty, "." or ".."
 * component, no leading or trailing '/', at most EXAI_RELPATH_MAX bytes. */
bool exai_relpath_valid(const char *s);

/* Splits a line in place at single spaces into at most @max fields; returns the count, or
 * -1 if there are more fields, empty fields (double spaces) or a leading/trailing space. */
int exai_split_fields(char *line, char **fields, int max);

/* @one when @n is 1, else @many: "1 entry", "3 entries", "0 entries". */
const char *exai_plural(uint64_t n, const char *one, const char *many);

#define EXAI_SUGGEST_MAX_LEN 64
/* The word of the NULL-terminated list @words nearest to @typo, for "did you mean ...?":
 * edit distance (insertions, deletions, substitutions and swaps of two neighbours, each 1;
 * letters compared without regard to case) at most @max_dist and below the length of @typo
 * (so "a" never suggests "b"); the first such word at the smallest distance. NULL when none
 * is that near, when @typo equals a word, or when @typo or a word is longer than
 * EXAI_SUGGEST_MAX_LEN bytes (bounded work on hostile input). */
const char *exai_suggest(const char *typo, const char *const *words, unsigned max_dist);

/* A growable NUL-terminated string for canonical serialisers. After an allocation failure
 * it is marked oom, its buffer is freed and every later append is a no-op, so a serialiser
 * appends freely and checks once at the end. */
typedef struct exai_strbuf {
	char *p;
	size_t len, cap;
	bool oom;
} exai_strbuf;

void exai_strbuf_printf(exai_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The string (caller frees), or NULL after an allocation failure. */
char *exai_strbuf_take(exai_strbuf *b);

#endif
