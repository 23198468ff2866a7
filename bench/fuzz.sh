#!/bin/sh
# Benchmark: a long libFuzzer run of every fuzz_* harness (clang, ASan+UBSan, the build of
# scripts/fuzz-smoke.sh), BENCH_FUZZ_SECONDS (default 600) each, BENCH_FUZZ_JOBS (default 2)
# harnesses at a time, each from a fresh copy of its seed corpus. Prints a Markdown table on
# stdout (progress on stderr): per harness the executions, executions per second, coverage
# (libFuzzer's final "cov:", covered edges of everything the harness links, and "ft:", its
# features), the corpus it ends with (files, bytes) and findings (crash, leak, timeout and
# out-of-memory inputs). Findings are kept in BUILD/bench-fuzz/findings and the grown corpora
# in BUILD/bench-fuzz/corpus/<harness> (BUILD: BENCH_FUZZ_BUILD, default build-fuzz); a
# finding goes into the harness's seed corpus once fixed. Exits 0 even with findings (they
# are in the table); 1 when a harness could not run at all.
#   BENCH_FUZZ_SECONDS=20 sh bench/fuzz.sh      a quick check that it works
#   BENCH_FUZZ_ONLY="bundle extract"            only those harnesses (names without fuzz_)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
secs=${BENCH_FUZZ_SECONDS:-600}
jobs=${BENCH_FUZZ_JOBS:-2}
build=${BENCH_FUZZ_BUILD:-$src/build-fuzz}
log() { echo "bench/fuzz: $*" >&2; }

# One harness (run by xargs, BENCH_FUZZ_JOBS at a time): results in $out/<target>.res.
if [ "${1:-}" = "--one" ]; then
	t=$2 out=$3
	corpus="$build/bench-fuzz/corpus/$t"
	rm -rf "$corpus"
	mkdir -p "$corpus" "$build/bench-fuzz/findings/$t"
	[ -d "$src/tests/fuzz/${t}_corpus" ] && cp -r "$src/tests/fuzz/${t}_corpus/." "$corpus/"
	log "$t: ${secs}s"
	rc=0
	(cd "$build/bench-fuzz/findings/$t" && EXAI_SRC="$src" ASAN_OPTIONS=detect_leaks=1 \
		"$build/tests/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/bench-fuzz/findings/$t/" \
		$([ -f "$src/tests/fuzz/$t.dict" ] && echo "-dict=$src/tests/fuzz/$t.dict") \
		"$corpus" >"$out/$t.log" 2>&1) || rc=$?
	stat_of() { sed -n "s/^stat::$1: *//p" "$out/$t.log" | tail -1; }
	last=$(grep -E '^#[0-9]+' "$out/$t.log" | tail -1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	files=$(find "$corpus" -type f | wc -l)
	bytes=$(du -sb "$corpus" | cut -f1)
	finds=$(find "$build/bench-fuzz/findings/$t" -type f \
		\( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	[ "$rc" = 0 ] || [ "$finds" -gt 0 ] || finds="failed (exit $rc, see $out/$t.log)"
	printf '| `%s` | %s | %s | %s | %s | %s | %s files, %s KiB | %s |\n' "$t" "$secs" \
		"$(stat_of number_of_executed_units)" "$(stat_of average_exec_per_sec)" "${cov:-?}" \
		"${ft:-?}" "$files" "$((bytes / 1024))" "$finds" >"$out/$t.res"
	exit 0
fi

command -v clang >/dev/null || { log "needs clang (scripts/deps.sh)"; exit 1; }
cmake -S "$src" -B "$build" -DEXAI_FUZZ=ON -DEXAI_TESTING=ON -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
targets=$(cmake --build "$build" --target help | grep -o '\bfuzz_[a-z0-9_]*' | grep -v '_replay$' | sort -u)
if [ -n "${BENCH_FUZZ_ONLY:-}" ]; then
	sel=
	for t in $targets; do
		case " $BENCH_FUZZ_ONLY " in *" ${t#fuzz_} "*) sel="$sel $t" ;; esac
	done
	targets=$sel
fi
[ -n "$targets" ] || { log "no harnesses found in $build"; exit 1; }
log "building$(printf ' %s' $targets)"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target $targets >&2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=$(echo $targets | wc -w)
log "$n harnesses, ${secs}s each, $jobs at a time: about $(( (n + jobs - 1) / jobs * secs / 60 )) min"
start=$(date +%s)
printf '%s\n' $targets | BENCH_FUZZ_SECONDS=$secs BENCH_FUZZ_BUILD=$build \
	xargs -P "$jobs" -I{} sh "$0" --one {} "$out"
echo "| harness | seconds | executions | exec/s | cov (edges) | features | corpus | findings |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
missing=0
for t in $targets; do
	if [ -f "$out/$t.res" ]; then cat "$out/$t.res"; else missing=1; log "$t: no result"; fi
done
log "done in $(( $(date +%s) - start ))s; findings in $build/bench-fuzz/findings"
[ "$missing" = 0 ]
