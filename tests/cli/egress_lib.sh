# Shared setup for the exai-egress tests (sourced after lib.sh). Needs root.
# Gives: $CG (a throwaway cgroup under the cgroup2 mount), $PIN (a throwaway pin directory,
# passed to every exai-egress through EXAI_EGRESS_PIN_DIR), $STATE (a throwaway state
# directory with a ratchet record made by 'exai-egress init', passed through the test build's
# EXAI_EGRESS_STATE_DIR; serve configs name it as state_dir), loopback servers (start_servers:
# $TCP4 on 127.0.0.1, $TCP4B on 127.0.0.2, $TCP6 on ::1, $UDP4, $UDP4B, $UDP6 likewise),
# probe (tests/egress/probe.py in $CG) and expect_event/expect_no_event. The EXIT trap stops the
# servers, detaches, removes the pins and the cgroups, also when the test fails.
if [ "$(id -u)" != 0 ]; then
	echo "skip: exai-egress tests need root" >&2
	exit 77
fi
PY=/usr/bin/python3
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CGROOT" ] || fail "no cgroup2 mount in /proc/mounts"
CG="$CGROOT/exai-test-egress-$$"
PIN="/sys/fs/bpf/exai-test-$$"
EXAI_EGRESS_PIN_DIR=$PIN
export EXAI_EGRESS_PIN_DIR
STATE="$T/egress-state"
EXAI_EGRESS_STATE_DIR=$STATE
export EXAI_EGRESS_STATE_DIR
SERVERS_PID=""
EXTRA_CGROUPS=""

egress_cleanup() {
	[ -z "$SERVERS_PID" ] || kill "$SERVERS_PID" 2>/dev/null || true
	if [ -e "$PIN" ]; then
		exai-egress detach >/dev/null 2>&1 || true
		rm -rf "$PIN" 2>/dev/null || true
	fi
	for c in $EXTRA_CGROUPS "$CG"; do
		[ -d "$c" ] || continue
		# processes left inside (a probe that hung) go back to the root cgroup first
		for p in $(cat "$c/cgroup.procs" 2>/dev/null); do
			echo "$p" >"$CGROOT/cgroup.procs" 2>/dev/null || true
		done
		rmdir "$c" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap egress_cleanup EXIT
trap 'exit 1' INT TERM HUP
mkdir "$CG"
exai-egress init >"$T/init.out" 2>&1 || fail "exai-egress init: $(cat "$T/init.out")"

start_servers() {
	$PY "$EXAI_SRC/tests/egress/servers.py" "$T/ports" &
	SERVERS_PID=$!
	i=0
	while [ ! -s "$T/ports" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "loopback servers did not start"
		sleep 0.1
	done
	read -r TCP4 TCP4B TCP6 UDP4 UDP4B UDP6 <"$T/ports"
}

# probe KIND ADDR PORT: runs probe.py in $CG; $PROBE_PID, $PROBE_RESULT ("ok", "errno=EPERM").
probe() {
	$PY "$EXAI_SRC/tests/egress/probe.py" --cgroup "$CG" "$@" >"$T/probe" 2>&1 ||
		fail "probe $*: $(cat "$T/probe")"
	PROBE_PID=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/probe")
	PROBE_RESULT=$(sed -n '2p' "$T/probe")
	[ -n "$PROBE_PID" ] || fail "probe $*: no pid: $(cat "$T/probe")"
}

# expect_probe RESULT KIND ADDR PORT
expect_probe() {
	res=$1
	shift
	probe "$@"
	[ "$PROBE_RESULT" = "$res" ] || fail "probe $*: $PROBE_RESULT (want $res)"
}

# expect_event JQ-CONDITION: exactly one event waits, from the last probe's pid with comm
# python3, and it satisfies the condition.
expect_event() {
	exai-egress events --json >"$T/ev" || fail "events: exit $?"
	n=$(grep -c . "$T/ev" || true)
	[ "$n" = 1 ] || { cat "$T/ev" >&2; fail "want 1 event after probe $PROBE_PID, got $n"; }
	jq -e --argjson pid "$PROBE_PID" ".pid == \$pid and .comm == \"python3\" and ($1)" \
		"$T/ev" >/dev/null || { cat "$T/ev" >&2; fail "event does not match: $1 (pid $PROBE_PID)"; }
}

expect_no_event() {
	exai-egress events --json >"$T/ev" || fail "events: exit $?"
	[ ! -s "$T/ev" ] || { cat "$T/ev" >&2; fail "unexpected event"; }
}
