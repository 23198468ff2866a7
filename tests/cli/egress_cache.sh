#!/bin/sh
# The per-socket verdict record of exai-egress (an allowed destination remembered with the
# trie it was allowed in): it can only ever allow what the live policy allows. On the SAME
# UDP sockets (tests/egress/cache.py): port, address and family are in the record; a reload
# that removes an allowed destination denies the very next send, also with a thread sending
# without pause; audit <-> enforce swaps; a generation number reused (state rewound with
# bpftool) with a new trie; two threads writing the record while a third must stay denied;
# the verdict cache shared by all sockets, on a new TCP socket each connect (protocol in its
# key; a reload denies the next connect).
# All of it inside `unshare -n` (one send is to an address outside loopback, which must be
# refused before it could leave). The EXIT trap (egress_lib.sh) detaches and removes the pins
# and the cgroup, also on failure.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v bpftool >/dev/null || fail "bpftool missing (scripts/deps.sh)"
EXAI_EGRESS_SOCKET=$T/no-daemon.sock # the direct reload path, never a daemon's
export EXAI_EGRESS_SOCKET
PA=5301
PB=5302

policy() { # policy FILE [RULE...]
	f=$1
	shift
	printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$CG" >"$f"
	printf '      - {cidr: 127.0.0.1/32, protocol: any}\n' >>"$f"
	for r in "$@"; do printf '      - %s\n' "$r" >>"$f"; done
}
policy "$T/allow.yaml" "{cidr: 127.0.0.3, protocol: udp, ports: $PA}" "{cidr: 127.0.0.3, protocol: tcp, ports: $PB}"
policy "$T/deny.yaml"
expect_rc 0 exai-egress apply --policy "$T/allow.yaml" --unsigned

unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
	$PY "$EXAI_SRC/tests/egress/cache.py" "$CG" "$T" "$PA" "$PB" >"$T/cache.out" 2>&1 ||
	{ cat "$T/cache.out" >&2; fail "cache.py failed"; }
cat "$T/cache.out"
for c in key reload nonstop mode reuse threads tcp; do
	grep -q "^ok $c" "$T/cache.out" || fail "case $c did not pass"
done
ok "the verdict record: port, address, family; reloads; nonstop sends; modes; a reused generation; threads; the shared verdict cache on new TCP sockets"

# the denials above were decided and reported as before (never remembered; cache.py's mode
# case counts the audits, which the per-socket rate limit may keep from being events)
expect_rc 0 exai-egress events --json
jq -e 'select(.daddr == "127.0.0.3" and .verdict == "deny" and .reason == "no-rule")' \
	"$T/out" >/dev/null || fail "no deny event for 127.0.0.3"
ok "denials of the record's destination are events"
