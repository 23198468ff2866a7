# airgap-verifier scan: the telemetry / crash-reporting / feature-flag / analytics rule pack.
# Each vendor rule (verifier/rules/default.yaml, `hosts` + `packages`) has a fixture dir
# tests/fixtures/verifier/telemetry/<rule id>/ holding the SDK's real default endpoint
# constant and its package identity, one per file: every file must give that rule and no
# other vendor rule. near-miss/ holds names that contain a vendor's name without being it
# ("not-sentry-helper", "mysentry.io", docs links): no vendor rule may fire there.
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
FX="$EXAI_SRC/tests/fixtures/verifier/telemetry"
RULES="$EXAI_SRC/verifier/rules/default.yaml"
cd "$T"
cp -r "$FX" tel

expect_rc 1 airgap-verifier scan tel --no-group --format json --output t.json
$PY - t.json tel "$RULES" <<'PY'
import collections, json, os, re, sys
d = json.load(open(sys.argv[1]))
root = sys.argv[2]
# the vendor rules: the ones with hosts/packages in the shipped rules file
text = open(sys.argv[3]).read()
vendor = []
for block in re.split(r"\n  - id: ", text)[1:]:
    rid = block.split("\n", 1)[0].strip()
    if re.search(r"^    (hosts|packages):", block, re.M):
        vendor.append(rid)
assert len(vendor) >= 14, vendor
dirs = sorted(x for x in os.listdir(root) if x != "near-miss")
assert sorted(vendor) == dirs, ("a vendor rule without a fixture (or the reverse)", sorted(vendor), dirs)
by_file = collections.defaultdict(set)
for f in d["findings"]:
    if f["rule_id"].startswith("telemetry."):
        by_file[f["path"]].add(f["rule_id"])
for rid in dirs:
    files = sorted(os.listdir(os.path.join(root, rid)))
    assert len(files) == 2, (rid, files)
    for n in files:
        p = "%s/%s/%s" % (root, rid, n)
        assert by_file.get(p) == {rid}, (p, by_file.get(p))
near = {p: r for p, r in by_file.items() if p.startswith(root + "/near-miss/")}
assert not near, near
# endpoint findings replace the medium URL finding on the same text
urls = [f for f in d["findings"] if f["rule_id"] == "net.url.public" and "/near-miss/" not in f["path"]]
assert not urls, [(f["path"], f["evidence"]) for f in urls]
print("vendor rules:", len(dirs))
PY
ok "each vendor rule fires on its SDK's endpoint constant and package identity, and only there"
ok "no vendor rule fires on near misses (not-sentry-helper, mysentry.io, docs links)"

# hosts/packages are data: a rules file can add a vendor; bad entries are refused at their line
cat >vendor.yaml <<'EOF2'
version: 1
rules:
  - id: telemetry.acme
    severity: high
    hosts: [beacon.acme-metrics.zz]
    packages: ["@acme-metrics/*"]
EOF2
mkdir a
echo 'fetch("https://eu.beacon.acme-metrics.zz/v1"); import "@acme-metrics/web";' >a/x.js
echo 'fetch("https://beacon.acme-metrics.zzz/"); import "@acme-metrics-fork/web";' >a/y.js
expect_rc 1 airgap-verifier scan a --rules vendor.yaml --no-group --format json --output v.json
[ "$($PY -c 'import json,sys; print(sorted((f["path"], f["rule_id"]) for f in json.load(open("v.json"))["findings"] if f["rule_id"].startswith("telemetry.")))')" = "[('a/x.js', 'telemetry.acme'), ('a/x.js', 'telemetry.acme')]" ] || fail "user vendor rule"
printf 'version: 1\nrules:\n  - id: telemetry.bad\n    severity: high\n    hosts: ["not a host"]\n' >bad.yaml
expect_rc 2 airgap-verifier scan a --rules bad.yaml
expect_contains "$T/err" "bad.yaml:5:12: host 'not a host': want a DNS name"
printf 'version: 1\nrules:\n  - id: telemetry.bad\n    severity: high\n    packages: ["*"]\n' >bad2.yaml
expect_rc 2 airgap-verifier scan a --rules bad2.yaml
expect_contains "$T/err" "package '*'"
ok "a rules file adds a vendor by hosts and packages; bad entries are refused at file:line:col"
echo "1..$tests_run"
