/*
 * event: the audit event line, version 1 (see exai/event.h): canonical encoding through
 * jansson, and a strict parser that requires exactly what the encoder makes.
 */
#include "exai/event.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "exai/text.h"

#define EVENT_INT_MAX 9223372036854775807ull
#define DUMP_FLAGS    (JSON_COMPACT | JSON_PRESERVE_ORDER)

static const char *const keys[] = {"v",	      "source",	  "time",    "op",	"bundle_id",
				   "channel", "sequence", "signers", "outcome", "reason"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Length of the valid UTF-8 sequence at @p (at most @n bytes), 0 if there is none: no
 * overlong form, no surrogate, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

void exai_event_text(char *out, size_t cap, const char *text)
{
	static const char repl[] = "\xef\xbf\xbd", cut[] = "...";
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	size_t n = strlen((const char *)p), o = 0;

	size_t whole = 0;

	if (!cap)
		return;
	for (size_t i = 0; i < n;) { /* the sanitised length: all of it fits, or a cut is due */
		size_t k = utf8_len(p + i, n - i);
		whole += k ? k : 3;
		i += k ? k : 1;
	}
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);
		const char *src = k ? (const char *)p + i : repl;
		size_t w = k ? k : 3;
		/* When it does not all fit: room for this character, the cut mark and the NUL. */
		if (whole >= cap && o + w + sizeof(cut) > cap) {
			if (o + sizeof(cut) <= cap) {
				memcpy(out + o, cut, sizeof(cut) - 1);
				o += sizeof(cut) - 1;
			}
			break;
		}
		memcpy(out + o, src, w);
		o += w;
		i += k ? k : 1;
	}
	out[o] = '\0';
}

/* [a-z][a-z0-9-]{0,31} */
static bool word_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > EXAI_EVENT_WORD_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

static bool hex_run(const char *s, size_t n, bool upper)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') ||
		      (upper ? (c >= 'A' && c <= 'F') : (c >= 'a' && c <= 'f'))))
			return false;
	}
	return true;
}

/* "" or KEYID[,KEYID]..., at most EXAI_EVENT_SIGNERS, no KEYID twice. */
static bool signers_valid(const char *s)
{
	size_t n = strlen(s), count = 0;

	if (n == 0)
		return true;
	if ((n + 1) % 17 != 0 || (n + 1) / 17 > EXAI_EVENT_SIGNERS)
		return false;
	for (size_t i = 0; i < n; i += 17) {
		if (!hex_run(s + i, 16, true) || (i + 16 < n && s[i + 16] != ','))
			return false;
		for (size_t j = 0; j < i; j += 17)
			if (!memcmp(s + i, s + j, 16))
				return false;
		count++;
	}
	return count >= 1;
}

/* The first field of @ev that breaks the rules, or NULL. */
static const char *bad_field(const exai_event *ev)
{
	if (!word_valid(ev->source))
		return "source";
	if (ev->time > EVENT_INT_MAX)
		return "time";
	if (!word_valid(ev->op))
		return "op";
	if (ev->bundle_id[0] && (strlen(ev->bundle_id) != 64 || !hex_run(ev->bundle_id, 64, false)))
		return "bundle_id";
	if (ev->channel[0] && !exai_name_valid(ev->channel))
		return "channel";
	if (ev->sequence > EVENT_INT_MAX)
		return "sequence";
	if (!signers_valid(ev->signers))
		return "signers";
	if (!word_valid(ev->outcome))
		return "outcome";
	if (strlen(ev->reason) > EXAI_EVENT_REASON_MAX || !utf8_valid(ev->reason))
		return "reason";
	return NULL;
}

