/*
 * index: strict parser and canonical writer of the signed bundle index.
 */
#include "exai/index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t exai_index_chunk_plain_len(const exai_index *ix, uint64_t i)
{
	uint64_t start = i * ix->chunk_size;

	if (i >= ix->chunk_count)
		return 0;
	return ix->payload_size - start < ix->chunk_size ? ix->payload_size - start
							 : ix->chunk_size;
}

unsigned exai_index_version(const exai_index *ix)
{
	return ix->version ? ix->version : EXAI_FORMAT_V1;
}

char *exai_index_text(const exai_index *ix)
{
	char hex[EXAI_SHA256_HEX];
	char id[EXAI_KEYID_STR];
	exai_strbuf b = {0};

	exai_hex_encode(ix->bundle_id, EXAI_BUNDLE_ID_LEN, hex);
	exai_strbuf_printf(&b, "exai-bundle-index %u\nbundle-id %s\nchannel %s\n",
			   exai_index_version(ix), hex, ix->channel);
	exai_strbuf_printf(&b, "sequence %llu\ncreated %llu\nexpires %llu\nmin-root-version %llu\n",
			   (unsigned long long)ix->sequence, (unsigned long long)ix->created,
			   (unsigned long long)ix->expires,
			   (unsigned long long)ix->min_root_version);
	for (size_t i = 0; i < ix->n_classes; i++)
		exai_strbuf_printf(&b, "target-class %s\n", ix->classes[i]);
	for (size_t i = 0; i < ix->n_sites; i++)
		exai_strbuf_printf(&b, "target-site %s\n", ix->sites[i]);
	exai_strbuf_printf(&b, "encryption %s\n",
			   ix->encryption == EXAI_ENC_AES256GCM ? "aes-256-gcm" : "none");
	exai_strbuf_printf(&b, "chunk-size %llu\npayload-size %llu\nchunk-count %llu\n",
			   (unsigned long long)ix->chunk_size, (unsigned long long)ix->payload_size,
			   (unsigned long long)ix->chunk_count);
	for (size_t i = 0; i < ix->n_recipients; i++) {
		exai_keyid_str(ix->recipients[i], id);
		exai_strbuf_printf(&b, "recipient %s\n", id);
	}
	for (size_t i = 0; i < ix->n_files; i++) {
		exai_hex_encode(ix->files[i].sha256, EXAI_SHA256_LEN, hex);
		exai_strbuf_printf(&b, "file %s %llu %s\n", ix->files[i].name,
				   (unsigned long long)ix->files[i].size, hex);
	}
	return exai_strbuf_take(&b);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int cmp_id(const void *a, const void *b)
{
	char sa[EXAI_KEYID_STR], sb_[EXAI_KEYID_STR];

	exai_keyid_str(a, sa);
	exai_keyid_str(b, sb_);
	return strcmp(sa, sb_);
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const exai_index_file *)a)->name, ((const exai_index_file *)b)->name);
}

void exai_index_sort(exai_index *ix)
{
	qsort(ix->classes, ix->n_classes, sizeof(ix->classes[0]), cmp_name);
	qsort(ix->sites, ix->n_sites, sizeof(ix->sites[0]), cmp_name);
	qsort(ix->recipients, ix->n_recipients, sizeof(ix->recipients[0]), cmp_id);
	qsort(ix->files, ix->n_files, sizeof(ix->files[0]), cmp_file);
}

bool exai_index_file_name_valid(const char *name)
{
	uint64_t v;

	if (!strcmp(name, "manifest") || !strcmp(name, "chunks") || !strcmp(name, "payload") ||
	    !strcmp(name, "keys"))
		return true;
	return strncmp(name, "roots/", 6) == 0 && exai_parse_u64_canon(name + 6, &v) && v >= 1;
}

const exai_index_file *exai_index_file_get(const exai_index *ix, const char *name)
{
	for (size_t i = 0; i < ix->n_files; i++)
		if (!strcmp(ix->files[i].name, name))
			return &ix->files[i];
	return NULL;
}

