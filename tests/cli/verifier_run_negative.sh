# airgap-verifier run, negative control: a program that looks names up and tries TCP, UDP and
# ICMP to documentation-range addresses over IPv4 and IPv6 is caught, item by item, and the
# run fails with exit 1. Every run sits in an outer network namespace (in_netns).
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root

resolv_before=$(sha256sum /etc/resolv.conf)
expect_rc 1 in_netns airgap-verifier run --user root --format json --output "$T/r.json" -- "$PHONE" \
	lookup example.com \
	tcp 192.0.2.1 443 udp 198.51.100.7 123 icmp 203.0.113.9 \
	tcp 2001:db8::1 8443 udp 2001:db8::2 123 icmp 2001:db8::3 \
	dns 198.51.100.53 direct.example dnstcp tcp.example
expect_contains "$T/err" "report in $T/r.json"
jq_true "$T/r.json" '.mode == "run" and .passed == false'
note "$T/r.json" "command exit status: 0"
attempt "$T/r.json" "192.0.2.1:443" "proto=tcp dst=192.0.2.1 port=443 packets="
attempt "$T/r.json" "198.51.100.7:123" "proto=udp dst=198.51.100.7 port=123 packets=1"
attempt "$T/r.json" "203.0.113.9" "proto=icmp dst=203.0.113.9 icmp_type=8 packets=1"
attempt "$T/r.json" "[2001:db8::1]:8443" "proto=tcp dst=2001:db8::1 port=8443 packets="
attempt "$T/r.json" "[2001:db8::2]:123" "proto=udp dst=2001:db8::2 port=123 packets=1"
attempt "$T/r.json" "2001:db8::3" "proto=icmpv6 dst=2001:db8::3 icmp_type=128 packets=1"
attempt "$T/r.json" "198.51.100.53:53" "proto=udp dst=198.51.100.53 port=53 packets=1"
ok "seven attempts recorded with protocol, address and port or ICMP type"
lookup "$T/r.json" example.com A sink/udp
lookup "$T/r.json" example.com AAAA sink/udp
lookup "$T/r.json" tcp.example TXT sink/tcp
lookup "$T/r.json" direct.example A 198.51.100.53:53/udp
ok "lookups recorded: resolv.conf over UDP and TCP, and straight to an outside resolver"
count "$T/r.json" run.egress.attempt 7
count "$T/r.json" run.dns.lookup 4
count "$T/r.json" run.dns.malformed 0
jq_true "$T/r.json" '.summary.findings == 11 and .summary.suppressed == 0'
ok "nothing else reported (no kernel link chatter, no malformed DNS)"
jq_true "$T/r.json" 'all(.findings[]; .severity == "high" and (.hint | length) > 0)'
ok "findings are high severity with a fix hint"

[ "$(sha256sum /etc/resolv.conf)" = "$resolv_before" ] || fail "/etc/resolv.conf changed"
[ -z "$(ls -d "$T"/airgap-run.* 2>/dev/null)" ] || fail "temp resolv.conf dir left behind"
ok "the host's resolv.conf is untouched and no temp files are left"

# the other formats carry the same findings
expect_rc 1 in_netns airgap-verifier run -- "$PHONE" tcp 192.0.2.1 443 lookup example.com
expect_contains "$T/out" "high [run.egress.attempt] tcp traffic to 192.0.2.1:443 tried to leave"
expect_contains "$T/out" "evidence: proto=tcp dst=192.0.2.1 port=443"
expect_contains "$T/out" "high [run.dns.lookup] DNS lookup of example.com (A)"
ok "text report"
expect_rc 1 in_netns airgap-verifier run --format sarif -- "$PHONE" udp 192.0.2.1 53
jq_true "$T/out" '.version == "2.1.0" and (.runs[0].results | length) == 1 and
	.runs[0].results[0].ruleId == "run.egress.attempt" and
	.runs[0].results[0].locations[0].logicalLocations[0].name == "192.0.2.1:53" and
	(.runs[0].results[0].locations[0] | has("physicalLocation") | not) and
	.runs[0].results[0].properties.endpoint == "192.0.2.1:53"'
ok "sarif report: the address is a logical location, not a file URI"
expect_rc 1 in_netns airgap-verifier run --format junit -- "$PHONE" udp 192.0.2.1 53
expect_contains "$T/out" 'name="run.egress.attempt at 192.0.2.1:53" time="0">'
expect_contains "$T/out" "<failure"
ok "junit report"
echo "1..$tests_run"
