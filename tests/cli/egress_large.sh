#!/bin/sh
# exai-egress at issue 16's size and at its bounds: a generated policy of exactly 100,000
# rules (tests/egress/bigpolicy.awk: /32 hosts on the even addresses from 127.1.0.0, /24
# blocks from 127.64.0.0, IPv6 /64s, plus a few port rules of the test's own that nest) is
# accepted and enforced, probed by loopback address: a host in the set and its odd neighbour
# outside it, a /24, the port push-down inside it, ::1 by a tcp rule. The same policy padded
# to exactly the 8 MiB file bound is accepted; one byte more is refused (exit 1, the bound in
# the message), and so is a policy of 200,001 rules (one over the rule bound, after one of
# exactly 200,000 is accepted); each time the policy before stays in force, probes and all.
# Allowed TCP probes go to ports nobody listens on: ECONNREFUSED means the SYN left (allowed),
# EPERM that the policy refused it. No packet leaves loopback.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
BIG="$EXAI_SRC/tests/egress/bigpolicy.awk"
MAX_BYTES=8388608

# big FILE NRULES: NRULES rules in all, the last 6 the test's own
big() {
	awk -v n=$(($2 - 6)) -v cg="$CG" -f "$BIG" >"$1"
	cat >>"$1" <<'EOR'
      - {cidr: 127.200.5.0/24, protocol: tcp, ports: 443}
      - {cidr: 127.200.5.9, protocol: tcp, ports: 80}
      - {cidr: 127.200.6.0/24, protocol: udp, ports: 53}
      - {cidr: "::1", protocol: tcp, ports: 9}
      - {cidr: 127.201.0.0/16, protocol: any}
      - {cidr: 127.201.7.0/24, protocol: udp, ports: 7}
EOR
}

# the verdicts of the 100,000-rule policy
probes() {
	expect_probe errno=ECONNREFUSED tcp 127.1.134.6 9
	expect_no_event
	expect_probe errno=EPERM tcp 127.1.134.7 9
	expect_event '.daddr == "127.1.134.7" and .reason == "no-rule" and .generation == '"$1"
	expect_probe ok udp-sendto 127.2.100.40 9
	expect_probe errno=EPERM udp-sendto 127.2.100.41 9
	expect_event '.daddr == "127.2.100.41" and .hook == "sendmsg4"'
	expect_probe errno=ECONNREFUSED tcp 127.64.200.77 9
	expect_probe errno=EPERM tcp 127.200.5.9 81
	expect_event '.daddr == "127.200.5.9" and .dport == 81'
	expect_probe errno=ECONNREFUSED tcp 127.200.5.9 80
	expect_probe errno=ECONNREFUSED tcp 127.200.5.9 443
	expect_probe errno=EPERM tcp 127.200.5.10 80
	expect_event '.daddr == "127.200.5.10" and .dport == 80'
	expect_probe errno=ECONNREFUSED tcp 127.201.7.1 9
	expect_probe errno=ECONNREFUSED tcp ::1 9
	expect_probe errno=EPERM udp-sendto ::1 9
	expect_event '.daddr == "::1" and .hook == "sendmsg6"'
}

big "$T/p100k.yaml" 100000
expect_rc 0 exai-egress apply --policy "$T/p100k.yaml" --unsigned
expect_contains "$T/out" "generation 1, mode enforce, 1 workload, 100000 rules"
probes 1
ok "a 100,000-rule policy ($(stat -c %s "$T/p100k.yaml") bytes) is accepted and enforced"

# exactly at the file bound: the same rules and a comment up to 8 MiB
cp "$T/p100k.yaml" "$T/at.yaml"
pad=$((MAX_BYTES - $(stat -c %s "$T/at.yaml") - 2))
{ printf '#'; head -c "$pad" /dev/zero | tr '\0' ' '; printf '\n'; } >>"$T/at.yaml"
[ "$(stat -c %s "$T/at.yaml")" = $MAX_BYTES ] || fail "padding: $(stat -c %s "$T/at.yaml") bytes"
expect_rc 0 exai-egress apply --policy "$T/at.yaml" --unsigned
expect_contains "$T/out" "generation 2, mode enforce, 1 workload, 100000 rules"
probes 2
ok "a policy of exactly 8 MiB is accepted"

# one byte over: refused, generation 2 stays in force
{ cat "$T/at.yaml"; printf ' '; } >"$T/over.yaml"
expect_rc 1 exai-egress apply --policy "$T/over.yaml" --unsigned
expect_contains "$T/err" "over.yaml: 8388609 bytes, over the limit of 8388608"
mkdir "$T/dir"
cp "$T/over.yaml" "$T/dir/policy.yaml"
expect_rc 1 exai-egress reload --policy-dir "$T/dir" --unsigned
expect_contains "$T/err" "8388609 bytes, over the limit of 8388608"
expect_rc 0 exai-egress status --json
jq -e '.generation == 2 and .applied_generation == 2 and .attached' "$T/out" >/dev/null ||
	fail "status after the refusal: $(cat "$T/out")"
probes 2
ok "one byte over the file bound is refused (apply and reload); generation 2 stays"

# the rule bound: 200,000 rules (written compactly to fit) accepted, 200,001 refused
rules() { # rules FILE N
	{
		printf 'version: 1\ndefault: deny\nworkloads:\n  - name: big\n    cgroup: %s\n    rules: [\n' "$CG"
		awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "{cidr: 127.%d.%d.%d,protocol: any},\n", 1 + int(i / 65536), int(i / 256) % 256, i % 256 }'
		printf ']\n'
	} >"$1"
}
rules "$T/r200k.yaml" 200000
expect_rc 0 exai-egress apply --policy "$T/r200k.yaml" --unsigned
expect_contains "$T/out" "generation 3, mode enforce, 1 workload, 200000 rules"
expect_probe errno=ECONNREFUSED tcp 127.4.13.63 9
expect_probe errno=EPERM tcp 127.4.13.64 9
expect_event '.daddr == "127.4.13.64" and .generation == 3'
expect_rc 0 exai-egress apply --policy "$T/p100k.yaml" --unsigned
rules "$T/r200k1.yaml" 200001
expect_rc 1 exai-egress apply --policy "$T/r200k1.yaml" --unsigned
expect_contains "$T/err" "r200k1.yaml:6:12: more than 200000 rules in the policy"
expect_rc 0 exai-egress status --json
jq -e '.generation == 4 and .attached' "$T/out" >/dev/null || fail "status after 200,001 rules: $(cat "$T/out")"
probes 4
ok "200,000 rules accepted, 200,001 refused at the rules; the policy before stays"
