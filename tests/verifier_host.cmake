# airgap-verifier host: /proc/net parsers, address classes, the host config (Check suite);
# fixture trees and an end-to-end drift test against a real exai-update apply (CLI).

exai_check_suite(test_vf_host unit/verifier/test_host.c vf_report)
target_sources(test_vf_host PRIVATE
  ${CMAKE_SOURCE_DIR}/verifier/host/host_proc.c ${CMAKE_SOURCE_DIR}/verifier/host/host_net.c
  ${CMAKE_SOURCE_DIR}/verifier/host/host_config.c ${CMAKE_SOURCE_DIR}/verifier/host/host_fs.c)
target_include_directories(test_vf_host PRIVATE ${CMAKE_SOURCE_DIR}/verifier/host)

exai_cli_test(verifier_host_cli cli/verifier_host.sh)
exai_cli_test(verifier_host_drift_cli cli/verifier_host_drift.sh)

# fuzz_host: every reader of the live host (/proc/net, resolver and time-server configs, the
# drift walker over an installed tree and exai-update's state db) under a temp root.
exai_fuzz_harness(host
  SOURCES verifier/host/host_proc.c verifier/host/host_net.c verifier/host/host_config.c
  verifier/host/host_fs.c verifier/host/host_checks.c verifier/host/host_servers.c
  verifier/host/host_update.c verifier/host/host_drift.c
  LIBS vf_report exai_sqlite PkgConfig::SQLITE INCLUDES ${CMAKE_SOURCE_DIR}/verifier/host)
