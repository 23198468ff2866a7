#!/bin/sh
# exai-egress run --policy FILE -- CMD: the command runs in a transient cgroup under the
# policy's workload, without CAP_NET_RAW and with AF_PACKET refused by seccomp; its denied
# attempt is an event naming its own pid and comm; a raw and a packet socket fail with EPERM;
# its exit status is passed through and the transient cgroup is gone afterwards.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

start_servers
cat >"$T/policy.yaml" <<EOP
version: 1
default: deny
workloads:
  - name: ci
    cgroup: $CG
    rules:
      - {cidr: 127.0.0.1/32, protocol: tcp}
EOP
P="$EXAI_SRC/tests/egress/probe.py"
run() { exai-egress run --policy "$T/policy.yaml" --unsigned -- "$@"; }

run $PY "$P" tcp 127.0.0.1 "$TCP4" >"$T/o1" || fail "run exited $?"
[ "$(sed -n 2p "$T/o1")" = ok ] || fail "allowed connect under run: $(cat "$T/o1")"
run $PY "$P" tcp 127.0.0.2 "$TCP4B" >"$T/o2" || fail "run exited $?"
[ "$(sed -n 2p "$T/o2")" = errno=EPERM ] || fail "denied connect under run: $(cat "$T/o2")"
PROBE_PID=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/o2")
expect_event '.hook == "connect4" and .daddr == "127.0.0.2" and .workload == "ci" and .verdict == "deny"'
ok "run: allowed and denied connects, the event names the command's pid and comm"

run $PY "$P" raw x 0 >"$T/o3"
[ "$(sed -n 2p "$T/o3")" = errno=EPERM ] || fail "raw socket under run: $(cat "$T/o3")"
# refused by the kernel for want of CAP_NET_RAW before the sock_create hook runs: no event
expect_no_event
run $PY "$P" packet x 0 >"$T/o4"
[ "$(sed -n 2p "$T/o4")" = errno=EPERM ] || fail "packet socket under run: $(cat "$T/o4")"
# outside run, root may open a packet socket: the refusal above is run's doing
$PY "$P" packet x 0 >"$T/o5"
[ "$(sed -n 2p "$T/o5")" = ok ] || fail "packet socket outside run: $(cat "$T/o5")"
ok "run: raw socket EPERM (no CAP_NET_RAW), AF_PACKET EPERM (seccomp; allowed outside run)"

run grep CapBnd /proc/self/status >"$T/caps"
bnd=$(awk '{ print $2 }' "$T/caps")
[ $(( (0x$bnd >> 13) & 1 )) = 0 ] || fail "CAP_NET_RAW still in the bounding set: $bnd"
run sh -c 'cat /proc/self/cgroup' >"$T/cg"
grep -q "exai-test-egress-$$/exai-run-" "$T/cg" || fail "not in a transient cgroup: $(cat "$T/cg")"
[ -z "$(ls "$CG" | grep '^exai-run-' || true)" ] || fail "transient cgroup left behind"
expect_rc 3 run sh -c 'exit 3'
ok "run: no CAP_NET_RAW, a transient cgroup removed afterwards, exit status passed through"

printf 'version: 1\ndefault: deny\nworkloads:\n  - {name: a, cgroup: %s}\n  - {name: b, cgroup: %s}\n' "$CG" "$CGROOT" >"$T/two.yaml"
expect_rc 1 exai-egress run --policy "$T/two.yaml" --unsigned -- true
expect_contains "$T/err" "exactly one workload"
ok "run refuses a policy of two workloads"
