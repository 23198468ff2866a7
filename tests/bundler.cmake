# exai-bundle CLI tests.
exai_cli_test(bundle_roundtrip cli/bundle_roundtrip.sh)
exai_cli_test(bundle_threshold cli/bundle_threshold.sh)
exai_cli_test(bundle_minisign cli/bundle_minisign.sh)
exai_cli_test(bundle_signers cli/bundle_signers.sh)
exai_cli_test(bundle_roots cli/bundle_roots.sh)
exai_cli_test(bundle_tamper cli/bundle_tamper.sh)
exai_cli_test(bundle_errors cli/bundle_errors.sh)
exai_cli_test(bundle_vectors cli/bundle_vectors.sh)
