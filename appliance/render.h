/*
 * render: printing results, status and history, as text or one JSON document.
 */
#ifndef UPD_RENDER_H
#define UPD_RENDER_H

#include <stdbool.h>

#include "check_bundle.h"

void upd_print_result(const char *cmd, const upd_result *r, bool json);
/* status and history read the state database; EXAI_OK or an error to report. */
exai_status upd_print_status(upd_ctx *c, bool json, exai_error *e) EXAI_WUR;
exai_status upd_print_history(upd_ctx *c, size_t limit, bool json, exai_error *e) EXAI_WUR;

#endif
