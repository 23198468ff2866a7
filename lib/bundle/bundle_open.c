/*
 * bundle_open: loading a bundle's entries from a directory or an .exb (pax tar).
 *
 * Everything but the payload is read into memory here, each entry under its own cap, and
 * only the index is parsed. Entry names come from a closed set; anything else (an unknown
 * file, a symlink, a device, a duplicate, a hard link) is refused, naming the entry.
 */
#include "exai/bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exai/file.h"
#include "exai/secmem.h"

#define CHUNKS_MAX (64ull << 20)
#define KEYS_MAX   ((uint64_t)EXAI_INDEX_MAX_RECIPIENTS * (EXAI_KEYID_LEN + 80))

/* The cap for entry @name, or 0 if the name is not allowed. "payload" has no cap here (it is
 * bounded by the signed index later) and is reported as UINT64_MAX. */
static uint64_t entry_cap(const char *name)
{
	uint8_t id[EXAI_KEYID_LEN];
	uint64_t v;

	if (!strcmp(name, "index"))
		return EXAI_INDEX_MAX_BYTES;
	if (!strcmp(name, "manifest"))
		return EXAI_MANIFEST_MAX_BYTES + EXAI_AEAD_TAG;
	if (!strcmp(name, "chunks"))
		return CHUNKS_MAX;
	if (!strcmp(name, "keys"))
		return KEYS_MAX;
	if (!strcmp(name, "payload"))
		return UINT64_MAX;
	if (!strncmp(name, "roots/", 6) && exai_parse_u64_canon(name + 6, &v) && v >= 1)
		return EXAI_ROOT_MAX_BYTES;
	if (!strncmp(name, "sig/", 4) && strlen(name) == 4 + 16 + 8 &&
	    !strcmp(name + 20, ".minisig")) {
		char hex[17];
		memcpy(hex, name + 4, 16);
		hex[16] = '\0';
		for (int i = 0; i < 16; i++)
			if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'A' && hex[i] <= 'F')))
				return 0;
		return exai_keyid_parse(hex, id, NULL) == EXAI_OK ? EXAI_MINISIG_MAX : 0;
	}
	return 0;
}

const exai_bentry *exai_bundle_entry(const exai_bundle *b, const char *name)
{
	for (size_t i = 0; i < b->n_entries; i++)
		if (!strcmp(b->entries[i].name, name))
			return &b->entries[i];
	return NULL;
}

/* Registers entry @name of @size; *slot gets the entry to fill (NULL for payload). */
static exai_status add_entry(exai_bundle *b, const char *name, uint64_t size, exai_bentry **slot,
			     exai_error *e)
{
	uint64_t cap = entry_cap(name);

	*slot = NULL;
	if (cap == 0)
		return exai_error_set(e, EXAI_EUNSAFE,
				      "%s: entry '%.64s' is not part of the format", b->path, name);
	/* No name may repeat, signatures included: a repeated sig/ entry is how a threshold
	 * would be padded, and nothing we write ever repeats one. */
	if (exai_bundle_entry(b, name) || (!strcmp(name, "payload") && b->has_payload))
		return exai_error_set(e, EXAI_EFORMAT, "%s: entry '%s' appears twice (refused)",
				      b->path, name);
	if (!strncmp(name, "sig/", 4) && b->n_sig_entries == EXAI_BUNDLE_MAX_SIGS)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%s: more than %d signature entries (refused before any is "
				      "checked)",
				      b->path, EXAI_BUNDLE_MAX_SIGS);
	if (!strcmp(name, "payload")) {
		b->has_payload = true;
		b->payload_media_size = size;
		return EXAI_OK;
	}
	if (size > cap)
		return exai_error_set(e, EXAI_ETOOBIG,
				      "%s: entry '%s' is %llu bytes, over its limit "
				      "of %llu",
				      b->path, name, (unsigned long long)size,
				      (unsigned long long)cap);
	if (b->n_entries == EXAI_BUNDLE_MAX_ENTRIES)
		return exai_error_set(e, EXAI_ETOOBIG, "%s: more than %d entries", b->path,
				      EXAI_BUNDLE_MAX_ENTRIES);
	if (!strncmp(name, "sig/", 4))
		b->n_sig_entries++;
	*slot = &b->entries[b->n_entries++];
	strcpy((*slot)->name, name);
	(*slot)->size = size;
	(*slot)->data = malloc(size ? size : 1);
	if (!(*slot)->data)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	return EXAI_OK;
}

/* ---- directory form ---- */

static exai_status load_dir_file(exai_bundle *b, int dfd, const char *rel, const char *name,
				 exai_error *e)
{
	struct stat st;
	exai_bentry *slot;
	exai_status rc;
	int fd = openat(dfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: %s: open", b->path, name);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return exai_error_set(e, EXAI_EUNSAFE, "%s: %s: not a regular file", b->path, name);
	}
	rc = add_entry(b, name, (uint64_t)st.st_size, &slot, e);
	if (!rc && slot)
		rc = exai_read_full(fd, slot->data, slot->size, name, e);
	close(fd);
	return rc;
}

