# exai-mirror: the daemon with a real client, its config, and (later slices) the log.
exai_cli_test(mirror_ingest cli/mirror_ingest.sh)
exai_cli_test(mirror_config cli/mirror_config.sh)
exai_cli_test(mirror_update cli/mirror_update.sh)
# The Merkle tree over SQLite: RFC 6962 vectors and every proof up to 70 leaves.
exai_check_suite(test_mirror_tree unit/mirror/test_mirror_tree.c mir_obj)
exai_cli_test(mirror_log cli/mirror_log.sh)
exai_cli_test(mirror_verify cli/mirror_verify.sh)
# Command start: a static PIE, and no openssl.cnf read (a null-provider config changes nothing).
exai_cli_test(mirror_start cli/mirror_start.sh)
exai_cli_test(mirror_query cli/mirror_query.sh)
exai_cli_test(mirror_go cli/mirror_go.sh)
exai_cli_test(mirror_crash cli/mirror_crash.sh)
# Schema 1 to 2: a store of the schema 1 build migrated at serve start, its proofs unchanged.
exai_cli_test(mirror_migrate cli/mirror_migrate.sh)
# The record reader and the checkpoint note reader under libFuzzer (tests/fuzz/fuzz_mirror.c);
# its corpus is replayed in every build.
exai_fuzz_harness(mirror LIBS mir_obj INCLUDES ${CMAKE_SOURCE_DIR}/mirror)
exai_cli_test(mirror_retention cli/mirror_retention.sh)
# The scrubber's pattern pack: a positive and a near-miss negative per kind.
exai_check_suite(test_mirror_scrub unit/mirror/test_mirror_scrub.c mir_obj)
exai_cli_test(mirror_scrub cli/mirror_scrub.sh)
# One pattern pack for the scrubber and the verifier's secret rules: kinds, rules and samples agree.
exai_cli_test(scrub_pack_sync cli/scrub_pack_sync.sh)
# SIGHUP: the tenant map reloads; restart-only settings are named; a broken file changes nothing.
exai_cli_test(mirror_reload cli/mirror_reload.sh)
exai_cli_test(mirror_follow cli/mirror_follow.sh)
# The free-disk watermark: reading stops (the client waits), resumes, and the stop is counted.
exai_cli_test(mirror_disk cli/mirror_disk.sh)
# SQLite's WAL checkpoints beside the commits: the WAL stays bounded under a load that never pauses.
exai_cli_test(mirror_wal cli/mirror_wal.sh)
# The record reader's payload: byte for byte the canonical jansson dump it was before.
exai_check_suite(test_mirror_record unit/mirror/test_mirror_record.c mir_obj)
target_sources(test_mirror_record PRIVATE ${EXAI_TESTS_DIR}/unit/mirror/mirror_fixture.c)
# verify's row pass: the byte-wise columns check against jansson, and every tampered row of a
# 5000-entry store flagged across the hashing chunks; again without the SHA extensions.
exai_check_suite(test_mirror_verify_rows unit/mirror/test_mirror_verify_rows.c mir_obj)
target_sources(test_mirror_verify_rows PRIVATE ${EXAI_TESTS_DIR}/unit/mirror/mirror_fixture.c)
add_test(NAME test_mirror_verify_rows_generic COMMAND test_mirror_verify_rows)
set_tests_properties(test_mirror_verify_rows_generic PROPERTIES
  ENVIRONMENT "CK_VERBOSITY=normal;EXAI_SHA_GENERIC=1")
