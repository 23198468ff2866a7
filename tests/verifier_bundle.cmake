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
  target_sources(test_vf_bundlemode PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)
  target_sources(test_vf_bundlemode PRIVATE
    ${CMAKE_SOURCE_DIR}/verifier/bundle/bundlemode_closure.c
    ${CMAKE_SOURCE_DIR}/verifier/bundle/bundlemode_window.c)
  target_include_directories(test_vf_bundlemode PRIVATE ${CMAKE_SOURCE_DIR}/verifier/bundle)
  # The image-reference extractor, and its two users (scan mode's k8s checks, the closure).
  exai_check_suite(test_vf_scan_imageref unit/verifier/test_scan_imageref.c vf_scan)
  target_sources(test_vf_scan_imageref PRIVATE ${EXAI_TESTS_DIR}/unit/verifier/rules_fixture.c)
  target_sources(test_vf_scan_imageref PRIVATE
    ${CMAKE_SOURCE_DIR}/verifier/bundle/bundlemode_closure.c)
  target_include_directories(test_vf_scan_imageref PRIVATE ${CMAKE_SOURCE_DIR}/verifier/bundle)
endif()

# Fuzz harnesses of the mode's readers of bundle contents: image references in YAML and image
# archives' index.json / manifest.json / blobs (closure), nested archives and the windowed
# scan of oversized blobs (archive). vf_scan_fast (tests/verifier_scan.cmake): the scan
# engine without the prefilter's self-check, which fuzz_scan_buf keeps.
if(TARGET vf_scan)
  exai_fuzz_harness(closure SOURCES verifier/bundle/bundlemode_closure.c LIBS vf_scan_fast
    INCLUDES ${CMAKE_SOURCE_DIR}/verifier/bundle)
  exai_fuzz_harness(archive SOURCES verifier/bundle/bundlemode_window.c LIBS vf_scan_fast
    INCLUDES ${CMAKE_SOURCE_DIR}/verifier/bundle)
endif()
