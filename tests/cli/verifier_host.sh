# airgap-verifier host against --root fixture trees (tests/fixtures/verifier-host): the dirty
# tree plants one finding per rule at a known file:line(:col) (real /proc/net formats, real
# config files); the clean tree has none; each output format; malformed and missing /proc
# files fail closed; usage and config errors exit 2.
. "$EXAI_SRC/tests/cli/lib.sh"
F="$EXAI_SRC/tests/fixtures/verifier-host"
V() { airgap-verifier host "$@"; }
# "rule path:line:col severity" per finding, sorted
rows() { jq -r '.findings[] | "\(.rule_id) \(.path):\(.line):\(.column) \(.severity)"' "$T/out" | LC_ALL=C sort; }

expect_rc 1 V --root "$F/dirty" --config "$F/dirty.yaml" --format json
rows >"$T/got"
cat >"$T/want" <<'EOS'
host.dns.public /etc/resolv.conf:4:12 high
host.dns.public /etc/systemd/resolved.conf:3:13 high
host.egress.unpinned /sys/fs/bpf/exai/egress6:0:0 high
host.listen.unexpected /proc/net/tcp6:2:0 medium
host.listen.unexpected /proc/net/tcp6:3:0 low
host.listen.unexpected /proc/net/tcp:2:0 medium
host.listen.unexpected /proc/net/tcp:3:0 low
host.listen.unexpected /proc/net/udp6:2:0 medium
host.listen.unexpected /proc/net/udp:2:0 medium
host.ntp.public /etc/chrony/chrony.conf:3:6 medium
host.ntp.public /etc/chrony/sources.d/site.sources:2:8 medium
host.ntp.public /etc/ntpsec/ntp.conf:3:6 medium
host.ntp.public /etc/systemd/timesyncd.conf:3:13 medium
host.ntp.public /etc/systemd/timesyncd.conf:3:44 medium
host.route.default /proc/net/ipv6_route:3:0 high
host.route.default /proc/net/route:2:0 high
EOS
diff "$T/want" "$T/got" || fail "dirty fixture findings differ"
ev() { jq -r --arg p "$1" '.findings[] | select(.path + ":" + (.line|tostring) == $p) | .evidence' "$T/out"; }
[ "$(ev /proc/net/route:2)" = "default via 192.168.0.1 dev eth0 metric 100" ] || fail "route evidence: $(ev /proc/net/route:2)"
[ "$(ev /proc/net/ipv6_route:3)" = "default via fd00::1 dev eth0 metric 1024" ] || fail "route6 evidence"
[ "$(ev /proc/net/tcp:2)" = "tcp 0.0.0.0:22 (uid 0, inode 21001)" ] || fail "tcp evidence"
[ "$(ev /proc/net/tcp:3)" = "tcp 127.0.0.1:8080 (uid 1000, inode 21002)" ] || fail "tcp lo evidence"
[ "$(ev /proc/net/tcp6:2)" = "tcp [::]:22 (uid 0, inode 21004)" ] || fail "tcp6 evidence"
[ "$(ev /proc/net/udp6:2)" = "udp [fe80::1]:546 (uid 0, inode 21009)" ] || fail "udp6 evidence"
[ "$(ev /etc/resolv.conf:4)" = "nameserver 8.8.8.8" ] || fail "dns evidence"
jq -e '.findings[] | select(.path == "/etc/resolv.conf" and .line == 3)' "$T/out" >/dev/null &&
	fail "10.0.0.2 reported"
jq -e '[.findings[] | select(.message | test("127.127.1.0|10.0.0.5|ntp.site.internal"))] | length == 0' \
	"$T/out" >/dev/null || fail "a local time server was reported"
[ "$(jq -r .passed "$T/out")" = false ] || fail "json passed"
ok "dirty fixture: every planted finding at its exact file:line:col, nothing local reported"

expect_rc 0 V --root "$F/clean"
expect_contains "$T/out" "0 findings"
expect_contains "$T/out" "host config: /etc/exai/airgap-host.yaml"
expect_contains "$T/out" "listen: 6 listening socket(s) seen"
ok "clean fixture (config found under --root, resolv.conf an absolute symlink inside it): 0 findings"

