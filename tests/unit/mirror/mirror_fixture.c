/* See mirror_fixture.h. */
#include <string.h>

#include "exai/secmem.h"
#include "mirror_fixture.h"
#include "testutil.h"

void mir_test_setup(mir_config *cfg, mir_scrubber **scrubber)
{
	exai_error e;

	ck_assert_int_eq(exai_init(&e), EXAI_OK);
	ck_assert_int_eq(mir_scrubber_new(NULL, scrubber, &e), EXAI_OK);
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_line = 65536;
	cfg->nclasses = 2;
	strcpy(cfg->classes[0].name, "audit");
	cfg->classes[0].retention_days = 2557;
	strcpy(cfg->classes[1].name, "telemetry");
	cfg->classes[1].retention_days = 30;
}
