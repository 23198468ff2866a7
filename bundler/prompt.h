/*
 * prompt: passwords typed on the controlling terminal (exai-bundle keygen, sign, root sign).
 */
#ifndef EXB_PROMPT_H
#define EXB_PROMPT_H

#include <stdbool.h>

#include "exai/error.h"

/* Whether standard input is a terminal (the only case in which we ask for a password). */
bool exb_prompt_available(void);
/* Writes @prompt to /dev/tty and reads one line with echo off; *out (guarded memory, free
 * with exai_secmem_free) on success. Refuses an empty line and one of 1024 bytes or more
 * (EXAI_EINVAL), a missing terminal (EXAI_EINVAL) and end of input (EXAI_EIO). The terminal
 * settings are restored on every path; a SIGINT/SIGTERM/SIGHUP/SIGQUIT during the prompt is
 * raised again after that (ending the process unless it has a handler; then EXAI_EIO). */
exai_status exb_prompt_password(const char *prompt, char **out, exai_error *e) EXAI_WUR;
/* Asks twice ("Password for the new @what: ", then again); refuses when the two differ. */
exai_status exb_prompt_new_password(const char *what, char **out, exai_error *e) EXAI_WUR;

#endif
