# airgap-verifier scan: what a finding's context says about it (verifier/scan/scan_ctx.c), on the
# real-world pattern fixtures (tests/realworld/fixtures): URLs in documentation rank low and
# pass the default gate, versions and netmasks are not addresses, findings in comments and
# docstrings are info, a PEM BEGIN line needs a key body, an install command in a program's
# message is not run, an off switch counts only where it is set, in its own package, and a
# Helm values file is read as the chart's configuration (service type, egress, images under
# any key, telemetry switches).
. "$EXAI_SRC/tests/cli/lib.sh"
FX="$EXAI_SRC/tests/realworld/fixtures"
PY=/usr/bin/python3
cd "$T"
cp -r "$FX" fx

# findings FILE.json -> "rule severity path:line" per line, sorted
findings() {
	$PY - "$1" <<'PY' | sort
import json, sys
for f in json.load(open(sys.argv[1]))["findings"]:
    print(f["rule_id"], f["severity"], "%s:%d" % (f["path"], f["line"]))
PY
}

# Every location on its own line (--no-group): the severity is judged per location.
expect_rc 1 airgap-verifier scan fx --format json --no-group --output all.json
findings all.json >got.txt
sort >want.txt <<'W'
dns.public-resolver info fx/chart-values-comment/values.yaml:3
dns.public-resolver info fx/chart-values-comment/values.yaml:4
dns.public-resolver info fx/comments/svc.service:3
dns.public-resolver info fx/resolver/resolved.conf:4
dns.public-resolver info fx/resolver/resolved.conf:5
dns.public-resolver info fx/resolver/resolved.conf:6
helm.values.telemetry high fx/helm-values/values.yaml:15
helm.values.telemetry high fx/helm-values/values.yaml:17
hf.hub-online high fx/offswitch/b/model.py:2
hf.hub-online high fx/offswitch/c/model.py:5
install.pip high fx/pip-live/bootstrap.py:3
k8s.image.digest medium fx/helm-values/values.yaml:12
k8s.image.digest medium fx/helm-values/values.yaml:9
k8s.image.no-registry high fx/helm-values/values.yaml:12
k8s.image.registry high fx/helm-values/values.yaml:9
k8s.netpol.egress-public high fx/helm-values/values.yaml:6
k8s.service.loadbalancer medium fx/helm-values/values.yaml:2
net.host.public low fx/helm-values/values.yaml:8
net.url.public info fx/comments/client.js:2
net.url.public info fx/comments/client.js:4
net.url.public info fx/comments/client.js:5
net.url.public info fx/comments/client.py:3
net.url.public info fx/comments/client.py:5
net.url.public info fx/comments/svc.service:2
net.url.public low fx/doc-only-pkg/CHANGELOG.md:4
net.url.public low fx/doc-only-pkg/README.md:3
net.url.public low fx/doc-only-pkg/README.md:3
net.url.public low fx/doc-only-pkg/README.md:4
net.url.public low fx/doc-only-pkg/README.md:4
net.url.public low fx/doc-vs-code/README.md:1
net.url.public medium fx/doc-vs-code/lib.js:1
W
diff -u want.txt got.txt || fail "fixture findings differ"
ok "every fixture finding at the severity its context gives"

# The clean items pass the default gate (medium) on their own, with no suppression file.
for d in doc-only-pkg netmask resolver chart-values-comment pem-comment pip-message comments \
	offswitch/a offswitch/d offswitch/e helm-values-clean; do
	expect_rc 0 airgap-verifier scan "fx/$d"
done
ok "clean items pass the default gate"

# Context never hides what is live: the same URL in code, a live resolver, a real install.
expect_rc 1 airgap-verifier scan fx/doc-vs-code
expect_contains "$T/out" "lib.js:1:"
printf 'DNS=8.8.8.8\n' >live.conf
expect_rc 1 airgap-verifier scan live.conf --format json --no-group --output live.json
[ "$(findings live.json)" = "dns.public-resolver high live.conf:1" ] || fail "live resolver: $(findings live.json)"
ok "live references keep their severity"

