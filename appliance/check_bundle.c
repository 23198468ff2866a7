/*
 * check: trust, policy and planning before anything is written.
 *
 * Order: the library verifies the bundle (root chain, signature threshold, every small
 * entry's hash, expiry against the ratchet time); then our policy: target, channel sequence
 * ratchet (rollback/replay), creation time ratchet (freeze), encryption; then the manifest is
 * unlocked and every component is planned against the config and what is installed. Any
 * refusal here happens before a single byte is written.
 *
 * upd_check_stream is verify's pass over the payload: every chunk and component hash, and
 * every tar component through the extraction rules with the limits apply uses (exai/
 * tarcheck.h), writing nothing, so what verify accepts apply does not refuse for its content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "apply.h"
#include "check_bundle.h"
#include "exai/progress.h"
#include "exai/file.h"
#include "exai/tarcheck.h"
#include "extract.h"
#include "install.h"

void upd_result_change(upd_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n_changes == UPD_MAX_CHANGES) {
		r->n_changes_omitted++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->changes[r->n_changes++], sizeof(r->changes[0]), fmt, ap);
	va_end(ap);
}

static exai_status load_root_file(const char *path, exai_root **out, exai_error *e)
{
	exai_status rc = exai_root_load(path, out, e);

	if (!rc && (rc = exai_root_check_self(*out, e))) {
		free(*out);
		*out = NULL;
	}
	return rc ? exai_error_prefix(e, "trust root %s", path) : rc;
}

exai_status upd_trust_root_pick(const upd_config *cfg, exai_root **out, bool *persisted,
				uint64_t *configured_version, exai_error *e)
{
	char *stored_path = exai_path_join(cfg->state_dir, "root");
	exai_root *base = NULL, *stored = NULL;
	exai_status rc;

	*out = NULL;
	*persisted = false;
	*configured_version = 0;
	if (!stored_path)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = load_root_file(cfg->trust_root, &base, e)))
		goto out;
	*configured_version = base->version;
	rc = load_root_file(stored_path, &stored, e);
	if (rc == EXAI_ENOENT)
		rc = EXAI_OK;
	if (rc)
		goto out;
	if (stored && stored->version > base->version) {
		*out = stored;
		*persisted = true;
		stored = NULL;
	} else {
		*out = base;
		base = NULL;
	}
out:
	free(base);
	free(stored);
	free(stored_path);
	return rc;
}

exai_status upd_ctx_load_trust(upd_ctx *c, exai_error *e)
{
	uint64_t ratchet = 0, configured = 0;
	bool persisted = false;
	exai_status rc = upd_trust_root_pick(c->cfg, &c->root, &persisted, &configured, e);

	if (rc)
		return rc;
	if ((rc = upd_state_counter(c->st, "root_version", &ratchet, e)))
		return rc;
	if (c->root->version < ratchet)
		return exai_error_set(e, EXAI_EREFUSED,
				      "trust root version %llu is older than the root version "
				      "ratchet %llu (was %s/root replaced?)",
				      (unsigned long long)c->root->version,
				      (unsigned long long)ratchet, c->cfg->state_dir);
	if (c->cfg->site_key && (rc = exai_site_key_load(c->cfg->site_key, &c->key, e)))
		exai_error_prefix(e, "site key");
	return rc;
}

exai_status upd_ratchet_time(upd_ctx *c, uint64_t *out, exai_error *e)
{
	exai_status rc = upd_state_counter(c->st, "created", out, e);

	if (!rc && c->root->created > *out)
		*out = c->root->created;
	return rc;
}

static bool listed(const char list[][EXAI_NAME_MAX + 1], size_t n, const char *v)
{
	for (size_t i = 0; v && i < n; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

static exai_status check_policy(upd_ctx *c, const exai_bundle *b, exai_error *e)
{
	const exai_index *ix = b->index;
	uint64_t seq = 0, newest = 0;
	bool found;
	exai_status rc;

	if (ix->n_classes && !listed(ix->classes, ix->n_classes, c->cfg->class_name))
		return exai_error_set(e, EXAI_EREFUSED,
				      "wrong target: bundle is for class %s%s, this appliance is "
				      "class %s",
				      ix->classes[0], ix->n_classes > 1 ? " (and others)" : "",
				      c->cfg->class_name ? c->cfg->class_name : "(none)");
	if (ix->n_sites && !listed(ix->sites, ix->n_sites, c->cfg->site_id))
		return exai_error_set(e, EXAI_EREFUSED,
				      "wrong target: bundle is for site %s%s, this appliance is "
				      "site %s",
				      ix->sites[0], ix->n_sites > 1 ? " (and others)" : "",
				      c->cfg->site_id ? c->cfg->site_id : "(none)");
	if ((rc = upd_state_channel_seq(c->st, ix->channel, &seq, &found, e)))
		return rc;
	if (found && ix->sequence <= seq)
		return exai_error_set(e, EXAI_EREFUSED,
				      "rollback/replay: sequence %llu is not above %llu, the "
				      "highest applied on channel %s",
				      (unsigned long long)ix->sequence, (unsigned long long)seq,
				      ix->channel);
	if ((rc = upd_state_counter(c->st, "created", &newest, e)))
		return rc;
	if (ix->created < newest)
		return exai_error_set(e, EXAI_EREFUSED,
				      "freeze: bundle created at %llu, older than the newest "
				      "signed time seen (%llu)",
				      (unsigned long long)ix->created, (unsigned long long)newest);
	if (c->cfg->require_encryption && ix->encryption == EXAI_ENC_NONE)
		return exai_error_set(e, EXAI_EREFUSED,
				      "bundle is not encrypted and require_encryption is set");
	return EXAI_OK;
}

/*
 * A component's digest as the state records it: lower-case hex for format 1 (SHA-256 of its
 * bytes), upper-case hex for format 2 (the tree digest of docs/format.md 7.1). The two are
 * different functions of the same bytes, so equal content from bundles of different formats
 * never compares equal, and the case says which a record is (no schema change: the column was
 * always 64 hex digits).
 */
