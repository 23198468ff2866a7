/*
 * scan_helm: Helm charts, rendered with `helm template` when helm is available.
 */
#ifndef VF_SCAN_HELM_H
#define VF_SCAN_HELM_H

#include <stdbool.h>

#include "scan_sink.h"

bool vf_is_chart_dir(const char *dir);
/* The full path of an executable @name on $PATH (malloc'ed), or NULL. */
char *vf_find_on_path(const char *name);
void vf_scan_helm_chart(vf_scan *s, const char *dir, const char *display, unsigned root);

#endif
