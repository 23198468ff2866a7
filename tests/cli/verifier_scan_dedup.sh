# airgap-verifier scan's duplicate cache: a file with the name and content of one already
# scanned is not scanned again, its findings are the first copy's at its own location. The
# report must be the one --no-dedup (every copy scanned) gives, byte for byte, whatever the
# copies hold: findings held for scan-wide `unless` markers and the markers themselves (each in
# its copy's package root), archives (a package root of their own, entries at "x.tgz!..."),
# the per-file cap's note naming the file, Kubernetes YAML, and copies whose kind by path
# differs (docs/index.html is documentation, app/index.html is not). A copy that differs by
# one byte is scanned afresh.
. "$EXAI_SRC/tests/cli/lib.sh"
PY=/usr/bin/python3
cd "$T"

# Three Python packages with the same model.py (a hub download, held until the end of the
# scan); b and c also have the same env.sh, which sets the off switch for their own package.
for p in a b c; do
	mkdir -p tree/py-$p
	printf '[project]\nname = "py-%s"\n' $p >tree/py-$p/pyproject.toml
	printf 'from huggingface_hub import hf_hub_download\nhf_hub_download("org/model")\n' \
		>tree/py-$p/model.py
done
printf 'export HF_HUB_OFFLINE=1\n' >tree/py-b/env.sh
cp tree/py-b/env.sh tree/py-c/env.sh
# The same npm tarball twice, next to an off switch outside it (a package of its own: the
# switch outside does not count for it).
mkdir -p pkg/package tree/npm1 tree/npm2
echo '{"name": "vendored", "version": "1.0.0"}' >pkg/package/package.json
printf 'const { hf_hub_download } = require("huggingface_hub");\n' >pkg/package/model.js
printf 'fetch("https://telemetry.vendor-one.zz/v1/events");\n' >pkg/package/index.js
tar -C pkg -czf tree/npm1/vendored-1.0.0.tgz package
cp tree/npm1/vendored-1.0.0.tgz tree/npm2/
# And one whose off switch is inside it (set in the tarball's own package root).
mkdir -p off/package
echo '{"name": "offline", "version": "1.0.0"}' >off/package/package.json
cp pkg/package/model.js off/package/model.js
printf 'export HF_HUB_OFFLINE=1\n' >off/package/env.sh
tar -C off -czf tree/npm1/offline-1.0.0.tgz package
cp tree/npm1/offline-1.0.0.tgz tree/npm2/
printf 'export HF_HUB_OFFLINE=1\n' >tree/npm2/env.sh
# Documentation with more links than the per-file cap (3 below): a note names each copy.
mkdir -p tree/doc1 tree/doc2
i=0
while [ $i -lt 8 ]; do echo "- https://host$i.vendor-two.zz/x" >>tree/doc1/NEWS.md; i=$((i + 1)); done
cp tree/doc1/NEWS.md tree/doc2/NEWS.md
# The same page inside and outside a docs/ directory: documentation (low) and not (medium).
mkdir -p tree/site/docs tree/site/app
echo '<script src="https://cdn.vendor-three.zz/a.js"></script>' >tree/site/docs/index.html
cp tree/site/docs/index.html tree/site/app/index.html
# Kubernetes YAML twice (namespaces are judged across files: the copy's are replayed).
mkdir -p tree/k1 tree/k2
cat >tree/k1/deploy.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
    - name: web
      image: nginx:latest
EOF
cp tree/k1/deploy.yaml tree/k2/deploy.yaml
# Same name and size, one byte apart.
mkdir -p tree/x tree/y
echo 'fetch("https://api.vendor-aa.zz/v1");' >tree/x/config.js
echo 'fetch("https://api.vendor-ab.zz/v1");' >tree/y/config.js
printf 'version: 1\nsettings:\n  max_findings_per_file: 3\n' >cap.yaml

scan() { expect_rc 1 airgap-verifier scan tree --rules cap.yaml "$@"; }
# One worker: the copies are scanned in the walk's order, the notes too. Grouped and not
# (grouping would hide a copy reported at the wrong severity).
for out in json sarif text ng.json; do
	fmt=${out#ng.}
	g=$([ "$out" = ng.json ] && echo --no-group || true)
	scan --jobs 1 --format $fmt --output cached.$out $g
	scan --jobs 1 --format $fmt --output fresh.$out $g --no-dedup
	cmp cached.$out fresh.$out || {
		diff -u fresh.$out cached.$out | head -40 >&2
		fail "$out report with the duplicate cache differs from --no-dedup"
	}
done
scan --format json --output cached2.json --no-group
scan --format json --output fresh2.json --no-group --no-dedup
$PY - cached.ng.json cached2.json fresh2.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
c, f = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
# Two workers: the notes come in any order, the findings are sorted.
assert c["findings"] == f["findings"] and sorted(c["notes"]) == sorted(f["notes"]), "jobs 2"
at = {}
for x in d["findings"]:
    at.setdefault(x["path"], []).append((x["rule_id"], x["severity"], x["evidence"]))
hub = sorted(p for p, v in at.items() if any(r == "hf.hub-online" for r, _, _ in v))
assert hub == ["tree/npm1/vendored-1.0.0.tgz!package/model.js",
               "tree/npm2/vendored-1.0.0.tgz!package/model.js",
               "tree/py-a/model.py"], hub
tel = sorted(p for p, v in at.items() if any("telemetry.vendor-one.zz" in e for _, _, e in v))
assert tel == ["tree/npm1/vendored-1.0.0.tgz!package/index.js",
               "tree/npm2/vendored-1.0.0.tgz!package/index.js"], tel
sev = {p: s for p, v in at.items() for r, s, e in v if "vendor-three" in e}
assert sev == {"tree/site/docs/index.html": "low", "tree/site/app/index.html": "medium"}, sev
assert [e for _, _, e in at["tree/x/config.js"]] == ["https://api.vendor-aa.zz/v1"], at
assert [e for _, _, e in at["tree/y/config.js"]] == ["https://api.vendor-ab.zz/v1"], at
for p in ("tree/doc1/NEWS.md", "tree/doc2/NEWS.md"):
    assert p + ": 5 more low findings not listed (max_findings_per_file 3)" in d["notes"], d["notes"]
    assert len(at[p]) == 3, at[p]
k8s = sorted(p for p, v in at.items() if any(r.startswith("k8s.") for r, _, _ in v))
assert k8s == ["tree/k1/deploy.yaml", "tree/k2/deploy.yaml"], k8s
scanned = [n for n in d["notes"] if n.startswith("scanned ")]
assert scanned == [n for n in f["notes"] if n.startswith("scanned ")], scanned
assert d["findings"] == f["findings"]
PY
ok "the duplicate cache's report is --no-dedup's, byte for byte (json, sarif, text, ungrouped)"
ok "held findings, markers, archives, notes and kinds by path land at each copy's location"
ok "a copy one byte apart is scanned afresh"

# The walk holds directories open for their files to be opened relative to them, as many as the
# descriptor limit allows, the rest by path: the same report when only some can be held.
(ulimit -n 660 && expect_rc 1 airgap-verifier scan tree --rules cap.yaml --jobs 1 --format json \
	--output lim.json)
cmp lim.json cached.json || fail "the report differs with few descriptors"
ok "files of directories the walk could not hold open are opened by path: the same report"

expect_rc 2 airgap-verifier scan tree --no-dedup=1
ok "--no-dedup takes no value"
