/*
 * host_fs: reading the appliance's files under --root.
 *
 * Paths are resolved with openat2(RESOLVE_IN_ROOT) from the root directory fd: ".." and
 * absolute symlinks cannot leave the root, as if the verifier ran chrooted there. System
 * files may be symlinks (/etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf,
 * /proc/net -> self/net) and are followed, inside the root. Magic links (/proc/PID/fd/N) are
 * not. Installed trees are walked by host_drift.c with O_NOFOLLOW instead.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "host.h"

exai_status vf_host_root_open(vf_host_root *r, const char *path, exai_error *e)
{
	r->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0)
		return exai_error_sys(e, EXAI_EINVAL, "--root %s", path);
	if (!(r->path = strdup(path))) {
		close(r->fd);
		r->fd = -1;
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	return EXAI_OK;
}

void vf_host_root_close(vf_host_root *r)
{
	if (r->fd >= 0)
		close(r->fd);
	free(r->path);
	r->fd = -1;
	r->path = NULL;
}

exai_status vf_host_open(const vf_host_root *r, const char *path, int flags, int *fd, exai_error *e)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long n;

	*fd = -1;
	if (path[0] != '/')
		return exai_error_set(e, EXAI_EINVAL, "%s: not an absolute path", path);
	do
		n = syscall(SYS_openat2, r->fd, path + 1, &how, sizeof(how));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return exai_error_sys(e, EXAI_EIO, "%s", path);
	*fd = (int)n;
	return EXAI_OK;
}

exai_status vf_host_read(const vf_host_root *r, const char *path, size_t cap, char **buf,
			 size_t *len, exai_error *e)
{
	struct stat st;
	size_t have = 0, alloc = 0;
	char *b = NULL;
	exai_status rc;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((rc = vf_host_open(r, path, O_RDONLY | O_NONBLOCK, &fd, e)))
		return rc;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = exai_error_set(e, EXAI_EUNSAFE, "%s: not a regular file", path);
		goto out;
	}
	for (;;) {
		ssize_t k;
		/* A byte buffer capped by @cap (and a NUL), not an array: no exai_grow. */
		if (have == alloc) {
			size_t na = alloc ? alloc * 2 : 16384;
			char *nb;
			if (alloc > cap) {
				rc = exai_error_set(e, EXAI_ETOOBIG, "%s: over %zu bytes", path,
						    cap);
				goto out;
			}
			if (!(nb = realloc(b, na + 1))) {
				rc = exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
				goto out;
			}
			b = nb;
			alloc = na;
		}
		k = read(fd, b + have, alloc - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = exai_error_sys(e, EXAI_EIO, "%s: read", path);
			goto out;
		}
		if (k == 0)
			break;
		have += (size_t)k;
		if (have > cap) {
			rc = exai_error_set(e, EXAI_ETOOBIG, "%s: over %zu bytes", path, cap);
			goto out;
		}
	}
	if (!b && !(b = malloc(1))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	b[have] = '\0';
	*buf = b;
	*len = have;
	b = NULL;
out:
	free(b);
	close(fd);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void vf_host_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

exai_status vf_host_list_dir(const vf_host_root *r, const char *dir, const char *suffix,
			     char ***out, size_t *n, exai_error *e)
{
	char **v = NULL;
	size_t cnt = 0, sl = strlen(suffix);
	struct dirent *de;
	exai_status rc;
	DIR *d;
	int fd;

	*out = NULL;
	*n = 0;
	if ((rc = vf_host_open(r, dir, O_RDONLY | O_DIRECTORY, &fd, e)))
		return rc == EXAI_ENOENT ? EXAI_OK : rc;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return exai_error_sys(e, EXAI_EIO, "%s", dir);
	}
	if (!(v = calloc(VF_HOST_INCLUDES, sizeof(*v)))) {
		closedir(d);
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	}
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		struct stat st;
		if (de->d_name[0] == '.' || nl <= sl || strcmp(de->d_name + nl - sl, suffix))
			continue;
		/* a symlink is read (confined) later like any path; dirs and devices skipped */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			continue;
		/* Reading only some drop-ins would let the next one name any server unseen: past
		 * the bound the check refuses to judge the host. */
		if (cnt == VF_HOST_INCLUDES) {
			rc = exai_error_set(e, EXAI_ETOOBIG,
					    "%s: more than %d '*%s' files: refusing to check only "
					    "some of them",
					    dir, VF_HOST_INCLUDES, suffix);
			break;
		}
		if (!(v[cnt] = malloc(strlen(dir) + nl + 2))) {
			rc = exai_error_set(e, EXAI_ENOMEM, "out of memory");
			break;
		}
		strcpy(v[cnt], dir);
		strcat(v[cnt], "/");
		strcat(v[cnt], de->d_name);
		cnt++;
	}
	closedir(d);
	if (rc) {
		vf_host_strv_free(v, cnt);
		return rc;
	}
	qsort(v, cnt, sizeof(*v), cmp_str);
	*out = v;
	*n = cnt;
	return EXAI_OK;
}
