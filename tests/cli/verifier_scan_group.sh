# airgap-verifier scan groups identical evidence: one finding per rule and match within a
# package root (package.json, pyproject.toml, Chart.yaml, ...; the whole scan for files under
# none), with a count and its first 5 locations, in every format. Source maps and x.min.js
# next to x.js are listed after the sources; --no-group lists every location.
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
cd "$T"

URL=https://collector.vendor-one.zz/v1/events
mkdir -p tree/pkg1/lib tree/pkg1/dist tree/pkg2 tree/loose
echo '{"name": "pkg1", "version": "1.0.0"}' >tree/pkg1/package.json
echo '{"name": "pkg2", "version": "1.0.0"}' >tree/pkg2/package.json
for i in 1 2 3 4 5 6 7 8; do echo "const u = \"$URL\";" >tree/pkg1/lib/m$i.js; done
echo "const u = \"$URL\";" >tree/pkg1/dist/app.js
echo "const u = \"$URL\";" >tree/pkg1/dist/app.min.js
echo "{\"sourcesContent\": [\"const u = \\\"$URL\\\";\"]}" >tree/pkg1/dist/app.js.map
echo "const u = \"$URL\";" >tree/pkg2/index.js
echo "U = \"$URL\"" >tree/loose/a.py
echo "U = \"$URL\"" >tree/loose/b.py
echo "V = \"https://other.vendor-one.zz/\"" >tree/loose/c.py

expect_rc 1 airgap-verifier scan tree --format json --output g.json
expect_rc 1 airgap-verifier scan tree --format json --no-group --output all.json
$PY - g.json all.json "$URL" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
url = sys.argv[3]
assert len(a["findings"]) == 15 and all(f["count"] == 1 for f in a["findings"]), a["findings"]
fs = sorted(g["findings"], key=lambda f: f["path"])
got = [(f["rule_id"], f["path"], f["count"], len(f["locations"])) for f in fs]
want = [("net.url.public", "tree/loose/a.py", 2, 2),
        ("net.url.public", "tree/loose/c.py", 1, 1),
        ("net.url.public", "tree/pkg1/dist/app.js", 11, 5),
        ("net.url.public", "tree/pkg2/index.js", 1, 1)]
assert got == want, got
p1 = fs[2]
locs = [l["path"] for l in p1["locations"]]
assert locs[0] == p1["path"] and locs[0] == "tree/pkg1/dist/app.js", locs
assert not any(l.endswith((".map", ".min.js")) for l in locs), locs  # sources first
assert p1["evidence"] == url
assert g["summary"]["findings"] == 4 and g["summary"]["occurrences"] == 15, g["summary"]
PY
ok "identical evidence is one finding per package root, with a count and 5 locations"

expect_rc 1 airgap-verifier scan tree --format sarif --output g.sarif
expect_rc 1 airgap-verifier scan tree --format junit --output g.xml
$PY - g.sarif g.xml <<'PY'
import json, sys, xml.etree.ElementTree as ET
res = json.load(open(sys.argv[1]))["runs"][0]["results"]
assert len(res) == 4, len(res)
big = [r for r in res if r.get("occurrenceCount") == 11]
assert len(big) == 1 and len(big[0]["locations"]) == 5, big
s = ET.parse(sys.argv[2]).getroot().find("./testsuite")
fails = [c for c in s.findall("testcase") if c.find("failure") is not None]
assert len(fails) == 4 and s.get("failures") == "4", len(fails)
text = [c.find("failure").text for c in fails if "seen 11 times" in c.find("failure").text]
assert len(text) == 1 and "(and 6 more)" in text[0], text
PY
expect_rc 1 airgap-verifier scan tree
expect_contains "$T/out" "airgap-verifier scan: 4 findings"
expect_contains "$T/out" "    seen 11 times; also at: tree/pkg1/lib/m1.js:1:12, tree/pkg1/lib/m2.js:1:12, tree/pkg1/lib/m3.js:1:12, tree/pkg1/lib/m4.js:1:12 (and 6 more)"
expect_contains "$T/out" "    seen 2 times; also at: tree/loose/b.py:1:6"
ok "sarif (occurrenceCount), junit (one testcase per group) and text carry the groups"

# x.min.js with no x.js is the only copy: it leads its group like any source
rm tree/pkg1/dist/app.js tree/pkg1/lib/*.js
expect_rc 1 airgap-verifier scan tree/pkg1 --format json --output m.json
$PY - m.json <<'PY'
import json, sys
fs = json.load(open(sys.argv[1]))["findings"]
assert [(f["path"], f["count"]) for f in fs] == [("tree/pkg1/dist/app.min.js", 2)], fs
assert fs[0]["locations"][1]["path"] == "tree/pkg1/dist/app.js.map"
PY
ok "a minified file with no source next to it is not ranked down; the map still is"
echo "1..$tests_run"
