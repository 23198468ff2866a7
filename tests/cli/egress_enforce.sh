#!/bin/sh
# exai-egress enforcement, end to end on real sockets in a throwaway cgroup, servers on
# loopback only (127.0.0.1 allowed, 127.0.0.2 not, ::1 by rule for TCP only): TCP over IPv4
# and IPv6, TCP Fast Open, IPv4-mapped IPv6 over TCP and UDP (connect and sendto), connected
# and unconnected UDP, a raw socket, 0.0.0.0 and :: (the local host), an outside address
# (inside unshare -n), ICMP echo (the backstop decides it).
# Each case asserts the errno AND the deny event (hook, destination, pid, comm, generation).
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"

start_servers
cat >"$T/policy.yaml" <<EOP
version: 1
default: deny
workloads:
  - name: probes
    cgroup: $CG
    rules:
      - {cidr: 127.0.0.1/32, protocol: tcp}
      - {cidr: 127.0.0.1/32, protocol: udp, ports: $UDP4}
      - {cidr: "::1/128", protocol: tcp, ports: [$TCP6]}
      - {cidr: 127.0.0.3/32, protocol: icmp}
EOP
expect_rc 0 exai-egress apply --policy "$T/policy.yaml" --unsigned
expect_contains "$T/out" "generation 1, mode enforce"
ok "apply"

deny_v4='.verdict == "deny" and .generation == 1 and .workload == "probes" and .family == 4'

# TCP over IPv4
expect_probe ok tcp 127.0.0.1 "$TCP4"
expect_no_event
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
expect_event "$deny_v4 and .hook == \"connect4\" and .protocol == \"tcp\" and .daddr == \"127.0.0.2\" and .dport == $TCP4B and .reason == \"no-rule\""
ok "tcp4: 127.0.0.1 allowed, 127.0.0.2 EPERM with its event"

# TCP Fast Open: the SYN carries data, and connect4 still decides
expect_probe ok tfo 127.0.0.1 "$TCP4"
expect_no_event
expect_probe errno=EPERM tfo 127.0.0.2 "$TCP4B"
expect_event "$deny_v4 and .hook == \"connect4\" and .protocol == \"tcp\" and .daddr == \"127.0.0.2\" and .dport == $TCP4B"
ok "TCP Fast Open: 127.0.0.1 allowed, 127.0.0.2 EPERM with its event"

# TCP over IPv6: ::1 by rule (its port only)
expect_probe ok tcp ::1 "$TCP6"
expect_no_event
expect_probe errno=EPERM tcp ::1 "$TCP4"
expect_event ".verdict == \"deny\" and .hook == \"connect6\" and .family == 6 and .daddr == \"::1\" and .dport == $TCP4"
ok "tcp6: ::1 allowed on its port, another port EPERM with its event"

# IPv4-mapped IPv6 over TCP: decided as IPv4 at connect6
expect_probe ok tcp6 ::ffff:127.0.0.1 "$TCP4"
expect_no_event
expect_probe errno=EPERM tcp6 ::ffff:127.0.0.2 "$TCP4B"
expect_event "$deny_v4 and .hook == \"connect6\" and .daddr == \"127.0.0.2\" and .dport == $TCP4B"
ok "mapped tcp: ::ffff:127.0.0.1 allowed, ::ffff:127.0.0.2 EPERM as IPv4"

# IPv4-mapped IPv6 over UDP: connect (connect6) and sendto (the kernel takes it to sendmsg4)
expect_probe ok udp6-connect ::ffff:127.0.0.1 "$UDP4"
expect_no_event
expect_probe errno=EPERM udp6-connect ::ffff:127.0.0.2 "$UDP4B"
expect_event "$deny_v4 and .hook == \"connect6\" and .protocol == \"udp\" and .daddr == \"127.0.0.2\" and .dport == $UDP4B"
expect_probe ok udp6-sendto ::ffff:127.0.0.1 "$UDP4"
expect_no_event
expect_probe errno=EPERM udp6-sendto ::ffff:127.0.0.2 "$UDP4B"
expect_event "$deny_v4 and .hook == \"sendmsg4\" and .protocol == \"udp\" and .daddr == \"127.0.0.2\" and .dport == $UDP4B"
ok "mapped udp: connect and sendto to ::ffff:127.0.0.2 EPERM as IPv4"

