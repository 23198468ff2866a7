# airgap-verifier bundle: offline verification, content scan and image closure of a bundle.
# The CLI tests build their bundles with exai-bundle and their image archives with
# tests/fixtures/verifier-bundle/mkimage.py (/usr/bin/python3, standard library only).
if(TARGET airgap-verifier AND TARGET exai-bundle AND TARGET vf_scan)
  exai_cli_test(verifier_bundle_cli cli/verifier_bundle.sh)
  exai_cli_test(verifier_bundle_more_cli cli/verifier_bundle_more.sh)
endif()
