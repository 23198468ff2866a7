/*
 * ratchets: the ratchet record file. See ratchets.h for the format and what it guards.
 *
 * The parser works on a private NUL-terminated copy, line by line, and accepts exactly what
 * upd_ratchets_format() writes: parse(format(r)) == r and format(parse(t)) == t.
 */
#include "ratchets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/grow.h"
#include "exai/hash.h"

#define MAGIC	  "exai-update-ratchets 1"
#define VALUE_MAX ((uint64_t)INT64_MAX)

void upd_ratchets_free(upd_ratchets *r)
{
	if (!r)
		return;
	free(r->ch);
	memset(r, 0, sizeof(*r));
}

static bool lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool value(const char *s, uint64_t *out)
{
	return exai_parse_u64_canon(s, out) && *out <= VALUE_MAX;
}

/* Room for one more channel. */
static exai_status grow(upd_ratchets *r, exai_error *e)
{
	return EXAI_GROW(&r->ch, &r->cap, r->n, 1, EXAI_GROW_NOCAP, e);
}

/* One line of @what at line @ln: the fields it must have. */
static exai_status parse_line(char *line, size_t ln, const char *what, upd_ratchets *r,
			      exai_error *e)
{
	char *f[4];
	int nf;
	uint64_t v;
	exai_status rc;

#define BAD(msg) exai_error_set(e, EXAI_EFORMAT, "%s: line %zu: %s", what, ln, msg)
	if (ln == 1)
		return strcmp(line, MAGIC) ? BAD("not an exai-update ratchet record (version 1)")
					   : EXAI_OK;
	nf = exai_split_fields(line, f, 4);
	if (ln == 2)
		return nf == 2 && !strcmp(f[0], "state-id") && lower_hex(f[1], UPD_STATE_ID_HEX)
			   ? (memcpy(r->state_id, f[1], UPD_STATE_ID_HEX + 1), EXAI_OK)
			   : BAD("expected 'state-id <32 hex digits>'");
	if (ln == 3)
		return nf == 2 && !strcmp(f[0], "root-version") && value(f[1], &r->root_version)
			   ? EXAI_OK
			   : BAD("expected 'root-version <number>'");
	if (ln == 4)
		return nf == 2 && !strcmp(f[0], "created") && value(f[1], &r->created)
			   ? EXAI_OK
			   : BAD("expected 'created <number>'");
	if (nf != 3 || strcmp(f[0], "channel") || !exai_name_valid(f[1]) || !value(f[2], &v))
		return BAD("expected 'channel <name> <number>' or the sha256 line");
	if (r->n && strcmp(r->ch[r->n - 1].name, f[1]) >= 0)
		return BAD("channels out of order or repeated");
#undef BAD
	if ((rc = grow(r, e)))
		return rc;
	snprintf(r->ch[r->n].name, sizeof(r->ch[0].name), "%s", f[1]);
	r->ch[r->n++].seq = v;
	return EXAI_OK;
}

/* Checks the last line, "sha256 <hex>\n", against the bytes before it; *body_len gets their
 * count. */
static exai_status check_sum(const char *text, size_t len, const char *what, size_t *body_len,
			     exai_error *e)
{
	static const char tag[] = "sha256 ";
	const size_t line_len = sizeof(tag) - 1 + EXAI_SHA256_HEX - 1 + 1;
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX];
	exai_status rc;

	if (len < line_len || text[len - 1] != '\n' ||
	    (len > line_len && text[len - line_len - 1] != '\n') ||
	    memcmp(text + len - line_len, tag, sizeof(tag) - 1))
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: no 'sha256' line at the end (truncated?)", what);
	*body_len = len - line_len;
	if ((rc = exai_sha256_buf(text, *body_len, md, e)))
		return rc;
	exai_hex_encode(md, sizeof(md), hex);
	if (memcmp(hex, text + len - line_len + sizeof(tag) - 1, EXAI_SHA256_HEX - 1))
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: checksum mismatch (the record was altered or damaged)",
				      what);
	return EXAI_OK;
}

exai_status upd_ratchets_parse(const char *text, size_t len, const char *what, upd_ratchets *out,
			       exai_error *e)
{
	size_t body = 0, ln = 0;
	char *copy = NULL, *p;
	exai_status rc;

	memset(out, 0, sizeof(*out));
	if (len > UPD_RATCHETS_MAX_BYTES)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: over %u bytes", what,
				      UPD_RATCHETS_MAX_BYTES);
	if (memchr(text, '\0', len))
		return exai_error_set(e, EXAI_EFORMAT, "%s: NUL byte", what);
	if ((rc = check_sum(text, len, what, &body, e)))
		return rc;
	if (!(copy = malloc(body + 1)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	memcpy(copy, text, body);
	copy[body] = '\0';
	for (p = copy; !rc && *p;) {
		char *nl = strchr(p, '\n');
		*nl = '\0'; /* body ends in '\n' (checked by check_sum) */
		rc = parse_line(p, ++ln, what, out, e);
		p = nl + 1;
	}
	if (!rc && ln < 4)
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: %zu of the 4 header lines", what, ln);
	free(copy);
	if (rc)
		upd_ratchets_free(out);
	return rc;
}

char *upd_ratchets_format(const upd_ratchets *r, size_t *len)
{
	exai_strbuf b = {0};
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX], *s;

	exai_strbuf_printf(&b, MAGIC "\nstate-id %s\nroot-version %llu\ncreated %llu\n",
			   r->state_id, (unsigned long long)r->root_version,
			   (unsigned long long)r->created);
	for (size_t i = 0; i < r->n; i++)
		exai_strbuf_printf(&b, "channel %s %llu\n", r->ch[i].name,
				   (unsigned long long)r->ch[i].seq);
	if (b.oom || exai_sha256_buf(b.p, b.len, md, NULL)) {
		free(exai_strbuf_take(&b));
		return NULL;
	}
	exai_hex_encode(md, sizeof(md), hex);
	exai_strbuf_printf(&b, "sha256 %s\n", hex);
	*len = b.len;
	s = exai_strbuf_take(&b);
	return s;
}

