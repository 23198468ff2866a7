/*
 * outbox: the sender of the audit outbox to the mirror socket. See outbox.h.
 */
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define BATCH 256

static exai_status send_all(int fd, const char *buf, size_t len, exai_error *e)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return exai_error_sys(e, EXAI_EIO, "mirror: send");
		buf += n;
		len -= (size_t)n;
	}
	return EXAI_OK;
}

static exai_status connect_mirror(const char *path, int *fd_out, exai_error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 2};
	int fd;

	*fd_out = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return exai_error_set(e, EXAI_ECONFIG, "mirror: socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return exai_error_sys(e, EXAI_EIO, "mirror: socket");
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		exai_status rc = exai_error_sys(e, EXAI_EIO, "mirror: connect %s", path);
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return EXAI_OK;
}

exai_status upd_mirror_flush(upd_state *s, const char *socket_path, size_t *sent, exai_error *e)
{
	upd_outbox_item *items = NULL;
	size_t n = 0;
	int fd = -1;
	exai_status rc;

	*sent = 0;
	if ((rc = upd_state_outbox(s, BATCH, &items, &n, e)) || n == 0)
		goto out;
	if ((rc = connect_mirror(socket_path, &fd, e)))
		goto out;
	for (;;) {
		int64_t last = -1;
		for (size_t i = 0; i < n; i++) {
			if ((rc = send_all(fd, items[i].line, strlen(items[i].line), e)) ||
			    (rc = send_all(fd, "\n", 1, e)))
				break;
			last = items[i].id;
			(*sent)++;
		}
		if (last >= 0) {
			exai_error de;
			exai_status drc = upd_state_begin(s, &de);
			if (!drc && !(drc = upd_state_outbox_delete(s, last, &de)))
				drc = upd_state_commit(s, &de);
			else if (!drc)
				upd_state_rollback(s);
			if (drc && !rc) {
				rc = drc;
				*e = de;
			}
		}
		upd_outbox_free(items, n);
		items = NULL;
		n = 0;
		if (rc || (rc = upd_state_outbox(s, BATCH, &items, &n, e)) || n == 0)
			break;
	}
out:
	if (fd >= 0)
		close(fd);
	upd_outbox_free(items, n);
	return rc;
}
