/* The report a test suite of verifier/report starts from, and its rendering. Shared by
 * test_report.c (core), test_report_formats.c and test_report_robust.c. */
#ifndef TEST_REPORT_SAMPLE_H
#define TEST_REPORT_SAMPLE_H

#include <stddef.h>

#include "report.h"

/* Three findings (one suppressed), two rules, one note. */
vf_report *sample(void);
/* @r written as @fmt into a new string (the test fails on an error). */
char *render(const vf_report *r, vf_format fmt);
/* How many times @needle occurs in @hay. */
size_t count_str(const char *hay, const char *needle);

#endif
