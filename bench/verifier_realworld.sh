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
# The copies are what scan's duplicate cache reuses (a file with the name and bytes of one
# already scanned is not scanned again), so each tree is also measured with --no-dedup (every
# copy scanned; no target), and an empty directory shows the start-up alone (best of 11).
# Within a round the commands run in alternation, 3 times (grep, scan, scan --no-dedup, and
# BENCH_BASE_BUILD's scan if set: another build to compare with), and each figure is the best
# of its 3: on a shared machine only alternation compares. Prints
# tab-separated "row" and "note" lines (scripts/bench_table.py; make bench runs the script 3
# times and tabulates min, median and max over the rounds). The corpus cache is filled by
# `make test-realworld` (this script runs it when the cache is empty).
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

base=${BENCH_BASE_BUILD:+$BENCH_BASE_BUILD/verifier/airgap-verifier}
[ -z "$base" ] || [ -x "$base" ] || { log "BENCH_BASE_BUILD: $base not built"; exit 1; }

# timed CMD...: the wall time of one run (exit 0 or 1 accepted: 1 is "matches found").
timed() {
	s=$(date +%s.%N)
	set +e
	"$@"
	rc=$?
	set -e
	e=$(date +%s.%N)
	[ "$rc" -le 1 ] || { log "failed ($rc): $*"; exit 1; }
	echo "$e - $s" | bc -l
}
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc -l)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
run_grep() { LC_ALL=C grep -rEI 'https?://' "$1" >"$W/grep.out"; }
run_scan() { "$bin" scan "$1" --format json --output "$W/scan.json" --fail-on none; }
run_fresh() { "$bin" scan "$1" --format json --output "$W/fresh.json" --fail-on none --no-dedup; }
run_base() { "$base" scan "$1" --format json --output "$W/base.json" --fail-on none; }
findings() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["findings"])' "$1"; }

# measure TREE: best of 3 alternations into g, sc, fr, ba (seconds, 3 decimals).
measure() {
	g= sc= fr= ba=
	for _ in 1 2 3; do
		t=$(timed run_grep "$1") || exit 1
		g=$(min "$g" "$t")
		t=$(timed run_scan "$1") || exit 1
		sc=$(min "$sc" "$t")
		t=$(timed run_fresh "$1") || exit 1
		fr=$(min "$fr" "$t")
		if [ -n "$base" ]; then
			t=$(timed run_base "$1") || exit 1
			ba=$(min "$ba" "$t")
		fi
	done
	g=$(printf '%.3f' "$g") sc=$(printf '%.3f' "$sc") fr=$(printf '%.3f' "$fr")
	[ -z "$base" ] || ba=$(printf '%.3f' "$ba")
	# the cache must not change the report
	python3 - "$W/scan.json" "$W/fresh.json" <<'PY' || { log "--no-dedup gave another report"; exit 1; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(not (a["findings"] == b["findings"] and sorted(a["notes"]) == sorted(b["notes"])))
PY
}

run_grep "$W/all" || true # warm the page cache
measure "$W/all"
g_all=$g s_all=$sc f_all=$fr b_all=$ba
gl_all=$(wc -l <"$W/grep.out")
sf_all=$(findings "$W/scan.json")
measure "$W/text"
g_text=$g s_text=$sc f_text=$fr b_text=$ba
gl_text=$(wc -l <"$W/grep.out")
sf_text=$(findings "$W/scan.json")
# The start-up alone (rules, prefilter, libraries): an empty directory, best of 11 alternations.
mkdir -p "$W/empty"
g_empty= s_empty=
for _ in 1 2 3 4 5 6 7 8 9 10 11; do
	t=$(timed run_grep "$W/empty") || exit 1
	g_empty=$(min "$g_empty" "$t")
	t=$(timed run_scan "$W/empty") || exit 1
	s_empty=$(min "$s_empty" "$t")
done
g_empty=$(printf '%.3f' "$g_empty") s_empty=$(printf '%.3f' "$s_empty")
log "whole: grep ${g_all}s ($gl_all lines), scan ${s_all}s ($sf_all findings), --no-dedup ${f_all}s${base:+, base ${b_all}s}"
log "text: grep ${g_text}s, scan ${s_text}s, --no-dedup ${f_text}s${base:+, base ${b_text}s}"

tab=$(printf '\t')
row() { printf 'row%s%s%s%s%s%s%s%s%s%s\n' "$tab" "$1" "$tab" "$2" "$tab" "$3" "$tab" "$4" "$tab" "$5"; }
mib() { echo "$1" | awk '{ printf "%.0f", $1 / 1048576 }'; }
# Target 1: scan no slower than grep (anchor seconds / our seconds >= 1).
row "scan, every rule, whole corpus ($all_n files, $(mib "$all_b") MiB)" "$s_all" "grep -rEI 'https?://'" "$g_all" 1
row "scan, every rule, text files only ($text_n files, $(mib "$text_b") MiB)" "$s_text" "grep -rEI 'https?://'" "$g_text" 1
row "scan --no-dedup (every copy scanned), whole corpus" "$f_all" "grep -rEI 'https?://'" "$g_all" -
row "scan --no-dedup (every copy scanned), text files only" "$f_text" "grep -rEI 'https?://'" "$g_text" -
row "scan of an empty directory (start-up), best of 11" "$s_empty" "grep -rEI 'https?://'" "$g_empty" -
if [ -n "$base" ]; then
	row "scan of BENCH_BASE_BUILD, whole corpus" "$b_all" "grep -rEI 'https?://'" "$g_all" -
	row "scan of BENCH_BASE_BUILD, text files only" "$b_text" "grep -rEI 'https?://'" "$g_text" -
fi
printf 'note%s%s\n' "$tab" "The real-world corpus (tests/realworld/manifest) copied $copies times into /dev/shm; whole corpus: grep $gl_all matching lines, scan $sf_all findings; text only: grep $gl_text lines, scan $sf_text findings (the same with --no-dedup). grep -I skips every file with a NUL byte, scan reads binaries and decompresses the npm .tgz files. The copies are what the duplicate cache reuses: --no-dedup is the figure for a tree without duplicates."