static exai_status load_subdir(exai_bundle *b, const char *sub, exai_error *e)
{
	int dfd = openat(b->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	exai_status rc = EXAI_OK;
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return exai_error_sys(e, EXAI_EUNSAFE, "%s: %s/: open directory", b->path, sub);
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return exai_error_sys(e, EXAI_EIO, "%s: %s/", b->path, sub);
	}
	while (!rc && (de = readdir(d))) {
		char name[48];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (strlen(sub) + 1 + strlen(de->d_name) >= sizeof(name))
			rc = exai_error_set(e, EXAI_EUNSAFE, "%s: %s/%.40s: not part of the format",
					    b->path, sub, de->d_name);
		else {
			snprintf(name, sizeof(name), "%.8s/%.38s", sub, de->d_name);
			rc = load_dir_file(b, dirfd(d), de->d_name, name, e);
		}
	}
	closedir(d);
	return rc;
}

static exai_status open_dir(exai_bundle *b, exai_error *e)
{
	exai_status rc = EXAI_OK;
	struct dirent *de;
	DIR *d;
	int dup_fd = dup(b->fd);

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return exai_error_sys(e, EXAI_EIO, "%s", b->path);
	}
	while (!rc && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, "sig") || !strcmp(de->d_name, "roots"))
			rc = load_subdir(b, de->d_name, e);
		else if (!strcmp(de->d_name, "payload")) {
			struct stat st;
			exai_bentry *slot;
			if (fstatat(b->fd, "payload", &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    !S_ISREG(st.st_mode))
				rc = exai_error_set(e, EXAI_EUNSAFE,
						    "%s: payload: not a regular file", b->path);
			else {
				b->payload_dev = (uint64_t)st.st_dev;
				b->payload_ino = (uint64_t)st.st_ino;
				rc = add_entry(b, "payload", (uint64_t)st.st_size, &slot, e);
			}
		} else
			rc = load_dir_file(b, b->fd, de->d_name, de->d_name, e);
	}
	closedir(d);
	return rc;
}

/* ---- .exb form ---- */

/* Position of @name in the order an .exb must follow (format.md section 1): index, the
 * roots, manifest, keys, chunks, payload, the signatures; -1 for a name outside the set. */
static int exb_rank(const char *name)
{
	static const char *const order[] = {"index",  "roots/",	 "manifest", "keys",
					    "chunks", "payload", "sig/"};

	for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++)
		if (!strcmp(name, order[i]) || (order[i][strlen(order[i]) - 1] == '/' &&
						!strncmp(name, order[i], strlen(order[i]))))
			return i;
	return -1;
}

static exai_status archive_err(exai_bundle *b, struct archive *a, exai_error *e)
{
	return exai_error_set(e, EXAI_EFORMAT, "%s: %s", b->path,
			      archive_error_string(a) ? archive_error_string(a) : "bad tar data");
}

/* An .exb is a pax (ustar) archive: its first 512-byte header carries the "ustar" magic at
 * offset 257. Checked before libarchive, whose "Unrecognized archive format" would not tell
 * the user that this file is no bundle at all. */
static exai_status check_tar_magic(exai_bundle *b, exai_error *e)
{
	uint8_t hdr[512];
	ssize_t n = pread(b->fd, hdr, sizeof(hdr), 0);
	bool zero = n > 0;

	if (n < 0)
		return exai_error_sys(e, EXAI_EIO, "%s: read", b->path);
	for (ssize_t i = 0; i < n && zero; i++)
		zero = hdr[i] == 0;
	if (n == (ssize_t)sizeof(hdr) && memcmp(hdr + 257, "ustar", 5) == 0)
		return EXAI_OK;
	return exai_error_set(e, EXAI_EFORMAT, "%s: not an exai bundle (%s)", b->path,
			      n == 0 ? "an empty file"
			      : zero ? "an empty tar archive"
				     : "not a tar archive; an .exb file is a tar that starts with "
				       "its index");
}

