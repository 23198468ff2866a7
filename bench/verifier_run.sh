#!/bin/sh
# Benchmark: what attribution through exai-egress costs `airgap-verifier run`. The same run of
# /bin/true (namespaces, TUN device, DNS sink, the command, the report) with attribution on
# (exai-egress apply of the run's audit policy into a private bpffs, the event reader, the
# drain, status and detach) and with --no-egress, alternately, BENCH_RUNS times each; the
# medians go into a tab-separated "row" line (scripts/bench_table.py: make bench runs the
# script 3 times and tabulates min, median and max). Wall clock. No target: the issue sets
# none; the ratio is the share of a run's time that is not attribution. Needs root, and every
# run sits in an outer network namespace of its own (unshare -n). Progress goes to stderr.
#
# Environment: EXAI_BUILD (build dir), BENCH_RUNS (5).
set -eu
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${EXAI_BUILD:-$src/build}
vf="$build/verifier/airgap-verifier"
eg="$build/bpf/exai-egress"
runs=${BENCH_RUNS:-5}
[ "$(id -u)" = 0 ] || { echo "verifier_run: needs root (namespaces, BPF)" >&2; exit 1; }
[ -x "$vf" ] && [ -x "$eg" ] || { echo "verifier_run: build airgap-verifier and exai-egress first" >&2; exit 1; }
w=$(mktemp -d /tmp/vrun-bench.XXXXXX)
trap 'rm -rf "$w"' EXIT

now() { date +%s.%N; }
# timed ARGS...: one run with ARGS before "--"; its wall time in seconds.
timed() {
	t0=$(now)
	unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$vf" run "$@" --output "$w/r.json" \
		-- /bin/true 2>"$w/err" || { cat "$w/err" >&2; exit 1; }
	t1=$(now)
	awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.3f\n", z - a }'
}
# stats FILE: "median min max" of the numbers in FILE, one per line.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}

: >"$w/on.t"
: >"$w/off.t"
i=0
while [ $i -lt "$runs" ]; do
	timed --egress "$eg" >>"$w/on.t"
	grep -q 'attribution on' "$w/r.json" || { echo "verifier_run: attribution was not on" >&2; exit 1; }
	timed --no-egress >>"$w/off.t"
	i=$((i + 1))
	echo "verifier_run: $i of $runs" >&2
done
printf 'row\t%s\t%s\t%s\t%s\t%s\n' "airgap-verifier run -- /bin/true, attribution on" \
	"$(stats "$w/on.t" | cut -d' ' -f1)" "the same run, --no-egress" \
	"$(stats "$w/off.t" | cut -d' ' -f1)" "-"
printf 'note\t%s\n' "- this round's range: attribution on $(stats "$w/on.t" | awk '{ print $2 "-" $3 }') s, --no-egress $(stats "$w/off.t" | awk '{ print $2 "-" $3 }') s."
