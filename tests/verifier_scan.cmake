# airgap-verifier: report writers and the static scan mode.
exai_check_suite(test_vf_report unit/verifier/test_report.c vf_report)
