#!/bin/sh
# make bench: runs every bench/*.sh (each prints Markdown table rows for its section) and
# rewrites the matching tables in docs/benchmarks.md between
# "<!-- bench:NAME:begin -->" and "<!-- bench:NAME:end -->" markers. BENCH_ONLY="NAME..." runs
# only those. Scripts that print "row" lines run BENCH_ROUNDS (3, at least 3) times each.
set -eu
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
doc="$src/docs/benchmarks.md"
export EXAI_BUILD="$build" EXAI_SRC="$src" EXAI_NO_PROGRESS=1

ROUNDS=${BENCH_ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0 | 1 | 2)
	echo "bench: BENCH_ROUNDS must be a number of at least 3 (a target counts as met only over 3 or more full runs)" >&2
	exit 2
	;;
esac

# machine_line ROUNDS: when and where the rounds ran, for the line above each table.
machine_line() {
	flags=$(for f in sha_ni aes vaes vpclmulqdq avx2 avx512f; do
		grep -qw "$f" /proc/cpuinfo && printf '%s ' "$f"
	done)
	thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo "?")
	shm=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null || echo "?")
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	printf '%s full runs of the script on %s; %s, %s cores, CPU flags: %s; THP %s (shmem %s); kernel %s.\n' \
		"$1" "$(date -u +%Y-%m-%d)" "$cpu" "$(nproc)" "${flags% }" "$thp" "$shm" "$(uname -r)"
}

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
	# A script that prints tab-separated "row" lines (scripts/bench_table.py) is run
	# BENCH_ROUNDS times in all, and its table gives min, median and max over the rounds;
	# a target is met only when the minimum ratio meets it. Others print their own table.
	if grep -q "$(printf '^row\t')" "$out"; then
		rounds=$(mktemp -d)
		mv "$out" "$rounds/1"
		r=2
		while [ "$r" -le "$ROUNDS" ]; do
			echo "bench: $name, round $r of $ROUNDS"
			if ! sh "$b" >"$rounds/$r"; then
				echo "bench: $name failed in round $r" >&2
				rm -rf "$rounds"
				exit 1
			fi
			r=$((r + 1))
		done
		{
			machine_line "$ROUNDS"
			echo
			python3 "$src/scripts/bench_table.py" "$rounds"/*
		} >"$out" || { rm -rf "$rounds" "$out"; exit 1; }
		rm -rf "$rounds"
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
