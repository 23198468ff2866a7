#!/bin/sh
# make fuzz-smoke: builds every libFuzzer harness with clang (ASan+UBSan, build dir $1,
# default build-fuzz) and runs each from its seed corpus for FUZZ_SECONDS (default 20) s.
# Any crash, leak or timeout fails the run; libFuzzer leaves the input as crash-*/leak-*/
# timeout-* in $1/fuzz-findings, to be added to the harness's corpus as a regression seed.
# CI (.ci/run) sets FUZZ_SECONDS=15; the long run is bench/fuzz.sh.
set -eu
build=${1:-build-fuzz}
# Absolute: each harness runs from inside $build/fuzz-findings (where libFuzzer drops inputs).
mkdir -p "$build"
build=$(cd "$build" && pwd)
secs=${FUZZ_SECONDS:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
cmake -S "$src" -B "$build" -DEXAI_FUZZ=ON -DEXAI_TESTING=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=$(cmake --build "$build" --target help | grep -o '\bfuzz_[a-z0-9_]*' | grep -v '_replay$' | sort -u)
[ -n "$targets" ] || { echo "fuzz-smoke: no harnesses found in $build" >&2; exit 1; }
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target $targets
mkdir -p "$build/fuzz-findings"
failed=0
ran=0
for t in $targets; do
	bin="$build/tests/$t"
	corpus="$src/tests/fuzz/${t}_corpus"
	[ -x "$bin" ] || continue
	work=$(mktemp -d)
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null || true
	echo "fuzz-smoke: $t for ${secs}s"
	if ! (cd "$build/fuzz-findings" && EXAI_SRC="$src" ASAN_OPTIONS=detect_leaks=1 \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		$([ -f "$src/tests/fuzz/$t.dict" ] && echo "-dict=$src/tests/fuzz/$t.dict") "$work" >"$build/fuzz-findings/$t.log" 2>&1); then
		echo "fuzz-smoke: $t FAILED (log: $build/fuzz-findings/$t.log)" >&2
		tail -30 "$build/fuzz-findings/$t.log" >&2
		failed=$((failed + 1))
	else
		grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' \
			"$build/fuzz-findings/$t.log" | tr '\n' ' ' | sed 's/^/  /'
		echo
	fi
	rm -rf "$work"
	ran=$((ran + 1))
done
echo "fuzz-smoke: $ran harnesses, $failed failed, in $(($(date +%s) - start))s (build included)"
[ "$failed" = 0 ]
