# airgap-verifier: report writers and the static scan mode.
# the report model, its four formats, and hostile input and failures: one suite each, sharing
# the sample report (report_sample.c)
exai_check_suite(test_vf_report unit/verifier/test_report.c vf_report)
exai_check_suite(test_vf_report_formats unit/verifier/test_report_formats.c vf_report)
exai_check_suite(test_vf_report_robust unit/verifier/test_report_robust.c vf_report)
foreach(t test_vf_report test_vf_report_formats test_vf_report_robust)
  target_sources(${t} PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/report_sample.c)
endforeach()
exai_cli_test(verifier_scan_cli cli/verifier_scan.sh)
exai_cli_test(verifier_scan_more_cli cli/verifier_scan_more.sh)
exai_cli_test(verifier_scan_incomplete_cli cli/verifier_scan_incomplete.sh)
exai_cli_test(verifier_scan_group_cli cli/verifier_scan_group.sh)
exai_cli_test(verifier_scan_dedup_cli cli/verifier_scan_dedup.sh)
exai_cli_test(verifier_scan_suppress_cli cli/verifier_scan_suppress.sh)
exai_cli_test(verifier_scan_archive_cli cli/verifier_scan_archive.sh)
exai_cli_test(verifier_scan_deb_cli cli/verifier_scan_deb.sh)
exai_cli_test(verifier_scan_telemetry_cli cli/verifier_scan_telemetry.sh)
exai_cli_test(verifier_scan_context_cli cli/verifier_scan_context.sh)
exai_check_suite(test_vf_scan unit/verifier/test_scan.c vf_scan)
target_sources(test_vf_scan PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)
exai_check_suite(test_vf_scan_ctx unit/verifier/test_scan_ctx.c vf_scan)
# The prefilter plans made at build time: the same tables as planning, refused when unsound.
exai_check_suite(test_vf_scan_lit_plan unit/verifier/test_scan_lit_plan.c vf_lits_plans vf_scan)
# The duplicate cache: copies replayed at their own location, never what differs.
exai_check_suite(test_vf_scan_dup unit/verifier/test_scan_dup.c vf_scan)
target_sources(test_vf_scan_dup PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)
# The caps on the scan's growing arrays: each one reached is reported, never a silent drop.
exai_check_suite(test_vf_scan_caps unit/verifier/test_scan_caps.c vf_scan)
target_sources(test_vf_scan_caps PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)
# The nested-archive walker of scan and bundle mode (caps, locations, sparse entries).
exai_check_suite(test_vf_scan_walker unit/verifier/test_scan_walker.c vf_scan)
target_sources(test_vf_scan_walker PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)

# Fuzz harnesses for what scan parses by hand (ELF) and for a whole scanned buffer. Their seeds
# (the fixtures, a real ELF) are replayed with mutations in every build as plain tests; the
# libFuzzer binaries need clang:
#   cmake -S . -B build-fuzz -DEXAI_FUZZ=ON -DEXAI_TESTING=ON -DCMAKE_C_COMPILER=clang
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

# vf_scan_fast: the scan engine as vf_scan, but without VF_LITS_SELFCHECK in a fuzzing build
# (the naive search at every byte makes a harness about 7x slower). fuzz_scan_buf keeps the
# self-check (it compares the vector prefilter with the naive one); fuzz_scan_fast and the
# harnesses of readers that merely use the engine link this one. Outside EXAI_FUZZ the two are
# the same library.
if(EXAI_FUZZ)
  get_target_property(vf_scan_srcs vf_scan SOURCES)
  add_library(vf_scan_fast STATIC ${vf_scan_srcs})
  target_include_directories(vf_scan_fast PUBLIC ${CMAKE_SOURCE_DIR}/verifier/scan
    PRIVATE ${CMAKE_SOURCE_DIR}/verifier)
  target_link_libraries(vf_scan_fast PUBLIC vf_report exai_yaml exai_core PkgConfig::ARCHIVE Threads::Threads)
  exai_warnings(vf_scan_fast)
  target_compile_options(vf_scan_fast PRIVATE
    -fsanitize-coverage-ignorelist=${EXAI_TESTS_DIR}/fuzz/vf_scan_fast.ignorelist)
else()
  add_library(vf_scan_fast ALIAS vf_scan)
endif()

# fuzz_scan_fast: fuzz_scan_buf's harness without the self-check (vf_scan_fast). Both start
# from tests/fuzz/fuzz_scan_buf_corpus (buffers, some with a rules and an allow file of their
# own behind the split marker), replayed with mutations in every build as a plain test.
if(EXAI_FUZZ)
  add_executable(fuzz_scan_fast ${EXAI_TESTS_DIR}/fuzz/fuzz_scan_buf.c)
  target_link_libraries(fuzz_scan_fast PRIVATE vf_scan_fast)
  target_compile_options(fuzz_scan_fast PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_scan_fast PRIVATE -fsanitize=fuzzer,address,undefined)
  exai_warnings(fuzz_scan_fast)
  target_compile_definitions(fuzz_scan_buf PRIVATE _GNU_SOURCE)
endif()
add_test(NAME verifier_fuzz_scan_corpus COMMAND fuzz_scan_buf_replay
  ${EXAI_TESTS_DIR}/fuzz/fuzz_scan_buf_corpus)
set_tests_properties(verifier_fuzz_scan_corpus PROPERTIES TIMEOUT 900)

# vf_mkarchive: writes 7z / zip archives for verifier_scan_archive.sh (no 7z tool on the hosts).
add_executable(vf_mkarchive ${EXAI_TESTS_DIR}/fixtures/verifier/archive/mkarchive.c)
target_link_libraries(vf_mkarchive PRIVATE PkgConfig::ARCHIVE)
exai_warnings(vf_mkarchive)

# fuzz_baseline: the baseline parser and the inline allow-comment scanner (scan_baseline.c),
# hand-written readers of hostile input; its corpus is replayed in every build.
exai_fuzz_harness(baseline LIBS vf_scan INCLUDES ${CMAKE_SOURCE_DIR}/verifier/scan)

# fuzz_report: the JSON writer's hand-written findings against jansson's dump of the document
# parsed back; its corpus is replayed in every build.
exai_fuzz_harness(report LIBS vf_report)
