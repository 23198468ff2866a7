# airgap-verifier host: /proc/net parsers, address classes, the host config (Check suite);
# fixture trees and an end-to-end drift test against a real exai-update apply (CLI).

if(EXISTS ${CMAKE_SOURCE_DIR}/verifier/host_cmd.c)
  exai_check_suite(test_vf_host unit/verifier/test_host.c vf_report)
  target_sources(test_vf_host PRIVATE
    ${CMAKE_SOURCE_DIR}/verifier/host_proc.c ${CMAKE_SOURCE_DIR}/verifier/host_net.c
    ${CMAKE_SOURCE_DIR}/verifier/host_config.c ${CMAKE_SOURCE_DIR}/verifier/host_fs.c)

  exai_cli_test(verifier_host_cli cli/verifier_host.sh)
  exai_cli_test(verifier_host_drift_cli cli/verifier_host_drift.sh)
endif()
