# Fuzzers of lib code: fuzz_format (every format parser) and fuzz_sha (the multi-buffer SHA-256
# kernels against OpenSSL). Each seed corpus (tests/fuzz/fuzz_<name>_corpus) is replayed in
# every build as the plain test <name>_fuzz_corpus (under ASan in `make asan`); the libFuzzer
# binaries need clang:
#   cmake -S . -B build-fuzz -DEXAI_FUZZ=ON -DEXAI_TESTING=ON -DCMAKE_C_COMPILER=clang
#   cmake --build build-fuzz --target fuzz_format
#   build-fuzz/tests/fuzz_format -max_total_time=300 tests/fuzz/fuzz_format_corpus
foreach(name format sha)
  add_executable(fuzz_${name}_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_${name}.c
    ${EXAI_TESTS_DIR}/fuzz/fuzz_dns_replay.c)
  target_link_libraries(fuzz_${name}_replay PRIVATE exai)
  exai_warnings(fuzz_${name}_replay)
  add_test(NAME ${name}_fuzz_corpus
    COMMAND fuzz_${name}_replay ${EXAI_TESTS_DIR}/fuzz/fuzz_${name}_corpus)
  if(EXAI_FUZZ)
    add_executable(fuzz_${name} ${EXAI_TESTS_DIR}/fuzz/fuzz_${name}.c)
    target_link_libraries(fuzz_${name} PRIVATE exai)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endif()
endforeach()
