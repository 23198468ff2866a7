# Helpers for the airgap-verifier bundle tests (sourced after lib.sh and bundle_lib.sh).
# vb_setup: keys (release r1..r3, site s1 s2), root "root" (1 of r1), the fixture tree in
#   $T/src, its two images in $T/src/images/base.tar (OCI layout) with their digests in
#   $API_DIGEST / $WORKER_DIGEST, the chart rendered with those digests.
# vb_spec [EXTRA-COMPONENT-LINES]: writes $T/spec.yaml (app, model, images, chart, policy,
#   files) plus the given lines.
# vb_bundle OUT [create options]: creates and signs (r1) a bundle from $T/spec.yaml.
# findings FILE.json: "rule location" per line, location path:line:col or path@offset.
VFX="$EXAI_SRC/tests/fixtures/verifier-bundle"
PY=/usr/bin/python3
V=airgap-verifier
NOW=1750000001
export SOURCE_DATE_EPOCH=1750000000

vb_setup() {
	mk_keys
	mk_root 1 root r1
	cp -r "$VFX/tree" "$T/src"
	mkdir -p "$T/src/images"
	$PY "$VFX/mkimage.py" oci "$T/src/images/base.tar" \
		"registry.site.internal/app/api:1.0=$T/src/layers/api" \
		"registry.site.internal/app/worker:1.0=$T/src/layers/worker" >"$T/digests"
	API_DIGEST=$(awk '/app\/api:/ {print $2}' "$T/digests")
	WORKER_DIGEST=$(awk '/app\/worker:/ {print $2}' "$T/digests")
	[ -n "$API_DIGEST" ] && [ -n "$WORKER_DIGEST" ] || fail "mkimage.py gave no digests"
	vb_chart "$API_DIGEST" "$WORKER_DIGEST"
	# A model: deterministic bytes with no printable runs worth a rule.
	$PY -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(200000)))' \
		>"$T/src/model.safetensors"
}

# vb_chart API_DIGEST WORKER_DIGEST: the chart's values and worker template with these digests.
vb_chart() {
	sed "s/@API_DIGEST@/$1/" "$VFX/tree/chart/values.yaml" >"$T/src/chart/values.yaml"
	sed "s/@WORKER_DIGEST@/$2/" "$VFX/tree/chart/templates/worker.yaml" \
		>"$T/src/chart/templates/worker.yaml"
}

vb_spec() {
	cat >"$T/spec.yaml" <<SPEC
channel: stable
sequence: 7
expires_in_days: 30
target:
  classes: [gpu-appliance]
chunk_size: 65536
components:
  - {type: software, name: app, version: 1.0.0, source: src/app}
  - {type: model, name: llama, version: "3", source: src/model.safetensors}
  - {type: images, name: base, version: "1", source: src/images/base.tar}
  - {type: chart, name: demo, version: 0.1.0, source: src/chart}
  - {type: policy, name: egress, version: "1", source: src/egress.yaml}
  - {type: files, name: conf, version: "1", source: src/files}
SPEC
	for line in "$@"; do printf '  %s\n' "$line" >>"$T/spec.yaml"; done
}

vb_bundle() {
	out=$1
	shift
	rm -rf "$out"
	"$B" create "$T/spec.yaml" --out "$out" "$@" >/dev/null || fail "create $out"
	sign_with "$out" r1
}

findings() {
	$PY - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for f in d["findings"]:
    loc = "%s:%d:%d" % (f["path"], f["line"], f["column"]) if f["line"] else "%s@%d" % (f["path"], f["offset"])
    print(f["rule_id"], loc, "suppressed" if f["suppressed"] else "")
PY
}
