#!/bin/sh
# Benchmark: `exai-update apply` of an encrypted bundle holding one 2 GiB model (random bytes,
# stored raw) end to end — verify, stream, hash, decrypt, stage, fsync, switch, commit —
# against copying the same plaintext onto the same filesystem with `cp` followed by `sync`;
# and `exai-update verify` against `exai-bundle verify` of the same bundle. Run twice: in
# /dev/shm (page cache: the CPU-bound figure) and in /tmp (disk-bound, where the copy pays for
# the writes too). The two sides of each comparison run alternately, 5 times each, and the
# medians go into tab-separated "row" lines (scripts/bench_table.py: make bench runs the script
# 3 times and tabulates min, median and max), so a slow moment of the disk hits both; wall
# clock. Progress goes to stderr.
#
# Environment: EXAI_BUILD (build dir), BENCH_BYTES (model size, default 2 GiB), BENCH_DIRS
# (default "/dev/shm /tmp"), BENCH_RUNS (5), BENCH_FORMAT (the bundle's format version, default
# create's own: 2), BENCH_KEEP=1 (keep the work dirs).
set -eu
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${EXAI_BUILD:-$src/build}
upd="$build/appliance/exai-update"
exb="$build/bundler/exai-bundle"
bytes=${BENCH_BYTES:-2147483648}
runs=${BENCH_RUNS:-5}
export EXAI_NO_PROGRESS=1
. "$src/bench/lib/warm.sh"
[ -x "$upd" ] && [ -x "$exb" ] || { echo "update_apply: build exai-update and exai-bundle first" >&2; exit 1; }

