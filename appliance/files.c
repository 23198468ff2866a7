/*
 * files: per-file records of a staged tree. See files.h.
 */
#include "files.h"

#include <stdlib.h>
#include <string.h>

#include "exai/grow.h"

exai_status upd_filelist_add(upd_filelist *l, const char *path, upd_fkind kind, uint32_t mode,
			     uint64_t size, const uint8_t *sha, const char *target, exai_error *e)
{
	upd_file *f;

	if (EXAI_GROW(&l->v, &l->cap, l->n, 1, EXAI_GROW_NOCAP, e))
		return exai_error_prefix(e, "file records");
	f = &l->v[l->n];
	memset(f, 0, sizeof(*f));
	f->kind = (char)kind;
	f->mode = mode & 07777;
	f->size = size;
	f->seq = l->n;
	if (sha)
		memcpy(f->sha256, sha, EXAI_SHA256_LEN);
	if (!(f->path = strdup(path)) || (target && !(f->target = strdup(target)))) {
		free(f->path);
		return exai_error_set(e, EXAI_ENOMEM, "file records: out of memory");
	}
	l->n++;
	l->finished = false;
	return EXAI_OK;
}

static int cmp_path_seq(const void *pa, const void *pb)
{
	const upd_file *a = pa, *b = pb;
	int c = strcmp(a->path, b->path);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_key(const void *key, const void *pf)
{
	return strcmp(key, ((const upd_file *)pf)->path);
}

const upd_file *upd_filelist_find(const upd_filelist *l, const char *path)
{
	if (!l->n)
		return NULL;
	return bsearch(path, l->v, l->n, sizeof(*l->v), cmp_key);
}

static void file_free(upd_file *f)
{
	free(f->path);
	free(f->target);
	f->path = f->target = NULL;
}

exai_status upd_filelist_finish(upd_filelist *l, exai_error *e)
{
	size_t out = 0;

	if (l->finished)
		return EXAI_OK;
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_path_seq);
	/* Equal paths are adjacent, in insertion order: keep the last. */
	for (size_t i = 0; i < l->n; i++) {
		if (i + 1 < l->n && !strcmp(l->v[i].path, l->v[i + 1].path)) {
			file_free(&l->v[i]);
			continue;
		}
		l->v[out++] = l->v[i];
	}
	l->n = out;
	for (size_t i = 0; i < l->n; i++) {
		upd_file *f = &l->v[i];
		const upd_file *src;
		if (f->kind != UPD_F_HARD)
			continue;
		src = f->target ? upd_filelist_find(l, f->target) : NULL;
		if (!src || src->kind != UPD_F_FILE)
			return exai_error_set(e, EXAI_EINTERNAL,
					      "%s: hard link source '%s' is not a recorded file",
					      f->path, f->target ? f->target : "");
		f->kind = UPD_F_FILE;
		f->mode = src->mode;
		f->size = src->size;
		memcpy(f->sha256, src->sha256, EXAI_SHA256_LEN);
		free(f->target);
		f->target = NULL;
	}
	l->finished = true;
	return EXAI_OK;
}

void upd_filelist_clear(upd_filelist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		file_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *upd_fkind_name(char kind)
{
	switch (kind) {
	case UPD_F_FILE:
		return "file";
	case UPD_F_DIR:
		return "dir";
	case UPD_F_LINK:
		return "link";
	case UPD_F_RAW:
		return "raw";
	default:
		return "?";
	}
}

bool upd_fkind_parse(const char *s, char *kind)
{
	static const char kinds[] = {UPD_F_FILE, UPD_F_DIR, UPD_F_LINK, UPD_F_RAW};

	for (size_t i = 0; s && i < sizeof(kinds); i++)
		if (!strcmp(s, upd_fkind_name(kinds[i]))) {
			*kind = kinds[i];
			return true;
		}
	return false;
}
