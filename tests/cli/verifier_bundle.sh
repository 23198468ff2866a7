# airgap-verifier bundle, end to end: a clean bundle (plain .exb and encrypted directory) has
# no findings; a missing image, a planted URL, a tampered payload, an encrypted bundle without
# a key and a wrong trust root each give exactly the finding they should, at its location;
# JSON, SARIF and JUnit parse; usage and unreadable inputs exit 2.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/verifier_bundle_lib.sh"
vb_setup
cd "$T"

# --- clean: software tree + model + images archive holding what the chart references + chart
vb_spec
vb_bundle clean.exb --no-encrypt
expect_rc 0 $V bundle clean.exb --root keys/root --now $NOW --format json --output clean.json
$PY - clean.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["mode"] == "bundle" and d["passed"] is True, d
assert d["findings"] == [] and d["summary"]["findings"] == 0, d["findings"]
notes = "\n".join(d["notes"])
assert "signatures: 1 valid of 1 required (trust root version 1)" in notes, notes
assert "closure: 2 image reference(s) (2 by digest); 2 complete image(s) by digest in clean.exb!images/base" in notes, notes
assert "closure: 1 templated image reference(s)" in notes, notes
assert "plaintext hash of all 6 components" in notes, notes
ids = [r["id"] for r in d["rules"]]
for r in ("bundle.verify", "bundle.encrypted", "bundle.closure.missing-image",
          "bundle.closure.unpinned-image", "net.url.public", "scan.incomplete"):
    assert r in ids, r
PY
expect_rc 0 $V bundle clean.exb --root keys/root --now $NOW
expect_contains "$T/out" "airgap-verifier bundle: 0 findings"
ok "clean plain bundle: exit 0, zero findings, closure of 2 images by digest"

vb_bundle clean-enc --recipient keys/s1.pub --recipient keys/s2.pub
expect_rc 0 $V bundle clean-enc --root keys/root --key keys/s2.key --now $NOW --json
[ "$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$T/out")" = 0 ] ||
	fail "encrypted clean bundle has findings"
ok "clean encrypted directory bundle, decrypted with a recipient's site key: zero findings"

# --- encrypted, no --key: verified as far as possible, then fails closed
expect_rc 1 $V bundle clean-enc --root keys/root --now $NOW
expect_contains "$T/out" "clean-enc: high [bundle.encrypted] encrypted bundle and no --key"
expect_contains "$T/out" "note: payload: every chunk hash matches the signed chunk table"
expect_not_contains "$T/out" "(offset"
expect_contains "$T/err" "clean-enc: encrypted and no --key: verified, but the contents were not scanned"
s1=$(awk 'NR==1 {print $NF}' keys/s1.pub)
s2=$(awk 'NR==1 {print $NF}' keys/s2.pub)
expect_contains "$T/out" "evidence: recipients:"
expect_contains "$T/out" "$s1"
expect_contains "$T/out" "$s2"
expect_rc 0 $V bundle clean-enc --root keys/root --now $NOW --fail-on critical
ok "encrypted bundle without --key fails closed at the default --fail-on, naming the recipients"

# --- a chart references an image its images archive lacks
bad="sha256:$(printf 'not in the bundle' | sha256sum | cut -c1-64)"
vb_chart "$API_DIGEST" "$bad"
vb_bundle missing.exb --no-encrypt
expect_rc 1 $V bundle missing.exb --root keys/root --now $NOW --format json --output missing.json
findings missing.json | sed 's/ *$//' >got.txt
echo "bundle.closure.missing-image missing.exb!chart/demo!templates/worker.yaml:11:18" >want.txt
diff -u want.txt got.txt || fail "missing image finding"
$PY - missing.json "$bad" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["findings"][0]
bad = sys.argv[2]
assert f["severity"] == "high", f
assert f["evidence"] == "registry.site.internal/app/worker:1.0@" + bad, f
assert "image registry.site.internal/app/worker:1.0 is not in the bundle" in f["message"], f
assert "looked for manifest " + bad + " in missing.exb!images/base" in f["message"], f
PY
ok "an image the chart references but the bundle lacks: one finding at the reference"

