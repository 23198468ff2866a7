# airgap-verifier run: unit suites for its parsers and tables, CLI tests, and the DNS fuzzer.
set(VF_RUN_DIR ${CMAKE_SOURCE_DIR}/verifier)

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
