# libexai unit suites.
exai_check_suite(test_error unit/lib/test_error.c)
exai_check_suite(test_file unit/lib/test_file.c)
exai_check_suite(test_hash unit/lib/test_hash.c)
# The same suite on OpenSSL's SHA-256 alone (exai_sha256_multi's fallback).
add_test(NAME test_hash_generic COMMAND test_hash)
set_tests_properties(test_hash_generic PROPERTIES ENVIRONMENT "CK_VERBOSITY=normal;EXAI_SHA_GENERIC=1")
exai_check_suite(test_yaml unit/lib/test_yaml.c)
exai_check_suite(test_progress unit/lib/test_progress.c)
exai_check_suite(test_minisign unit/lib/test_minisign.c exai_sign)
exai_check_suite(test_root unit/lib/test_root.c exai_sign)
exai_check_suite(test_index unit/lib/test_index.c)
# Format 2's component digest, against answers from Python; also on OpenSSL's SHA-256 alone.
exai_check_suite(test_cdigest unit/lib/test_cdigest.c)
add_test(NAME test_cdigest_generic COMMAND test_cdigest)
set_tests_properties(test_cdigest_generic PROPERTIES ENVIRONMENT "CK_VERBOSITY=normal;EXAI_SHA_GENERIC=1")
exai_check_suite(test_aead unit/lib/test_aead.c)
exai_check_suite(test_secmem unit/lib/test_secmem.c)
exai_check_suite(test_text unit/lib/test_text.c)
exai_check_suite(test_grow unit/lib/test_grow.c)
exai_check_suite(test_strset unit/lib/test_strset.c)
exai_check_suite(test_sigcount unit/lib/test_sigcount.c exai_sign)
# Hostile bundles (tests/adversarial/gen.py) through every verifier and the updater.
exai_cli_test(adversarial_bundles adversarial/adversarial.sh)
exai_check_suite(test_tarcheck unit/lib/test_tarcheck.c)
exai_cli_test(lib_layers cli/lib_layers.sh)
# The audit event line: the C parser and an independent Python checker over the same vectors.
exai_check_suite(test_event unit/lib/test_event.c)
add_test(NAME event_vectors_py COMMAND python3 ${EXAI_TESTS_DIR}/vectors/events/check_events.py
  ${EXAI_TESTS_DIR}/vectors/events)
# The trust core in process (bundle_open, bundle_verify, bundle_stream), on bundles built by
# tests/unit/lib/bundle_builder.c.
foreach(s test_bundle_open test_bundle_verify test_bundle_stream)
  exai_check_suite(${s} unit/lib/${s}.c exai_sign)
  target_sources(${s} PRIVATE ${EXAI_TESTS_DIR}/unit/lib/bundle_builder.c)
endforeach()
# The CLI layer: the command table's dispatcher and the option parser of every tool.
exai_check_suite(test_cli unit/lib/test_cli.c)
# The CLI layer under hostile command lines: what a command sees keeps the option syntax.
exai_fuzz_harness(cli)
# The SQLite helper: opens (read-only never creates, symlinks refused) and errors.
exai_check_suite(test_sqlite unit/lib/test_sqlite.c exai_sqlite)
# The mirror's ingest protocol, client side (exai-update's outbox, exai-egress serve's spool).
exai_check_suite(test_mirror_send unit/lib/test_mirror_send.c)
