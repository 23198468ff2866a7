/*
 * manifest: strict parser and canonical writer of the component manifest.
 */
#include "exai/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exai/cdigest.h"

static const char *const type_names[EXAI_C_NTYPES] = {
    "software", "model", "images", "chart", "policy", "rootfs", "files",
};

const char *exai_ctype_name(exai_ctype t)
{
	return (unsigned)t < EXAI_C_NTYPES ? type_names[t] : "?";
}

bool exai_ctype_parse(const char *s, exai_ctype *out)
{
	for (int i = 0; i < EXAI_C_NTYPES; i++)
		if (!strcmp(s, type_names[i])) {
			*out = (exai_ctype)i;
			return true;
		}
	return false;
}

/* Canonical order: setuid before world-writable, comma-separated. */
static const char *const flag_texts[] = {"-", "setuid", "world-writable", "setuid,world-writable"};

const char *exai_cflags_text(unsigned flags)
{
	return flags < 4 ? flag_texts[flags] : "?";
}

bool exai_cflags_parse(const char *s, unsigned *out)
{
	for (unsigned i = 0; i < 4; i++)
		if (!strcmp(s, flag_texts[i])) {
			*out = i;
			return true;
		}
	return false;
}

void exai_manifest_free(exai_manifest *m)
{
	if (!m)
		return;
	free(m->c);
	free(m);
}

char *exai_manifest_text(const exai_manifest *m)
{
	size_t cap = 32 + m->n * (64 + 2 * EXAI_NAME_MAX + EXAI_RELPATH_MAX + 4 * 21 + 65);
	char *out = malloc(cap);
	size_t len;

	if (!out)
		return NULL;
	len = (size_t)snprintf(out, cap, "exai-bundle-manifest %u\n", m->version ? m->version : 1u);
	for (size_t i = 0; i < m->n; i++) {
		const exai_component *c = &m->c[i];
		char hex[EXAI_SHA256_HEX];

		exai_hex_encode(c->sha256, EXAI_SHA256_LEN, hex);
		len += (size_t)snprintf(
		    out + len, cap - len, "component %s %s %s %s %llu %llu %s %s %llu %llu %s\n",
		    exai_ctype_name(c->type), c->name, c->version,
		    c->encoding == EXAI_CENC_TAR ? "tar" : "raw", (unsigned long long)c->offset,
		    (unsigned long long)c->size, hex, c->target, (unsigned long long)c->entries,
		    (unsigned long long)c->unpacked, exai_cflags_text(c->flags));
	}
	return out;
}

exai_status exai_manifest_validate(const exai_manifest *m, uint64_t payload_size, exai_error *e)
{
	uint64_t pos = 0;

	if (m->n == 0)
		return exai_error_set(e, EXAI_EFORMAT, "manifest: no components");
	for (size_t i = 0; i < m->n; i++) {
		const exai_component *c = &m->c[i];

		if (!exai_name_valid(c->name) || !exai_name_valid(c->version) ||
		    exai_name_reserved(c->name) || exai_name_reserved(c->version) ||
		    !exai_relpath_valid(c->target))
			return exai_error_set(
			    e, EXAI_EFORMAT, "manifest: component %zu: bad name, version or target",
			    i + 1);
		if (c->offset != pos || c->size > payload_size - pos)
			return exai_error_set(e, EXAI_EFORMAT,
					      "manifest: component %s/%s: offset/size do not tile "
					      "the payload",
					      exai_ctype_name(c->type), c->name);
		if (c->encoding == EXAI_CENC_RAW && (c->entries != 1 || c->unpacked != c->size))
			return exai_error_set(e, EXAI_EFORMAT,
					      "manifest: component %s/%s: raw needs entries 1 and "
					      "unpacked = size",
					      exai_ctype_name(c->type), c->name);
		if (c->type == EXAI_C_ROOTFS && c->encoding != EXAI_CENC_RAW)
			return exai_error_set(e, EXAI_EFORMAT,
					      "manifest: rootfs component %s must be raw", c->name);
		for (size_t j = 0; j < i; j++)
			if (m->c[j].type == c->type && !strcmp(m->c[j].name, c->name))
				return exai_error_set(e, EXAI_EFORMAT,
						      "manifest: component %s/%s listed twice",
						      exai_ctype_name(c->type), c->name);
		pos += c->size;
	}
	if (pos != payload_size)
		return exai_error_set(e, EXAI_EFORMAT,
				      "manifest: components cover %llu of %llu payload bytes",
				      (unsigned long long)pos, (unsigned long long)payload_size);
	return EXAI_OK;
}

