#!/bin/sh
# scripts/bench_table.py decides whether a benchmark target is "met": over the rounds it must
# give min, median and max of each side and of the per-round ratio, call a target met only
# when the minimum ratio meets it, and refuse malformed round files (never a table from them).
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
bt="$EXAI_SRC/scripts/bench_table.py"
tab=$(printf '\t')
# Round ratios for "create": 40/2=20, 42/2.1=20, 38/2=19 (min 19 < 20: not met although the
# median is 20); for "verify": 2/1.5, 2.1/1.5, 2.4/1.6 = 1.333, 1.4, 1.5 (min >= 1.2: met).
printf 'row\tcreate\t2\trauc\t40\t20\nrow\tverify\t1.5\tdgst\t2\t1.2\nnote\tfirst\n' >"$T/r1"
printf 'row\tcreate\t2.1\trauc\t42\t20\nrow\tverify\t1.5\tdgst\t2.1\t1.2\nnote\tsecond\n' >"$T/r2"
printf 'row\tcreate\t2\trauc\t38\t20\nrow\tverify\t1.6\tdgst\t2.4\t1.2\nnote\tlast\n' >"$T/r3"
python3 "$bt" "$T/r1" "$T/r2" "$T/r3" >"$T/out"
grep -qF "| create | 2.00 / 2.00 / 2.10 | rauc | 38.00 / 40.00 / 42.00 | 19.00 / 20.00 / 20.00 | >= 20 | **not met** |" "$T/out" ||
	fail "create row wrong: $(cat "$T/out")"
grep -qF "| verify | 1.50 / 1.50 / 1.60 | dgst | 2.00 / 2.10 / 2.40 | 1.33 / 1.40 / 1.50 | >= 1.2 | **met** |" "$T/out" ||
	fail "verify row wrong: $(cat "$T/out")"
grep -q "^last$" "$T/out" && ! grep -q "first\|second" "$T/out" || fail "notes not from the last round only"
grep -qF "of 3 |" "$T/out" || fail "header does not say how many rounds"
# No target: no verdict.
printf 'row\tx\t1\ty\t2\t-\n' >"$T/n1"
python3 "$bt" "$T/n1" "$T/n1" "$T/n1" | grep -qF "| x | 1.00 / 1.00 / 1.00 | y | 2.00 / 2.00 / 2.00 | 2.00 / 2.00 / 2.00 |  |  |" ||
	fail "row without a target"
# Refusals: each exits non-zero, names the problem, prints no table.
refuse() {
	want=$1
	shift
	if python3 "$bt" "$@" >"$T/o" 2>"$T/e"; then fail "accepted: $want"; fi
	grep -q "$want" "$T/e" || fail "message for '$want': $(cat "$T/e")"
	[ ! -s "$T/o" ] || fail "printed a table for '$want'"
}
printf 'row\tx\tfast\ty\t2\t-\n' >"$T/bad1"
refuse "not a number" "$T/bad1"
printf 'row\tx\t0\ty\t2\t-\n' >"$T/bad2"
refuse "0 or less" "$T/bad2"
printf '| a markdown | table |\n' >"$T/bad3"
refuse "neither a row nor a note" "$T/bad3"
printf 'note\tonly a note\n' >"$T/bad4"
refuse "no row lines" "$T/bad4"
printf 'row\tother\t1\ty\t2\t-\n' >"$T/r4"
refuse "other comparisons" "$T/n1" "$T/r4"
# make bench itself refuses fewer than 3 rounds before running anything.
if BENCH_ROUNDS=2 BENCH_ONLY=none sh "$EXAI_SRC/scripts/bench.sh" "$EXAI_BUILD" >"$T/o" 2>"$T/e"; then
	fail "bench.sh ran with BENCH_ROUNDS=2"
fi
grep -q "at least 3" "$T/e" || fail "bench.sh message: $(cat "$T/e")"
echo "bench_table: ok"