exai_status upd_ratchets_load(const char *path, upd_ratchets *out, exai_error *e)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc = exai_file_read_bounded(path, UPD_RATCHETS_MAX_BYTES, &buf, &len, e);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = upd_ratchets_parse((const char *)buf, len, path, out, e);
	free(buf);
	return rc;
}

exai_status upd_ratchets_store(const char *path, const upd_ratchets *r, exai_error *e)
{
	size_t len = 0;
	char *text = upd_ratchets_format(r, &len);
	exai_status rc;

	if (!text)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (len > UPD_RATCHETS_MAX_BYTES)
		rc = exai_error_set(e, EXAI_ETOOBIG,
				    "%s: %zu channels do not fit the %u-byte record", path, r->n,
				    UPD_RATCHETS_MAX_BYTES);
	else
		rc = exai_file_write_atomic(path, text, len, 0600, e);
	free(text);
	return rc;
}

uint64_t upd_ratchets_channel(const upd_ratchets *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->ch[i].name, name))
			return r->ch[i].seq;
	return 0;
}

exai_status upd_ratchets_raise_channel(upd_ratchets *r, const char *name, uint64_t seq,
				       exai_error *e)
{
	size_t i = 0;
	exai_status rc;

	if (!exai_name_valid(name) || seq > VALUE_MAX)
		return exai_error_set(e, EXAI_EINVAL, "ratchet: bad channel '%.128s' or sequence",
				      name);
	while (i < r->n && strcmp(r->ch[i].name, name) < 0)
		i++;
	if (i < r->n && !strcmp(r->ch[i].name, name)) {
		if (seq > r->ch[i].seq)
			r->ch[i].seq = seq;
		return EXAI_OK;
	}
	if ((rc = grow(r, e)))
		return rc;
	memmove(&r->ch[i + 1], &r->ch[i], (r->n - i) * sizeof(r->ch[0]));
	snprintf(r->ch[i].name, sizeof(r->ch[0].name), "%s", name);
	r->ch[i].seq = seq;
	r->n++;
	return EXAI_OK;
}

bool upd_ratchets_equal(const upd_ratchets *a, const upd_ratchets *b, const char *a_name,
			const char *b_name, char *why, size_t cap)
{
	char dummy[1];

	if (!why) {
		why = dummy;
		cap = sizeof(dummy);
	}
	if (strcmp(a->state_id, b->state_id)) {
		snprintf(why, cap, "%s belongs to state id %s, %s to %s", a_name, a->state_id,
			 b_name, b->state_id);
		return false;
	}
	if (a->root_version != b->root_version || a->created != b->created) {
		bool rv = a->root_version != b->root_version;
		snprintf(why, cap, "%s says %s %llu, %s says %llu", a_name,
			 rv ? "root version" : "newest signed time",
			 (unsigned long long)(rv ? a->root_version : a->created), b_name,
			 (unsigned long long)(rv ? b->root_version : b->created));
		return false;
	}
	for (size_t i = 0; i < a->n || i < b->n; i++) {
		const upd_rchan *x = i < a->n ? &a->ch[i] : NULL, *y = i < b->n ? &b->ch[i] : NULL;
		if (x && y && !strcmp(x->name, y->name) && x->seq == y->seq)
			continue;
		/* name the channel that sorts first among the two differing entries */
		const char *ch = !y || (x && strcmp(x->name, y->name) < 0) ? x->name : y->name;
		snprintf(why, cap, "%s says channel %s sequence %llu, %s says %llu", a_name, ch,
			 (unsigned long long)upd_ratchets_channel(a, ch), b_name,
			 (unsigned long long)upd_ratchets_channel(b, ch));
		return false;
	}
	return true;
}

exai_status upd_ratchets_copy(upd_ratchets *dst, const upd_ratchets *src, exai_error *e)
{
	*dst = *src;
	dst->ch = NULL;
	dst->cap = 0;
	if (src->n && !(dst->ch = malloc(src->n * sizeof(*dst->ch)))) {
		dst->n = 0;
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	if (src->n)
		memcpy(dst->ch, src->ch, src->n * sizeof(*dst->ch));
	dst->cap = src->n;
	return EXAI_OK;
}
