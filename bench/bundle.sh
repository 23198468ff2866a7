#!/bin/sh
# Benchmark: exai-bundle create/verify on a 2 GiB incompressible model, side by side with
#  - the pipeline a user would otherwise write: sha256sum manifest + tar + age -r + minisign -S
#  - rauc bundle (verity format)
#  - openssl dgst -sha256 over the same bytes (for verify; of a format-2 bundle, and of a
#    format-1 bundle of the same model for comparison). create is timed as it runs by default.
# CPU paths run on /dev/shm (page cache) so the disk does not decide. Prints tab-separated
# "row" and "note" lines on stdout (scripts/bench_table.py; make bench runs the script 3 times
# and tabulates min, median and max); progress on stderr. EXAI_BENCH_MB sets the model size
# (default 2048).
set -eu
: "${EXAI_BUILD:?run through make bench}"
. "$(cd "$(dirname "$0")" && pwd)/lib/warm.sh"
B="$EXAI_BUILD/bundler/exai-bundle"
MB=${EXAI_BENCH_MB:-2048}
base=/dev/shm
[ -d "$base" ] && [ "$(df -m --output=avail "$base" | tail -1)" -gt $((MB * 4 + 512)) ] || base=/tmp
W=$(mktemp -d "$base/exai-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
log() { echo "bench/bundle: $*" >&2; }

# best_of N CMD...: prints the best wall time in seconds over N runs.
best_of() {
	n=$1
	shift
	best=
	i=0
	while [ $i -lt "$n" ]; do
		cleanup_outputs
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || { log "failed: $*"; exit 1; }
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
		i=$((i + 1))
	done
	printf '%.2f' "$best"
}
# Before every timed run (untimed): remove the outputs and warm 1.5x the model's size of
# memory (bench/lib/warm.sh).
cleanup_outputs() {
	rm -rf out.exb out.tar.age out.tar.age.minisig SHA256SUMS rauc-out.raucb
	warm_memory $((MB * 1572864))
}
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

log "generating ${MB} MiB of random data in $W"
mkdir model
head -c $((MB * 1048576)) /dev/urandom >model/model.safetensors
"$B" keygen --type site --out site >/dev/null
"$B" keygen --type release --no-password --out rel >/dev/null
"$B" keygen --type root --no-password --out rootk >/dev/null
"$B" root init --out root --root-key rootk.pub --root-threshold 1 --release-key rel.pub --release-threshold 1 >/dev/null
"$B" root sign root --key rootk.key >/dev/null
cat >spec.yaml <<SPEC
channel: bench
sequence: 1
expires_in_days: 30
target: {classes: [bench]}
components:
  - {type: model, name: m, version: "1", source: model/model.safetensors}
SPEC
age-keygen -o age.key 2>/dev/null
agepub=$(age-keygen -y age.key)
minisign -G -W -p mini.pub -s mini.key >/dev/null

pipeline() {
	sha256sum model/model.safetensors >SHA256SUMS &&
		tar cf - model SHA256SUMS | age -r "$agepub" >out.tar.age &&
		minisign -S -s mini.key -m out.tar.age >/dev/null
}

log "exai-bundle create (encrypted)"
t_ours=$(best_of 5 "$B" create spec.yaml --out out.exb --recipient site.pub)
cleanup_outputs
/usr/bin/time -f "%M" -o rss.txt "$B" create spec.yaml --out out.exb --recipient site.pub >/dev/null
rss_create=$(( $(cat rss.txt) / 1024 ))
log "pipeline: sha256sum + tar + age + minisign"
t_pipe=$(best_of 5 pipeline)

log "rauc bundle (verity)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout rauc.key -out rauc.pem -days 30 -subj "/CN=bench" >/dev/null 2>&1
mkdir -p rauc-in
ln model/model.safetensors rauc-in/model.img 2>/dev/null || cp model/model.safetensors rauc-in/model.img
printf '[update]\ncompatible=exai-bench\nversion=1\n[bundle]\nformat=verity\n[image.rootfs]\nfilename=model.img\n' >rauc-in/manifest.raucm
t_rauc=$(best_of 2 rauc bundle --cert=rauc.pem --key=rauc.key rauc-in rauc-out.raucb)

log "verify"
"$B" create spec.yaml --out v.exb --recipient site.pub --format-version 2 >/dev/null
"$B" sign v.exb --key rel.key >/dev/null
"$B" verify v.exb --root root --key site.key --json | grep -q '"format_version": 2' ||
	{ log "v.exb is not format 2"; exit 1; }
t_verify=$(best_of 3 "$B" verify v.exb --root root --key site.key)
/usr/bin/time -f '%M %U %S' -o rss.txt "$B" verify v.exb --root root --key site.key >/dev/null
rss_verify=$(( $(cut -d' ' -f1 rss.txt) / 1024 ))
cpu_verify=$(cut -d' ' -f2,3 rss.txt)
t_verify_nokey=$(best_of 3 "$B" verify v.exb --root root --signatures-only)
t_dgst=$(best_of 3 openssl dgst -sha256 v.exb)
cleanup_outputs
/usr/bin/time -f '%U %S' -o cpu.txt openssl dgst -sha256 v.exb >/dev/null
cpu_dgst=$(cat cpu.txt)
log "verify, format 1"
"$B" create spec.yaml --out v1.exb --recipient site.pub --format-version 1 >/dev/null
"$B" sign v1.exb --key rel.key >/dev/null
t_verify1=$(best_of 3 "$B" verify v1.exb --root root --key site.key)
cleanup_outputs
/usr/bin/time -f '%U %S' -o cpu.txt "$B" verify v1.exb --root root --key site.key >/dev/null
cpu_verify1=$(cat cpu.txt)
t_dgst1=$(best_of 3 openssl dgst -sha256 v1.exb)
rm -f v1.exb

# Rows for scripts/bench.sh, which runs this script BENCH_ROUNDS times and makes the table
# (min, median and max over the rounds; a target is met when the minimum ratio meets it).
tab=$(printf '\t')
row() { printf 'row%s%s%s%s%s%s%s%s%s%s\n' "$tab" "$1" "$tab" "$2" "$tab" "$3" "$tab" "$4" "$tab" "$5"; }
note() { printf 'note%s%s\n' "$tab" "$*"; }
row "create, encrypted (${MB} MiB model)" "$t_ours" "sha256sum + tar + age -r + minisign -S" "$t_pipe" 6
row "create, encrypted (${MB} MiB model)" "$t_ours" "rauc bundle (verity)" "$t_rauc" 20
row "verify with decryption (format 2)" "$t_verify" "openssl dgst -sha256 (same bytes)" "$t_dgst" 1.2
row "verify with decryption, format 1 (for comparison)" "$t_verify1" "openssl dgst -sha256 (same bytes)" "$t_dgst1" -
row "verify, no site key (hashes only)" "$t_verify_nokey" "openssl dgst -sha256 (same bytes)" "$t_dgst" -
note "Files on $base; best of 5 (create, pipeline), 2 (rauc), 3 (verify, openssl) within each round."
note "Peak resident memory in the last round: create ${rss_create} MiB, verify ${rss_verify} MiB (bounded by"
note "the chunk ring: workers x 8 + 2 slots of 4 MiB, decrypted in place, at most 192 MiB, whatever the payload size)."
note "CPU of one run in the last round (user, system seconds): verify format 2 $cpu_verify, format 1 $cpu_verify1, openssl dgst $cpu_dgst."
