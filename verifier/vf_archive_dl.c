/*
 * vf_archive_dl: libarchive, loaded when first used. Linked into airgap-verifier only (the
 * tests link libarchive itself): the tool defines the libarchive functions that it and the
 * libraries it links call, so the linker (with --as-needed) records no dependency on
 * libarchive.so and the dynamic loader does not map and relocate it and what it brings (libxml2,
 * ICU, libstdc++, nettle, the compressors: about 1.5 ms, a fifth of an empty scan's start).
 * The first call of any of them loads VF_ARCHIVE_SONAME (the library the build found, by its
 * soname) once, thread-safe, and resolves every function; each then forwards.
 *
 * Invariants: nothing is forwarded unless the library and every function below loaded. When
 * they did not, the functions fail as libarchive's do on error: archive_read_new() returns
 * NULL (callers already refuse that as out of memory), int functions ARCHIVE_FATAL, sizes -1,
 * strings NULL ("libarchive could not be loaded" for archive_error_string). Hidden
 * visibility: libarchive's own calls to its functions never land here.
 */
#include <archive.h>
#include <archive_entry.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#ifndef VF_ARCHIVE_SONAME
#error "VF_ARCHIVE_SONAME (the soname of the libarchive the build found) must be defined"
#endif

#define HIDDEN __attribute__((visibility("hidden")))

/* X(return type, name, (parameters), (arguments), value on failure) */
#define VF_ARCHIVE_FUNCS(X)                                                                        \
	X(__LA_MODE_T, archive_entry_filetype, (struct archive_entry * e), (e), 0)                 \
	X(const char *, archive_entry_hardlink, (struct archive_entry * e), (e), NULL)             \
	X(time_t, archive_entry_mtime, (struct archive_entry * e), (e), 0)                         \
	X(const char *, archive_entry_pathname, (struct archive_entry * e), (e), NULL)             \
	X(__LA_MODE_T, archive_entry_perm, (struct archive_entry * e), (e), 0)                     \
	X(la_int64_t, archive_entry_size, (struct archive_entry * e), (e), -1)                     \
	X(int, archive_entry_size_is_set, (struct archive_entry * e), (e), 0)                      \
	X(int, archive_entry_sparse_count, (struct archive_entry * e), (e), 0)                     \
	X(const char *, archive_entry_symlink, (struct archive_entry * e), (e), NULL)              \
	X(const char *, archive_error_string, (struct archive * a), (a),                           \
	  "libarchive could not be loaded")                                                        \
	X(la_int64_t, archive_filter_bytes, (struct archive * a, int n), (a, n), -1)               \
	X(la_ssize_t, archive_read_data, (struct archive * a, void *p, size_t n), (a, p, n),       \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_data_block,                                                            \
	  (struct archive * a, const void **p, size_t *n, la_int64_t *off), (a, p, n, off),        \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_data_skip, (struct archive * a), (a), ARCHIVE_FATAL)                   \
	X(int, archive_read_free, (struct archive * a), (a), ARCHIVE_FATAL)                        \
	X(struct archive *, archive_read_new, (void), (), NULL)                                    \
	X(int, archive_read_next_header, (struct archive * a, struct archive_entry * *e), (a, e),  \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_open,                                                                  \
	  (struct archive * a, void *d, archive_open_callback *o, archive_read_callback *r,        \
	   archive_close_callback *c),                                                             \
	  (a, d, o, r, c), ARCHIVE_FATAL)                                                          \
	X(int, archive_read_open_fd, (struct archive * a, int fd, size_t bs), (a, fd, bs),         \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_open_memory, (struct archive * a, const void *p, size_t n), (a, p, n), \
	  ARCHIVE_FATAL)                                                                           \
	X(int, archive_read_support_filter_gzip, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_filter_xz, (struct archive * a), (a), ARCHIVE_FATAL)           \
	X(int, archive_read_support_filter_zstd, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_format_7zip, (struct archive * a), (a), ARCHIVE_FATAL)         \
	X(int, archive_read_support_format_ar, (struct archive * a), (a), ARCHIVE_FATAL)           \
	X(int, archive_read_support_format_raw, (struct archive * a), (a), ARCHIVE_FATAL)          \
	X(int, archive_read_support_format_tar, (struct archive * a), (a), ARCHIVE_FATAL)          \
	X(int, archive_read_support_format_zip, (struct archive * a), (a), ARCHIVE_FATAL)

#define X_PTR(ret, name, params, args, fail) ret(*name) params;
static struct {
	VF_ARCHIVE_FUNCS(X_PTR)
	void (*archive_set_error)(struct archive *, int, const char *, ...);
} fn;
static bool loaded;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void)
{
	void *h = dlopen(VF_ARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	bool ok = h != NULL;

	/* said once, here: the callers' own message for a NULL archive_read_new() is "out of
	 * memory", which would hide the cause */
	if (!h) {
		fprintf(stderr, "airgap-verifier: libarchive (%s) could not be loaded: %s\n",
			VF_ARCHIVE_SONAME, dlerror());
		return;
	}
#define X_SYM(ret, name, params, args, fail) ok = ok && (*(void **)&fn.name = dlsym(h, #name));
	VF_ARCHIVE_FUNCS(X_SYM)
	ok = ok && (*(void **)&fn.archive_set_error = dlsym(h, "archive_set_error"));
	if (!ok)
		fprintf(stderr,
			"airgap-verifier: libarchive (%s) lacks a function this build calls\n",
			VF_ARCHIVE_SONAME);
	/* on failure the handle stays open (dlclose of a half-used library buys nothing) */
	loaded = ok;
}

static bool have(void)
{
	pthread_once(&load_once, load);
	return loaded;
}

#define X_DEF(ret, name, params, args, fail)           \
	HIDDEN ret name params                         \
	{                                              \
		return have() ? fn.name args : (fail); \
	}
VF_ARCHIVE_FUNCS(X_DEF)

/* Variadic: formatted here, handed over as one string. */
HIDDEN void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!have())
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn.archive_set_error(a, err, "%s", msg);
}
