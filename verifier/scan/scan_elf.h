/*
 * scan_elf: a bounded ELF parser: the imported network functions of an image.
 */
#ifndef VF_SCAN_ELF_H
#define VF_SCAN_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exai/error.h"
#include "scan_strv.h"

/* The imported (undefined, dynamic) symbols of an ELF image that are in
 * @wanted, as a malloc'ed ", "-joined list in *out (NULL if none). Bounded and strict:
 * a malformed image is EXAI_EFORMAT with the offending offset. *dynsym_off gets the offset
 * of the symbol table used. */
exai_status vf_elf_net_imports(const uint8_t *p, size_t n, const vf_strv *wanted, char **out,
			       uint64_t *dynsym_off, exai_error *e) EXAI_WUR;
bool vf_is_elf(const uint8_t *p, size_t n);

#endif
