/*
 * plan: the apply plan and its JSON journal form.
 */
#include "plan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void upd_plan_free(upd_plan *p)
{
	if (!p)
		return;
	free(p->root_text);
	free(p->ops);
	free(p);
}

void upd_op_stage_path(const upd_op *op, char *buf, size_t cap)
{
	switch (op->kind) {
	case UPD_K_SLOT:
		snprintf(buf, cap, "%s/.stage", op->base);
		break;
	case UPD_K_MODEL:
		snprintf(buf, cap, "%s/.stage-%s", op->base, op->version);
		break;
	case UPD_K_ROOTFS:
		snprintf(buf, cap, "%s", op->base);
		break;
	}
}

char *upd_plan_to_json(const upd_plan *p)
{
	json_t *ops = json_array(), *o;
	char *s;

	for (size_t i = 0; ops && i < p->n; i++) {
		const upd_op *op = &p->ops[i];
		json_array_append_new(
		    ops, json_pack("{s:i,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "type",
				   (int)op->type, "kind", (int)op->kind, "name", op->name,
				   "version", op->version, "sha256", op->sha256, "base", op->base,
				   "new", op->new_loc, "old", op->old_loc, "old_version",
				   op->old_version, "skip", op->skip, "reuse", op->reuse));
	}
	o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:I,s:s?,s:o}", "bundle_id", p->bundle_id, "channel",
		      p->channel, "sequence", (json_int_t)p->sequence, "created",
		      (json_int_t)p->created, "signers", p->signers, "root_version",
		      (json_int_t)p->root_version, "root_text", p->root_text, "ops", ops);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

static bool copy_str(json_t *o, const char *key, char *dst, size_t cap)
{
	const char *v = json_string_value(json_object_get(o, key));

	if (!v || strlen(v) >= cap)
		return false;
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

static bool op_from_json(json_t *j, upd_op *op)
{
	json_int_t type = json_integer_value(json_object_get(j, "type"));
	json_int_t kind = json_integer_value(json_object_get(j, "kind"));

	if (type < 0 || type >= EXAI_C_NTYPES || kind < 0 || kind > UPD_K_ROOTFS)
		return false;
	op->type = (exai_ctype)type;
	op->kind = (upd_kind)kind;
	op->skip = json_is_true(json_object_get(j, "skip"));
	op->reuse = json_is_true(json_object_get(j, "reuse"));
	/* Optional: journals written before it was recorded lack it (words then say less). */
	if (json_object_get(j, "old_version") &&
	    !copy_str(j, "old_version", op->old_version, sizeof(op->old_version)))
		return false;
	return copy_str(j, "name", op->name, sizeof(op->name)) &&
	       copy_str(j, "version", op->version, sizeof(op->version)) &&
	       copy_str(j, "sha256", op->sha256, sizeof(op->sha256)) &&
	       copy_str(j, "base", op->base, sizeof(op->base)) &&
	       copy_str(j, "new", op->new_loc, sizeof(op->new_loc)) &&
	       copy_str(j, "old", op->old_loc, sizeof(op->old_loc));
}

exai_status upd_plan_from_json(const char *text, upd_plan **out, exai_error *e)
{
	json_t *j = json_loads(text, 0, NULL), *ops;
	upd_plan *p = calloc(1, sizeof(*p));
	const char *rt;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (!j || !p) {
		rc = exai_error_set(e, j ? EXAI_ENOMEM : EXAI_EFORMAT, "journal: unreadable plan");
		goto out;
	}
	ops = json_object_get(j, "ops");
	if (!copy_str(j, "bundle_id", p->bundle_id, sizeof(p->bundle_id)) ||
	    !copy_str(j, "channel", p->channel, sizeof(p->channel)) ||
	    !copy_str(j, "signers", p->signers, sizeof(p->signers)) || !json_is_array(ops)) {
		rc = exai_error_set(e, EXAI_EFORMAT, "journal: malformed plan");
		goto out;
	}
	p->sequence = (uint64_t)json_integer_value(json_object_get(j, "sequence"));
	p->created = (uint64_t)json_integer_value(json_object_get(j, "created"));
	p->root_version = (uint64_t)json_integer_value(json_object_get(j, "root_version"));
	rt = json_string_value(json_object_get(j, "root_text"));
	if (rt && !(p->root_text = strdup(rt))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	p->n = json_array_size(ops);
	if (!(p->ops = calloc(p->n ? p->n : 1, sizeof(*p->ops)))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < p->n; i++)
		if (!op_from_json(json_array_get(ops, i), &p->ops[i])) {
			rc = exai_error_set(e, EXAI_EFORMAT, "journal: malformed op %zu", i + 1);
			goto out;
		}
	*out = p;
	p = NULL;
out:
	json_decref(j);
	upd_plan_free(p);
	return rc;
}
