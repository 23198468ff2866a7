#!/bin/sh
# make bench: runs every bench/*.sh (each prints Markdown table rows for its section) and
# rewrites the matching tables in docs/benchmarks.md between
# "<!-- bench:NAME:begin -->" and "<!-- bench:NAME:end -->" markers. BENCH_ONLY="NAME..." runs
# only those.
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
doc="$src/docs/benchmarks.md"
export EXAI_BUILD="$build" EXAI_SRC="$src" EXAI_NO_PROGRESS=1

found=0
for b in "$src"/bench/*.sh; do
	[ -e "$b" ] || continue
	found=1
	name=$(basename "$b" .sh)
	case " ${BENCH_ONLY:-$name} " in *" $name "*) ;; *) continue ;; esac
	echo "bench: $name"
	out=$(mktemp)
	if ! sh "$b" >"$out"; then
		echo "bench: $name failed" >&2
		rm -f "$out"
		exit 1
	fi
	cat "$out"
	tmp=$(mktemp)
	awk -v name="$name" -v table="$out" '
		$0 == "<!-- bench:" name ":begin -->" { print; while ((getline l < table) > 0) print l; skip = 1; next }
		$0 == "<!-- bench:" name ":end -->" { skip = 0 }
		!skip { print }' "$doc" >"$tmp"
	if ! grep -q "<!-- bench:$name:begin -->" "$doc"; then
		{ printf '\n## %s\n\n<!-- bench:%s:begin -->\n' "$name" "$name"; cat "$out"; printf '<!-- bench:%s:end -->\n' "$name"; } >>"$tmp"
	fi
	mv "$tmp" "$doc"
	rm -f "$out"
done
[ "$found" = 1 ] || echo "bench: no benchmarks yet"
