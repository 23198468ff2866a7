#!/bin/sh
# Floods of denials: a tight retry loop on one socket gives ONE event per destination and
# second, the rest counted as suppressed (every send still EPERM); denials from many sockets
# with no reader fill the ring buffer, and every denial is either an event read afterwards
# or counted as lost (events + lost == denials, exactly).
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

cat >"$T/policy.yaml" <<EOP
version: 1
default: deny
workloads:
  - name: probes
    cgroup: $CG
EOP
expect_rc 0 exai-egress apply --policy "$T/policy.yaml" --unsigned

probe udp-loop:500 127.0.0.2 9
grep -qx "eperm=500" "$T/probe" || fail "retry loop: $(cat "$T/probe")"
expect_event '.hook == "sendmsg4" and .daddr == "127.0.0.2" and .dport == 9'
expect_rc 0 exai-egress status --json
jq -e '.counters.denied == 500 and .counters.suppressed == 499' "$T/out" >/dev/null ||
	fail "rate limit counters: $(cat "$T/out")"
ok "500 denied sends on one socket: all EPERM, one event, 499 suppressed"

N=6000
probe udp-many:$N 127.0.0.2 9
grep -qx "eperm=$N" "$T/probe" || fail "flood: $(cat "$T/probe")"
exai-egress events --json >"$T/ev" || fail "events: exit $?"
nev=$(grep -c . "$T/ev" || true) # not $got: expect_rc sets it
expect_rc 0 exai-egress status --json
lost=$(jq .counters.lost "$T/out")
echo "flood: $N denials, $nev events read, $lost lost"
[ "$lost" -gt 0 ] || fail "the ring buffer did not overflow ($nev events)"
[ $((nev + lost)) = "$N" ] || fail "events $nev + lost $lost != $N denials"
jq -e --argjson pid "$PROBE_PID" 'select(.pid != $pid)' "$T/ev" | grep -q . && fail "an event of another pid"
ok "$N denials with no reader: $nev events + $lost counted lost"