static void digest_text(unsigned format, const uint8_t md[EXAI_SHA256_LEN],
			char out[EXAI_SHA256_HEX])
{
	exai_hex_encode(md, EXAI_SHA256_LEN, out);
	for (char *p = out; format >= EXAI_FORMAT_V2 && *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
}

/* Whether a recorded digest is of format 2 (an upper-case hex digit in it). */
static bool digest_is_v2(const char *hex)
{
	return strpbrk(hex, "ABCDEF") != NULL;
}

/* Plans one component against the config and the installed state. */
static exai_status plan_op(upd_ctx *c, const exai_component *m, unsigned format, upd_op *op,
			   exai_error *e)
{
	const char *tname = exai_ctype_name(m->type);
	const char *dir = c->cfg->dirs[m->type];
	upd_installed in;
	bool found;
	exai_status rc;

	op->type = m->type;
	snprintf(op->name, sizeof(op->name), "%s", m->name);
	snprintf(op->version, sizeof(op->version), "%s", m->version);
	digest_text(format, m->sha256, op->sha256);
	if ((rc = upd_state_get_installed(c->st, tname, m->name, &in, &found, e)))
		return rc;
	if (found)
		snprintf(op->old_version, sizeof(op->old_version), "%s", in.cur.version);
	if ((rc = exai_tarcheck_component(m, c->cfg->max_ratio, e)))
		return rc;
	if (m->type == EXAI_C_ROOTFS) {
		char active[2];
		struct stat st;
		if (!c->cfg->boot_selector)
			return exai_error_set(e, EXAI_EREFUSED,
					      "rootfs/%s: no rootfs slots configured", m->name);
		if ((rc = upd_selector_read(c->cfg, active, e)))
			return rc;
		op->kind = UPD_K_ROOTFS;
		snprintf(op->old_loc, sizeof(op->old_loc), "%s", active);
		snprintf(op->new_loc, sizeof(op->new_loc), "%s", active[0] == 'A' ? "B" : "A");
		snprintf(op->base, sizeof(op->base), "%s", upd_rootfs_path(c->cfg, op->new_loc));
		op->skip =
		    found && !strcmp(in.cur.sha256, op->sha256) && !strcmp(in.cur.loc, active);
		if (stat(op->base, &st) != 0)
			return exai_error_sys(e, EXAI_EREFUSED, "rootfs slot %s (%s)", op->new_loc,
					      op->base);
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < m->size)
			return exai_error_set(
			    e, EXAI_EREFUSED,
			    "rootfs/%s: %llu bytes do not fit slot %s (%lld bytes)", m->name,
			    (unsigned long long)m->size, op->new_loc, (long long)st.st_size);
		return EXAI_OK;
	}
	if (!dir)
		return exai_error_set(e, EXAI_EREFUSED,
				      "%s/%s: this appliance has no install dir for %s components",
				      tname, m->name, tname);
	snprintf(op->base, sizeof(op->base), "%s/%s", dir, m->name);
	if (m->type == EXAI_C_MODEL) {
		op->kind = UPD_K_MODEL;
		snprintf(op->new_loc, sizeof(op->new_loc), "%s", m->version);
		if (found)
			snprintf(op->old_loc, sizeof(op->old_loc), "%s", in.cur.version);
		if (found && !strcmp(in.cur.version, m->version)) {
			/* The same format: the digests compare. The other format: the content
			 * is compared per file after verification (upd_op.xcheck). */
			if (digest_is_v2(in.cur.sha256) != (format >= EXAI_FORMAT_V2))
				op->xcheck = true;
			else if (strcmp(in.cur.sha256, op->sha256))
				return exai_error_set(
				    e, EXAI_EREFUSED,
				    "model/%s: version %s is active with different "
				    "content (versions are immutable)",
				    m->name, m->version);
			op->skip = true;
		} else if (found && in.has_prev && !strcmp(in.prev.version, m->version)) {
			/* The previous version: reused when its content is this bundle's (the
			 * other format: compared per file after verification); otherwise staged
			 * again, as before. */
			if (digest_is_v2(in.prev.sha256) != (format >= EXAI_FORMAT_V2))
				op->xcheck = op->reuse = true;
			else if (!strcmp(in.prev.sha256, op->sha256))
				op->reuse = true;
		}
		return EXAI_OK;
	}
	op->kind = UPD_K_SLOT;
	if (found) {
		snprintf(op->old_loc, sizeof(op->old_loc), "%s", in.cur.loc);
		op->skip =
		    !strcmp(in.cur.sha256, op->sha256) && !strcmp(in.cur.version, m->version);
	}
	snprintf(op->new_loc, sizeof(op->new_loc), "%s", !strcmp(op->old_loc, "a") ? "b" : "a");
	return EXAI_OK;
}