# A private key with a body is critical even in a comment (a key in a comment still ships);
# in a string with \n escapes too. The BEGIN line alone is nothing.
mkdir keys
printf '# -----BEGIN RSA ''PRIVATE KEY-----\n# MIIEpAIBAAKCAQEAvWkq3c2Hd\n' >keys/commented.sh
printf 'const K = "-----BEGIN ''PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0B\\n";\n' >keys/inline.js
printf '## -----BEGIN RSA ''PRIVATE KEY-----\n## -----END RSA ''PRIVATE KEY-----\n' >keys/banner.sh
printf -- '-----BEGIN ENCRYPTED ''PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0011\n\nMIIEpAIBAAKCAQEAvWkq3c2Hd\n' >keys/hdr.pem
expect_rc 1 airgap-verifier scan keys --format json --no-group --output keys.json
findings keys.json >got.txt
cat >want.txt <<'W'
secret.private-key critical keys/commented.sh:1
secret.private-key critical keys/hdr.pem:1
secret.private-key critical keys/inline.js:1
W
diff -u want.txt got.txt || fail "private-key findings differ"
ok "a private key needs a body; commented keys stay critical"

# Off switches: set in the same package root silences; read, compared or commented out does
# not; another package's switch does not. Scanned together or apart, the same answer.
mkdir -p sw/p sw/q
printf '{"name": "p"}\n' >sw/p/package.json
printf '{"name": "q"}\n' >sw/q/package.json
printf 'from_pretrained("m")\n' >sw/p/m.py
printf 'from_pretrained("m")\n# HF_HUB_OFFLINE=1\nif [ "$HF_HUB_OFFLINE" = 1 ]; then :; fi\nx = process.env.HF_HUB_OFFLINE === "1"\n' >sw/q/m.py
printf 'os.environ.setdefault("HF_HUB_OFFLINE", "1")\n' >sw/p/env.py
expect_rc 1 airgap-verifier scan sw --format json --no-group --output sw.json
[ "$(findings sw.json)" = "hf.hub-online high sw/q/m.py:1" ] || fail "off switch scope: $(findings sw.json)"
ok "an off switch counts only where set, in its own package"

# Versions and netmasks are not addresses; the same spot with a real address is.
printf 'Version: 1.2.3.4\nrelease 4.3.2.1-beta\nmask 255.255.255.0\nold 0.9.8.0\npeer 93.184.216.34\n' >ips.conf
expect_rc 1 airgap-verifier scan ips.conf --format json --no-group --output ips.json
[ "$(findings ips.json)" = "net.ip.public medium ips.conf:5" ] || fail "versions: $(findings ips.json)"
ok "versions and netmasks are not IP findings"

# Package metadata is not fetched at run time: homepage, repository, bugs, a contributor's
# site in package.json (its closing parenthesis is not part of the URL), Homepage in
# DEBIAN/control, debconf prompts rank low; a URL under another key stays medium.
mkdir -p meta/pkg/DEBIAN
cat >meta/pkg/package.json <<'J'
{
  "name": "m",
  "homepage": "https://github.com/someone/m#readme",
  "repository": {"type": "git", "url": "git+https://github.com/someone/m.git"},
  "contributors": [
    "Some One <one@mail.example> (https://one.dev)"
  ],
  "config": {"endpoint": "https://api.vendor-metrics.io/v1"}
}
J
printf 'Package: m\nHomepage: https://www.iana.org/time-zones\nDescription: x\n' >meta/pkg/DEBIAN/control
printf 'Template: m/ask\nDescription: Send reports to https://popcon.vendor-metrics.io/?\n' >meta/pkg/DEBIAN/templates
expect_rc 1 airgap-verifier scan meta --format json --no-group --output meta.json
findings meta.json >got.txt
sort >want.txt <<'W'
net.url.public low meta/pkg/DEBIAN/control:2
net.url.public low meta/pkg/DEBIAN/templates:2
net.url.public low meta/pkg/package.json:3
net.url.public low meta/pkg/package.json:4
net.url.public low meta/pkg/package.json:6
net.url.public medium meta/pkg/package.json:8
W
diff -u want.txt got.txt || fail "metadata findings differ"
# git+https:// was not a URL at all: in a script it is a live fetch.
printf '#!/bin/sh\npip3 install --user git+https://github.com/vendor/agent.git\n' >meta/get.sh
expect_rc 1 airgap-verifier scan meta/get.sh --format json --no-group --output get.json
findings get.json >got.txt
printf 'install.pip high meta/get.sh:2\nnet.url.public medium meta/get.sh:2\n' >want.txt
diff -u want.txt got.txt || fail "git+https findings differ"
ok "package metadata URLs rank low, a configured endpoint does not; git+https is a URL"

