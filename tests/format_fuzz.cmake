# The format parsers' fuzzer (tests/fuzz/fuzz_format.c). Its seed corpus is replayed in every
# build as a plain test (under ASan in `make asan`); the libFuzzer binary needs clang:
#   cmake -S . -B build-fuzz -DEXAI_FUZZ=ON -DCMAKE_C_COMPILER=clang
#   cmake --build build-fuzz --target fuzz_format
#   build-fuzz/tests/fuzz_format -max_total_time=300 tests/fuzz/fuzz_format_corpus
add_executable(fuzz_format_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_format.c
  ${EXAI_TESTS_DIR}/fuzz/fuzz_dns_replay.c)
target_link_libraries(fuzz_format_replay PRIVATE exai)
exai_warnings(fuzz_format_replay)
add_test(NAME format_fuzz_corpus COMMAND fuzz_format_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_format_corpus)
if(EXAI_FUZZ)
  add_executable(fuzz_format ${EXAI_TESTS_DIR}/fuzz/fuzz_format.c)
  target_link_libraries(fuzz_format PRIVATE exai)
  target_link_options(fuzz_format PRIVATE -fsanitize=fuzzer)
endif()

# Differential fuzzer of the multi-buffer SHA-256 kernels against OpenSSL
# (tests/fuzz/fuzz_sha.c); its seeds are replayed in every build.
add_executable(fuzz_sha_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_sha.c
  ${EXAI_TESTS_DIR}/fuzz/fuzz_dns_replay.c)
target_link_libraries(fuzz_sha_replay PRIVATE exai)
exai_warnings(fuzz_sha_replay)
add_test(NAME sha_multi_fuzz_corpus COMMAND fuzz_sha_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_sha_corpus)
if(EXAI_FUZZ)
  add_executable(fuzz_sha ${EXAI_TESTS_DIR}/fuzz/fuzz_sha.c)
  target_link_libraries(fuzz_sha PRIVATE exai)
  target_link_options(fuzz_sha PRIVATE -fsanitize=fuzzer)
endif()
