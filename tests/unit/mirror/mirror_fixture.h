/* What the mirror's unit suites start from: the library initialised, a scrubber with the
 * shipped pattern pack, and a config of two classes (audit 2557 days, telemetry 30 days) with
 * 64 KiB lines. */
#ifndef TEST_MIRROR_FIXTURE_H
#define TEST_MIRROR_FIXTURE_H

#include "config.h"
#include "scrub.h"

/* Fills @cfg and makes *@scrubber (the caller frees it with mir_scrubber_free); the test
 * fails if either cannot be made. */
void mir_test_setup(mir_config *cfg, mir_scrubber **scrubber);

#endif
