# airgap-verifier: report writers and the static scan mode.
exai_check_suite(test_vf_report unit/verifier/test_report.c vf_report)
exai_cli_test(verifier_scan_cli cli/verifier_scan.sh)
exai_cli_test(verifier_scan_more_cli cli/verifier_scan_more.sh)
exai_cli_test(verifier_scan_incomplete_cli cli/verifier_scan_incomplete.sh)
exai_check_suite(test_vf_scan unit/verifier/test_scan.c vf_scan)

# Fuzz harnesses for what scan parses by hand (ELF) and for a whole scanned buffer. Their seeds
# (the fixtures, a real ELF) are replayed with mutations in every build as plain tests; the
# libFuzzer binaries need clang:
#   cmake -S . -B build-fuzz -DEXAI_FUZZ=ON -DCMAKE_C_COMPILER=clang
#   cmake --build build-fuzz --target fuzz_elf fuzz_scan_buf
#   EXAI_SRC=$PWD build-fuzz/tests/fuzz_scan_buf -max_total_time=120 CORPUS_DIR tests/fixtures/verifier/scan/dirty
option(EXAI_FUZZ "Build the libFuzzer harnesses (needs CMAKE_C_COMPILER=clang)" OFF)
if(EXAI_FUZZ)
  # Every prefilter scan in a fuzzing build also runs the scalar loop and a naive search and
  # aborts unless all agree (scan_lit_scan.c): fuzz_scan_buf checks the vector code.
  target_compile_definitions(vf_scan PRIVATE VF_LITS_SELFCHECK=1)
endif()
foreach(h fuzz_elf fuzz_scan_buf)
  add_executable(${h}_replay ${EXAI_TESTS_DIR}/fuzz/${h}.c ${EXAI_TESTS_DIR}/fuzz/fuzz_scan_replay.c)
  target_link_libraries(${h}_replay PRIVATE vf_scan)
  exai_warnings(${h}_replay)
  if(EXAI_FUZZ)
    add_executable(${h} ${EXAI_TESTS_DIR}/fuzz/${h}.c)
    target_link_libraries(${h} PRIVATE vf_scan)
    target_compile_options(${h} PRIVATE -fsanitize=fuzzer,address,undefined)
    target_link_options(${h} PRIVATE -fsanitize=fuzzer,address,undefined)
  endif()
endforeach()
add_test(NAME verifier_fuzz_elf_seeds COMMAND fuzz_elf_replay $<TARGET_FILE:airgap-verifier>
  $<TARGET_FILE:test_vf_scan>)
add_test(NAME verifier_fuzz_scan_seeds COMMAND fuzz_scan_buf_replay
  ${EXAI_TESTS_DIR}/fixtures/verifier/scan/dirty ${EXAI_TESTS_DIR}/fixtures/verifier/scan/clean
  ${EXAI_TESTS_DIR}/fixtures/verifier/scan/chart/values.yaml)
set_tests_properties(verifier_fuzz_elf_seeds verifier_fuzz_scan_seeds PROPERTIES
  ENVIRONMENT "EXAI_SRC=${CMAKE_SOURCE_DIR}" TIMEOUT 900)
