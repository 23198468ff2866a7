# airgap-verifier bundle: image archives nested in an images tree (docker save with an OCI
# index, and an old docker save without one), layers scanned at exact locations, tag-only
# references, model weights over max_entry_size scanned in windows, the allow file, grouping
# per component, and the project's own helm/ and images/ when they have content.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/verifier_bundle_lib.sh"
vb_setup
cd "$T"

# --- an images component that is a tree of archives: docker save (with index.json) + legacy
mkdir -p more layers/tools/etc layers/legacy/usr/bin manifests
printf '# tools\nupstream = "https://telemetry.vendor.zz/v1"\n' >layers/tools/etc/app.conf
printf '#!/bin/sh\nexec /opt/legacy/run\n' >layers/legacy/usr/bin/legacy
$PY "$VFX/mkimage.py" docker more/saved.tar \
	"registry.site.internal/app/tools:2.0=$T/layers/tools" >tools.txt
$PY "$VFX/mkimage.py" legacy more/old.tar \
	"registry.site.internal/app/legacy:0.9=$T/layers/legacy" >legacy.txt
read -r _ tools_md tools_ld <tools.txt
read -r _ legacy_md _ <legacy.txt
{
	printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tools\n  namespace: app\n'
	printf 'spec:\n  template:\n    spec:\n      containers:\n'
	printf '        - name: tools\n          image: registry.site.internal/app/tools:2.0@%s\n' "$tools_md"
	printf '        - name: legacy\n          image: registry.site.internal/app/legacy:0.9@%s\n' "$legacy_md"
	printf '        - name: legacy-tag\n          image: registry.site.internal/app/legacy:0.9\n'
} >manifests/k8s.yaml
vb_spec "- {type: images, name: more, version: \"1\", source: src/../more}" \
	"- {type: files, name: manifests, version: \"1\", source: src/../manifests}"
vb_bundle more.exb --no-encrypt
expect_rc 1 $V bundle more.exb --root keys/root --now $NOW --format json --output more.json
findings more.json | sed 's/ *$//' | sort >got.txt
{
	echo "bundle.closure.missing-image more.exb!files/manifests!k8s.yaml:13:18"
	echo "bundle.closure.unpinned-image more.exb!files/manifests!k8s.yaml:15:18"
	echo "k8s.image.digest more.exb!files/manifests!k8s.yaml:15:18"
	echo "net.url.public more.exb!images/more!saved.tar!blobs/sha256/${tools_ld#sha256:}!etc/app.conf:2:13"
} | sort >want.txt
diff -u want.txt got.txt || fail "nested image archives"
$PY - more.json "$legacy_md" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
by = {f["rule_id"]: f for f in d["findings"]}
m = by["bundle.closure.missing-image"]
assert "looked for manifest %s in " % sys.argv[2] in m["message"], m
assert "more.exb!images/more!saved.tar" in m["message"], m
assert "more.exb!images/more!old.tar" in m["message"], m
u = by["bundle.closure.unpinned-image"]
assert u["severity"] == "medium"
assert "an image archive names it: more.exb!images/more!old.tar" in u["message"], u
notes = "\n".join(d["notes"])
assert "closure: 5 image reference(s) (4 by digest); 3 complete image(s) by digest" in notes, notes
PY
ok "docker save inside an images tree: found by digest through its index.json; layers scanned at exact locations"
ok "an old docker save (no index.json) satisfies no digest; a tag-only reference is its own finding"

# --- the allow file: closure and content findings can be suppressed (with a justification)
{
	printf 'version: 1\nsuppressions:\n'
	printf '  - rule: net.url.public\n    path: "*!images/more!*"\n'
	printf '    justification: vendor endpoint disabled by the site config (ticket 7)\n'
	printf '  - rule: bundle.closure.*\n    path: "files/manifests!k8s.yaml"\n'
	printf '    justification: legacy image loaded by hand at this site\n'
	printf '    expires: 2999-01-01\n'
	printf '  - rule: k8s.image.digest\n    justification: was fine\n    expires: 2001-01-01\n'
} >allow.yaml
expect_rc 1 $V bundle more.exb --root keys/root --now $NOW --allow allow.yaml --format json --output a.json
findings a.json | sed 's/ *$//' | sort >got.txt
{
	echo "allow.expired allow.yaml:10:5"
	echo "bundle.closure.missing-image more.exb!files/manifests!k8s.yaml:13:18 suppressed"
	echo "bundle.closure.unpinned-image more.exb!files/manifests!k8s.yaml:15:18 suppressed"
	echo "k8s.image.digest more.exb!files/manifests!k8s.yaml:15:18"
	echo "net.url.public more.exb!images/more!saved.tar!blobs/sha256/${tools_ld#sha256:}!etc/app.conf:2:13 suppressed"
} | sort >want.txt
diff -u want.txt got.txt || fail "allow file"
ok "allow file: suppressions by rule and path (relative to the bundle); an expired one is a finding"

# bundle.verify is never suppressed
printf 'version: 1\nsuppressions:\n  - rule: "*"\n    justification: everything\n' >all.yaml
mk_root 1 other r2
expect_rc 1 $V bundle more.exb --root keys/other --now $NOW --allow all.yaml --json
expect_contains "$T/out" '"rule_id": "bundle.verify"'
expect_contains "$T/out" '"suppressed": false'
ok "a verification failure cannot be suppressed"

# --- model weights over max_entry_size: binary rules in windows, offsets from the blob start
M=1048576
$PY - big.bin small/weights.bin <<'PY'
import os, random, sys
r = random.Random(11)
M = 1 << 20
def blob(n, plants):
    b = bytearray(r.getrandbits(8) for _ in range(n))
    for off, s in plants:
        b[off - 1] = 0
        b[off:off + len(s)] = s
        b[off + len(s)] = 0
    return bytes(b)
