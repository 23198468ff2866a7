# Structure-aware fuzzers of what exai-update reads from hostile media before and while it
# trusts it (issue 17). Each is a libFuzzer harness tests/fuzz/fuzz_<name>.c registered with
# exai_fuzz_harness (tests/CMakeLists.txt): its seed corpus is replayed in every build as the
# test <name>_fuzz_corpus; with -DEXAI_FUZZ=ON and clang the binary fuzz_<name> is built, and
# `make fuzz-smoke` runs every fuzz_* binary for FUZZ_SECONDS from its corpus.
#
# Every harness of the tree and what it reaches:
#   fuzz_format   (format_fuzz.cmake) index, manifest, trust root, minisign signature and
#                 public key, strict YAML parsers; accepted input must re-serialise identically
#   fuzz_sha      (format_fuzz.cmake) multi-buffer SHA-256 kernels against OpenSSL
#   fuzz_dns, fuzz_elf, fuzz_scan_buf (verifier_*.cmake) the verifier's DNS parser, ELF
#                 reader and the whole scanned buffer
#   fuzz_bundle   the bundle container (lib/bundle/bundle_open.c, bundle_verify.c,
#                 bundle_stream.c): the input is a recipe that writes an .exb or a bundle
#                 directory from a real signed, encrypted bundle built at start-up
#                 (fuzz_bundle_make.c) - names of the format's set and outside it, repeats,
#                 order, entry types, sizes, contents mutated or from the input, raw patches
#                 of the tar - then exai_bundle_open, exai_bundle_verify against a test root
#                 (walk_roots / exai_bundle_effective_root, check_signatures,
#                 exai_bundle_check_entries), exai_bundle_unlock with a test site key and
#                 exai_bundle_stream (the chunk pipeline, own-thread sink or not) into a sink
#                 that hashes the plaintext and runs the tar check; the unchanged bundle must
#                 verify and stream, and anything that verifies must be the signed bytes
#   fuzz_extract  the extraction exai-update runs as root (appliance/extract.c over
#                 lib/bundle/tarcheck.c, tarcheck_walk.c): tar, tar.gz and tar.zst built from
#                 fuzzer-chosen entries (every type, hostile paths and link targets, modes,
#                 padding) or raw input, fed in pieces of 1 byte to all at once, with the
#                 setuid/world-writable flags and limits varied; after every input the
#                 invariants are checked on disk (fuzz_extract_inv.c): nothing outside the
#                 staging dir, no device/FIFO/socket, no setuid/setgid or world-writable bit
#                 unless allowed, no symlink resolving above the stage following the tree's own
#                 links, no hard link outside, and the file list matches the disk.
#                 extract_fuzz_selftest (fuzz_extract_selftest.c) plants each violation and
#                 requires the check to see it.
#   fuzz_cli      (lib.cmake) the CLI layer (lib/core/cli.c): command lines through
#                 exai_cli_dispatch; what a command sees must keep the option syntax
# A harness registered in another tests/*.cmake gets its line here too.
#
# Coverage of a corpus (clang source-based coverage of the replay binary):
#   cmake -S . -B build-cov -DEXAI_TESTING=ON -DCMAKE_C_COMPILER=clang \
#     -DCMAKE_C_FLAGS='-fprofile-instr-generate -fcoverage-mapping'
#   cmake --build build-cov --target fuzz_bundle_replay
#   LLVM_PROFILE_FILE=b.profraw build-cov/tests/fuzz_bundle_replay CORPUS_DIR
#   llvm-profdata merge -o b.profdata b.profraw
#   llvm-cov report build-cov/tests/fuzz_bundle_replay -instr-profile=b.profdata lib/bundle/bundle_*.c
exai_fuzz_harness(bundle SOURCES tests/fuzz/fuzz_bundle_make.c LIBS exai_sign)
exai_fuzz_harness(extract SOURCES tests/fuzz/fuzz_extract_inv.c LIBS exai_update_core)

# The invariant check itself must see planted escapes (not named fuzz_*: fuzz-smoke runs those).
add_executable(extract_fuzz_selftest ${EXAI_TESTS_DIR}/fuzz/fuzz_extract_selftest.c
  ${EXAI_TESTS_DIR}/fuzz/fuzz_extract_inv.c)
target_link_libraries(extract_fuzz_selftest PRIVATE exai)
exai_warnings(extract_fuzz_selftest)
add_test(NAME extract_fuzz_selftest COMMAND extract_fuzz_selftest)

# The audit event line (lib/core/event.c): strict parse and canonical re-encoding, and the
# UTF-8 sanitiser for reasons.
exai_fuzz_harness(event)