# values.yaml (the values-style map) is checked the same way
vb_chart "$bad" "$WORKER_DIGEST"
vb_bundle missing2.exb --no-encrypt
expect_rc 1 $V bundle missing2.exb --root keys/root --now $NOW --format json --output m2.json
findings m2.json | sed 's/ *$//' >got.txt
echo "bundle.closure.missing-image missing2.exb!chart/demo!values.yaml:3:15" >want.txt
diff -u want.txt got.txt || fail "missing image from values.yaml"
ok "values.yaml image map {registry, repository, tag, digest} is part of the closure"
vb_chart "$API_DIGEST" "$WORKER_DIGEST"

# --- a phone-home URL planted in a software file
printf '#!/bin/sh\n# report home\necho "https://telemetry.vendor.zz/v1/collect"\n' >src/app/bin/run
vb_bundle dirty.exb --no-encrypt
expect_rc 1 $V bundle dirty.exb --root keys/root --now $NOW --format json --output dirty.json
findings dirty.json | sed 's/ *$//' >got.txt
echo "net.url.public dirty.exb!software/app!bin/run:3:7" >want.txt
diff -u want.txt got.txt || fail "planted URL"
expect_contains dirty.json '"evidence": "https://telemetry.vendor.zz/v1/collect"'
expect_rc 1 $V bundle dirty.exb --root keys/root --now $NOW
expect_contains "$T/out" "dirty.exb!software/app!bin/run:3:7: medium [net.url.public] URL to a non-local host: telemetry.vendor.zz"
ok "a URL planted in a software file: found at BUNDLE!software/app!bin/run:3:7"

# SARIF 2.1.0 and JUnit of the same run
expect_rc 1 $V bundle dirty.exb --root keys/root --now $NOW --format sarif --output dirty.sarif
expect_rc 1 $V bundle dirty.exb --root keys/root --now $NOW --format junit --output dirty.xml
$PY - dirty.sarif dirty.xml <<'PY'
import json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1]))
assert d["version"] == "2.1.0" and "sarif-schema-2.1.0" in d["$schema"]
run = d["runs"][0]
ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
assert "bundle.closure.missing-image" in ids and "bundle.verify" in ids
res = run["results"]
assert len(res) == 1, res
r = res[0]
assert r["ruleId"] == "net.url.public" and ids[r["ruleIndex"]] == "net.url.public"
assert r["level"] == "warning"
loc = r["locations"][0]["physicalLocation"]
assert loc["artifactLocation"]["uri"] == "dirty.exb!software/app!bin/run", loc
assert (loc["region"]["startLine"], loc["region"]["startColumn"]) == (3, 7), loc
x = ET.parse(sys.argv[2]).getroot()
assert loc["artifactLocation"]["uriBaseId"] == "SCANROOT", loc
cases = {c.get("name"): c for c in x.findall("./testsuite/testcase")}
# one testcase per finding, one per rule that found nothing
hit = "net.url.public at dirty.exb!software/app!bin/run:3:7"
assert set(cases) == (set(ids) - {"net.url.public"}) | {hit}, set(cases)
assert len(cases[hit].findall("failure")) == 1
assert not cases["bundle.verify"].findall("failure")
assert x.find("./testsuite").get("failures") == "1"
PY
ok "SARIF 2.1.0 and JUnit parse; the finding's location is the bundle path"

# --- tampered: one payload byte flipped in the last chunk of a directory bundle that also
# holds the planted URL: the verification failure, and nothing from the contents
vb_bundle tampered --no-encrypt
chunks=$(awk '$1 == "chunk-count" {print $2}' tampered/index)
[ "$chunks" -gt 2 ] || fail "want several chunks, got $chunks"
sz=$(stat -c %s tampered/payload)
$PY -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(int(sys.argv[2])); b=f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0]^1]))' \
	tampered/payload $((sz - 1))
