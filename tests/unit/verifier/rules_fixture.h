/* The shipped default rules (verifier/rules/default.yaml under $EXAI_SRC), loaded once per test
 * binary: shared by the verifier's scan and bundle-mode suites. */
#ifndef TEST_RULES_FIXTURE_H
#define TEST_RULES_FIXTURE_H

#include "scan_rules.h"

/* The default rules, loaded and finished on the first call (the test fails if they do not
 * load); the same object afterwards. */
vf_rules *load_default(void);

#endif