now() { date +%s.%N; }
# timed CMD...: runs $setup (untimed), then CMD; prints CMD's wall time in seconds.
timed() {
	eval "$setup"
	t0=$(now)
	"$@" >/dev/null
	t1=$(now)
	awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.3f\n", z - a }'
}
# stats FILE: "median min max" of the numbers in FILE, one per line.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
# pair NAME_A CMD_A SETUP_A NAME_B CMD_B SETUP_B: runs A and B alternately $runs times (so
# both see the same disk weather), leaving the times in $w/NAME_A.t and $w/NAME_B.t.
pair() {
	: >"$w/$1.t"
	: >"$w/$4.t"
	i=0
	while [ $i -lt "$runs" ]; do
		setup=$3
		eval "timed $2" >>"$w/$1.t"
		setup=$6
		eval "timed $5" >>"$w/$4.t"
		i=$((i + 1))
	done
}
# row LABEL OURS BASE BASELABEL TARGET: a row line for scripts/bench_table.py from the two time
# files: the medians of this run (the table gives min, median and max over make bench's
# rounds), TARGET the least ratio BASE / OURS that meets the target, or "-".
row() {
	printf 'row\t%s\t%s\t%s\t%s\t%s\n' "$1" "$(stats "$w/$2.t" | cut -d' ' -f1)" "$4" \
		"$(stats "$w/$3.t" | cut -d' ' -f1)" "$5"
	printf 'note\t%s\n' "- $1: this round's range, exai-update $(stats "$w/$2.t" | awk '{ print $2 "-" $3 }') s, $4 $(stats "$w/$3.t" | awk '{ print $2 "-" $3 }') s."
}
# run_in DIR: prints the two table rows for a work dir under DIR.
run_in() {
w=$(mktemp -d "$1/upd-bench.XXXXXX")

echo "update_apply: $bytes bytes of /dev/urandom in $w" >&2
mkdir -p "$w/src"
head -c "$bytes" /dev/urandom >"$w/src/weights.bin"
cd "$w"
"$exb" keygen --type root --no-password --out root >/dev/null
"$exb" keygen --type release --no-password --out rel >/dev/null
"$exb" keygen --type site --out site >/dev/null
"$exb" root init --out root.txt --root-key root.pub --root-threshold 1 --release-key rel.pub \
	--release-threshold 1 >/dev/null
"$exb" root sign root.txt --key root.key >/dev/null
cat >spec.yaml <<EOS
channel: bench
sequence: 1
expires_in_days: 30
target: {classes: [bench]}
components:
  - {type: model, name: big, version: '1', source: ./src/weights.bin}
EOS
echo "update_apply: creating the bundle" >&2
"$exb" create spec.yaml --out model.exb --recipient site.pub ${BENCH_FORMAT:+--format-version "$BENCH_FORMAT"} >/dev/null
"$exb" sign model.exb --key rel.key >/dev/null
cat >update.yaml <<EOS
state_dir: $w/state
trust_root: $w/root.txt
site_key: $w/site.key
identity: {class: bench}
install: {models_dir: $w/inst/models}
EOS

cpsync() { cp "$w/src/weights.bin" "$w/copy/weights.bin" && sync; }
apply() { "$upd" --config "$w/update.yaml" apply "$w/model.exb"; }
uverify() { "$upd" --config "$w/update.yaml" verify "$w/model.exb"; }
bverify() { "$exb" verify "$w/model.exb" --root "$w/root.txt" --key "$w/site.key"; }
# Before each run: the inputs warm in the page cache (as after the bundle was copied in),
# the previous output gone and everything on disk.
warm='cat "$w/src/weights.bin" "$w/model.exb" >/dev/null'

echo "update_apply: cp + sync and exai-update apply, alternately, $runs times each" >&2
# Both setups remove both outputs and warm 1.5x the model's size of memory
# (bench/lib/warm.sh), so neither side meets memory the VM host has not backed lately.
# A fresh state each run is provisioned with init (exai-update never creates one by itself).
clean='rm -rf "$w/copy" "$w/state" "$w/inst"; mkdir -p "$w/copy"; "$upd" --config "$w/update.yaml" init >/dev/null; warm_memory $((bytes / 2 * 3))'
pair cp cpsync "$clean; $warm; sync" apply apply "$clean; $warm; sync"
cmp -s "$w/src/weights.bin" "$w/inst/models/big/current/weights.bin" ||
	{ echo "update_apply: installed model differs" >&2; exit 1; }
rm -rf "$w/inst"
echo "update_apply: exai-update verify and exai-bundle verify, alternately" >&2
pair uverify uverify "rm -rf \"\$w/state\"; \"\$upd\" --config \"\$w/update.yaml\" init >/dev/null" bverify bverify ":"

where=$(df -P "$w" | awk 'NR == 2 { print $1 }')
# The target (at most 1.5x cp + sync, ratio >= 0.667) is for the disk an appliance installs
# to; on tmpfs cp + sync is a bare page-cache copy that no verifying writer can match.
case $where in tmpfs | shm | none) tgt=- ;; *) tgt=0.667 ;; esac
row "apply end to end (verify, decrypt, stage, fsync, switch, commit), on $where" apply cp "cp + sync of the plaintext" "$tgt"
row "verify (signatures, chunk hashes, decrypt, component hashes), on $where" uverify bverify "exai-bundle verify --key" -
cd /
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$w"
}

gib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f GiB", b / 1073741824 }')
rows=$(mktemp)
trap 'rm -f "$rows"' EXIT
for d in ${BENCH_DIRS:-/dev/shm /tmp}; do
	room=$(df -Pk "$d" | awk -v need="$((bytes / 1024 * 4))" 'NR == 2 { print ($4 > need) }')
	[ "$room" = 1 ] || { echo "update_apply: not enough room in $d, skipped" >&2; continue; }
	run_in "$d" >>"$rows"
done
# Row and note lines for scripts/bench.sh (make bench runs this script 3 times).
grep '^row' "$rows"
printf 'note\t%s\n' "$gib model, encrypted bundle. Within each round the two sides run alternately $runs times; a row's time is their median."
grep '^note' "$rows"