expect_rc 1 $V bundle tampered --root keys/root --now $NOW --format json --output t.json --fail-on none
findings t.json | sed 's/ *$//' >got.txt
echo "bundle.verify tampered@0" >want.txt
diff -u want.txt got.txt || fail "tampered: want the verification failure only"
$PY - t.json "$((chunks - 1))" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
f = d["findings"][0]
assert f["severity"] == "critical"
assert f["evidence"] == "payload: chunk %s: hash mismatch" % sys.argv[2], f
assert d["passed"] is False
assert any("nothing from this bundle's contents is reported" in n for n in d["notes"]), d["notes"]
PY
expect_contains "$T/err" "tampered: verification failed"
ok "tampered payload: exit 1 even with --fail-on none, bundle.verify names the chunk, no content findings"

# a flipped byte in the signed index: the signature no longer verifies
vb_bundle tampered2 --no-encrypt
sed -i 's/^sequence 7$/sequence 8/' tampered2/index
expect_rc 1 $V bundle tampered2 --root keys/root --now $NOW --json
expect_contains "$T/out" '"rule_id": "bundle.verify"'
expect_contains "$T/out" "signatures: 0 valid of the 1 required"
ok "tampered index: bundle.verify"

# --- wrong trust root: the bundle's signer is not a release key of it
mk_root 1 other r2
r1=$(awk 'NR==1 {print $NF}' keys/r1.pub)
expect_rc 1 $V bundle clean.exb --root keys/other --now $NOW
expect_contains "$T/out" "clean.exb: critical [bundle.verify] bundle verification failed (root chain, signatures, entries)"
expect_contains "$T/out" "evidence: signatures: 0 valid of the 1 required by root version 1: $r1 unknown key"
ok "wrong --root: exit 1, the finding names the unknown key id"

# expired: --now after the bundle's expiry
expect_rc 1 $V bundle clean.exb --root keys/root --now 2100-01-01 --json
expect_contains "$T/out" "bundle expired at"
ok "expired bundle (--now): bundle.verify"

# a site key that is not a recipient
expect_rc 0 "$B" keygen --type site --out keys/s3
expect_rc 1 $V bundle clean-enc --root keys/root --key keys/s3.key --now $NOW
expect_contains "$T/out" "[bundle.verify] bundle verification failed (unlock)"
expect_contains "$T/out" "evidence: bundle is not encrypted to site key $(awk 'NR==1 {print $NF}' keys/s3.pub)"
ok "a site key that is not a recipient: bundle.verify at unlock"

# --- errors: usage, unreadable root / key / media
expect_rc 2 $V bundle clean.exb
expect_contains "$T/err" "--root ROOT is required"
expect_rc 2 $V bundle --root keys/root
expect_contains "$T/err" "no MEDIA given"
expect_rc 2 $V bundle clean.exb --root keys/root --format xml
expect_rc 2 $V bundle clean.exb --root keys/root --now yesterday
expect_rc 2 $V bundle clean.exb --root keys/nope --now $NOW
expect_contains "$T/err" "--root: keys/nope"
printf 'not a root\n' >keys/garbage
expect_rc 2 $V bundle clean.exb --root keys/garbage --now $NOW
expect_rc 2 $V bundle clean-enc --root keys/root --key keys/nope.key --now $NOW
expect_contains "$T/err" "--key: keys/nope.key"
expect_rc 2 $V bundle nothere.exb --root keys/root --now $NOW
expect_contains "$T/err" "nothere.exb"
expect_rc 0 $V bundle --help
expect_contains "$T/out" "usage: airgap-verifier bundle MEDIA --root ROOT"
ok "usage errors and unreadable root, key or media exit 2"

# a file that is not a bundle at all: a verification failure, not an error
printf 'hello\n' >junk.exb
expect_rc 1 $V bundle junk.exb --root keys/root --now $NOW
expect_contains "$T/out" "[bundle.verify] bundle verification failed (open)"
ok "media that is not a bundle: bundle.verify at open"
