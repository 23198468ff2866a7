/*
 * scan_elf: which network functions an ELF executable or library uses.
 *
 * Reads only the section header table and the symbol tables, from memory, with every offset,
 * size and count checked against the buffer before use (32/64-bit, either byte order). The
 * dynamic symbol table gives a dynamically linked file's imports (undefined symbols); a static
 * file that kept its .symtab gives the functions linked in. Files without section headers
 * (stripped with sstrip) give nothing. A malformed file is EXAI_EFORMAT naming the offset.
 */
#include <stdlib.h>
#include <string.h>

#include "scan_elf.h"

#define SHT_SYMTAB_  2
#define SHT_DYNSYM_  11
#define MAX_SECTIONS 65536
#define MAX_SYMBOLS  (1u << 22)

typedef struct elf {
	const uint8_t *p;
	size_t n;
	bool is64, be;
} elf;

bool vf_is_elf(const uint8_t *p, size_t n)
{
	return n >= 16 && memcmp(p,
				 "\x7f"
				 "ELF",
				 4) == 0;
}

static bool rd(const elf *f, uint64_t off, unsigned w, uint64_t *out)
{
	uint64_t v = 0;

	if (off > f->n || w > f->n - off)
		return false;
	for (unsigned i = 0; i < w; i++) {
		unsigned k = f->be ? i : w - 1 - i;
		v = v << 8 | f->p[off + k];
	}
	*out = v;
	return true;
}

typedef struct shdr {
	uint64_t type, link, offset, size, entsize;
} shdr;

static bool read_shdr(const elf *f, uint64_t base, shdr *s)
{
	if (f->is64)
		return rd(f, base + 4, 4, &s->type) && rd(f, base + 24, 8, &s->offset) &&
		       rd(f, base + 32, 8, &s->size) && rd(f, base + 40, 4, &s->link) &&
		       rd(f, base + 56, 8, &s->entsize);
	return rd(f, base + 4, 4, &s->type) && rd(f, base + 16, 4, &s->offset) &&
	       rd(f, base + 20, 4, &s->size) && rd(f, base + 24, 4, &s->link) &&
	       rd(f, base + 36, 4, &s->entsize);
}

static bool in_bounds(const elf *f, uint64_t off, uint64_t len)
{
	return off <= f->n && len <= f->n - off;
}

/* Marks in @found the wanted names among the symbols of section @sym (strings in @str).
 * Dynamic tables: undefined symbols; static tables: defined functions. */
static exai_status scan_symbols(const elf *f, const shdr *sym, const shdr *str, bool dynamic,
				const vf_strv *wanted, bool *found, exai_error *e)
{
	uint64_t ent = f->is64 ? 24 : 16, count;

	if (sym->entsize != ent || !in_bounds(f, sym->offset, sym->size))
		return exai_error_set(e, EXAI_EFORMAT, "ELF: bad symbol table at offset %llu",
				      (unsigned long long)sym->offset);
	if (!in_bounds(f, str->offset, str->size))
		return exai_error_set(e, EXAI_EFORMAT, "ELF: bad string table at offset %llu",
				      (unsigned long long)str->offset);
	count = sym->size / ent;
	if (count > MAX_SYMBOLS)
		return exai_error_set(e, EXAI_ETOOBIG, "ELF: %llu symbols",
				      (unsigned long long)count);
	for (uint64_t i = 1; i < count; i++) {
		uint64_t base = sym->offset + i * ent, name, info, shndx;
		const char *s;
		size_t maxlen;
		bool ok = f->is64 ? rd(f, base, 4, &name) && rd(f, base + 4, 1, &info) &&
					rd(f, base + 6, 2, &shndx)
				  : rd(f, base, 4, &name) && rd(f, base + 12, 1, &info) &&
					rd(f, base + 14, 2, &shndx);
		if (!ok)
			return exai_error_set(e, EXAI_EFORMAT, "ELF: symbol %llu out of bounds",
					      (unsigned long long)i);
		if (name == 0 || name >= str->size)
			continue;
		if (dynamic ? shndx != 0 : (shndx == 0 || (info & 0xf) != 2))
			continue;
		s = (const char *)f->p + str->offset + name;
		maxlen = (size_t)(str->size - name);
		if (!memchr(s, '\0', maxlen))
			return exai_error_set(e, EXAI_EFORMAT,
					      "ELF: unterminated symbol name at offset %llu",
					      (unsigned long long)(str->offset + name));
		for (size_t k = 0; k < wanted->n; k++)
			if (!found[k] && strcmp(s, wanted->v[k]) == 0)
				found[k] = true;
	}
	return EXAI_OK;
}

