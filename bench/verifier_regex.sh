#!/bin/sh
# Benchmark: the two engines inside airgap-verifier scan that a library could replace, each
# against that library, on one copy of the real-world corpus (tests/realworld/manifest: the npm
# packages unpacked, the Debian packages, the fixtures) in /dev/shm:
#  - the pattern rules' regexes: POSIX regexec (what scan uses) against PCRE2 with its JIT, on
#    the same windows (the line around each trigger, as scan_text.c cuts it), every match;
#  - the literal prefilter: vf_lits_scan (hand-written, AVX-512 / AVX2) against Hyperscan's
#    literal matcher over every literal, every occurrence (when libhyperscan-dev is there).
# bench/verifier_regex.c does the measuring (built here against the build's libraries), the
# whole corpus 50 times over in each run; each figure is the least of 5 runs. Prints "row" and "note" lines (scripts/bench_table.py): our
# engine's seconds, the library's as the anchor, no target (a ratio above 1 means ours is
# faster).
set -eu
: "${EXAI_BUILD:?run through make bench}"
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
cache=${EXAI_REALWORLD_CACHE:-/var/cache/exai-realworld}
log() { echo "bench/verifier_regex: $*" >&2; }
[ -f "$EXAI_BUILD/verifier/libvf_scan.a" ] || { log "$EXAI_BUILD/verifier/libvf_scan.a not built"; exit 1; }
if [ ! -d "$cache/npm" ] || [ ! -d "$cache/unpacked" ]; then
	log "corpus cache $cache is empty: fetching it with tests/realworld/run.py"
	python3 "$src/tests/realworld/run.py" "$EXAI_BUILD/verifier/airgap-verifier" --cache "$cache" >&2
fi

base=/dev/shm
[ -d "$base" ] || base=/tmp
W=$(mktemp -d "$base/exai-vfrx.XXXXXX")
trap 'rm -rf "$W"' EXIT

hs=
if pkg-config --exists libhs 2>/dev/null; then hs="-DVF_HYPERSCAN $(pkg-config --cflags --libs libhs) -lstdc++ -lm"; fi
# shellcheck disable=SC2086 # word splitting of the flags is meant
cc -O2 -D_GNU_SOURCE -I"$src/verifier/scan" -I"$src/verifier/report" -I"$src/lib/core/include" \
	"$src/bench/verifier_regex.c" "$EXAI_BUILD/verifier/libvf_scan.a" \
	"$EXAI_BUILD/verifier/libvf_report.a" "$EXAI_BUILD/lib/libexai_yaml.a" \
	"$EXAI_BUILD/lib/libexai_json.a" "$EXAI_BUILD/lib/libexai_core.a" \
	$(pkg-config --libs libpcre2-8 yaml-0.1 libarchive jansson libsodium libcrypto) $hs \
	-lpthread -o "$W/verifier_regex"

mkdir -p "$W/corpus"
for t in "$cache"/npm/*.tgz; do
	d="$W/corpus/npm/$(basename "$t" .tgz)"
	mkdir -p "$d"
	tar -xzf "$t" -C "$d"
done
cp -r "$cache/unpacked" "$W/corpus/debian"
cp -r "$src/tests/realworld/fixtures" "$W/corpus/fixtures"
find "$W/corpus" -type f | sort >"$W/files"

i=0
while [ $i -lt 5 ]; do
	"$W/verifier_regex" -n 50 "$src/verifier/rules/default.yaml" - <"$W/files" >"$W/run$i"
	i=$((i + 1))
done
# least of the runs: field N of the line starting with WORD
least() { grep -h "^$1" "$W"/run* | sed -n "s/.*$2 \([0-9.]*\) s.*/\1/p" | sort -n | head -1; }
posix=$(least "POSIX" "POSIX regexec:")
pcre=$(least "POSIX" "PCRE2 JIT:")
lits=$(least "prefilter" "vf_lits_scan")
head -3 "$W/run0" >&2
tab=$(printf '\t')
windows=$(sed -n 's/.*windows \([0-9]*\), \([0-9]*\) bytes.*/\1 windows, \2 bytes/p' "$W/run0")
printf 'row%s%s%s%s%s%s%s%s%s-\n' "$tab" "pattern rules' regexes, POSIX regexec ($windows)" "$tab" "$posix" "$tab" "PCRE2 JIT, the same windows" "$tab" "$pcre" "$tab"
scanned=$(sed -n 's/^prefilter over \([0-9]*\) bytes.*/\1/p' "$W/run0")
if [ -n "$hs" ]; then
	hsec=$(least "prefilter" "Hyperscan")
	printf 'row%s%s%s%s%s%s%s%s%s-\n' "$tab" "literal prefilter, vf_lits_scan ($scanned bytes)" "$tab" "$lits" "$tab" "Hyperscan literal set" "$tab" "$hsec" "$tab"
fi
differ=$(sed -n 's/^POSIX.*windows with other spans: \([0-9]*\)/\1/p' "$W/run0")
occ=$(sed -n 's/^prefilter.*vf_lits_scan [0-9.]* s (\([0-9]*\) occurrences).*/\1/p' "$W/run0")
hocc=$(sed -n 's/^prefilter.*Hyperscan [0-9.]* s (\([0-9]*\) occurrences).*/\1/p' "$W/run0")
printf 'note%s%s\n' "$tab" "One copy of the real-world corpus (npm packages unpacked, Debian packages, fixtures; $(wc -l <"$W/files") files) matched 50 times over in each run, least of 5 runs. Windows where PCRE2 found other match spans than POSIX: $differ (POSIX takes the leftmost-longest match, PCRE2 the leftmost-first). Literal occurrences: vf_lits_scan $occ${hs:+, Hyperscan $hocc}."
