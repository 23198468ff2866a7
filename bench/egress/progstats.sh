#!/bin/sh
# bench/egress/progstats.sh: the cost of each exai-egress program per run, in ns, from the
# kernel's own BPF run statistics (kernel.bpf_stats_enabled: run_time_ns / run_cnt of each
# program), on the probes of bench/egress.sh (TCP connect+close and UDP sendto to
# 127.1.134.6, one of the /32s of a 100,000-rule tests/egress/bigpolicy.awk policy) from a
# throwaway cgroup two levels below the cgroup2 root, as the bench's. It times only the
# programs, not the system calls around them, so it is far less sensitive to the rest of a
# shared machine than the ratios of bench/egress.sh: use it to compare two builds (A/B,
# alternating). Not part of make bench.
#
#   EXAI_BUILD=build-rel sh bench/egress/progstats.sh [TCP-OPS [UDP-OPS]]
#
# Needs root. The EXIT trap restores kernel.bpf_stats_enabled and removes the cgroups, pins
# and the listener.
set -eu
: "${EXAI_BUILD:?EXAI_BUILD=a release build dir}"
src=${EXAI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
E="$EXAI_BUILD/bpf/exai-egress"
TCP_N=${1:-20000}
UDP_N=${2:-200000}
[ "$(id -u)" = 0 ] || { echo "progstats: needs root" >&2; exit 1; }
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin:/sbin
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
BASE="$CGROOT/exai-progstats-$$"
CG="$BASE/w"
PIN="/sys/fs/bpf/exai-progstats-$$"
EXAI_EGRESS_PIN_DIR=$PIN
export EXAI_EGRESS_PIN_DIR
W=$(mktemp -d "${TMPDIR:-/tmp}/exai-progstats.XXXXXX")
STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
LPID=""
cleanup() {
	echo "$STATS" >/proc/sys/kernel/bpf_stats_enabled 2>/dev/null || true
	[ -z "$LPID" ] || kill "$LPID" 2>/dev/null || true
	if [ -e "$PIN" ]; then
		"$E" detach >/dev/null 2>&1 || true
		rm -rf "$PIN" 2>/dev/null || true
	fi
	for c in "$CG" "$BASE"; do
		[ -d "$c" ] || continue
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do
			echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null || true
		done
		rmdir "$c" 2>/dev/null || true
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$BASE" "$CG"
cc -O2 -Wall -Wextra -Werror -o "$W/probe" "$src/bench/egress/probe.c"
awk -v n=100000 -v cg="$CG" -f "$src/tests/egress/bigpolicy.awk" >"$W/a.yaml"
"$E" apply --policy "$W/a.yaml" --unsigned >/dev/null
"$W/probe" listen 127.1.134.6 "$W/ports" &
LPID=$!
while [ ! -s "$W/ports" ]; do sleep 0.05; done
read -r TP UP <"$W/ports"
ids=$(bpftool cgroup show "$CG" -j | jq -r '.[].id')
[ -n "$ids" ] || { echo "progstats: no programs attached to $CG" >&2; exit 1; }
snap() {
	for i in $ids; do
		bpftool prog show id "$i" -j | jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done | sort
}
per_run() { # per_run BEFORE AFTER LABEL
	join "$1" "$2" | awk -v l="$3" '{ n = $5 - $3; if (n > 0) printf "%s %s %.1f ns/run (%d runs)\n", l, $1, ($4 - $2) / n, n }'
}
echo 1 >/proc/sys/kernel/bpf_stats_enabled
snap >"$W/s0"
"$W/probe" bench tcp 127.1.134.6 "$TP" "$TCP_N" 250 "$CG" >/dev/null
snap >"$W/s1"
"$W/probe" bench udp 127.1.134.6 "$UP" "$UDP_N" 2500 "$CG" >/dev/null
snap >"$W/s2"
per_run "$W/s0" "$W/s1" tcp
per_run "$W/s1" "$W/s2" udp
