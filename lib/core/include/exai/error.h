/*
 * error: the one error type every exai library function fills.
 *
 * A function that can fail returns an exai_status (EXAI_OK == 0 on success, a positive code
 * otherwise) and, when it fails, writes a message into the caller's exai_error. Each layer adds
 * its own context in front as the error travels up, so the user reads
 * "apply: stage model/llama: chunk 17: hash mismatch". The message buffer is fixed-size, so
 * reporting an error never allocates and works when memory has run out.
 * Library code never exits the process; only a tool's main.c does.
 */
#ifndef EXAI_ERROR_H
#define EXAI_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define EXAI_WUR	  __attribute__((warn_unused_result))
#define EXAI_PRINTF(a, b) __attribute__((format(printf, a, b)))

typedef enum exai_status {
	EXAI_OK = 0,
	EXAI_EINVAL,   /* bad argument or usage */
	EXAI_ENOMEM,   /* allocation failed */
	EXAI_EIO,      /* read/write failed (errno kept in sys_errno) */
	EXAI_ENOENT,   /* file or entry does not exist */
	EXAI_EEXIST,   /* already exists */
	EXAI_ENOSPC,   /* no space left on device */
	EXAI_ESHORT,   /* input ended before the expected size */
	EXAI_ETOOBIG,  /* input over a hard cap */
	EXAI_EFORMAT,  /* malformed input (parse error) */
	EXAI_EUNSAFE,  /* refused: symlink, non-regular file, path escape... */
	EXAI_ECRYPTO,  /* crypto library failure or decryption failure */
	EXAI_EVERIFY,  /* signature or hash verification failed */
	EXAI_EREFUSED, /* policy refusal (rollback, expiry, target...) */
	EXAI_ECONFIG,  /* configuration error */
	EXAI_EINTERNAL /* a bug */
} exai_status;

#define EXAI_ERROR_MSG_MAX 1024

typedef struct exai_error {
	exai_status code;
	int sys_errno; /* errno behind an EXAI_EIO-class error, 0 if none */
	char msg[EXAI_ERROR_MSG_MAX];
} exai_error;

/* Resets @e to "no error". NULL-safe. */
void exai_error_clear(exai_error *e);

/* Sets code and message; returns @code so callers can `return exai_error_set(...)`.
 * @e may be NULL (the error is then dropped). */
exai_status exai_error_set(exai_error *e, exai_status code, const char *fmt, ...) EXAI_PRINTF(3, 4);

/* Like exai_error_set, for a failed system call: appends ": <strerror(errno)>", keeps errno in
 * sys_errno, and maps ENOENT/EEXIST/ENOSPC/ELOOP/EFBIG to their own codes (@code otherwise). */
exai_status exai_error_sys(exai_error *e, exai_status code, const char *fmt, ...) EXAI_PRINTF(3, 4);

/* Puts "<context>: " in front of the current message; returns the current code.
 * Truncates at EXAI_ERROR_MSG_MAX, keeping the front (the outermost context). */
exai_status exai_error_prefix(exai_error *e, const char *fmt, ...) EXAI_PRINTF(2, 3);

/* A short stable name for a code ("EVERIFY"), for --json output. */
const char *exai_status_name(exai_status code);

#endif