int exai_index_recipient(const exai_index *ix, const uint8_t id[EXAI_KEYID_LEN])
{
	for (size_t i = 0; i < ix->n_recipients; i++)
		if (!memcmp(ix->recipients[i], id, EXAI_KEYID_LEN))
			return (int)i;
	return -1;
}

exai_status exai_index_validate(const exai_index *ix, exai_error *e)
{
	const exai_index_file *f;
	uint64_t want_chunks, ct;

	if (ix->version > EXAI_FORMAT_V2)
		return exai_error_set(e, EXAI_EFORMAT, "index: unknown format version %u",
				      ix->version);
	if (!exai_name_valid(ix->channel))
		return exai_error_set(e, EXAI_EFORMAT, "index: bad channel name");
	if (ix->expires <= ix->created)
		return exai_error_set(e, EXAI_EFORMAT, "index: expires is not after created");
	if (ix->min_root_version < 1)
		return exai_error_set(e, EXAI_EFORMAT, "index: min-root-version must be >= 1");
	if (ix->n_classes + ix->n_sites == 0)
		return exai_error_set(e, EXAI_EFORMAT, "index: no target-class or target-site");
	for (size_t i = 0; i < ix->n_classes; i++)
		if (!exai_name_valid(ix->classes[i]) ||
		    (i && strcmp(ix->classes[i - 1], ix->classes[i]) >= 0))
			return exai_error_set(e, EXAI_EFORMAT,
					      "index: target classes not valid, sorted and unique");
	for (size_t i = 0; i < ix->n_sites; i++)
		if (!exai_name_valid(ix->sites[i]) ||
		    (i && strcmp(ix->sites[i - 1], ix->sites[i]) >= 0))
			return exai_error_set(e, EXAI_EFORMAT,
					      "index: target sites not valid, sorted and unique");
	if (ix->chunk_size < EXAI_CHUNK_MIN || ix->chunk_size > EXAI_CHUNK_MAX ||
	    (ix->chunk_size & (ix->chunk_size - 1)))
		return exai_error_set(
		    e, EXAI_EFORMAT,
		    "index: chunk-size must be a power of two from 64 KiB to 64 MiB");
	want_chunks = ix->payload_size / ix->chunk_size + (ix->payload_size % ix->chunk_size != 0);
	if (ix->chunk_count != want_chunks)
		return exai_error_set(e, EXAI_EFORMAT,
				      "index: chunk-count %llu does not match payload-size",
				      (unsigned long long)ix->chunk_count);
	if (ix->chunk_count > (1ull << 32))
		return exai_error_set(e, EXAI_EFORMAT, "index: too many chunks");
	if ((ix->encryption == EXAI_ENC_NONE) != (ix->n_recipients == 0))
		return exai_error_set(e, EXAI_EFORMAT,
				      "index: encrypted bundles need recipients, plain ones none");
	for (size_t i = 1; i < ix->n_recipients; i++)
		if (cmp_id(ix->recipients[i - 1], ix->recipients[i]) >= 0)
			return exai_error_set(e, EXAI_EFORMAT,
					      "index: recipients not sorted and unique");
	for (size_t i = 0; i < ix->n_files; i++)
		if (!exai_index_file_name_valid(ix->files[i].name) ||
		    (i && strcmp(ix->files[i - 1].name, ix->files[i].name) >= 0))
			return exai_error_set(e, EXAI_EFORMAT,
					      "index: file names not valid, sorted and unique");
	ct = ix->payload_size +
	     (ix->encryption == EXAI_ENC_AES256GCM ? ix->chunk_count * EXAI_AEAD_TAG : 0);
	if (!(f = exai_index_file_get(ix, "payload")) || f->size != ct)
		return exai_error_set(e, EXAI_EFORMAT, "index: payload missing or wrong size");
	if (!(f = exai_index_file_get(ix, "chunks")) ||
	    f->size != ix->chunk_count * EXAI_SHA256_LEN)
		return exai_error_set(e, EXAI_EFORMAT, "index: chunks missing or wrong size");
	/* The payload is authenticated chunk by chunk through the table; its line carries the
	 * table's hash. */
	if (memcmp(f->sha256, exai_index_file_get(ix, "payload")->sha256, EXAI_SHA256_LEN) != 0)
		return exai_error_set(e, EXAI_EFORMAT,
				      "index: payload hash must equal the chunk table's hash");
	if (!exai_index_file_get(ix, "manifest"))
		return exai_error_set(e, EXAI_EFORMAT, "index: manifest missing");
	f = exai_index_file_get(ix, "keys");
	if (ix->encryption == EXAI_ENC_AES256GCM
		? (!f || f->size != ix->n_recipients * (EXAI_KEYID_LEN + 80))
		: f != NULL)
		return exai_error_set(e, EXAI_EFORMAT,
				      "index: keys missing, unexpected or wrong size");
	return EXAI_OK;
}