char *exai_event_line(const exai_event *ev, exai_error *e)
{
	const char *bad = bad_field(ev);
	json_t *o;
	char *s;

	if (bad) {
		exai_error_set(e, EXAI_EINVAL, "audit event: field '%s' is not valid", bad);
		return NULL;
	}
	o = json_pack("{s:i,s:s,s:I,s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "v", 1, "source", ev->source,
		      "time", (json_int_t)ev->time, "op", ev->op, "bundle_id", ev->bundle_id,
		      "channel", ev->channel, "sequence", (json_int_t)ev->sequence, "signers",
		      ev->signers, "outcome", ev->outcome, "reason", ev->reason);
	s = o ? json_dumps(o, DUMP_FLAGS) : NULL;
	json_decref(o);
	if (!s)
		exai_error_set(e, EXAI_ENOMEM, "audit event: out of memory");
	return s;
}

/* Copies string value @v into @out (size @cap); false if it is not a string or too long. */
static bool take_string(json_t *v, char *out, size_t cap)
{
	size_t n;

	if (!json_is_string(v) || (n = json_string_length(v)) >= cap ||
	    memchr(json_string_value(v), '\0', n))
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

static bool take_int(json_t *v, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

exai_status exai_event_parse(const char *line, size_t len, exai_event *out, exai_error *e)
{
	json_error_t je;
	json_t *o = NULL;
	exai_event ev;
	uint64_t v = 0;
	const char *bad = NULL;
	char *again = NULL;
	exai_error e2;
	exai_status rc = EXAI_EFORMAT;
	size_t i = 0;

	memset(&ev, 0, sizeof(ev));
	if (len > EXAI_EVENT_LINE_MAX) {
		exai_error_set(e, rc, "audit event: line of %zu bytes (at most %d)", len,
			       EXAI_EVENT_LINE_MAX);
		goto out;
	}
	if (!(o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je))) {
		exai_error_set(e, rc, "audit event: not JSON: %s at column %d", je.text, je.column);
		goto out;
	}
	if (!json_is_object(o) || json_object_size(o) != NKEYS) {
		exai_error_set(e, rc, "audit event: not an object of exactly %zu keys", NKEYS);
		goto out;
	}
	for (void *it = json_object_iter(o); it; it = json_object_iter_next(o, it), i++) {
		const char *k = json_object_iter_key(it);
		json_t *val = json_object_iter_value(it);
		bool ok;
		if (strcmp(k, keys[i]) != 0) {
			exai_error_set(e, rc, "audit event: key %zu is '%.40s', expected '%s'",
				       i + 1, k, keys[i]);
			goto out;
		}
		switch (i) {
		case 0:
			ok = take_int(val, &v) && v == 1;
			break;
		case 1:
			ok = take_string(val, ev.source, sizeof(ev.source));
			break;
		case 2:
			ok = take_int(val, &ev.time);
			break;
		case 3:
			ok = take_string(val, ev.op, sizeof(ev.op));
			break;
		case 4:
			ok = take_string(val, ev.bundle_id, sizeof(ev.bundle_id));
			break;
		case 5:
			ok = take_string(val, ev.channel, sizeof(ev.channel));
			break;
		case 6:
			ok = take_int(val, &ev.sequence);
			break;
		case 7:
			ok = take_string(val, ev.signers, sizeof(ev.signers));
			break;
		case 8:
			ok = take_string(val, ev.outcome, sizeof(ev.outcome));
			break;
		default:
			ok = take_string(val, ev.reason, sizeof(ev.reason));
			break;
		}
		if (!ok) {
			exai_error_set(e, rc, "audit event: '%s' has the wrong type, size or value",
				       keys[i]);
			goto out;
		}
	}
	if ((bad = bad_field(&ev))) {
		exai_error_set(e, rc, "audit event: field '%s' is not valid", bad);
		goto out;
	}
	/* One event, one line: anything the encoder would write differently (spacing, escapes,
	 * number forms) is refused. */
	if (!(again = exai_event_line(&ev, &e2))) {
		rc = exai_error_set(e, e2.code, "%s", e2.msg);
		goto out;
	}
	if (strlen(again) != len || memcmp(again, line, len) != 0) {
		exai_error_set(e, rc, "audit event: not in canonical form");
		goto out;
	}
	*out = ev;
	rc = EXAI_OK;
out:
	free(again);
	json_decref(o);
	return rc;
}
