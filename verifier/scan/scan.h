/*
 * scan: the static mode of airgap-verifier, all of its API in one include for its tests and
 * fuzz harnesses. The modules themselves include only the headers they use:
 *
 *   scan_strv.h     the string vector and file-name globs
 *   scan_rules.h    the rules data file (YAML): checks, rules, settings
 *   scan_allow.h    the allow file: extra local hosts/CIDRs/registries, suppressions, expiry
 *   scan_lit.h      the multi-literal prefilter every text byte goes through once
 *   scan_net.h      URL / hostname / IP literal parsing and the "is it local" test
 *   scan_sink.h     the scan's shared state, the buffer, the findings sink
 *   scan_walk.h     a scan's life, paths, trees, the worker pool, dispatch by content type
 *   scan_text.h     one buffer (a file or an archive entry): prefilter hits -> rule checks
 *   scan_elf.h      bounded ELF parser: imported network functions
 *   scan_k8s.h      Kubernetes (and values.yaml / compose) YAML checks
 *   scan_imageref.h image references in YAML (shared with bundle mode)
 *   scan_archive.h  tar / OCI / docker-save / zip / 7z archives: entries held and scanned
 *   scan_walker.h   the nested-archive walker (shared with bundle mode)
 *   scan_helm.h     Helm charts: `helm template` when available
 *   scan_group.h    package roots and duplicate files, for the report's grouping
 *   scan_baseline.h inline suppression comments and the baseline file
 *   scan_cmd.c      the command line front end
 *
 * No module header includes this one.
 */
#ifndef VF_SCAN_H
#define VF_SCAN_H

#include "scan_allow.h"
#include "scan_archive.h"
#include "scan_baseline.h"
#include "scan_elf.h"
#include "scan_group.h"
#include "scan_helm.h"
#include "scan_imageref.h"
#include "scan_k8s.h"
#include "scan_net.h"
#include "scan_rules.h"
#include "scan_sink.h"
#include "scan_strv.h"
#include "scan_text.h"
#include "scan_walk.h"
#include "scan_walker.h"

#endif
