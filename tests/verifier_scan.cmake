# airgap-verifier: report writers and the static scan mode.
exai_check_suite(test_vf_report unit/verifier/test_report.c vf_report)
exai_cli_test(verifier_scan_cli cli/verifier_scan.sh)
exai_cli_test(verifier_scan_more_cli cli/verifier_scan_more.sh)
