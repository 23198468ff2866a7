# Thin front end over CMake. Build dir: build/ (ASan+UBSan: build-asan/).
# `make test` and `make demo` install missing Debian packages first (scripts/deps.sh).

BUILD      ?= build
ASAN_BUILD ?= build-asan
# What ships: no test hooks, no tests (EXAI_TESTING off). make bench measures this build.
RELEASE_BUILD ?= build-release
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

CONFIGURE_HINT = { echo "make: configuring failed (above). Missing packages? Run 'make deps' (scripts/deps.sh, as root) and try again." >&2; exit 1; }

PREFIX ?= /usr/local

.PHONY: all build release install deps test test-realworld demo asan fuzz-smoke format format-check bench clean

all: build

# Installs the release build under PREFIX (DESTDIR honoured): tools, rules, the systemd unit,
# man pages, bash completion, guides and example configs.
# The prefix is set when configuring, so the paths the unit and the man pages name are true.
install:
	@$(MAKE) --no-print-directory release CMAKE_ARGS="$(CMAKE_ARGS) -DCMAKE_INSTALL_PREFIX=$(PREFIX)"
	cmake --install $(RELEASE_BUILD)

deps:
	@./scripts/deps.sh

# Configure every time (cheap when cached) so components added since the last run are seen.
build:
	@cmake -S . -B $(BUILD) -DEXAI_TESTING=ON $(CMAKE_ARGS) >/dev/null || $(CONFIGURE_HINT)
	cmake --build $(BUILD) -j $(JOBS)

# The release configuration, checked to hold no test hook (scripts/check-release.sh).
release:
	@cmake -S . -B $(RELEASE_BUILD) -DEXAI_TESTING=OFF $(CMAKE_ARGS) >/dev/null || $(CONFIGURE_HINT)
	cmake --build $(RELEASE_BUILD) -j $(JOBS)
	@./scripts/check-release.sh $(RELEASE_BUILD)

test: deps
	@$(MAKE) --no-print-directory build
	@./scripts/run-tests.sh $(BUILD)

# airgap-verifier scan on the real-world corpus (tests/realworld/manifest): pinned npm and
# Debian packages fetched into $(EXAI_REALWORLD_CACHE) (default /var/cache/exai-realworld,
# never the tree) plus the fixtures; fails on recall < 95% or noise on a clean item.
test-realworld: deps
	@$(MAKE) --no-print-directory build
	@python3 tests/realworld/run.py $(BUILD)/verifier/airgap-verifier

demo: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo.sh $(BUILD)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DEXAI_SANITIZE=ON -DEXAI_TESTING=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./scripts/run-tests.sh $(ASAN_BUILD)

# Every libFuzzer harness (clang, ASan+UBSan, build-fuzz/) from its seed corpus, FUZZ_SECONDS
# (20) s each; CI sets 15. The long run is bench/fuzz.sh (BENCH_ONLY=fuzz make bench).
fuzz-smoke: deps
	@./scripts/fuzz-smoke.sh build-fuzz

format:
	@git ls-files '*.c' '*.h' | grep -v '/vmlinux.h$$' | xargs -r clang-format -i

format-check:
	@git ls-files '*.c' '*.h' | grep -v '/vmlinux.h$$' | xargs -r clang-format --dry-run --Werror
	@echo "format-check: ok"

bench: deps
	@$(MAKE) --no-print-directory release
	@./scripts/bench.sh $(RELEASE_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(RELEASE_BUILD) build-fuzz build-clang