# one URL across the first window boundary (1 MiB), one deep in the blob
open(sys.argv[1], "wb").write(blob(3 * M + 12345, [(M - 20, b"https://beacon.vendor.zz/a"),
                                                   (2 * M + 777, b"https://beacon.vendor.zz/b")]))
os.makedirs(os.path.dirname(sys.argv[2]), exist_ok=True)
open(sys.argv[2], "wb").write(blob(2 * M + 5, [(M + 3, b"https://beacon.vendor.zz/c")]))
PY
printf 'channel: stable\nsequence: 9\nexpires_in_days: 30\ntarget:\n  classes: [gpu-appliance]\ncomponents:\n' >spec.yaml
printf '  - {type: model, name: llama, version: "3", source: big.bin}\n' >>spec.yaml
printf '  - {type: model, name: weights, version: "1", source: small}\n' >>spec.yaml
vb_bundle models.exb --no-encrypt
printf 'version: 1\nsettings:\n  max_entry_size: 1048576\n' >small-entries.yaml
expect_rc 1 $V bundle models.exb --root keys/root --now $NOW --rules small-entries.yaml \
	--window-mib 1 --format json --output models.json
findings models.json | sed 's/ *$//' | sort >got.txt
{
	echo "net.url.public models.exb!model/llama@$((M - 20))"
	echo "net.url.public models.exb!model/llama@$((2 * M + 777))"
	echo "net.url.public models.exb!model/weights!weights.bin@$((M + 3))"
} | sort >want.txt
diff -u want.txt got.txt || fail "windowed model scan"
# the same bundle with the default entry size: the same findings, scanned whole
expect_rc 1 $V bundle models.exb --root keys/root --now $NOW --format json --output whole.json
findings whole.json | sed 's/ *$//' | sort >got2.txt
diff -u want.txt got2.txt || fail "whole model scan"
ok "model weights over max_entry_size: binary rules in windows, same findings and offsets as whole"

# text over max_entry_size is not windowed: scan.incomplete (fails closed)
head -c 1100000 /dev/zero | tr '\0' 'a' >big.txt
printf 'channel: stable\nsequence: 9\nexpires_in_days: 30\ntarget:\n  classes: [gpu-appliance]\ncomponents:\n' >spec.yaml
printf '  - {type: files, name: text, version: "1", source: big.txt}\n' >>spec.yaml
vb_bundle text.exb --no-encrypt
expect_rc 1 $V bundle text.exb --root keys/root --now $NOW --rules small-entries.yaml --json
expect_contains "$T/out" '"rule_id": "scan.incomplete"'
expect_contains "$T/out" "bytes of text, over max_entry_size"
ok "text over max_entry_size: scan.incomplete"

# --- grouping: identical evidence within one component is one finding with a count and its
# first locations; the same evidence in another component is a finding of its own.
URL=https://collector.vendor-two.zz/v1/events
mkdir -p grp/a grp/b
for i in 1 2 3 4 5 6 7; do echo "const u = \"$URL\";" >grp/a/m$i.js; done
echo "const u = \"$URL\";" >grp/b/index.js
printf 'channel: stable\nsequence: 9\nexpires_in_days: 30\ntarget:\n  classes: [gpu-appliance]\ncomponents:\n' >spec.yaml
printf '  - {type: files, name: one, version: "1", source: grp/a}\n' >>spec.yaml
printf '  - {type: files, name: two, version: "1", source: grp/b}\n' >>spec.yaml
vb_bundle grp.exb --no-encrypt
expect_rc 1 $V bundle grp.exb --root keys/root --now $NOW --format json --output grp.json
expect_rc 1 $V bundle grp.exb --root keys/root --now $NOW --format json --no-group --output all.json
$PY - grp.json all.json <<'PY' || fail "bundle mode grouping"
import json, sys
g = json.load(open(sys.argv[1]))["findings"]
a = json.load(open(sys.argv[2]))["findings"]
assert len(a) == 8 and all(f["count"] == 1 for f in a), [(f["path"], f["count"]) for f in a]
got = sorted((f["rule_id"], f["path"].split("!")[1], f["count"], len(f["locations"])) for f in g)
assert got == [("net.url.public", "files/one", 7, 5), ("net.url.public", "files/two", 1, 1)], got
PY
ok "bundle mode groups identical evidence per component (7 in one, 1 in another); --no-group lists all 8"

# --- the project's own chart and image recipe, when they have content
if [ -f "$EXAI_SRC/helm/Chart.yaml" ]; then
	printf 'channel: stable\nsequence: 9\nexpires_in_days: 30\ntarget:\n  classes: [gpu-appliance]\ncomponents:\n' >spec.yaml
	printf '  - {type: chart, name: appliance, version: "1", source: %s/helm}\n' "$EXAI_SRC" >>spec.yaml
	if [ -n "$(find "$EXAI_SRC/images" -type f ! -name .gitkeep 2>/dev/null | head -1)" ]; then
		printf '  - {type: files, name: image-recipe, version: "1", source: %s/images}\n' \
			"$EXAI_SRC" >>spec.yaml
	fi
	vb_bundle own.exb --no-encrypt
	set +e
	$V bundle own.exb --root keys/root --now $NOW --format json --output own.json
	set -e
	# This test bundle carries no image archives, so only closure findings may appear.
	findings own.json | grep -v '^bundle\.closure\.' >other.txt || true
	[ ! -s other.txt ] || { cat other.txt >&2; fail "helm/ or images/ not clean"; }
	ok "the project's helm/ and images/ scan clean in a bundle (closure aside)"
else
	ok "# SKIP helm/ has no chart yet"
fi