/* One line of the index into @ix; @stage enforces the order. */
static exai_status parse_line(exai_index *ix, char *line, int *stage, exai_error *e)
{
	char *f[5];
	int nf = exai_split_fields(line, f, 5);

	if (nf < 2)
		return exai_error_set(e, EXAI_EFORMAT, "malformed line");
	if (*stage == 0) {
		if (nf != 2 || strcmp(f[0], "exai-bundle-index"))
			return exai_error_set(e, EXAI_EFORMAT, "not an exai-bundle-index");
		if (!strcmp(f[1], "1"))
			ix->version = EXAI_FORMAT_V1;
		else if (!strcmp(f[1], "2"))
			ix->version = EXAI_FORMAT_V2;
		else
			return exai_error_set(e, EXAI_EFORMAT,
					      "unknown format version '%.20s' (this reader knows "
					      "versions 1 and 2)",
					      f[1]);
		*stage = 1;
		return EXAI_OK;
	}
	if (*stage == 1 && !strcmp(f[0], "bundle-id") && nf == 2) {
		*stage = 2;
		return exai_hex_decode(f[1], ix->bundle_id, EXAI_BUNDLE_ID_LEN, e);
	}
	if (*stage == 2 && !strcmp(f[0], "channel") && nf == 2) {
		if (!exai_name_valid(f[1]))
			return exai_error_set(e, EXAI_EFORMAT, "bad channel name");
		strcpy(ix->channel, f[1]);
		*stage = 3;
		return EXAI_OK;
	}
	if (*stage >= 3 && *stage <= 6 && nf == 2) {
		static const char *const keys[] = {"sequence", "created", "expires",
						   "min-root-version"};
		uint64_t *dst[] = {&ix->sequence, &ix->created, &ix->expires,
				   &ix->min_root_version};
		int k = *stage - 3;
		if (!strcmp(f[0], keys[k])) {
			if (!exai_parse_u64_canon(f[1], dst[k]))
				return exai_error_set(e, EXAI_EFORMAT,
						      "'%s' is not a canonical number", f[0]);
			/* These become ratchets in a database of signed 64-bit integers: the
			 * format and the database must agree on the largest value. */
			if (*dst[k] > EXAI_INDEX_NUM_MAX)
				return exai_error_set(e, EXAI_EFORMAT,
						      "'%s' %s is over the largest allowed value, "
						      "2^63-1",
						      f[0], f[1]);
			(*stage)++;
			return EXAI_OK;
		}
	}
	if ((*stage == 7) && !strcmp(f[0], "target-class") && nf == 2) {
		if (ix->n_classes == EXAI_INDEX_MAX_CLASSES || !exai_name_valid(f[1]))
			return exai_error_set(e, EXAI_EFORMAT, "bad or too many target classes");
		strcpy(ix->classes[ix->n_classes++], f[1]);
		return EXAI_OK;
	}
	if ((*stage == 7 || *stage == 8) && !strcmp(f[0], "target-site") && nf == 2) {
		if (ix->n_sites == EXAI_INDEX_MAX_SITES || !exai_name_valid(f[1]))
			return exai_error_set(e, EXAI_EFORMAT, "bad or too many target sites");
		strcpy(ix->sites[ix->n_sites++], f[1]);
		*stage = 8;
		return EXAI_OK;
	}
	if ((*stage == 7 || *stage == 8) && !strcmp(f[0], "encryption") && nf == 2) {
		if (!strcmp(f[1], "aes-256-gcm"))
			ix->encryption = EXAI_ENC_AES256GCM;
		else if (!strcmp(f[1], "none"))
			ix->encryption = EXAI_ENC_NONE;
		else
			return exai_error_set(e, EXAI_EFORMAT, "unknown encryption '%.32s'", f[1]);
		*stage = 9;
		return EXAI_OK;
	}
	if (*stage >= 9 && *stage <= 11 && nf == 2) {
		static const char *const keys[] = {"chunk-size", "payload-size", "chunk-count"};
		uint64_t *dst[] = {&ix->chunk_size, &ix->payload_size, &ix->chunk_count};
		int k = *stage - 9;
		if (!strcmp(f[0], keys[k])) {
			if (!exai_parse_u64_canon(f[1], dst[k]))
				return exai_error_set(e, EXAI_EFORMAT,
						      "'%s' is not a canonical number", f[0]);
			(*stage)++;
			return EXAI_OK;
		}
	}
	if (*stage == 12 && !strcmp(f[0], "recipient") && nf == 2) {
		if (ix->n_recipients == EXAI_INDEX_MAX_RECIPIENTS)
			return exai_error_set(e, EXAI_EFORMAT, "too many recipients");
		return exai_keyid_parse(f[1], ix->recipients[ix->n_recipients++], e);
	}
	if ((*stage == 12 || *stage == 13) && !strcmp(f[0], "file") && nf == 4) {
		exai_index_file *fl;
		*stage = 13;
		if (ix->n_files == EXAI_INDEX_MAX_FILES)
			return exai_error_set(e, EXAI_EFORMAT, "too many files");
		fl = &ix->files[ix->n_files++];
		if (strlen(f[1]) >= sizeof(fl->name) || !exai_index_file_name_valid(f[1]))
			return exai_error_set(e, EXAI_EFORMAT, "file name '%.40s' not allowed",
					      f[1]);
		strcpy(fl->name, f[1]);
		if (!exai_parse_u64_canon(f[2], &fl->size))
			return exai_error_set(e, EXAI_EFORMAT, "file %s: bad size", fl->name);
		return exai_hex_decode(f[3], fl->sha256, EXAI_SHA256_LEN, e);
	}
	return exai_error_set(e, EXAI_EFORMAT, "unexpected '%.40s' here", f[0]);
}

