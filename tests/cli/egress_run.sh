#!/bin/sh
# exai-egress run --policy FILE -- CMD: the command runs in a transient cgroup under the
# policy's workload, without CAP_NET_RAW and with socket families on an allow-list; its denied
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

# The family is compared as the kernel reads it (an int): AF_PACKET with bit 32 set is
# AF_PACKET to the kernel (it opens one outside run) and refused under run.
$PY "$P" packet-high x 0 >"$T/o6"
[ "$(sed -n 2p "$T/o6")" = ok ] || fail "high-bit AF_PACKET outside run (the kernel's view): $(cat "$T/o6")"
run $PY "$P" packet-high x 0 >"$T/o7"
[ "$(sed -n 2p "$T/o7")" = errno=EPERM ] || fail "high-bit AF_PACKET under run: $(cat "$T/o7")"
# An allow-list: a family nobody listed (AF_VSOCK) is refused as well.
run $PY "$P" vsock x 0 >"$T/o8"
[ "$(sed -n 2p "$T/o8")" = errno=EPERM ] || fail "AF_VSOCK under run: $(cat "$T/o8")"
ok "run: socket families on an allow-list of the low 32 bits (AF_PACKET with high bits, AF_VSOCK: EPERM)"

# The command runs in a cgroup namespace rooted at its transient cgroup and cannot reach the
# programs (bpf(2) refused). Where cgroup2 is mounted with nsdelegate (systemd's unified
# layout) the namespace also stops a root command from moving itself out; without it (this
# hybrid layout) the kernel allows the move, so there only a non-root command is held.
if grep -E "^[^ ]+ $CGROOT cgroup2 [^ ]*nsdelegate" /proc/mounts >/dev/null; then
	run $PY "$P" escape "$CGROOT" 0 >"$T/o9"
	case $(sed -n 2p "$T/o9") in errno=*) ;; *) fail "moving to the cgroup2 root under run: $(cat "$T/o9")" ;; esac
	ok "run: with nsdelegate, a root command cannot move out of its cgroup"
else
	ok "# SKIP the cgroup2 mount has no nsdelegate: a root command could leave its cgroup (docs/egress.md)"
fi
run $PY "$P" bpf x 0 >"$T/o10"
[ "$(sed -n 2p "$T/o10")" = errno=EPERM ] || fail "bpf(2) under run: $(cat "$T/o10")"
$PY "$P" bpf x 0 >"$T/o11"
case $(sed -n 2p "$T/o11") in errno=EPERM) fail "bpf(2) refused outside run too: the test proves nothing" ;; esac
run sh -c 'cat /proc/self/cgroup' >"$T/o12"
grep -qx '0::/' "$T/o12" || fail "run: the command's cgroup view: $(cat "$T/o12")"
ok "run: the command cannot call bpf(2), and its cgroup is / to it (a namespace of its own)"

run grep CapBnd /proc/self/status >"$T/caps"
bnd=$(awk '{ print $2 }' "$T/caps")
[ $(( (0x$bnd >> 13) & 1 )) = 0 ] || fail "CAP_NET_RAW still in the bounding set: $bnd"
# Its cgroup as the host sees it (inside, its namespace shows "/"): read from outside while
# the command runs.
run sh -c 'echo $$ >"$1"; sleep 3' sh "$T/cmdpid" &
rp=$!
i=0
while [ ! -s "$T/cmdpid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
cat "/proc/$(cat "$T/cmdpid")/cgroup" >"$T/cg" 2>/dev/null || true
wait $rp || fail "run sh -c sleep exited $?"
grep -q "exai-test-egress-$$/exai-run-" "$T/cg" || fail "not in a transient cgroup: $(cat "$T/cg")"
[ -z "$(ls "$CG" | grep '^exai-run-' || true)" ] || fail "transient cgroup left behind"
expect_rc 3 run sh -c 'exit 3'
ok "run: no CAP_NET_RAW, a transient cgroup removed afterwards, exit status passed through"

printf 'version: 1\ndefault: deny\nworkloads:\n  - {name: a, cgroup: %s}\n  - {name: b, cgroup: %s}\n' "$CG" "$CGROOT" >"$T/two.yaml"
expect_rc 1 exai-egress run --policy "$T/two.yaml" --unsigned -- true
expect_contains "$T/err" "exactly one workload"
ok "run refuses a policy of two workloads"