expect_rc 0 V --root "$F/dirty" --config "$F/dirty.yaml" --fail-on none
expect_rc 0 V --root "$F/dirty" --config "$F/dirty.yaml" --fail-on critical
expect_rc 1 V --root "$F/dirty" --config "$F/dirty.yaml" --fail-on high
ok "--fail-on decides the exit status"

expect_rc 1 V --root "$F/dirty" --config "$F/dirty.yaml" --format sarif --output "$T/r.sarif"
[ ! -s "$T/out" ] || fail "--output still printed"
jq -e '.version == "2.1.0" and (.runs[0].results | length) == 16 and
	([.runs[0].tool.driver.rules[].id] | index("host.drift.modified") != null) and
	(.runs[0].results[] | select(.ruleId == "host.dns.public" and
	 .locations[0].physicalLocation.region.startLine == 4) | .level) == "error"' \
	"$T/r.sarif" >/dev/null || fail "sarif"
expect_rc 1 V --root "$F/dirty" --config "$F/dirty.yaml" --format junit
expect_contains "$T/out" 'name="host.route.default at /proc/net/route:2" file="/proc/net/route"'
expect_contains "$T/out" 'name="host.drift.missing" time="0"/>'
# 16 findings (one testcase each) + 7 rules that found nothing; 14 at or above --fail-on
expect_contains "$T/out" 'tests="23" failures="14" errors="0" skipped="0"'
n=$(grep -c '<failure' "$T/out")
[ "$n" = 14 ] || fail "junit: $n failures, want 14 (the 2 low ones are below --fail-on)"
expect_rc 1 V --root "$F/dirty" --config "$F/dirty.yaml"
expect_contains "$T/out" "/proc/net/route:2: high [host.route.default] IPv4 default route"
ok "sarif (to --output), junit (a test case per finding and per quiet rule) and text"

# fail closed: malformed lines, a missing /proc table
R="$T/root"
cp -a "$F/clean" "$R"
printf '   9: ZZZ:0016 00000000:0000 0A\n' >>"$R/proc/net/tcp"
rm "$R/proc/net/udp"
expect_rc 1 V --root "$R" --format json
rows >"$T/got"
printf '%s\n' "host.incomplete /proc/net/tcp:5:0 medium" "host.incomplete /proc/net/udp:0:0 medium" >"$T/want"
diff "$T/want" "$T/got" || fail "incomplete findings"
ok "a malformed /proc line or a missing table fails closed (host.incomplete at the line)"

# timesyncd with no NTP= and FallbackNTP= never set: compiled-in public servers
cp -a "$F/clean" "$T/r2"
printf '[Time]\n#NTP=\n#FallbackNTP=0.debian.pool.ntp.org\n' >"$T/r2/etc/systemd/timesyncd.conf"
expect_rc 1 V --root "$T/r2" --format json
[ "$(rows)" = "host.ntp.public /etc/systemd/timesyncd.conf:0:0 medium" ] || fail "timesyncd default: $(rows)"
mkdir "$T/r2/etc/systemd/timesyncd.conf.d"
printf '[Time]\nFallbackNTP=\n' >"$T/r2/etc/systemd/timesyncd.conf.d/site.conf"
expect_rc 0 V --root "$T/r2"
ok "timesyncd falling back to its compiled-in pool is caught; a drop-in emptying FallbackNTP= fixes it"

# allowlists in the config lift findings
cat >"$T/allow.yaml" <<'EOS'
version: 1
routes: {allow_default: true}
listen: {allow_loopback: true, allow: ["* *:*"]}
dns: {allow: [8.8.8.8, 1.1.1.1]}
ntp: {allow: ["*.pool.ntp.org", time.cloudflare.com]}
egress: {pins: [/sys/fs/bpf/exai/egress4]}
EOS
expect_rc 0 V --root "$F/dirty" --config "$T/allow.yaml"
printf 'version: 1\nchecks: [routes]\n' >"$T/only.yaml"
expect_rc 1 V --root "$F/dirty" --config "$T/only.yaml" --format json
[ "$(rows | cut -d' ' -f1 | sort -u)" = host.route.default ] || fail "checks: [routes]"
ok "the config's allowlists and check selection"

