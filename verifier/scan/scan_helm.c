/*
 * scan_helm: Helm charts. A directory holding Chart.yaml is a chart; its values.yaml and
 * templates are scanned as files by the walk like everything else. When `helm` is on PATH the
 * chart is also rendered with `helm template` (offline: local chart, no repositories) and the
 * rendered manifests are scanned as "<chart>!helm-template". The report always says which of
 * the two happened, so a reader knows whether the rendered output was covered.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exai/file.h"
#include "scan_helm.h"
#include "scan_k8s.h"
#include "scan_text.h"

extern char **environ;

bool vf_is_chart_dir(const char *dir)
{
	char *p = exai_path_join(dir, "Chart.yaml");
	struct stat st;
	bool yes = p && lstat(p, &st) == 0 && S_ISREG(st.st_mode);

	free(p);
	return yes;
}

char *vf_find_on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL, *found = NULL;

	if (!path || !(copy = strdup(path)))
		return NULL;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *c = exai_path_join(*d ? d : ".", name);
		struct stat st;
		if (c && stat(c, &st) == 0 && S_ISREG(st.st_mode) && access(c, X_OK) == 0)
			found = c;
		else
			free(c);
	}
	free(copy);
	return found;
}

/* Runs `helm template <dir>`; the rendered text (at most @max bytes) goes to *out. */
static exai_status render(const char *helm, const char *dir, uint64_t max, uint8_t **out,
			  size_t *len, exai_error *e)
{
	int pfd[2];
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char *argv[] = {(char *)helm, "template", (char *)dir, NULL};
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	exai_status rc = EXAI_OK;
	int status = 0, err;

	*out = NULL;
	if (!buf)
		return exai_error_set(e, EXAI_ENOMEM, "out of memory");
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		free(buf);
		return exai_error_sys(e, EXAI_EIO, "pipe");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&pid, helm, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		free(buf);
		errno = err;
		return exai_error_sys(e, EXAI_EIO, "%s", helm);
	}
	for (;;) {
		ssize_t r;
		/* A byte buffer with its own cap (@max), not an array: no exai_grow. */
		if (n == cap) {
			uint8_t *nb = cap < max ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				rc = exai_error_set(e, EXAI_ETOOBIG, "output over %llu bytes",
						    (unsigned long long)max);
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(pfd[0], buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = exai_error_set(e, EXAI_EIO, "exited with status %d",
				    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*len = n;
	return EXAI_OK;
}

void vf_scan_helm_chart(vf_scan *s, const char *dir, const char *display, unsigned root)
{
	char note[2048], *path = NULL;
	uint8_t *out = NULL;
	size_t len = 0;
	exai_error e;

	if (!s->helm_render || !s->helm_bin) {
		snprintf(note, sizeof(note),
			 "helm template: not run for %.400s (%s); values.yaml and templates/ were "
			 "scanned as files",
			 display, s->helm_render ? "helm not on PATH" : "disabled by --no-helm");
		vf_scan_note(s, note);
		return;
	}
	if (render(s->helm_bin, dir, s->rules->set.max_entry_size, &out, &len, &e)) {
		vf_buf b = {.path = display, .rel = display, .base = "Chart.yaml", .root = root};
		snprintf(note, sizeof(note), "helm template failed: %.400s", e.msg);
		vf_scan_incomplete(s, &b, 0, note);
		return;
	}
	if (!(path = malloc(strlen(display) + 16))) {
		exai_error_set(&e, EXAI_ENOMEM, "out of memory");
		vf_scan_fail(s, &e);
		free(out);
		return;
	}
	sprintf(path, "%s!helm-template", display);
	{
		vf_buf b = {.path = path,
			    .rel = path,
			    .base = "helm-template.yaml",
			    .p = out,
			    .n = len,
			    .root = root};
		vf_scan_text(s, &b, false);
		vf_scan_k8s(s, &b);
	}
	snprintf(note, sizeof(note),
		 "helm template: rendered %.400s with %.400s (%zu bytes), "
		 "scanned as %.400s",
		 display, s->helm_bin, len, path);
	vf_scan_note(s, note);
	free(path);
	free(out);
}
