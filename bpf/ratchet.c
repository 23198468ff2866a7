/*
 * ratchet.c: the persistent ratchet record of signed egress policies (ratchet.h).
 *
 * The parser accepts exactly what egress_ratchet_store writes: five lines in a fixed order,
 * canonical decimals, lower-case hex, the last line the SHA-256 of the lines before it (so a
 * record cut short, or edited by hand, is refused). The record is at most
 * EGRESS_RATCHET_MAX_BYTES; a larger file is refused before it is read.
 */
#include "ratchet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exai/cli.h"
#include "exai/file.h"
#include "exai/text.h"

#define MAGIC	  "exai-egress-ratchet 1"
#define VALUE_MAX ((uint64_t)INT64_MAX)
#define ADVICE                                                                                    \
	"signed policies are refused until it is provisioned: run 'exai-egress init' once at "    \
	"provisioning (running it again after a loss re-opens replays of older signed policies: " \
	"an operator decision)"

const char *egress_state_dir(const char *opt)
{
#ifdef EXAI_TESTING
	return exai_cli_setting(opt, "EXAI_EGRESS_STATE_DIR", EGRESS_DEFAULT_STATE_DIR);
#else
	return opt && *opt ? opt : EGRESS_DEFAULT_STATE_DIR;
#endif
}