expect_rc 2 V --root "$T/nonexistent"
expect_contains "$T/err" "--root $T/nonexistent"
printf 'version: 1\nlisten:\n  allow: [tcp 22]\n' >"$T/bad.yaml"
expect_rc 2 V --root "$F/clean" --config "$T/bad.yaml"
expect_contains "$T/err" "$T/bad.yaml:3:11: listener 'tcp 22'"
expect_rc 2 V --frobnicate
expect_rc 2 V --format xml
expect_rc 0 V --help
ok "usage and config errors exit 2 (config errors at file:line:col)"

# the shipped example config parses (its drift section names /etc/exai/update.yaml, which
# the clean fixture lacks: that is the one error it can give)
expect_rc 2 V --root "$F/clean" --config "$EXAI_SRC/verifier/host/host.yaml.example"
expect_contains "$T/err" "drift: exai-update config /etc/exai/update.yaml not found under $F/clean"
ok "verifier/host/host.yaml.example is a valid host config"

# Bounds refuse, never cut: a DNS= list of 64 local servers then a public one still reports
# the public one (the token list used to stop at 64), 100 drop-ins are all read (the 100th
# names a public server), and more drop-ins than the checker reads is an error, not a pass.
cp -a "$F/clean" "$T/many"
mkdir -p "$T/many/etc/systemd/resolved.conf.d"
{
	echo "[Resolve]"
	printf 'DNS='
	i=1
	while [ $i -le 64 ]; do printf '10.0.0.%d ' $i; i=$((i + 1)); done
	echo "8.8.8.8"
} >"$T/many/etc/systemd/resolved.conf"
expect_rc 1 V --root "$T/many" --format json
jq -e '[.findings[] | select(.rule_id == "host.dns.public" and (.evidence | test("8.8.8.8")))] | length == 1' \
	"$T/out" >/dev/null || { cat "$T/out" >&2; fail "the 65th server of DNS= was not checked"; }
printf '[Resolve]\nDNS=10.0.0.1\n' >"$T/many/etc/systemd/resolved.conf"
i=1
while [ $i -le 100 ]; do
	printf '[Resolve]\nDNS=10.1.0.%d\n' $i >"$T/many/etc/systemd/resolved.conf.d/$(printf %03d $i).conf"
	i=$((i + 1))
done
printf '[Resolve]\nDNS=9.9.9.9\n' >"$T/many/etc/systemd/resolved.conf.d/100.conf"
expect_rc 1 V --root "$T/many" --format json
jq -e '[.findings[] | select(.rule_id == "host.dns.public" and (.path | test("100.conf")))] | length == 1' \
	"$T/out" >/dev/null || { cat "$T/out" >&2; fail "the 100th drop-in was not read"; }
while [ $i -le 1025 ]; do
	: >"$T/many/etc/systemd/resolved.conf.d/x$i.conf"
	i=$((i + 1))
done
expect_rc 2 V --root "$T/many"
expect_contains "$T/err" "more than 1024 '*.conf' files: refusing to check only some of them"
ok "bounds refuse: 65 DNS= servers all checked, 100 drop-ins all read, 1025 is an error"

# systemd reads DNS= as a list: a drop-in's DNS= adds to the main file's, only an empty DNS=
# resets it. A public server in the main file is not hidden by a local one in a drop-in.
rm -rf "$T/many/etc/systemd/resolved.conf.d"
mkdir -p "$T/many/etc/systemd/resolved.conf.d"
printf '[Resolve]\nDNS=8.8.8.8\n' >"$T/many/etc/systemd/resolved.conf"
printf '[Resolve]\nDNS=10.0.0.1\n' >"$T/many/etc/systemd/resolved.conf.d/local.conf"
expect_rc 1 V --root "$T/many" --format json
jq -e '[.findings[] | select(.rule_id == "host.dns.public" and .path == "/etc/systemd/resolved.conf")] | length == 1' \
	"$T/out" >/dev/null || { cat "$T/out" >&2; fail "a drop-in hid the main file's public DNS="; }
printf '[Resolve]\nDNS=\nDNS=10.0.0.1\n' >"$T/many/etc/systemd/resolved.conf.d/local.conf"
expect_rc 0 V --root "$T/many"
ok "DNS= assignments add up across drop-ins; only an empty DNS= resets the list"