static exai_status parse_component(char *line, exai_component *c, exai_error *e)
{
	char *f[13];
	int nf = exai_split_fields(line, f, 13);

	if (nf != 12 || strcmp(f[0], "component"))
		return exai_error_set(e, EXAI_EFORMAT, "expected a component line of 12 fields");
	if (!exai_ctype_parse(f[1], &c->type))
		return exai_error_set(e, EXAI_EFORMAT, "unknown component type '%.32s'", f[1]);
	if (!exai_name_valid(f[2]) || !exai_name_valid(f[3]))
		return exai_error_set(e, EXAI_EFORMAT, "bad name or version");
	if (exai_name_reserved(f[2]) || exai_name_reserved(f[3]))
		return exai_error_set(e, EXAI_EFORMAT,
				      "component %.128s %.128s: '%.128s' is a name the install "
				      "layout reserves (current, a, b)",
				      f[2], f[3], exai_name_reserved(f[2]) ? f[2] : f[3]);
	strcpy(c->name, f[2]);
	strcpy(c->version, f[3]);
	if (!strcmp(f[4], "tar"))
		c->encoding = EXAI_CENC_TAR;
	else if (!strcmp(f[4], "raw"))
		c->encoding = EXAI_CENC_RAW;
	else
		return exai_error_set(e, EXAI_EFORMAT, "unknown encoding '%.16s'", f[4]);
	if (!exai_parse_u64_canon(f[5], &c->offset) || !exai_parse_u64_canon(f[6], &c->size) ||
	    !exai_parse_u64_canon(f[9], &c->entries) || !exai_parse_u64_canon(f[10], &c->unpacked))
		return exai_error_set(e, EXAI_EFORMAT, "bad number");
	if (exai_hex_decode(f[7], c->sha256, EXAI_SHA256_LEN, e))
		return exai_error_prefix(e, "sha256");
	if (!exai_relpath_valid(f[8]))
		return exai_error_set(e, EXAI_EFORMAT, "bad target path '%.64s'", f[8]);
	strcpy(c->target, f[8]);
	if (!exai_cflags_parse(f[11], &c->flags))
		return exai_error_set(e, EXAI_EFORMAT, "unknown flags '%.32s'", f[11]);
	return EXAI_OK;
}

exai_status exai_manifest_parse(const uint8_t *buf, size_t len, uint64_t payload_size,
				exai_manifest **out, exai_error *e)
{
	exai_manifest *m = NULL;
	char *copy = NULL, *line, *canon = NULL;
	size_t lineno = 0, lines = 0;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (len > EXAI_MANIFEST_MAX_BYTES)
		return exai_error_set(e, EXAI_ETOOBIG, "manifest: over %u bytes",
				      EXAI_MANIFEST_MAX_BYTES);
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) || memchr(buf, '\r', len))
		return exai_error_set(e, EXAI_EFORMAT,
				      "manifest: must be LF-terminated text without NUL or CR");
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if (lines - 1 > EXAI_MANIFEST_MAX_COMPONENTS)
		return exai_error_set(e, EXAI_ETOOBIG, "manifest: more than %d components",
				      EXAI_MANIFEST_MAX_COMPONENTS);
	m = calloc(1, sizeof(*m));
	copy = malloc(len + 1);
	if (!m || !copy || !(m->c = calloc(lines, sizeof(*m->c)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (line = copy; *line;) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		lineno++;
		if (lineno == 1) {
			if (!strcmp(line, "exai-bundle-manifest 1")) {
				m->version = 1;
			} else if (!strcmp(line, "exai-bundle-manifest 2")) {
				m->version = 2;
			} else {
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "manifest: not an exai-bundle-manifest of "
						    "version 1 or 2");
				goto out;
			}
		} else if ((rc = parse_component(line, &m->c[m->n++], e))) {
			exai_error_prefix(e, "manifest: line %zu", lineno);
			goto out;
		}
		line = nl + 1;
	}
	if ((rc = exai_manifest_validate(m, payload_size, e)))
		goto out;
	canon = exai_manifest_text(m);
	if (!canon) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	if (strlen(canon) != len || memcmp(canon, buf, len)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "manifest: not in canonical form");
		goto out;
	}
	*out = m;
	m = NULL;
out:
	free(canon);
	free(copy);
	exai_manifest_free(m);
	return rc;
}

exai_status exai_component_digest(unsigned version, const void *p, size_t len,
				  uint8_t out[EXAI_SHA256_LEN], exai_error *e)
{
	if (version == 2)
		return exai_cdigest_buf(p, len, out, e);
	if (version > 2)
		return exai_error_set(e, EXAI_EINTERNAL, "unknown format version %u", version);
	return exai_sha256_buf(p, len, out, e);
}
