/* See rules_fixture.h. */
#include <stdio.h>
#include <stdlib.h>

#include "rules_fixture.h"
#include "testutil.h"

vf_rules *load_default(void)
{
	static vf_rules rs;
	static int done;
	exai_error e;
	char path[4096];

	if (!done) {
		snprintf(path, sizeof(path), "%s/verifier/rules/default.yaml", getenv("EXAI_SRC"));
		ck_assert_msg(vf_rules_load(&rs, path, &e) == EXAI_OK, "%s", e.msg);
		ck_assert_msg(vf_rules_finish(&rs, &e) == EXAI_OK, "%s", e.msg);
		done = 1;
	}
	return &rs;
}
