#!/bin/sh
# The cgroup_skb/egress backstop: sockets connected BEFORE exai-egress attached never pass a
# connect or sendmsg hook; their packets are decided again from the headers (a UDP send to
# 127.0.0.2 fails with EPERM and its event names the sender's pid and comm, one to 127.0.0.1
# goes through). A listener inside the workload answers a client outside it whose address
# (127.0.0.2) the policy does not allow: replies on accepted connections still flow.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

start_servers
mkdir "$T/early"
$PY "$EXAI_SRC/tests/egress/early.py" "$CG" "$T/early" "$UDP4B" "$UDP4" &
early=$!
i=0
while [ ! -e "$T/early/ready" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "early.py did not start"
	sleep 0.1
done
cat >"$T/policy.yaml" <<EOP
version: 1
default: deny
workloads:
  - name: probes
    cgroup: $CG
    rules:
      - {cidr: 127.0.0.1/32, protocol: any}
EOP
expect_rc 0 exai-egress apply --policy "$T/policy.yaml" --unsigned
touch "$T/early/go"
wait "$early" || fail "early.py failed"
read -r pidf denied allowed <"$T/early/result"
PROBE_PID=${pidf#pid=}
[ "$denied" = denied=errno=EPERM ] || fail "pre-attach UDP to 127.0.0.2: $denied"
[ "$allowed" = allowed=ok ] || fail "pre-attach UDP to 127.0.0.1: $allowed"
expect_event '.hook == "skb_egress" and .verdict == "deny" and .protocol == "udp" and .daddr == "127.0.0.2" and .dport == '"$UDP4B"' and .reason == "no-rule" and .workload == "probes"'
ok "a UDP socket connected before attach: EPERM to 127.0.0.2 from the backstop, with pid and comm"

$PY "$EXAI_SRC/tests/egress/listener.py" "$CG" "$T/lport" &
lpid=$!
i=0
while [ ! -s "$T/lport" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "listener did not start"
	sleep 0.1
done
lport=$(cat "$T/lport")
reply=$($PY -c '
import socket, sys
c = socket.socket()
c.settimeout(10)
c.bind(("127.0.0.2", 0))
c.connect(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"ping")
print(c.recv(16).decode())
c.close()
' "$lport") || fail "client outside the cgroup could not talk to the listener"
wait "$lpid" || fail "listener failed"
[ "$reply" = pong ] || fail "listener reply: '$reply'"
expect_no_event
ok "a listener inside the workload answers a client at 127.0.0.2 outside it"

expect_rc 0 exai-egress status --json
jq -e '.counters.denied == 1' "$T/out" >/dev/null || fail "counters: $(cat "$T/out")"
ok "status counts the backstop's denial"
