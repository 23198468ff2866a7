# libexai unit suites.
exai_check_suite(test_error unit/lib/test_error.c)
exai_check_suite(test_file unit/lib/test_file.c)
exai_check_suite(test_hash unit/lib/test_hash.c)
exai_check_suite(test_yaml unit/lib/test_yaml.c)
exai_check_suite(test_progress unit/lib/test_progress.c)
exai_check_suite(test_minisign unit/lib/test_minisign.c exai_sign)
exai_check_suite(test_root unit/lib/test_root.c exai_sign)
exai_check_suite(test_index unit/lib/test_index.c)
