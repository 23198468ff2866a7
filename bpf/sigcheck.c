/*
 * sigcheck.c: counting distinct valid release-key signatures over a policy (sigcheck.h).
 */
#include "sigcheck.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/file.h"
#include "exai/minisign.h"
#include "exai/root.h"
#include "exai/text.h"

static exai_status load_root(const char *path, exai_root **out, exai_error *e)
{
	exai_status st = exai_root_load(path, out, e);

	if (st == EXAI_OK && (st = exai_root_check_self(*out, e)) != EXAI_OK) {
		free(*out);
		*out = NULL;
	}
	return st != EXAI_OK ? exai_error_prefix(e, "trust root %s", path) : st;
}

/* The slot of the release key that signed @path validly, or -1 with @why set. */
/* Writes "@path: @msg" (just @msg when @path is "") into @why, cut at @cap (a message, not
 * data: truncation is fine). */
static void say(char *why, size_t cap, const char *path, const char *msg)
{
	if (snprintf(why, cap, "%s%s%s", path, path[0] ? ": " : "", msg) >= (int)cap)
		why[cap - 1] = '\0';
}

static int check_sig(const exai_root *r, const char *path, const uint8_t *msg, size_t len,
		     char *why, size_t cap)
{
	exai_minisig *sig = calloc(1, sizeof(*sig));
	uint8_t *buf = NULL;
	size_t blen = 0;
	exai_error e = {0};
	const exai_pubkey *pk;
	int slot = -1;

	if (!sig) {
		snprintf(why, cap, "%s: out of memory", path);
		return -1;
	}
	if (exai_file_read_bounded(path, EXAI_MINISIG_MAX, &buf, &blen, &e) != EXAI_OK) {
		say(why, cap, "", e.msg); /* names the path already */
	} else if (exai_minisig_parse(buf, blen, sig, &e) != EXAI_OK) {
		say(why, cap, path, e.msg);
	} else if (!(pk = exai_root_release_key(r, sig->id))) {
		char id[EXAI_KEYID_STR];

		exai_keyid_str(sig->id, id);
		snprintf(why, cap, "%s: key %s is not a release key of the trust root", path, id);
	} else if (exai_minisig_verify(sig, pk, msg, len, &e) != EXAI_OK) {
		say(why, cap, path, e.msg);
	} else {
		slot = (int)(pk - r->release_keys);
	}
	free(buf);
	free(sig);
	return slot;
}

static void append(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);

	if (snprintf(dst + n, cap - n, "%s%s", n ? "; " : "", s) >= (int)(cap - n))
		dst[cap - 1] = '\0'; /* cut: the message says what it can */
}

exai_status egress_sigcheck(const uint8_t *msg, size_t len, const char *name, const char *root_path,
			    const char *const *sigs, size_t nsigs, char *signers, size_t cap,
			    exai_error *e)
{
	bool counted[EXAI_ROOT_MAX_KEYS] = {false};
	char why[512], notes[EXAI_ERROR_MSG_MAX / 2] = "";
	exai_root *r = NULL;
	unsigned valid = 0;
	exai_status st;

	signers[0] = '\0';
	if (nsigs > EGRESS_MAX_SIGS)
		return exai_error_set(e, EXAI_ETOOBIG, "%zu signature files: at most %d", nsigs,
				      EGRESS_MAX_SIGS);
	if ((st = load_root(root_path, &r, e)) != EXAI_OK)
		return st;
	for (size_t i = 0; i < nsigs; i++) {
		int slot = check_sig(r, sigs[i], msg, len, why, sizeof(why));
		char id[EXAI_KEYID_STR];

		if (slot < 0) {
			append(notes, sizeof(notes), why);
			continue;
		}
		if (counted[slot]) {
			snprintf(why, sizeof(why),
				 "%s: same release key as another signature: "
				 "counted once",
				 sigs[i]);
			append(notes, sizeof(notes), why);
			continue;
		}
		counted[slot] = true;
		valid++;
		exai_keyid_str(r->release_keys[slot].id, id);
		snprintf(signers + strlen(signers), cap - strlen(signers), "%s%s",
			 signers[0] ? " " : "", id);
	}
	if (valid < r->release_threshold)
		st = exai_error_set(e, EXAI_EVERIFY,
				    "%s: signed by %u distinct release key%s of trust root v%llu, "
				    "%u needed%s%s",
				    name, valid, exai_plural(valid, "", "s"),
				    (unsigned long long)r->version, r->release_threshold,
				    notes[0] ? ": " : "", notes);
	free(r);
	return st;
}
