# airgap-verifier run: unit suites for its parsers and tables, CLI tests, and the DNS fuzzer.
set(VF_RUN_DIR ${CMAKE_SOURCE_DIR}/verifier/run)

# vf_run_test(<name> <source> <verifier sources...>): a Check suite linked with the run-mode
# modules it tests (compiled in, as the tool compiles them).
function(vf_run_test name src)
  set(sources)
  foreach(s ${ARGN})
    list(APPEND sources ${VF_RUN_DIR}/${s})
  endforeach()
  exai_check_suite(${name} ${src})
  target_sources(${name} PRIVATE ${sources})
  target_include_directories(${name} PRIVATE ${VF_RUN_DIR})
endfunction()

vf_run_test(test_run_dns unit/verifier/test_run_dns.c run_dns.c)
vf_run_test(test_run_pkt unit/verifier/test_run_pkt.c run_pkt.c run_log.c)
vf_run_test(test_run_allow unit/verifier/test_run_allow.c run_allow.c)
vf_run_test(test_run_egress_log unit/verifier/test_run_egress_log.c run_egress_log.c)
vf_run_test(test_run_report unit/verifier/test_run_report.c run_report.c run_allow.c run_pkt.c
  run_log.c run_dns.c run_egress_log.c)
target_link_libraries(test_run_report PRIVATE vf_report)
# as root, this one also builds the real namespace (in its own unshared netns)
vf_run_test(test_run_sink unit/verifier/test_run_sink.c run_sink.c run_ns.c run_log.c run_pkt.c
  run_dns.c)

# The negative-control program the CLI tests run under the verifier (never run outside it).
add_executable(vf_run_phone_home ${EXAI_TESTS_DIR}/fixtures/verifier-run/phone_home.c)
exai_warnings(vf_run_phone_home)

# CLI tests (root; each skips with a message otherwise). Every verifier run in them sits in an
# outer network namespace of its own: see tests/cli/verifier_run_lib.sh.
foreach(t usage negative clean allow timeout sandbox)
  exai_cli_test(verifier_run_${t} cli/verifier_run_${t}.sh)
endforeach()
# attribution through exai-egress: skipped (77) where exai-egress is not built
exai_cli_test(verifier_run_egress cli/verifier_run_egress.sh)
set_tests_properties(verifier_run_egress PROPERTIES SKIP_RETURN_CODE 77)
# verifier_run_egress asserts that no run's cgroup (airgap-verifier-run-PID) or event reader
# is left, which a run of another of these tests at the same moment would break: they take
# turns (ctest runs the rest in parallel).
foreach(t usage negative clean allow timeout sandbox egress)
  set_tests_properties(verifier_run_${t} PROPERTIES RESOURCE_LOCK airgap_verifier_run)
endforeach()

# The DNS/packet/--allow/exai-egress event line parser fuzzer. Its seed corpus is replayed in every build as a plain
# test; the libFuzzer binary needs clang: cmake -DEXAI_FUZZ=ON -DCMAKE_C_COMPILER=clang.
option(EXAI_FUZZ "Build the libFuzzer harnesses (needs CMAKE_C_COMPILER=clang)" OFF)
set(VF_RUN_PARSERS ${VF_RUN_DIR}/run_dns.c ${VF_RUN_DIR}/run_pkt.c ${VF_RUN_DIR}/run_allow.c
  ${VF_RUN_DIR}/run_egress_log.c)
add_executable(fuzz_dns_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_dns.c
  ${EXAI_TESTS_DIR}/fuzz/fuzz_dns_replay.c ${VF_RUN_PARSERS})
target_include_directories(fuzz_dns_replay PRIVATE ${VF_RUN_DIR})
target_link_libraries(fuzz_dns_replay PRIVATE exai)
exai_warnings(fuzz_dns_replay)
add_test(NAME verifier_run_fuzz_dns_corpus
  COMMAND fuzz_dns_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_dns_corpus)
if(EXAI_FUZZ)
  # Self-contained (the parsers need only lib/core/error.c and grow.c, and jansson), so
  # `cmake --build B --target fuzz_dns` builds just this with clang.
  add_executable(fuzz_dns ${EXAI_TESTS_DIR}/fuzz/fuzz_dns.c ${VF_RUN_PARSERS}
    ${CMAKE_SOURCE_DIR}/lib/core/error.c ${CMAKE_SOURCE_DIR}/lib/core/grow.c)
  target_link_libraries(fuzz_dns PRIVATE PkgConfig::JANSSON) # the exai-egress event lines
  target_include_directories(fuzz_dns PRIVATE ${VF_RUN_DIR} ${CMAKE_SOURCE_DIR}/lib/core/include)
  target_compile_options(fuzz_dns PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_dns PRIVATE -fsanitize=fuzzer,address,undefined)
  exai_warnings(fuzz_dns)
  # clang's -Wformat=2 also flags error.c's vsnprintf of a forwarded format
  target_compile_options(fuzz_dns PRIVATE -Wno-format-nonliteral)
endif()

# The sink's DNS-over-TCP framing (vf_run_sink_tcp_frames) against a model of it.
exai_fuzz_harness(dnstcp SOURCES verifier/run/run_sink.c verifier/run/run_log.c
  verifier/run/run_pkt.c verifier/run/run_dns.c INCLUDES ${VF_RUN_DIR})