static exai_status open_exb(exai_bundle *b, exai_error *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	exai_status rc = EXAI_OK;
	size_t ordinal = 0;
	int r, last_rank = 0;
	const char *last_name = "";
	bool seen_dir[2] = {false, false}; /* sig/, roots/ */

	if (!a)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if ((rc = check_tar_magic(b, e)))
		goto out;
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, b->fd, 1 << 16) != ARCHIVE_OK) {
		rc = archive_err(b, a, e);
		goto out;
	}
	while (!rc && (r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		mode_t type = archive_entry_filetype(ent);
		exai_bentry *slot = NULL;

		/* A tar whose first entry is no name of the format is some other tar (a source
		 * tree, an image), not a damaged bundle (whose misplaced entries are named by
		 * the checks below). */
		if (ordinal == 0 && (!name || (entry_cap(name) == 0 && exb_rank(name) < 0))) {
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s: not an exai bundle (a tar archive whose first "
					    "entry, '%.64s', is not part of the format; an .exb "
					    "starts with its index)",
					    b->path, name ? name : "");
			break;
		}
		ordinal++;
		if (!name || archive_entry_hardlink(ent) || archive_entry_symlink(ent)) {
			rc = exai_error_set(e, EXAI_EUNSAFE, "%s: entry %zu: links are refused",
					    b->path, ordinal);
			break;
		}
		if (type == AE_IFDIR) {
			/* sig/ and roots/ (with or without the slash), each once: no name appears
			 * twice, and directories are no way around the entry cap. */
			int d = !strcmp(name, "sig/") || !strcmp(name, "sig")	    ? 0
				: !strcmp(name, "roots/") || !strcmp(name, "roots") ? 1
										    : -1;
			if (d < 0)
				rc = exai_error_set(
				    e, EXAI_EUNSAFE,
				    "%s: directory '%.64s' is not part of the format", b->path,
				    name);
			else if (seen_dir[d])
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "%s: directory '%s' appears twice (refused)",
						    b->path, d ? "roots/" : "sig/");
			else
				seen_dir[d] = true;
			continue;
		}
		if (type != AE_IFREG) {
			rc = exai_error_set(e, EXAI_EUNSAFE,
					    "%s: entry '%.64s' is not a regular file", b->path,
					    name);
			break;
		}
		if (b->has_payload && strncmp(name, "sig/", 4) != 0) {
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s: entry '%.64s' after payload (only signatures may "
					    "follow it)",
					    b->path, name);
			break;
		}
		if (exb_rank(name) >= 0 && exb_rank(name) < last_rank) {
			rc = exai_error_set(
			    e, EXAI_EFORMAT,
			    "%s: entry '%.64s' after '%.64s' (the format fixes the "
			    "order: index, roots/*, manifest, keys, chunks, payload, "
			    "sig/*)",
			    b->path, name, last_name);
			break;
		}
		if (archive_entry_size(ent) < 0) {
			rc = exai_error_set(e, EXAI_EFORMAT, "%s: %s: no size", b->path, name);
			break;
		}
		rc = add_entry(b, name, (uint64_t)archive_entry_size(ent), &slot, e);
		if (rc)
			break;
		last_rank = exb_rank(name);
		last_name = slot ? slot->name : "payload";
		if (!slot) { /* payload: skip its data (a seek on a regular file) */
			b->payload_ordinal = ordinal;
			if (archive_read_data_skip(a) != ARCHIVE_OK)
				rc = archive_err(b, a, e);
			continue;
		}
		la_ssize_t got = archive_read_data(a, slot->data, slot->size);
		if (got < 0)
			rc = archive_err(b, a, e);
		else if ((uint64_t)got != slot->size)
			rc = exai_error_set(e, EXAI_ESHORT,
					    "%s: %s: short read (%lld of %llu bytes)", b->path,
					    name, (long long)got, (unsigned long long)slot->size);
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = archive_err(b, a, e);
	else if (!rc && ordinal == 0)
		rc = exai_error_set(e, EXAI_EFORMAT,
				    "%s: not an exai bundle (an empty tar archive)", b->path);
out:
	archive_read_free(a);
	return rc;
}

void exai_bundle_free(exai_bundle *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_entries; i++)
		free(b->entries[i].data);
	if (b->fd >= 0)
		close(b->fd);
	free(b->index);
	free(b->root);
	exai_secmem_free(b->data_key);
	exai_manifest_free(b->manifest);
	free(b->path);
	free(b);
}

exai_status exai_bundle_open(const char *path, exai_bundle **out, exai_error *e)
{
	exai_bundle *b = calloc(1, sizeof(*b));
	struct stat st;
	exai_status rc;

	*out = NULL;
	if (!b || !(b->path = strdup(path))) {
		free(b);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	b->fd = -1;
	b->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (b->fd < 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: open bundle", path);
		goto fail;
	}
	if (fstat(b->fd, &st) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "%s: stat", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		struct stat ist;
		/* A directory without an index is not a bundle at all (a source tree, the
		 * wrong mount point): say so rather than name its first unknown file. */
		if (fstatat(b->fd, "index", &ist, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
			rc = exai_error_set(e, EXAI_EFORMAT,
					    "%s: not an exai bundle (a bundle directory holds an "
					    "'index' file; this directory has none)",
					    path);
			goto fail;
		}
		rc = open_dir(b, e);
	} else if (S_ISREG(st.st_mode)) {
		b->is_exb = true;
		fcntl(b->fd, F_SETFL, 0);
		rc = open_exb(b, e);
	} else {
		rc = exai_error_set(e, EXAI_EUNSAFE, "%s: not a bundle file or directory", path);
	}
	if (rc)
		goto fail;
	b->index_entry = exai_bundle_entry(b, "index");
	if (!b->index_entry) {
		rc = exai_error_set(e, EXAI_EFORMAT, "%s: no index (is this a bundle?)", path);
		goto fail;
	}
	rc = exai_index_parse(b->index_entry->data, b->index_entry->size, &b->index, e);
	if (rc) {
		exai_error_prefix(e, "%s", path);
		goto fail;
	}
	*out = b;
	return EXAI_OK;
fail:
	exai_bundle_free(b);
	return rc;
}