static exai_status join(const vf_strv *wanted, const bool *found, char **out, exai_error *e)
{
	size_t len = 1;
	char *s;

	for (size_t k = 0; k < wanted->n; k++)
		if (found[k])
			len += strlen(wanted->v[k]) + 2;
	if (len == 1)
		return EXAI_OK;
	if (!(s = malloc(len)))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	s[0] = '\0';
	for (size_t k = 0; k < wanted->n; k++)
		if (found[k]) {
			if (s[0])
				strcat(s, ", ");
			strcat(s, wanted->v[k]);
		}
	*out = s;
	return EXAI_OK;
}

static exai_status header(elf *f, uint64_t *shoff, uint64_t *shnum, uint64_t *shentsize,
			  exai_error *e)
{
	if (!vf_is_elf(f->p, f->n) || (f->p[4] != 1 && f->p[4] != 2) ||
	    (f->p[5] != 1 && f->p[5] != 2) || f->p[6] != 1)
		return exai_error_set(e, EXAI_EFORMAT, "ELF: bad identification at offset 0");
	f->is64 = f->p[4] == 2;
	f->be = f->p[5] == 2;
	if (f->is64 ? !(rd(f, 40, 8, shoff) && rd(f, 58, 2, shentsize) && rd(f, 60, 2, shnum))
		    : !(rd(f, 32, 4, shoff) && rd(f, 46, 2, shentsize) && rd(f, 48, 2, shnum)))
		return exai_error_set(e, EXAI_EFORMAT, "ELF: truncated header");
	if (*shoff == 0)
		return EXAI_OK; /* no section headers */
	if (*shentsize < (f->is64 ? 64u : 40u))
		return exai_error_set(e, EXAI_EFORMAT, "ELF: section header size %llu",
				      (unsigned long long)*shentsize);
	if (*shnum == 0) { /* extended numbering: the count is in section 0's size */
		shdr s0;
		if (!read_shdr(f, *shoff, &s0))
			return exai_error_set(e, EXAI_EFORMAT,
					      "ELF: section headers out of bounds at %llu",
					      (unsigned long long)*shoff);
		*shnum = s0.size;
	}
	if (*shnum > MAX_SECTIONS || !in_bounds(f, *shoff, *shnum * *shentsize))
		return exai_error_set(e, EXAI_EFORMAT, "ELF: section headers out of bounds at %llu",
				      (unsigned long long)*shoff);
	return EXAI_OK;
}

exai_status vf_elf_net_imports(const uint8_t *p, size_t n, const vf_strv *wanted, char **out,
			       uint64_t *dynsym_off, exai_error *e)
{
	elf f = {.p = p, .n = n};
	uint64_t shoff = 0, shnum = 0, shentsize = 0;
	bool *found = NULL, have_dyn = false;
	exai_status rc;

	*out = NULL;
	*dynsym_off = 0;
	if ((rc = header(&f, &shoff, &shnum, &shentsize, e)) || shoff == 0 || wanted->n == 0)
		return rc;
	if (!(found = calloc(wanted->n, sizeof(*found))))
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	/* Two passes: the dynamic table if there is one, else the static one. */
	for (int pass = 0; pass < 2 && !rc; pass++) {
		for (uint64_t i = 0; i < shnum && !rc; i++) {
			shdr s, str;
			if (!read_shdr(&f, shoff + i * shentsize, &s)) {
				rc = exai_error_set(e, EXAI_EFORMAT, "ELF: section %llu",
						    (unsigned long long)i);
				break;
			}
			if (s.type != (pass == 0 ? SHT_DYNSYM_ : SHT_SYMTAB_))
				continue;
			if (s.link == 0 || s.link >= shnum ||
			    !read_shdr(&f, shoff + s.link * shentsize, &str)) {
				rc = exai_error_set(e, EXAI_EFORMAT,
						    "ELF: section %llu: bad string table link",
						    (unsigned long long)i);
				break;
			}
			if (!*dynsym_off)
				*dynsym_off = s.offset;
			have_dyn |= pass == 0;
			rc = scan_symbols(&f, &s, &str, pass == 0, wanted, found, e);
		}
		if (have_dyn)
			break;
	}
	if (!rc)
		rc = join(wanted, found, out, e);
	free(found);
	return rc;
}