static void signers_text(const exai_bundle *b, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->n_signers && used + 18 < cap; i++) {
		char id[EXAI_KEYID_STR];
		if (b->signers[i].state != EXAI_SIG_VALID)
			continue;
		exai_keyid_str(b->signers[i].id, id);
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "," : "", id);
	}
}

exai_status upd_check_bundle(upd_ctx *c, exai_bundle *b, upd_plan **plan, exai_error *e)
{
	exai_verify_opts opts = {0};
	upd_plan *p = NULL;
	exai_status rc;

	*plan = NULL;
	if ((rc = upd_ratchet_time(c, &opts.now, e)))
		return rc;
	if ((rc = exai_bundle_verify(b, c->root, &opts, e)) || (rc = check_policy(c, b, e)) ||
	    (rc = exai_bundle_unlock(b, c->key, e)))
		return rc;
	if (!(p = calloc(1, sizeof(*p))) || !(p->ops = calloc(b->manifest->n, sizeof(*p->ops)))) {
		upd_plan_free(p);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	exai_hex_encode(b->index->bundle_id, EXAI_BUNDLE_ID_LEN, p->bundle_id);
	snprintf(p->channel, sizeof(p->channel), "%s", b->index->channel);
	p->sequence = b->index->sequence;
	p->created = b->index->created;
	p->root_version = b->root->version;
	signers_text(b, p->signers, sizeof(p->signers));
	if (b->root->version > c->root->version && !(p->root_text = exai_root_file_text(b->root))) {
		upd_plan_free(p);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	p->n = b->manifest->n;
	for (size_t i = 0; i < p->n; i++)
		if ((rc = plan_op(c, &b->manifest->c[i], exai_index_version(b->index), &p->ops[i],
				  e))) {
			upd_plan_free(p);
			return rc;
		}
	*plan = p;
	return EXAI_OK;
}

/* ---- the check-only pass (verify) ---- */

typedef struct check_sink {
	const upd_config *cfg;
	upd_extract *x; /* the tar component in progress, check only */
} check_sink;

static exai_status check_begin(void *arg, const exai_component *c, exai_error *e)
{
	check_sink *s = arg;
	upd_extract_limits lim;

	if (c->encoding != EXAI_CENC_TAR)
		return EXAI_OK;
	lim = (upd_extract_limits){.max_entries = c->entries,
				   .max_bytes = c->unpacked,
				   .max_ratio = s->cfg->max_ratio,
				   .flags = c->flags};
	if (upd_extract_start(-1, &lim, &s->x, e))
		return exai_error_prefix(e, "%s/%s", exai_ctype_name(c->type), c->name);
	return EXAI_OK;
}

static exai_status check_data(void *arg, const exai_component *c, const uint8_t *buf, size_t len,
			      exai_error *e)
{
	check_sink *s = arg;

	if (s->x && upd_extract_feed(s->x, buf, len, e))
		return exai_error_prefix(e, "%s/%s", exai_ctype_name(c->type), c->name);
	return EXAI_OK;
}

static exai_status check_end(void *arg, const exai_component *c, exai_error *e)
{
	check_sink *s = arg;
	upd_extract *x = s->x;

	s->x = NULL;
	if (x && upd_extract_finish(x, e))
		return exai_error_prefix(e, "%s/%s", exai_ctype_name(c->type), c->name);
	return EXAI_OK;
}

exai_status upd_check_stream(upd_ctx *c, exai_bundle *b, exai_progress *prog, exai_error *e)
{
	check_sink s = {.cfg = c->cfg};
	exai_sink sink = {.begin = check_begin,
			  .data = check_data,
			  .end = check_end,
			  .arg = &s,
			  .own_thread = true};
	exai_status rc = exai_bundle_stream(b, &sink, prog, e);

	upd_extract_abort(s.x); /* a failed stream leaves the component's pass running */
	return rc;
}

static void note_bundle(upd_result *r, const exai_bundle *b, const char *path)
{
	snprintf(r->bundle, sizeof(r->bundle), "%s", path);
	if (!b || !b->index)
		return;
	exai_hex_encode(b->index->bundle_id, EXAI_BUNDLE_ID_LEN, r->bundle_id);
	snprintf(r->channel, sizeof(r->channel), "%s", b->index->channel);
	r->sequence = b->index->sequence;
	r->created = b->index->created;
	if (b->verified)
		signers_text(b, r->signers, sizeof(r->signers));
}

static void note_skip(upd_result *r, const char *path, const char *fmt, ...) EXAI_PRINTF(3, 4);
static void note_skip(upd_result *r, const char *path, const char *fmt, ...)
{
	upd_skip *s;
	va_list ap;

	if (r->n_skipped == UPD_MAX_CANDIDATES)
		return;
	s = &r->skipped[r->n_skipped++];
	memcpy(s->path, path, strnlen(path, sizeof(s->path) - 1));
	s->path[strnlen(path, sizeof(s->path) - 1)] = '\0';
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

static bool is_bundle_dir(const char *path)
{
	char *ix = exai_path_join(path, "index");
	struct stat st;
	bool yes = ix && lstat(ix, &st) == 0 && S_ISREG(st.st_mode);

	free(ix);
	return yes;
}

static bool newer(const exai_bundle *a, const exai_bundle *b)
{
	if (a->index->created != b->index->created)
		return a->index->created > b->index->created;
	return a->index->sequence > b->index->sequence;
}

/* A directory of bundles: every candidate is opened and checked; the newest acceptable wins. */
static exai_status select_dir(upd_ctx *c, const char *media, exai_bundle **out, upd_plan **plan,
			      upd_result *r, exai_error *e)
{
	char *names[UPD_MAX_CANDIDATES];
	size_t n = 0;
	exai_bundle *best = NULL;
	upd_plan *best_plan = NULL;
	char best_path[PATH_MAX] = "";
	struct dirent *de;
	DIR *d = opendir(media);

	if (!d)
		return exai_error_sys(e, EXAI_EIO, "%s: open media", media);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char *p;
		if (de->d_name[0] == '.')
			continue;
		if (!(p = exai_path_join(media, de->d_name))) {
			closedir(d);
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			return exai_error_set(e, EXAI_ENOMEM, "out of memory");
		}
		if (!((len > 4 && !strcmp(de->d_name + len - 4, ".exb")) || is_bundle_dir(p))) {
			free(p);
			continue;
		}
		/* Choosing the newest among only some candidates could pick an older bundle:
		 * past the bound the media is refused. */
		if (n == UPD_MAX_CANDIDATES) {
			free(p);
			closedir(d);
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			return exai_error_set(
			    e, EXAI_EREFUSED,
			    "%s: more than %d bundles on the media: refusing to "
			    "choose among only some of them (point exai-update at "
			    "one bundle)",
			    media, UPD_MAX_CANDIDATES);
		}
		names[n++] = p;
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		exai_bundle *b = NULL;
		upd_plan *p = NULL;
		exai_error ce;
		exai_status rc = exai_bundle_open(names[i], &b, &ce);
		if (!rc)
			rc = upd_check_bundle(c, b, &p, &ce);
		if (rc) {
			note_skip(r, names[i], "%s", ce.msg);
			exai_bundle_free(b);
			continue;
		}
		if (best && !newer(b, best)) {
			note_skip(r, names[i], "acceptable, but older than %s", best_path);
			exai_bundle_free(b);
			upd_plan_free(p);
			continue;
		}
		if (best)
			note_skip(r, best_path, "acceptable, but older than %s", names[i]);
		exai_bundle_free(best);
		upd_plan_free(best_plan);
		best = b;
		best_plan = p;
		snprintf(best_path, sizeof(best_path), "%s", names[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	if (!best && n == 0) {
		r->bundle[0] = '\0';
		return exai_error_set(e, EXAI_EREFUSED,
				      "%s: not an exai bundle, and it holds none (no .exb file and "
				      "no bundle directory in it)",
				      media);
	}
	if (!best) {
		r->bundle[0] = '\0';
		return exai_error_set(e, EXAI_EREFUSED, "%s: no acceptable bundle (%zu found%s)",
				      media, n, n ? ", see the reasons above" : "");
	}
	note_bundle(r, best, best_path);
	*out = best;
	*plan = best_plan;
	return EXAI_OK;
}

exai_status upd_select(upd_ctx *c, const char *media, exai_bundle **out, upd_plan **plan,
		       upd_result *r, exai_error *e)
{
	struct stat st;
	exai_bundle *b = NULL;
	exai_status rc;

	*out = NULL;
	*plan = NULL;
	if (stat(media, &st) != 0)
		return exai_error_sys(e, EXAI_EREFUSED, "%s", media);
	if (S_ISDIR(st.st_mode) && !is_bundle_dir(media))
		return select_dir(c, media, out, plan, r, e);
	rc = exai_bundle_open(media, &b, e);
	note_bundle(r, b, media);
	if (!rc)
		rc = upd_check_bundle(c, b, plan, e);
	note_bundle(r, b, media);
	if (rc) {
		exai_bundle_free(b);
		return rc;
	}
	*out = b;
	return EXAI_OK;
}

exai_status upd_record(upd_ctx *c, const char *op, const upd_result *r, exai_error *e)
{
	upd_event ev = {
	    .op = op,
	    .bundle_id = r->bundle_id,
	    .channel = r->channel,
	    .sequence = r->sequence,
	    .signers = r->signers,
	    .outcome = r->what ? r->what : "ok",
	    .reason = r->outcome == UPD_OK ? "" : r->err.msg,
	};
	exai_status rc = upd_state_begin(c->st, e);

	if (rc)
		return rc;
	if ((rc = upd_state_add_history(c->st, &ev, c->cfg->mirror_socket != NULL, e))) {
		upd_state_rollback(c->st);
		return rc;
	}
	return upd_state_commit(c->st, e);
}

/* ---- free space before staging (apply.h) ---- */

typedef struct fs_need {
	dev_t dev;
	char dir[PATH_MAX]; /* the first directory of this filesystem met */
	char what[640];	    /* the components staged there, each with its install dir */
	uint64_t bytes, inodes, bytes_free, inodes_free;
	bool inodes_known;
} fs_need;

/* The nearest existing directory at or above @path (install dirs may not exist yet). */
static exai_status existing_dir(const char *path, char *out, size_t cap, exai_error *e)
{
	struct stat st;

	snprintf(out, cap, "%s", path);
	for (;;) {
		char *slash;
		if (stat(out, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				return EXAI_OK;
		} else if (errno != ENOENT && errno != ENOTDIR) {
			return exai_error_sys(e, EXAI_EIO, "%s: stat", out);
		}
		if (!(slash = strrchr(out, '/')) || slash == out)
			return exai_error_set(e, EXAI_ENOENT, "%s: no existing directory above it",
					      path);
		*slash = '\0';
	}
}

static exai_status add_need(fs_need *fs, size_t *n, const char *dir, const char *what,
			    uint64_t bytes, uint64_t inodes, exai_error *e)
{
	struct statvfs v;
	struct stat st;
	size_t i;

	if (stat(dir, &st) != 0 || statvfs(dir, &v) != 0)
		return exai_error_sys(e, EXAI_EIO, "%s: statvfs", dir);
	for (i = 0; i < *n && fs[i].dev != st.st_dev; i++)
		;
	if (i == *n) {
		memset(&fs[i], 0, sizeof(fs[i]));
		fs[i].dev = st.st_dev;
		snprintf(fs[i].dir, sizeof(fs[i].dir), "%s", dir);
		/* f_bavail: what is free to non-root; the root reserve is left to the system. */
		fs[i].bytes_free = (uint64_t)v.f_bavail * v.f_frsize;
		fs[i].inodes_free = (uint64_t)v.f_favail;
		fs[i].inodes_known = v.f_files != 0; /* 0: the filesystem has no inode limit */
		(*n)++;
	}
	fs[i].bytes += bytes;
	fs[i].inodes += inodes;
	size_t len = strlen(fs[i].what);
	if (len + strlen(what) + 3 < sizeof(fs[i].what))
		snprintf(fs[i].what + len, sizeof(fs[i].what) - len, "%s%s", len ? ", " : "", what);
	else if (len + 5 < sizeof(fs[i].what) && strcmp(fs[i].what + len - 3, "..."))
		snprintf(fs[i].what + len, sizeof(fs[i].what) - len, ", ...");
	return EXAI_OK;
}

/* A rootfs image goes into its slot: a block device must hold it (an image file is written
 * in place and must already be as large: checked by the plan). */
static exai_status rootfs_fits(const upd_op *op, const exai_component *c, const char *what,
			       exai_error *e)
{
	char *real = realpath(op->base, NULL);
	struct stat st;
	uint64_t dev_size = 0;
	exai_status rc = EXAI_OK;

	if (!real)
		return exai_error_sys(e, EXAI_EIO, "rootfs slot %s: resolve", op->base);
	if (stat(real, &st) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "rootfs slot %s: stat", op->base);
	} else if (S_ISBLK(st.st_mode)) {
		int fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || ioctl(fd, BLKGETSIZE64, &dev_size) != 0)
			rc = exai_error_sys(e, EXAI_EIO, "rootfs slot %s: size", op->base);
		else if (c->size > dev_size)
			rc = exai_error_set(e, EXAI_ENOSPC,
					    "rootfs slot %s holds %llu bytes; %s needs %llu: "
					    "nothing was written",
					    op->base, (unsigned long long)dev_size, what,
					    (unsigned long long)c->size);
		if (fd >= 0)
			close(fd);
	} /* an image file slot smaller than the image was refused by the plan */
	free(real);
	return rc;
}

exai_status upd_check_space(const exai_manifest *m, const upd_plan *p, exai_error *e)
{
	return upd_check_space_report(m, p, NULL, e);
}

exai_status upd_check_space_report(const exai_manifest *m, const upd_plan *p, upd_result *r,
				   exai_error *e)
{
	fs_need *fs = calloc(p->n ? p->n : 1, sizeof(*fs));
	size_t n = 0;
	exai_status rc = EXAI_OK;

	if (!fs)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < p->n && i < m->n; i++) {
		const upd_op *op = &p->ops[i];
		const exai_component *c = &m->c[i];
		char dir[PATH_MAX], what[EXAI_NAME_MAX * 2 + PATH_MAX + 16];
		uint64_t bytes, inodes;
		if (op->skip || op->reuse)
			continue;
		snprintf(what, sizeof(what), "%s/%s %s", exai_ctype_name(op->type), op->name,
			 op->version);
		if (op->kind == UPD_K_ROOTFS) {
			rc = rootfs_fits(op, c, what, e);
			if (!rc && r)
				upd_result_change(r, "space: %s fits rootfs slot %s (%s)", what,
						  op->new_loc, op->base);
			continue;
		}
		snprintf(what + strlen(what), sizeof(what) - strlen(what), " (into %s)", op->base);
		/* Content bytes plus one 4 KiB block per entry (rounding, directories); the
		 * inactive slot or old version is removed only at the switch, so all of it. */
		inodes = c->encoding == EXAI_CENC_TAR ? c->entries + 1 : 2;
		bytes = (c->encoding == EXAI_CENC_TAR ? c->unpacked : c->size) + inodes * 4096;
		if (!(rc = existing_dir(op->base, dir, sizeof(dir), e)))
			rc = add_need(fs, &n, dir, what, bytes, inodes, e);
	}
	for (size_t i = 0; !rc && i < n; i++) {
		char need[32], free_[32];
		exai_format_bytes(need, sizeof(need), (double)fs[i].bytes);
		exai_format_bytes(free_, sizeof(free_), (double)fs[i].bytes_free);
		if (fs[i].bytes > fs[i].bytes_free)
			rc = exai_error_set(
			    e, EXAI_ENOSPC,
			    "not enough space: staging %s needs %llu bytes (%s) on the "
			    "filesystem of %s, which has %llu bytes (%s) free; nothing "
			    "was written",
			    fs[i].what, (unsigned long long)fs[i].bytes, need, fs[i].dir,
			    (unsigned long long)fs[i].bytes_free, free_);
		else if (fs[i].inodes_known && fs[i].inodes > fs[i].inodes_free)
			rc = exai_error_set(
			    e, EXAI_ENOSPC,
			    "not enough inodes: staging %s needs %llu on the filesystem "
			    "of %s, which has %llu free; nothing was written",
			    fs[i].what, (unsigned long long)fs[i].inodes, fs[i].dir,
			    (unsigned long long)fs[i].inodes_free);
		else if (r)
			upd_result_change(r,
					  "space: staging %s needs %s on the filesystem of %s, "
					  "which has %s free: enough",
					  fs[i].what, need, fs[i].dir, free_);
	}
	if (!rc && r && !n)
		upd_result_change(r, "space: nothing to write");
	free(fs);
	return rc;
}
