# exai-update: Check suites for its modules, the test-only bundle assembler, CLI tests.
foreach(t config state extract sandbox)
  exai_check_suite(test_update_${t} unit/appliance/test_update_${t}.c exai_update_core)
endforeach()

# Assembles signed bundles from arbitrary component bytes (hostile tars). Tests only.
add_executable(upd_mkbundle ${EXAI_TESTS_DIR}/helpers/upd_mkbundle.c)
target_link_libraries(upd_mkbundle PRIVATE exai_sign exai)
exai_warnings(upd_mkbundle)

foreach(t basic refusals extract crash health rootfs media mirror static files large bounds state
  status xformat)
  exai_cli_test(update_${t} cli/update_${t}.sh)
endforeach()

# Tries every way out of the hook sandbox and reports each attempt (update_sandbox.sh).
add_executable(netprobe ${EXAI_TESTS_DIR}/helpers/netprobe.c)
exai_warnings(netprobe)
exai_cli_test(update_sandbox cli/update_sandbox.sh)
exai_cli_test(update_agree cli/update_agree.sh)
exai_cli_test(update_interrupt cli/update_interrupt.sh)
exai_cli_test(update_space cli/update_space.sh)

# fuzz_config: the readers of configuration and key files (exai-update's config, the bundle
# spec, the verifier's rules, allow and host config files, site and signing keys), one mode
# byte apiece.
if(TARGET vf_scan)
  exai_fuzz_harness(config
    SOURCES appliance/config.c bundler/spec.c verifier/host/host_config.c
    verifier/host/host_net.c verifier/host/host_fs.c
    LIBS vf_scan_fast exai_sign
    INCLUDES ${CMAKE_SOURCE_DIR}/appliance ${CMAKE_SOURCE_DIR}/bundler
    ${CMAKE_SOURCE_DIR}/verifier/host)
endif()
exai_cli_test(update_notbundle cli/update_notbundle.sh)