exai_status egress_ratchet_path(const char *dir, char *out, size_t cap, exai_error *e)
{
	if ((size_t)snprintf(out, cap, "%s/%s", dir, EGRESS_RATCHET_FILE) >= cap)
		return exai_error_set(e, EXAI_ETOOBIG, "state directory path too long: %.200s",
				      dir);
	return EXAI_OK;
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

/* Line @ln (2..4) of the body, split into @f[0..nf). */
static bool field(egress_ratchet *r, size_t ln, char **f, int nf)
{
	if (nf != 2)
		return false;
	if (ln == 2)
		return strcmp(f[0], "sequence") == 0 && value(f[1], &r->sequence);
	if (ln == 3 && strcmp(f[0], "policy-sha256") == 0 && strcmp(f[1], "none") == 0)
		return true;
	if (ln == 3) {
		r->has_sha = true;
		return strcmp(f[0], "policy-sha256") == 0 && lower_hex(f[1], EXAI_SHA256_HEX - 1) &&
		       exai_hex_decode(f[1], r->policy_sha256, EXAI_SHA256_LEN, NULL) == EXAI_OK;
	}
	return ln == 4 && strcmp(f[0], "created") == 0 && value(f[1], &r->created);
}

static const char *const expect[] = {NULL, "'" MAGIC "'", "'sequence <number>'",
				     "'policy-sha256 <64 hex digits>|none'", "'created <number>'"};

/* The body: the four lines before the checksum line, ending in '\n' (checked). */
static exai_status parse_body(char *p, const char *what, egress_ratchet *r, exai_error *e)
{
	size_t ln = 0;

	while (*p) {
		char *nl = strchr(p, '\n'), *f[3];
		int nf;

		*nl = '\0';
		if (++ln > 4)
			return exai_error_set(e, EXAI_EFORMAT,
					      "%s: line %zu: more lines than a "
					      "ratchet record has",
					      what, ln);
		if (ln == 1 ? strcmp(p, MAGIC) != 0
			    : ((nf = exai_split_fields(p, f, 3)) < 0 || !field(r, ln, f, nf)))
			return exai_error_set(e, EXAI_EFORMAT, "%s: line %zu: expected %s", what,
					      ln, expect[ln]);
		p = nl + 1;
	}
	if (ln < 4)
		return exai_error_set(e, EXAI_EFORMAT, "%s: %zu of the 4 lines before the checksum",
				      what, ln);
	return EXAI_OK;
}

exai_status egress_ratchet_parse(const char *text, size_t len, const char *what,
				 egress_ratchet *out, exai_error *e)
{
	static const char tag[] = "sha256 ";
	const size_t line_len = sizeof(tag) - 1 + EXAI_SHA256_HEX - 1 + 1;
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX], *copy;
	size_t body;
	exai_status rc;

	memset(out, 0, sizeof(*out));
	if (len == 0)
		return exai_error_set(e, EXAI_EFORMAT, "%s: empty", what);
	if (len > EGRESS_RATCHET_MAX_BYTES)
		return exai_error_set(e, EXAI_EFORMAT, "%s: over %d bytes", what,
				      EGRESS_RATCHET_MAX_BYTES);
	if (memchr(text, '\0', len))
		return exai_error_set(e, EXAI_EFORMAT, "%s: a NUL byte", what);
	if (len < line_len || text[len - 1] != '\n' ||
	    (len > line_len && text[len - line_len - 1] != '\n') ||
	    memcmp(text + len - line_len, tag, sizeof(tag) - 1) != 0)
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: no 'sha256' line at the end (truncated?)", what);
	body = len - line_len;
	if ((rc = exai_sha256_buf(text, body, md, e)) != EXAI_OK)
		return rc;
	exai_hex_encode(md, sizeof(md), hex);
	if (memcmp(hex, text + body + sizeof(tag) - 1, EXAI_SHA256_HEX - 1) != 0)
		return exai_error_set(e, EXAI_EFORMAT,
				      "%s: checksum mismatch (the record was altered or damaged)",
				      what);
	if (!(copy = malloc(body + 1)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	memcpy(copy, text, body);
	copy[body] = '\0';
	rc = parse_body(copy, what, out, e);
	free(copy);
	if (rc != EXAI_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* The record's text (malloc'ed, *@len bytes), or NULL when out of memory. */
static char *format(const egress_ratchet *r, size_t *len)
{
	exai_strbuf b = {0};
	uint8_t md[EXAI_SHA256_LEN];
	char hex[EXAI_SHA256_HEX], sha[EXAI_SHA256_HEX] = "none";

	if (r->has_sha)
		exai_hex_encode(r->policy_sha256, EXAI_SHA256_LEN, sha);
	exai_strbuf_printf(&b, MAGIC "\nsequence %llu\npolicy-sha256 %s\ncreated %llu\n",
			   (unsigned long long)r->sequence, sha, (unsigned long long)r->created);
	if (b.oom || exai_sha256_buf(b.p, b.len, md, NULL) != EXAI_OK) {
		free(exai_strbuf_take(&b));
		return NULL;
	}
	exai_hex_encode(md, sizeof(md), hex);
	exai_strbuf_printf(&b, "sha256 %s\n", hex);
	*len = b.len;
	return exai_strbuf_take(&b);
}

exai_status egress_ratchet_load(const char *dir, egress_ratchet *out, exai_error *e)
{
	char path[EGRESS_RATCHET_PATH_MAX];
	uint8_t *buf = NULL;
	size_t len = 0;
	exai_status rc;

	memset(out, 0, sizeof(*out));
	if ((rc = egress_ratchet_path(dir, path, sizeof(path), e)) != EXAI_OK)
		return rc;
	rc = exai_file_read_bounded(path, EGRESS_RATCHET_MAX_BYTES, &buf, &len, e);
	if (rc == EXAI_ENOENT)
		return exai_error_set(e, rc, "ratchet record %s: missing: " ADVICE, path);
	if (rc == EXAI_OK)
		rc = egress_ratchet_parse((const char *)buf, len, path, out, e);
	free(buf);
	if (rc != EXAI_OK) /* the message names the path */
		exai_error_prefix(e, "ratchet record unusable (" ADVICE ")");
	return rc;
}

exai_status egress_ratchet_store(const char *dir, const egress_ratchet *r, exai_error *e)
{
	char path[EGRESS_RATCHET_PATH_MAX], *text;
	size_t len = 0;
	exai_status rc;

	if ((rc = egress_ratchet_path(dir, path, sizeof(path), e)) != EXAI_OK)
		return rc;
	if (!(text = format(r, &len)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	rc = exai_file_write_atomic(path, text, len, 0600, e);
	free(text);
	return rc != EXAI_OK ? exai_error_prefix(e, "ratchet record %s", path) : rc;
}

/* The directory made (0700) when missing; an existing one must be a directory. */
static exai_status make_dir(const char *dir, exai_error *e)
{
	struct stat st;

	if (lstat(dir, &st) == 0)
		return S_ISDIR(st.st_mode)
			   ? EXAI_OK
			   : exai_error_set(e, EXAI_EUNSAFE, "state directory %s: not a directory",
					    dir);
	if (errno != ENOENT)
		return exai_error_sys(e, EXAI_EIO, "state directory %s", dir);
	return exai_mkdir_p(dir, 0700, e);
}

exai_status egress_ratchet_init(const char *dir, uint64_t seq, exai_error *e)
{
	char path[EGRESS_RATCHET_PATH_MAX], tmp[EGRESS_RATCHET_PATH_MAX + 16], *text = NULL;
	egress_ratchet r = {.sequence = seq, .created = (uint64_t)time(NULL)};
	size_t len = 0;
	exai_status rc;

	if ((rc = egress_ratchet_path(dir, path, sizeof(path), e)) != EXAI_OK)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s/.%s.init", dir, EGRESS_RATCHET_FILE);
	if ((rc = make_dir(dir, e)) != EXAI_OK)
		return rc;
	if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return exai_error_set(e, EXAI_EEXIST,
				      "ratchet record %s exists: init never replaces one (it "
				      "holds the sequence below which signed policies are refused)",
				      path);
	if (!(text = format(&r, &len)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	text[len] = '\0';
	(void)unlink(tmp); /* left by an init cut short: never a record */
	rc = exai_write_new_file(tmp, text, 0600, e);
	free(text);
	if (rc != EXAI_OK)
		return rc;
	/* link() refuses an existing name: two inits at once make one record */
	if (link(tmp, path) != 0)
		rc = errno == EEXIST ? exai_error_set(e, EXAI_EEXIST,
						      "ratchet record %s exists: init never "
						      "replaces one",
						      path)
				     : exai_error_sys(e, EXAI_EIO, "create %s", path);
	(void)unlink(tmp);
	if (rc == EXAI_OK)
		rc = exai_fsync_dir(dir, e);
	return rc;
}

exai_status egress_ratchet_admit(const char *path, uint64_t recorded, const uint8_t *recorded_sha,
				 uint64_t pinned, const uint8_t *pinned_sha, uint64_t seq,
				 const uint8_t sha[EXAI_SHA256_LEN], exai_error *e)
{
	uint64_t in_force = recorded > pinned ? recorded : pinned;
	char where[EGRESS_RATCHET_PATH_MAX + 32];
	bool known = false;

	if (in_force == 0)
		return EXAI_OK;
	if (recorded >= pinned)
		snprintf(where, sizeof(where), "the ratchet record %s", path);
	else
		snprintf(where, sizeof(where), "the pinned state");
	if (seq == 0)
		return exai_error_set(e, EXAI_EREFUSED,
				      "the policy has no sequence; the signed policy in force has "
				      "sequence %llu (%s)",
				      (unsigned long long)in_force, where);
	if (seq < in_force)
		return exai_error_set(
		    e, EXAI_EREFUSED,
		    "sequence %llu is older than sequence %llu in force (%s): a replay?",
		    (unsigned long long)seq, (unsigned long long)in_force, where);
	if (seq > in_force)
		return EXAI_OK;
	/* The sequence in force again: only the very policy that set it (a re-apply), never
	 * another one signed with the same number (the key holders' mistake, or a copy of a
	 * withdrawn draft): every digest known for this sequence must be this policy's, and
	 * with none known the content cannot be told apart, so it is refused. */
	if (recorded == seq && recorded_sha) {
		known = true;
		if (memcmp(recorded_sha, sha, EXAI_SHA256_LEN) != 0)
			return exai_error_set(
			    e, EXAI_EREFUSED,
			    "sequence %llu is in force with different content (the ratchet "
			    "record %s names another policy): a policy is re-applied only "
			    "byte for byte; a new one needs a higher sequence",
			    (unsigned long long)seq, path);
	}
	if (pinned == seq && pinned_sha) {
		known = true;
		if (memcmp(pinned_sha, sha, EXAI_SHA256_LEN) != 0)
			return exai_error_set(
			    e, EXAI_EREFUSED,
			    "sequence %llu is in force with different content (the pinned "
			    "state names another policy): a policy is re-applied only byte "
			    "for byte; a new one needs a higher sequence",
			    (unsigned long long)seq);
	}
	if (!known)
		return exai_error_set(e, EXAI_EREFUSED,
				      "sequence %llu is in force (%s) but which policy set it is "
				      "not recorded, so this one cannot be told to be the same: "
				      "sign it with a higher sequence",
				      (unsigned long long)seq, where);
	return EXAI_OK;
}
