#!/bin/sh
# Benchmark: exai-egress (issue 16's performance section), side by side in one run:
#  - the cost of a tight loop of TCP socket + connect + close (SO_LINGER 0) to a loopback
#    listener, and of sendto of 64 bytes on one unconnected UDP socket, from three sibling
#    throwaway cgroups:
#      off   nothing attached;
#      ours  the exai-egress programs with a 100,000-rule policy (tests/egress/bigpolicy.awk;
#            the probed host is one of its /32s, deep in the trie);
#      floor the same six hooks attached, each allowing at once, sock_create also creating
#            a socket-storage entry of exai-egress's size (bench/egress/floor.bpf.c): the
#            kernel's part of the overhead, which no program logic can remove (phase a);
#      ctl   a second cgroup with nothing attached, in phase a: the control, whose ratio to
#            off shows how far two identical configurations differ in this turn scheme
#            (the resolution every other ratio here has);
#      nft   the same 100,000 CIDRs as nftables interval sets in a throwaway table whose
#            output chain matches only this cgroup (socket cgroupv2), accepts the sets and
#            rejects the rest.
#    bench/egress/probe.c runs one worker per cgroup and has them take turns of about 10 ms
#    (250 connections, 2500 datagrams), so that every configuration meets the same load from
#    the rest of the machine. Phase a: off, ours, floor and ctl, no nft table on the host
#    (the overhead the issue bounds: at most 10%); phase b: off, ours and nft with the table loaded (nft's
#    output hook then runs for every packet of the host). Each round does both phases, in
#    alternating order, and the figures are medians over ROUNDS rounds. The workers run on
#    the first CPU and the listener on the last (taskset), when there are two or more;
#  - exai-egress apply of the 100,000-rule policy from nothing (programs loaded and pinned,
#    links attached, trie filled) and reload of another 100,000-rule policy over it (the
#    swap), timed as whole commands, against nft -f of the table with the same CIDRs.
# Rows for scripts/bench_table.py: overheads as ratios off/ours (target at most 10% more:
# ratio 1/1.1), nft side by side without a target, and load times against "target 1 s".
#
# Needs root, the release build's exai-egress and nft (scripts/deps.sh). Every cgroup, pin,
# nft table and process it makes is removed by the EXIT trap. The nft rules only ever match
# the benchmark's own cgroup; no packet leaves loopback.
#
# Environment: EXAI_BUILD (make bench), BENCH_EGRESS_RULES (100000), BENCH_EGRESS_ROUNDS (5,
# at least 5), BENCH_EGRESS_TCP (connections a round and cgroup, 10000), BENCH_EGRESS_UDP
# (datagrams, 100000), BENCH_KEEP=1 (keep the work dir).
set -eu
: "${EXAI_BUILD:?run through make bench}"
src=${EXAI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
E="$EXAI_BUILD/bpf/exai-egress"
RULES=${BENCH_EGRESS_RULES:-100000}
ROUNDS=${BENCH_EGRESS_ROUNDS:-5}
TCP_N=${BENCH_EGRESS_TCP:-10000}
UDP_N=${BENCH_EGRESS_UDP:-100000}
TCP_BLOCK=250
UDP_BLOCK=2500
ADDR=127.1.134.6 # a /32 of bigpolicy.awk (its odd neighbour is in no rule)
DENIED=127.1.134.7
log() { echo "bench/egress: $*" >&2; }
case $ROUNDS in '' | *[!0-9]* | [0-4]) log "BENCH_EGRESS_ROUNDS must be at least 5"; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { log "needs root (cgroup BPF programs, nftables)"; exit 1; }
[ -x "$E" ] || { log "no $E (make release; exai-egress needs bpftool, clang, libbpf and BTF)"; exit 1; }
NFT=$(command -v nft || echo /usr/sbin/nft)
[ -x "$NFT" ] || { log "nft missing (scripts/deps.sh)"; exit 1; }
[ -x /usr/bin/time ] || { log "/usr/bin/time missing (scripts/deps.sh: time)"; exit 1; }
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGROOT" ] || { log "no cgroup2 mount"; exit 1; }
# nft names a cgroup by its path under /sys/fs/cgroup
case $CGROOT in /sys/fs/cgroup) NFTREL="" ;; /sys/fs/cgroup/*) NFTREL="${CGROOT#/sys/fs/cgroup/}/" ;;
*) log "cgroup2 is mounted at $CGROOT, not under /sys/fs/cgroup, where nft looks"; exit 1 ;; esac

W=$(mktemp -d "${TMPDIR:-/tmp}/exai-bench-egress.XXXXXX")
BASE="$CGROOT/exai-bench-egress-$$"
PIN="/sys/fs/bpf/exai-bench-egress-$$"
TABLE="exai_bench_egress_$$"
EXAI_EGRESS_PIN_DIR=$PIN
export EXAI_EGRESS_PIN_DIR
LPID=""
cleanup() {
	[ -z "$LPID" ] || kill "$LPID" 2>/dev/null || true
	"$NFT" delete table inet "$TABLE" 2>/dev/null || true
	if [ -e "$PIN" ]; then
		"$E" detach >/dev/null 2>&1 || true
		rm -rf "$PIN" 2>/dev/null || true
	fi
	rm -rf "$PIN-floor" 2>/dev/null || true
	for c in "$BASE/off" "$BASE/ours" "$BASE/floor" "$BASE/ctl" "$BASE/nft" "$BASE"; do
		[ -d "$c" ] || continue
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do
			echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null || true
		done
		rmdir "$c" 2>/dev/null || true
	done
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
now() { date +%s.%N; }
since() { awk -v a="$1" -v z="$(now)" 'BEGIN { printf "%.6f\n", z - a }'; }
med() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.6f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratios() { paste "$1" "$2" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2 }'; } # per round, off/x
range() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s-%s", lo, hi }'; }

mkdir "$BASE" "$BASE/off" "$BASE/ours" "$BASE/floor" "$BASE/ctl" "$BASE/nft"
cc -O2 -Wall -Wextra -Werror -o "$W/probe" "$src/bench/egress/probe.c"
# the floor: bench/egress/floor.bpf.c attached to its own cgroup with bpftool (not links:
# removed with the cgroup)
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
CLANG=$(command -v clang || command -v clang-14 || echo clang)
"$CLANG" -g -O2 -target bpf -Wall -Werror -I"/usr/include/$(cc -print-multiarch)" \
	-c "$src/bench/egress/floor.bpf.c" -o "$W/floor.o"
"$BPFTOOL" prog loadall "$W/floor.o" "$PIN-floor"
for h in sock_create:sock_create connect4:connect4 connect6:connect6 sendmsg4:sendmsg4 \
	sendmsg6:sendmsg6 egress:skb; do
	"$BPFTOOL" cgroup attach "$BASE/floor" "${h%%:*}" pinned "$PIN-floor/floor_${h#*:}"
done

log "policies of $RULES rules and the nftables table with the same CIDRs"
awk -v n="$RULES" -v cg="$BASE/ours" -f "$src/tests/egress/bigpolicy.awk" >"$W/a.yaml"
mkdir "$W/b"
awk -v n="$RULES" -v cg="$BASE/ours" -v variant=1 -f "$src/tests/egress/bigpolicy.awk" >"$W/b/policy.yaml"
awk -v n="$RULES" -v cg=- -v list=1 -f "$src/tests/egress/bigpolicy.awk" >"$W/cidrs"
{
	printf 'table inet %s {\n' "$TABLE"
	printf '\tset allow4 {\n\t\ttype ipv4_addr; flags interval;\n\t\telements = {\n'
	grep -v : "$W/cidrs" | sed 's/$/,/'
	printf '\t\t}\n\t}\n\tset allow6 {\n\t\ttype ipv6_addr; flags interval;\n\t\telements = {\n'
	grep : "$W/cidrs" | sed 's/$/,/'
	printf '\t\t}\n\t}\n'
	printf '\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n'
	printf '\t\tsocket cgroupv2 level 2 "%sexai-bench-egress-%s/nft" jump egress\n\t}\n' "$NFTREL" "$$"
	printf '\tchain egress {\n\t\tip daddr @allow4 accept\n\t\tip6 daddr @allow6 accept\n'
	printf '\t\tcounter reject\n\t}\n}\n'
} >"$W/nft.rules"

# CPUs: the probe's workers on the first, the listener on the last. Unpinned, the scheduler's
# placement of the workers and the listener varies from turn to turn, and two identical
# cgroups with nothing attached (the control) differed by up to 10-50% in a round; pinned,
# by about 1% (TCP) and 3% (UDP).
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	command -v taskset >/dev/null || { log "taskset missing (scripts/deps.sh: util-linux)"; exit 1; }
	PROBE_CPU="taskset -c 0"
	LISTEN_CPU="taskset -c $((NCPU - 1))"
else
	PROBE_CPU=""
	LISTEN_CPU=""
fi
$LISTEN_CPU "$W/probe" listen "$ADDR" "$W/ports" &
LPID=$!
i=0
while [ ! -s "$W/ports" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] && kill -0 "$LPID" 2>/dev/null || { log "the listener did not start"; exit 1; }
	sleep 0.05
done
read -r TPORT UPORT <"$W/ports"

# once CGROUP ADDR: the verdict of one TCP connect from CGROUP to ADDR:TPORT
once() { "$W/probe" once "$1" "$2" "$TPORT"; }
check() { # check WHAT GOT WANT
	[ "$2" = "$3" ] || { log "$1: $2 (want $3): not measuring a policy that is not in force"; exit 1; }
}
nft_rejected() { "$NFT" list chain inet "$TABLE" egress | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }

# bench PROTO CGROUP...: probe.c's turns between the cgroups (one line of seconds, in order)
bench() {
	proto=$1
	shift
	if [ "$proto" = tcp ]; then
		$PROBE_CPU "$W/probe" bench tcp "$ADDR" "$TPORT" "$TCP_N" "$TCP_BLOCK" "$@"
	else
		$PROBE_CPU "$W/probe" bench udp "$ADDR" "$UPORT" "$UDP_N" "$UDP_BLOCK" "$@"
	fi
}
# the CPU time (user + system) /usr/bin/time wrote to $W/cpu: what the wall time would be
# on a machine with a core to spare
cpu() { awk '{ printf "%.2f\n", $1 + $2 }' "$W/cpu"; }
: >"$W/fresh.cpu"
: >"$W/swap.cpu"
SERIES="fresh swap nftload a.off.tcp a.ours.tcp a.floor.tcp a.ctl.tcp a.off.udp a.ours.udp a.floor.udp a.ctl.udp b.off.tcp b.ours.tcp b.nft.tcp b.off.udp b.ours.udp b.nft.udp"
for f in $SERIES; do : >"$W/$f.t"; done
r=1
while [ "$r" -le "$ROUNDS" ]; do
	log "round $r of $ROUNDS"
	# loading: from nothing, then the swap to another policy of the same size
	[ ! -e "$PIN" ] || "$E" detach >/dev/null
	t=$(now)
	/usr/bin/time -f '%U %S' -o "$W/cpu" "$E" apply --policy "$W/a.yaml" --unsigned >"$W/apply.out"
	since "$t" >>"$W/fresh.t"
	cpu >>"$W/fresh.cpu"
	t=$(now)
	/usr/bin/time -f '%U %S' -o "$W/cpu" "$E" reload --policy-dir "$W/b" --unsigned >"$W/reload.out"
	since "$t" >>"$W/swap.t"
	cpu >>"$W/swap.cpu"
	grep -q "$RULES rules" "$W/reload.out" || { cat "$W/reload.out" >&2; log "reload did not load $RULES rules"; exit 1; }
	check "ours, $ADDR" "$(once "$BASE/ours" "$ADDR")" ok
	check "ours, $DENIED" "$(once "$BASE/ours" "$DENIED")" errno=EPERM
	# phase a: no nft table; phase b: the nft table loaded. Odd rounds a first, even b.
	for phase in $([ $((r % 2)) = 1 ] && echo a b || echo b a); do
		if [ "$phase" = a ]; then
			for p in tcp udp; do
				bench $p "$BASE/off" "$BASE/ours" "$BASE/floor" "$BASE/ctl" >"$W/out"
				read -r x y z c <"$W/out"
				echo "$x" >>"$W/a.off.$p.t"
				echo "$y" >>"$W/a.ours.$p.t"
				echo "$z" >>"$W/a.floor.$p.t"
				echo "$c" >>"$W/a.ctl.$p.t"
			done
			continue
		fi
		t=$(now)
		"$NFT" -f "$W/nft.rules"
		since "$t" >>"$W/nftload.t"
		check "nft, $DENIED" "$(once "$BASE/nft" "$DENIED")" errno=ECONNREFUSED
		[ "$(nft_rejected)" -ge 1 ] || check "nft's reject counter after that probe" "$(nft_rejected)" ">= 1"
		check "nft, $ADDR" "$(once "$BASE/nft" "$ADDR")" ok
		for p in tcp udp; do
			bench $p "$BASE/off" "$BASE/ours" "$BASE/nft" >"$W/out"
			read -r x y z <"$W/out"
			echo "$x" >>"$W/b.off.$p.t"
			echo "$y" >>"$W/b.ours.$p.t"
			echo "$z" >>"$W/b.nft.$p.t"
		done
		"$NFT" delete table inet "$TABLE"
	done
	r=$((r + 1))
done
# the peak memory of one more fresh apply (not timed)
"$E" detach >/dev/null
/usr/bin/time -f %M -o "$W/rss" "$E" apply --policy "$W/a.yaml" --unsigned >/dev/null

tab=$(printf '\t')
row() { printf 'row%s%s%s%s%s%s%s%s%s%s\n' "$tab" "$1" "$tab" "$2" "$tab" "$3" "$tab" "$4" "$tab" "$5"; }
note() { printf 'note%s%s\n' "$tab" "$*"; }
us() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f", s * 1e6 / n }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'; }
for f in $SERIES; do
	eval "m_$(echo "$f" | tr . _)=\$(med \"\$W/\$f.t\")"
done
K=$(awk -v n="$RULES" 'BEGIN { printf "%d,%03d", n / 1000, n % 1000 }')
tcp="TCP connect+close to loopback, $TCP_N a round"
udp="UDP sendto on loopback, $UDP_N a round"
ours="exai-egress + $K rules (median of $ROUNDS rounds)"
nftx="nftables: the same CIDRs as sets, socket cgroupv2 match"
row "$tcp, $ours" "$m_a_ours_tcp" "no programs attached" "$m_a_off_tcp" 0.9091
row "$udp, $ours" "$m_a_ours_udp" "no programs attached" "$m_a_off_udp" 0.9091
floorx="the floor: the six hooks allowing at once, sock_create making the storage (median of $ROUNDS rounds)"
row "$tcp, $floorx" "$m_a_floor_tcp" "no programs attached" "$m_a_off_tcp" -
row "$udp, $floorx" "$m_a_floor_udp" "no programs attached" "$m_a_off_udp" -
ctlx="control: a second cgroup with nothing attached (median of $ROUNDS rounds)"
row "$tcp, $ctlx" "$m_a_ctl_tcp" "no programs attached" "$m_a_off_tcp" -
row "$udp, $ctlx" "$m_a_ctl_udp" "no programs attached" "$m_a_off_udp" -
row "$tcp, $ours, nft table loaded" "$m_b_ours_tcp" "$nftx" "$m_b_nft_tcp" -
row "$udp, $ours, nft table loaded" "$m_b_ours_udp" "$nftx" "$m_b_nft_udp" -
row "apply of a $K-rule policy from nothing (load, pin, attach, fill)" "$m_fresh" "target 1 s" 1 1
row "reload: another $K-rule policy swapped in" "$m_swap" "target 1 s" 1 1
row "reload: another $K-rule policy swapped in" "$m_swap" "nft -f: a table with the same CIDRs as sets" "$m_nftload" -
note "Per operation, medians of $ROUNDS rounds (last run). Without the nft table: TCP connect+close $(us "$m_a_off_tcp" "$TCP_N") us with nothing attached, $(us "$m_a_ours_tcp" "$TCP_N") us with exai-egress ($(pct "$m_a_ours_tcp" "$m_a_off_tcp")); UDP sendto $(us "$m_a_off_udp" "$UDP_N") us, $(us "$m_a_ours_udp" "$UDP_N") us ($(pct "$m_a_ours_udp" "$m_a_off_udp")). The floor (bench/egress/floor.bpf.c): TCP $(us "$m_a_floor_tcp" "$TCP_N") us ($(pct "$m_a_floor_tcp" "$m_a_off_tcp")), UDP $(us "$m_a_floor_udp" "$UDP_N") us ($(pct "$m_a_floor_udp" "$m_a_off_udp"))."
note "With the nft table loaded: TCP $(us "$m_b_off_tcp" "$TCP_N") us nothing, $(us "$m_b_ours_tcp" "$TCP_N") us exai-egress ($(pct "$m_b_ours_tcp" "$m_b_off_tcp")), $(us "$m_b_nft_tcp" "$TCP_N") us nftables ($(pct "$m_b_nft_tcp" "$m_b_off_tcp")); UDP $(us "$m_b_off_udp" "$UDP_N") us, $(us "$m_b_ours_udp" "$UDP_N") us ($(pct "$m_b_ours_udp" "$m_b_off_udp")), $(us "$m_b_nft_udp" "$UDP_N") us ($(pct "$m_b_nft_udp" "$m_b_off_udp"))."
note "Ranges over the rounds (last run, s): apply $(range "$W/fresh.t"), reload $(range "$W/swap.t"), nft -f $(range "$W/nftload.t"); TCP nothing/exai-egress $(range "$W/a.off.tcp.t") / $(range "$W/a.ours.tcp.t"); UDP $(range "$W/a.off.udp.t") / $(range "$W/a.ours.udp.t"); the control's per-round ratios to nothing, TCP $(ratios "$W/a.off.tcp.t" "$W/a.ctl.tcp.t"), UDP $(ratios "$W/a.off.udp.t" "$W/a.ctl.udp.t")."
f2() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }
note "CPU time (user + system, 10 ms resolution), medians of the rounds: apply from nothing $(f2 "$(med "$W/fresh.cpu")") s, reload $(f2 "$(med "$W/swap.cpu")") s (wall: $(f2 "$m_fresh") s and $(f2 "$m_swap") s)."
note "Policy file $(stat -c %s "$W/a.yaml") bytes; peak memory of apply $(awk -v k="$(cat "$W/rss")" 'BEGIN { printf "%.0f", k / 1024 }') MiB; load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $([ -n "$PROBE_CPU" ] && echo "the probe's workers on CPU 0, the listener on CPU $((NCPU - 1))" || echo "one CPU, nothing pinned")."
