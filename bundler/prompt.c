/*
 * prompt: reading a password from the controlling terminal without echo, as OpenBSD's
 * readpassphrase(3) does.
 *
 * Invariants: the terminal's settings are restored on every path, a signal included (the
 * signal is caught, the settings restored, the previous disposition put back and the signal
 * raised again, so the process ends, or the caller's own handler runs, with echo on). The
 * password is only ever held in guarded memory; nothing of it is echoed or logged.
 */
#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "exai/secmem.h"

#define PW_MAX 1024 /* bytes, with the terminating NUL */

static const int caught_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_SIGS (sizeof(caught_sigs) / sizeof(caught_sigs[0]))

static volatile sig_atomic_t prompt_signal;

static void on_prompt_signal(int sig)
{
	prompt_signal = sig;
}

bool exb_prompt_available(void)
{
	return isatty(STDIN_FILENO) == 1;
}

/* Catches the signals that would end the process while echo is off; an ignored signal stays
 * ignored. No SA_RESTART: the blocked read() returns EINTR. */
static void catch_signals(struct sigaction old[N_SIGS], bool set[N_SIGS])
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prompt_signal;
	sigemptyset(&sa.sa_mask);
	prompt_signal = 0;
	for (size_t i = 0; i < N_SIGS; i++) {
		set[i] = false;
		if (sigaction(caught_sigs[i], NULL, &old[i]) != 0 || old[i].sa_handler == SIG_IGN)
			continue;
		set[i] = sigaction(caught_sigs[i], &sa, NULL) == 0;
	}
}

static void restore_signals(const struct sigaction old[N_SIGS], const bool set[N_SIGS])
{
	for (size_t i = 0; i < N_SIGS; i++)
		if (set[i])
			(void)sigaction(caught_sigs[i], &old[i], NULL);
}

static bool tty_write(int fd, const char *s)
{
	size_t n = strlen(s);

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		s += w;
		n -= (size_t)w;
	}
	return true;
}

/* Reads one line from @fd into @buf (@cap bytes with the NUL). Returns 0, or -1 with
 * *toolong set when the line did not fit (it is read to its end all the same), or -2 on
 * end of input, a read error or a signal. */
static int read_line(int fd, char *buf, size_t cap, bool *toolong)
{
	size_t n = 0;
	char ch;

	*toolong = false;
	for (;;) {
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR && !prompt_signal)
			continue;
		if (r != 1)
			break;
		if (ch == '\n' || ch == '\r') {
			buf[n] = '\0';
			exai_wipe(&ch, sizeof(ch));
			return *toolong ? -1 : 0;
		}
		if (n + 1 < cap)
			buf[n++] = ch;
		else
			*toolong = true;
	}
	exai_wipe(&ch, sizeof(ch));
	buf[n] = '\0';
	return -2;
}

exai_status exb_prompt_password(const char *prompt, char **out, exai_error *e)
{
	struct sigaction old[N_SIGS];
	bool set[N_SIGS], toolong = false;
	struct termios saved, quiet;
	char *pw = NULL;
	int fd = -1, r = -2, sig;
	exai_status rc = EXAI_OK;

	*out = NULL;
	if (!exb_prompt_available())
		return exai_error_set(e, EXAI_EINVAL, "standard input is not a terminal");
	if ((fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0)
		return exai_error_sys(e, EXAI_EIO, "/dev/tty");
	if (!(pw = exai_secmem_alloc(PW_MAX))) {
		rc = exai_error_set(e, EXAI_ENOMEM, "out of secure memory");
		goto close_tty;
	}
	if (tcgetattr(fd, &saved) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "/dev/tty: cannot read the terminal settings");
		goto close_tty;
	}
	quiet = saved;
	quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK | ECHONL);
	catch_signals(old, set);
	if (!tty_write(fd, prompt) || tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		rc = exai_error_sys(e, EXAI_EIO, "/dev/tty");
		goto restore;
	}
	r = read_line(fd, pw, PW_MAX, &toolong);
restore:
	(void)tcsetattr(fd, TCSAFLUSH, &saved);
	tty_write(fd, "\n"); /* the newline the user typed was not echoed */
	restore_signals(old, set);
	if ((sig = prompt_signal) != 0) {
		/* The process ends here by default; a caller's handler (create's clean-up) runs
		 * and we report the interruption. */
		raise(sig);
		rc = exai_error_set(e, EXAI_EIO, "password prompt interrupted by signal %d", sig);
	} else if (rc == EXAI_OK && r == -1) {
		rc = exai_error_set(e, EXAI_EINVAL, "password longer than %d bytes", PW_MAX - 1);
	} else if (rc == EXAI_OK && r == -2) {
		rc = exai_error_set(e, EXAI_EIO, "no password read (end of input on the terminal)");
	} else if (rc == EXAI_OK && pw[0] == '\0') {
		rc = exai_error_set(e, EXAI_EINVAL, "empty password");
	}
close_tty:
	close(fd);
	if (rc == EXAI_OK)
		*out = pw;
	else
		exai_secmem_free(pw);
	return rc;
}

exai_status exb_prompt_new_password(const char *what, char **out, exai_error *e)
{
	char prompt[256], *again = NULL;
	exai_status rc;

	*out = NULL;
	snprintf(prompt, sizeof(prompt), "Password for the new %s: ", what);
	if ((rc = exb_prompt_password(prompt, out, e)))
		return rc;
	if ((rc = exb_prompt_password("Password (again): ", &again, e)) == EXAI_OK &&
	    strcmp(*out, again) != 0)
		rc = exai_error_set(e, EXAI_EINVAL, "the two passwords do not match");
	exai_secmem_free(again);
	if (rc) {
		exai_secmem_free(*out);
		*out = NULL;
	}
	return rc;
}
