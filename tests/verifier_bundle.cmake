# airgap-verifier bundle: offline verification, content scan and image closure of a bundle.
# The CLI tests build their bundles with exai-bundle and their image archives with
# tests/fixtures/verifier-bundle/mkimage.py (/usr/bin/python3, standard library only).
if(TARGET airgap-verifier AND TARGET exai-bundle AND TARGET vf_scan)
  exai_cli_test(verifier_bundle_cli cli/verifier_bundle.sh)
  exai_cli_test(verifier_bundle_more_cli cli/verifier_bundle_more.sh)
endif()

# The mode's pieces that need no bundle: closure (YAML references, image archives), the
# windowed binary scan, the text report's locations. The mode's sources live in the
# airgap-verifier executable, so the suite compiles the ones it tests.
if(TARGET vf_scan)
  exai_check_suite(test_vf_bundlemode unit/verifier/test_bundlemode.c vf_scan)
  target_sources(test_vf_bundlemode PRIVATE
    ${CMAKE_SOURCE_DIR}/verifier/bundlemode_closure.c
    ${CMAKE_SOURCE_DIR}/verifier/bundlemode_window.c)
endif()