# connected and unconnected UDP over IPv4, and UDP to ::1 (TCP only there)
expect_probe ok udp-connect 127.0.0.1 "$UDP4"
expect_no_event
expect_probe errno=EPERM udp-connect 127.0.0.2 "$UDP4B"
expect_event "$deny_v4 and .hook == \"connect4\" and .protocol == \"udp\" and .daddr == \"127.0.0.2\""
expect_probe ok udp-sendto 127.0.0.1 "$UDP4"
expect_no_event
expect_probe errno=EPERM udp-sendto 127.0.0.2 "$UDP4B"
expect_event "$deny_v4 and .hook == \"sendmsg4\" and .daddr == \"127.0.0.2\" and .dport == $UDP4B"
expect_probe errno=EPERM udp-sendto 127.0.0.1 "$UDP4B"
expect_event "$deny_v4 and .hook == \"sendmsg4\" and .daddr == \"127.0.0.1\" and .dport == $UDP4B"
expect_probe errno=EPERM udp-sendto ::1 "$UDP6"
expect_event ".hook == \"sendmsg6\" and .protocol == \"udp\" and .daddr == \"::1\" and .dport == $UDP6"
ok "udp: connected and unconnected, by address and port"

# raw socket: refused at creation
expect_probe errno=EPERM raw x 0
expect_event ".hook == \"sock_create\" and .reason == \"raw-socket\" and .verdict == \"deny\""
ok "raw socket EPERM at sock_create with its event"

# 0.0.0.0 and :: are the local host: decided as 127.0.0.1 and ::1
expect_probe ok tcp 0.0.0.0 "$TCP4"
expect_no_event
expect_probe ok udp-sendto 0.0.0.0 "$UDP4"
expect_no_event
expect_probe errno=EPERM udp-sendto 0.0.0.0 "$UDP4B"
expect_event "$deny_v4 and .hook == \"sendmsg4\" and .daddr == \"127.0.0.1\" and .dport == $UDP4B"
expect_probe errno=EPERM tcp :: "$TCP4"
expect_event ".hook == \"connect6\" and .daddr == \"::1\" and .dport == $TCP4"
ok "0.0.0.0 and :: decided as 127.0.0.1 and ::1"

# an outside address, tried only inside an empty network namespace
unshare -n $PY "$EXAI_SRC/tests/egress/probe.py" --cgroup "$CG" tcp 192.0.2.1 443 >"$T/probe" 2>&1 ||
	fail "unshare probe: $(cat "$T/probe")"
PROBE_PID=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/probe")
[ "$(sed -n 2p "$T/probe")" = errno=EPERM ] || fail "outside address: $(cat "$T/probe")"
expect_event "$deny_v4 and .hook == \"connect4\" and .daddr == \"192.0.2.1\" and .dport == 443"
ok "an outside address EPERM (in unshare -n) with its event"

# ICMP echo: its sends pass no sendmsg hook, so the backstop decides every packet (by the
# socket's record of its protocol), inside unshare -n (ping_group_range is per namespace)
ping_probe() { # ping_probe ADDR: the probe's result line
	unshare -n sh -c 'ip link set lo up && sysctl -qw net.ipv4.ping_group_range="0 0" && exec "$@"' sh \
		$PY "$EXAI_SRC/tests/egress/probe.py" --cgroup "$CG" ping-send "$1" 0 >"$T/probe" 2>&1 ||
		fail "ping probe: $(cat "$T/probe")"
	PROBE_PID=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/probe")
	PROBE_RESULT=$(sed -n 2p "$T/probe")
}
ping_probe 127.0.0.3
[ "$PROBE_RESULT" = ok ] || fail "ping 127.0.0.3 (icmp allowed): $(cat "$T/probe")"
expect_no_event
ping_probe 127.0.0.2
[ "$PROBE_RESULT" = errno=EPERM ] || fail "ping 127.0.0.2: $(cat "$T/probe")"
expect_event "$deny_v4 and .hook == \"skb_egress\" and .protocol == \"icmp\" and .daddr == \"127.0.0.2\""
ok "ICMP echo: 127.0.0.3 allowed, 127.0.0.2 EPERM from the backstop with its event"

# the counters saw every denial; nothing was lost
exai-egress status --json >"$T/st" || fail "status: exit $?"
jq -e '.attached and .unsigned and .generation == 1 and .counters.denied == 15 and .counters.lost == 0' "$T/st" >/dev/null ||
	{ cat "$T/st" >&2; fail "status counters"; }
ok "status: attached, unsigned, 15 denied, 0 lost"
