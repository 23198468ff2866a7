#!/bin/sh
# Benchmark: `airgap-verifier scan` with every shipped rule vs `grep -rEI 'https?://'` on the
# real-world corpus (tests/realworld/manifest: the pinned npm packages as the .tgz files npm
# ships, the Debian packages unpacked, and the corpus fixtures), copied BENCH_COPIES times
# (default 40, about 250 MiB) into one tree on /dev/shm so that both tools are measured on CPU,
# not on the disk. Two comparisons, each with both tools over the same tree in the same round:
#  - whole corpus: scan also decompresses the .tgz packages and reads binaries, which grep -I
#    skips (it stops at the first NUL byte of a file);
#  - like for like: only the files grep itself reads as text (`grep -rIl ''`), copied into a
#    second tree.
# Each figure is the best of 3 runs in the round. Prints tab-separated "row" and "note" lines
# (scripts/bench_table.py; make bench runs the script 3 times and tabulates min, median and
# max over the rounds). The corpus cache is filled by `make test-realworld` (this script runs
# it when the cache is empty).
set -eu
: "${EXAI_BUILD:?run through make bench}"
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
bin="$EXAI_BUILD/verifier/airgap-verifier"
cache=${EXAI_REALWORLD_CACHE:-/var/cache/exai-realworld}
copies=${BENCH_COPIES:-40}
log() { echo "bench/verifier_realworld: $*" >&2; }
[ -x "$bin" ] || { log "$bin not built"; exit 1; }

if [ ! -d "$cache/npm" ] || [ ! -d "$cache/unpacked" ]; then
	log "corpus cache $cache is empty: fetching it with tests/realworld/run.py"
	python3 "$src/tests/realworld/run.py" "$bin" --cache "$cache" >&2
fi

base=/dev/shm
[ -d "$base" ] && [ "$(df -m --output=avail "$base" | tail -1)" -gt 2048 ] || base=/tmp
W=$(mktemp -d "$base/exai-vfrw.XXXXXX")
trap 'rm -rf "$W"' EXIT

i=0
while [ "$i" -lt "$copies" ]; do
	d="$W/all/copy$i"
	mkdir -p "$d"
	cp -r "$cache/npm" "$d/npm"
	cp -r "$cache/unpacked" "$d/debian"
	cp -r "$src/tests/realworld/fixtures" "$d/fixtures"
	i=$((i + 1))
done
# The like-for-like tree: the files grep reads as text, at the same relative paths.
(cd "$W/all" && LC_ALL=C grep -rIl '' . >"$W/text.list") || true
mkdir -p "$W/text"
(cd "$W/all" && tr '\n' '\0' <"$W/text.list" | xargs -0 cp --parents -t "$W/text")

bytes() { du -sb "$1" | cut -f1; }
nfiles() { find "$1" -type f | wc -l; }
all_b=$(bytes "$W/all") all_n=$(nfiles "$W/all")
text_b=$(bytes "$W/text") text_n=$(nfiles "$W/text")
log "whole corpus: $all_n files, $all_b bytes; text only: $text_n files, $text_b bytes"

# best3 CMD...: best wall time of 3 runs (exit 0 or 1 accepted: 1 is "matches found").
best3() {
	best=
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		set +e
		"$@"
		rc=$?
		set -e
		e=$(date +%s.%N)
		[ "$rc" -le 1 ] || { log "failed ($rc): $*"; exit 1; }
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
	done
	printf '%.3f' "$best"
}
run_grep() { LC_ALL=C grep -rEI 'https?://' "$1" >"$W/grep.out"; }
run_scan() { "$bin" scan "$1" --format json --output "$W/scan.json" --fail-on none; }
findings() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["findings"])' "$W/scan.json"; }

run_grep "$W/all" || true # warm the page cache
g_all=$(best3 run_grep "$W/all")
gl_all=$(wc -l <"$W/grep.out")
s_all=$(best3 run_scan "$W/all")
sf_all=$(findings)
g_text=$(best3 run_grep "$W/text")
gl_text=$(wc -l <"$W/grep.out")
s_text=$(best3 run_scan "$W/text")
sf_text=$(findings)
log "whole: grep ${g_all}s ($gl_all lines), scan ${s_all}s ($sf_all findings); text: grep ${g_text}s, scan ${s_text}s"

tab=$(printf '\t')
row() { printf 'row%s%s%s%s%s%s%s%s%s%s\n' "$tab" "$1" "$tab" "$2" "$tab" "$3" "$tab" "$4" "$tab" "$5"; }
mib() { echo "$1" | awk '{ printf "%.0f", $1 / 1048576 }'; }
# Target 1: scan no slower than grep (anchor seconds / our seconds >= 1).
row "scan, every rule, whole corpus ($all_n files, $(mib "$all_b") MiB)" "$s_all" "grep -rEI 'https?://'" "$g_all" 1
row "scan, every rule, text files only ($text_n files, $(mib "$text_b") MiB)" "$s_text" "grep -rEI 'https?://'" "$g_text" 1
printf 'note%s%s\n' "$tab" "The real-world corpus (tests/realworld/manifest) copied $copies times into /dev/shm; whole corpus: grep $gl_all matching lines, scan $sf_all findings; text only: grep $gl_text lines, scan $sf_text findings. grep -I skips every file with a NUL byte, scan reads binaries and decompresses the npm .tgz files."
