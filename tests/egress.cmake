# exai-egress (bpf/): built only when bpftool, clang, libbpf and the kernel's BTF are there
# (bpf/CMakeLists.txt says what is missing). The tests need root (exit 77: skipped without).
if(EXAI_EGRESS_BUILT)
  exai_check_suite(test_egress_policy unit/egress/test_policy.c exai_egress_policy)
  exai_cli_test(egress_enforce cli/egress_enforce.sh)
  set_tests_properties(egress_enforce PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_apply cli/egress_apply.sh)
  set_tests_properties(egress_apply PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_signed cli/egress_signed.sh)
  set_tests_properties(egress_signed PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_backstop cli/egress_backstop.sh)
  set_tests_properties(egress_backstop PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_reload cli/egress_reload.sh)
  set_tests_properties(egress_reload PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_run cli/egress_run.sh)
  set_tests_properties(egress_run PROPERTIES SKIP_RETURN_CODE 77)
  exai_cli_test(egress_flood cli/egress_flood.sh)
  set_tests_properties(egress_flood PROPERTIES SKIP_RETURN_CODE 77)
  # exai-egress serve: delivery into a real exai-mirror, the spool, reloads over its socket,
  # and exai-update's policy_reload hook through it.
  exai_cli_test(egress_serve cli/egress_serve.sh)
  set_tests_properties(egress_serve PROPERTIES SKIP_RETURN_CODE 77)
endif()