# Documentation ranks every rule but secrets down (a README naming an SDK does not run it),
# and a document full of links is not scan.incomplete: the cap lists at most
# max_findings_per_file findings per severity, and only past it at medium or above is the
# file incomplete.
mkdir bigdoc
echo 'Uses sentry_sdk and posthog-node; see releases/latest.' >bigdoc/NEWS.md
i=0
while [ $i -lt 250 ]; do echo "- https://host$i.vendor-metrics.io/x" >>bigdoc/NEWS.md; i=$((i + 1)); done
expect_rc 0 airgap-verifier scan bigdoc --format json --no-group --output big.json
$PY - big.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rules = sorted({f["rule_id"] for f in d["findings"]})
assert rules == ["net.url.public", "telemetry.posthog", "telemetry.sentry", "update.checker"], rules
assert all(f["severity"] == "low" for f in d["findings"]), sev
assert len(d["findings"]) == 200, len(d["findings"])
assert not [f for f in d["findings"] if f["rule_id"] == "scan.incomplete"], sev
assert any("bigdoc/NEWS.md: 53 more low findings not listed" in n for n in d["notes"]), d["notes"]
PY
ok "documentation is low for every rule; its link count is a note, not scan.incomplete"

# A source map is never run (the code it maps is scanned on its own): low, secrets excepted.
mkdir maps
printf '{"version":3,"sourcesContent":["fetch(\\"https://api.vendor-metrics.io/v1\\")"]}\n' >maps/a.js.map
printf 'fetch("https://api.vendor-metrics.io/v1")\n' >maps/a.js
expect_rc 1 airgap-verifier scan maps --format json --no-group --output maps.json
findings maps.json >got.txt
printf 'net.url.public low maps/a.js.map:1\nnet.url.public medium maps/a.js:1\n' >want.txt
diff -u want.txt got.txt || fail "source map findings differ"
ok "source maps rank low, the code they map does not"

# A YAML document over the parser's 4 MiB cap had its Kubernetes / values checks skipped
# silently: now it is scan.incomplete, and the text rules still ran over it.
mkdir bigvals
$PY -c "
print('proxy: {registry: docker.io, repository: envoy, tag: \"1\"}')
print('items:')
for i in range(420000): print('  - item-%07d' % i)
" >bigvals/values.yaml
expect_rc 1 airgap-verifier scan bigvals --format json --no-group --output bigvals.json
$PY - bigvals.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
inc = [f for f in d["findings"] if f["rule_id"] == "scan.incomplete"]
assert len(inc) == 1 and "over 4194304 bytes" in inc[0]["evidence"], d["findings"]
assert any(f["rule_id"] == "net.host.public" for f in d["findings"]), d["findings"]
PY
ok "a YAML document too big to parse is scan.incomplete"

# A .deb is an ar archive of compressed tarballs: its bytes say nothing about the files it
# installs, and it once passed with 0 findings. Its control and data archives are read as
# nested archives (verifier_scan_deb.sh holds it to the unpacked tree's findings), the
# unpacked tree is scanned, and an ar archive that is not a Debian package (a static library,
# plain members) is still scanned as one file.
mkdir -p deb/pkg/DEBIAN deb/pkg/usr/lib/x
printf 'Package: x\nVersion: 1.0\nArchitecture: all\nMaintainer: a <a@b.example>\nDescription: x\n' >deb/pkg/DEBIAN/control
echo 'curl -fsSL https://get.vendor-metrics.io/i.sh | sh' >deb/pkg/usr/lib/x/setup.sh
dpkg-deb --build --root-owner-group deb/pkg deb/x.deb >/dev/null
expect_rc 1 airgap-verifier scan deb/x.deb --format json --no-group --output deb.json
findings deb.json | grep -q "^install.pipe-to-shell high deb/x.deb!data.tar.xz!usr/lib/x/setup.sh:1$" ||
	fail "deb: $(findings deb.json)"
! findings deb.json | grep -q "^scan.incomplete" || fail "deb incomplete: $(findings deb.json)"
dpkg-deb -R deb/x.deb deb/un
expect_rc 1 airgap-verifier scan deb/un --format json --no-group --output un.json
findings un.json | grep -q "^install.pipe-to-shell high deb/un/usr/lib/x/setup.sh:1$" ||
	fail "unpacked deb: $(findings un.json)"
echo 'see https://api.vendor-metrics.io/v1' >member.txt
ar rc lib.a member.txt 2>/dev/null
expect_rc 1 airgap-verifier scan lib.a --format json --no-group --output ar.json
[ "$(findings ar.json | cut -d' ' -f1,2)" = "net.url.public medium" ] || fail "ar: $(findings ar.json)"
ok "a .deb is read through its members (it was 0 findings); its unpacked tree and plain ar are scanned"
