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

# The negative-control program the CLI tests run under the verifier (never run outside it).
add_executable(vf_run_phone_home ${EXAI_TESTS_DIR}/fixtures/verifier-run/phone_home.c)
exai_warnings(vf_run_phone_home)

# CLI tests (root; each skips with a message otherwise). Every verifier run in them sits in an
# outer network namespace of its own: see tests/cli/verifier_run_lib.sh.
foreach(t usage negative clean allow timeout)
  exai_cli_test(verifier_run_${t} cli/verifier_run_${t}.sh)
endforeach()