exai_status exai_index_parse(const uint8_t *buf, size_t len, exai_index **out, exai_error *e)
{
	exai_index *ix = NULL;
	char *copy = NULL, *line, *canon = NULL;
	size_t lineno = 0;
	int stage = 0;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (len > EXAI_INDEX_MAX_BYTES)
		return exai_error_set(e, EXAI_ETOOBIG, "index: %zu bytes, over the limit of %d",
				      len, EXAI_INDEX_MAX_BYTES);
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) || memchr(buf, '\r', len))
		return exai_error_set(e, EXAI_EFORMAT,
				      "index: must be LF-terminated text without NUL or CR");
	ix = calloc(1, sizeof(*ix));
	copy = malloc(len + 1);
	if (!ix || !copy) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (line = copy; *line;) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		lineno++;
		if ((rc = parse_line(ix, line, &stage, e))) {
			exai_error_prefix(e, "index: line %zu", lineno);
			goto out;
		}
		line = nl + 1;
	}
	if (stage != 13) {
		rc = exai_error_set(e, EXAI_EFORMAT, "index: ends early (after line %zu)", lineno);
		goto out;
	}
	if ((rc = exai_index_validate(ix, e)))
		goto out;
	canon = exai_index_text(ix);
	if (!canon) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(canon) != len || memcmp(canon, buf, len) != 0) {
		rc = exai_error_set(e, EXAI_EFORMAT, "index: not in canonical form");
		goto out;
	}
	*out = ix;
	ix = NULL;
out:
	free(canon);
	free(copy);
	free(ix);
	return rc;
}
