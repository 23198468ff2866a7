#!/bin/sh
# Benchmark: `exai-update apply` of an encrypted bundle holding one 2 GiB model (random bytes,
# stored raw) end to end — verify, stream, hash, decrypt, stage, fsync, switch, commit —
# against copying the same plaintext onto the same filesystem with `cp` followed by `sync`;
# and `exai-update verify` against `exai-bundle verify` of the same bundle. Run twice: in
# /dev/shm (page cache: the CPU-bound figure) and in /tmp (disk-bound, where the copy pays for
# the writes too). Best of 3, wall clock. Prints a Markdown table on stdout (scripts/bench.sh splices it into
# docs/benchmarks.md); progress goes to stderr.
#
# Environment: EXAI_BUILD (build dir), BENCH_BYTES (model size, default 2 GiB), BENCH_DIRS
# (default "/dev/shm /tmp"), BENCH_RUNS (3), BENCH_KEEP=1 (keep the work dirs).
set -eu
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
build=${EXAI_BUILD:-$src/build}
upd="$build/appliance/exai-update"
exb="$build/bundler/exai-bundle"
bytes=${BENCH_BYTES:-2147483648}
runs=${BENCH_RUNS:-3}
export EXAI_NO_PROGRESS=1
[ -x "$upd" ] && [ -x "$exb" ] || { echo "update_apply: build exai-update and exai-bundle first" >&2; exit 1; }

now() { date +%s.%N; }
# best CMD...: the smallest wall time of $runs runs; $setup runs (untimed) before each.
best() {
	b=""
	i=0
	while [ $i -lt "$runs" ]; do
		eval "$setup"
		t0=$(now)
		"$@" >/dev/null
		t1=$(now)
		b=$(awk -v a="$t0" -v z="$t1" -v b="$b" 'BEGIN { t = z - a; if (b == "" || t < b) print t; else print b }')
		i=$((i + 1))
	done
	echo "$b"
}

# run_in DIR: prints the two table rows for a work dir under DIR.
run_in() {
w=$(mktemp -d "$1/upd-bench.XXXXXX")

echo "update_apply: $bytes bytes of /dev/urandom in $w" >&2
mkdir -p "$w/src"
head -c "$bytes" /dev/urandom >"$w/src/weights.bin"
cd "$w"
"$exb" keygen --type root --out root >/dev/null
"$exb" keygen --type release --out rel >/dev/null
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
"$exb" create spec.yaml --out model.exb --recipient site.pub >/dev/null
"$exb" sign model.exb --key rel.key >/dev/null
cat >update.yaml <<EOS
state_dir: $w/state
trust_root: $w/root.txt
site_key: $w/site.key
identity: {class: bench}
install: {models_dir: $w/inst/models}
EOS

cpsync() { cp "$w/src/weights.bin" "$w/copy/weights.bin" && sync; }

echo "update_apply: cp + sync" >&2
setup='rm -rf "$w/copy"; mkdir -p "$w/copy"; sync'
t_cp=$(best cpsync)
rm -rf "$w/copy"
echo "update_apply: exai-update apply" >&2
setup='rm -rf "$w/state" "$w/inst"; sync'
t_apply=$(best "$upd" --config "$w/update.yaml" apply "$w/model.exb")
cmp -s "$w/src/weights.bin" "$w/inst/models/big/current/weights.bin" ||
	{ echo "update_apply: installed model differs" >&2; exit 1; }
rm -rf "$w/inst"
echo "update_apply: verify" >&2
setup='rm -rf "$w/state"'
t_verify=$(best "$upd" --config "$w/update.yaml" verify "$w/model.exb")
setup=':'
t_exbv=$(best "$exb" verify "$w/model.exb" --root "$w/root.txt" --key "$w/site.key")

where=$(df -P "$w" | awk 'NR == 2 { print $1 }')
awk -v a="$t_apply" -v c="$t_cp" -v d="$where" 'BEGIN { printf "| apply end to end (verify, decrypt, stage, fsync, switch, commit), on %s | %.2f s | cp + sync of the plaintext | %.2f s | %.2f |\n", d, a, c, c / a }'
awk -v a="$t_verify" -v c="$t_exbv" -v d="$where" 'BEGIN { printf "| verify (signatures, chunk hashes, decrypt, component hashes), on %s | %.2f s | exai-bundle verify --key | %.2f s | %.2f |\n", d, a, c, c / a }'
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
echo "| operation ($gib model, encrypted bundle, best of $runs) | exai-update | baseline | baseline time | ratio (baseline / exai-update) |"
echo "|---|---|---|---|---|"
cat "$rows"
