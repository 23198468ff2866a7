# airgap-verifier run --allow CIDR:PORT: matching attempts are suppressed (and still listed),
# the rest still fail the run.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root

expect_rc 0 in_netns airgap-verifier run --format json --allow 192.0.2.0/24:443 -- \
	"$PHONE" tcp 192.0.2.1 443
attempt "$T/out" "192.0.2.1:443" "proto=tcp dst=192.0.2.1 port=443" true
jq_true "$T/out" '.findings[0].suppress_reason == "allowed by --allow 192.0.2.0/24:443" and
	.passed == true and .summary.suppressed == 1'
ok "an allowed attempt is listed as suppressed and the run passes"

expect_rc 1 in_netns airgap-verifier run --format json --allow 192.0.2.0/24:80 -- \
	"$PHONE" tcp 192.0.2.1 443
attempt "$T/out" "192.0.2.1:443" "proto=tcp dst=192.0.2.1 port=443" false
ok "another port is not allowed"

expect_rc 1 in_netns airgap-verifier run --format json --allow 192.0.2.0/25:* -- \
	"$PHONE" tcp 192.0.2.1 443 udp 192.0.2.200 53
attempt "$T/out" "192.0.2.1:443" "proto=tcp" true
attempt "$T/out" "192.0.2.200:53" "proto=udp" false
ok "a prefix covers only its own addresses"

# phone_home's ICMP uses a raw socket: CAP_NET_RAW, so these run as root.
expect_rc 0 in_netns airgap-verifier run --user root --format json --allow '[2001:db8::/32]:8443' \
	--allow '203.0.113.0/24:*' -- "$PHONE" tcp 2001:db8::1 8443 icmp 203.0.113.9
attempt "$T/out" "[2001:db8::1]:8443" "proto=tcp" true
attempt "$T/out" "203.0.113.9" "proto=icmp" true
ok "IPv6 CIDRs and any-port rules"

expect_rc 1 in_netns airgap-verifier run --user root --format json --allow 203.0.113.0/24:443 -- \
	"$PHONE" icmp 203.0.113.9
attempt "$T/out" "203.0.113.9" "proto=icmp" false
ok "ICMP has no port: only a * rule allows it"

expect_rc 1 in_netns airgap-verifier run --format json --allow 0.0.0.0/0:* --allow '[::/0]:*' -- \
	"$PHONE" tcp 192.0.2.1 443 lookup example.com
count "$T/out" run.dns.lookup 2
jq_true "$T/out" '[.findings[] | select(.rule_id == "run.egress.attempt")] | all(.suppressed)'
ok "lookups are never allowed by --allow"

expect_rc 2 airgap-verifier run --allow 192.0.2.1/24:443 -- true
expect_contains "$T/err" "bits set past /24"
expect_rc 2 airgap-verifier run --allow 2001:db8::1:443 -- true
expect_contains "$T/err" "[ADDR]:PORT"
ok "bad --allow rules are usage errors"
echo "1..$tests_run"
