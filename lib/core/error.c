/*
 * error: fixed-buffer error messages with context prefixes. Never allocates.
 */
#include "exai/error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void exai_error_clear(exai_error *e)
{
	if (!e)
		return;
	e->code = EXAI_OK;
	e->sys_errno = 0;
	e->msg[0] = '\0';
}

static void set_v(exai_error *e, exai_status code, const char *fmt, va_list ap) EXAI_PRINTF(3, 0);
static void set_v(exai_error *e, exai_status code, const char *fmt, va_list ap)
{
	e->code = code;
	e->sys_errno = 0;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

exai_status exai_error_set(exai_error *e, exai_status code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	va_start(ap, fmt);
	set_v(e, code, fmt, ap);
	va_end(ap);
	return code;
}

static exai_status map_errno(int err, exai_status fallback)
{
	switch (err) {
	case ENOENT:
		return EXAI_ENOENT;
	case EEXIST:
		return EXAI_EEXIST;
	case ENOSPC:
	case EDQUOT:
		return EXAI_ENOSPC;
	case ELOOP:
		return EXAI_EUNSAFE;
	case EFBIG:
		return EXAI_ETOOBIG;
	case ENOMEM:
		return EXAI_ENOMEM;
	default:
		return fallback;
	}
}

exai_status exai_error_sys(exai_error *e, exai_status code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	size_t n;

	code = map_errno(err, code);
	if (!e)
		return code;
	va_start(ap, fmt);
	set_v(e, code, fmt, ap);
	va_end(ap);
	e->sys_errno = err;
	n = strlen(e->msg);
	if (n < sizeof(e->msg) - 1) {
		const char *why = err == ELOOP ? "is a symbolic link (refused)" : strerror(err);
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", why);
	}
	return code;
}

/* Writes a + b + c into dst, truncating at cap - 1 bytes. */
static void append(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t n = 0;

	for (int i = 0; i < 3; i++) {
		size_t len = strlen(parts[i]);
		if (len > cap - 1 - n)
			len = cap - 1 - n;
		memcpy(dst + n, parts[i], len);
		n += len;
	}
	dst[n] = '\0';
}

exai_status exai_error_prefix(exai_error *e, const char *fmt, ...)
{
	char ctx[EXAI_ERROR_MSG_MAX];
	char old[EXAI_ERROR_MSG_MAX];
	va_list ap;

	if (!e)
		return EXAI_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	append(e->msg, sizeof(e->msg), ctx, ": ", old);
	return e->code;
}

const char *exai_status_name(exai_status code)
{
	static const char *const names[] = {
	    [EXAI_OK] = "OK",		[EXAI_EINVAL] = "EINVAL",
	    [EXAI_ENOMEM] = "ENOMEM",	[EXAI_EIO] = "EIO",
	    [EXAI_ENOENT] = "ENOENT",	[EXAI_EEXIST] = "EEXIST",
	    [EXAI_ENOSPC] = "ENOSPC",	[EXAI_ESHORT] = "ESHORT",
	    [EXAI_ETOOBIG] = "ETOOBIG", [EXAI_EFORMAT] = "EFORMAT",
	    [EXAI_EUNSAFE] = "EUNSAFE", [EXAI_ECRYPTO] = "ECRYPTO",
	    [EXAI_EVERIFY] = "EVERIFY", [EXAI_EREFUSED] = "EREFUSED",
	    [EXAI_ECONFIG] = "ECONFIG", [EXAI_EINTERNAL] = "EINTERNAL",
	};

	if ((unsigned)code >= sizeof(names) / sizeof(names[0]) || !names[code])
		return "EUNKNOWN";
	return names[code];
}
