# Helpers for exai-bundle CLI tests (sourced after lib.sh).
# mk_keys: release keys r1..r3, root keys k1..k3, site keys s1 s2, in $T/keys.
# mk_root THRESHOLD NAME [RELEASE...]: root v1 with root key k1, signed, in $T/keys/NAME.
# mk_tree: a sample source tree with every component type in $T/src and spec $T/spec.yaml.
B="$EXAI_BUILD/bundler/exai-bundle"
[ -x "$B" ] || fail "exai-bundle not built at $B"

mk_keys() {
	mkdir -p "$T/keys"
	for k in r1 r2 r3; do "$B" keygen --type release --no-password --out "$T/keys/$k" >/dev/null; done
	for k in k1 k2 k3; do "$B" keygen --type root --no-password --out "$T/keys/$k" >/dev/null; done
	for k in s1 s2; do "$B" keygen --type site --out "$T/keys/$k" >/dev/null; done
}

mk_root() {
	thr=$1 name=$2
	shift 2
	args=""
	for r in "$@"; do args="$args --release-key $T/keys/$r.pub"; done
	"$B" root init --out "$T/keys/$name" --root-key "$T/keys/k1.pub" --root-threshold 1 \
		$args --release-threshold "$thr" --created 1700000000 --expires never >/dev/null
	"$B" root sign "$T/keys/$name" --key "$T/keys/k1.key" >/dev/null
}

mk_tree() {
	s="$T/src"
	mkdir -p "$s/app/bin" "$s/app/lib" "$s/chart/templates" "$s/files/etc"
	printf '#!/bin/sh\necho app\n' >"$s/app/bin/run"
	chmod 755 "$s/app/bin/run"
	ln -s ../bin/run "$s/app/lib/run-link"
	head -c 5000000 /dev/urandom >"$s/model.safetensors"
	head -c 300000 /dev/urandom >"$s/images.tar"
	printf 'apiVersion: v2\nname: demo\nversion: 0.1.0\n' >"$s/chart/Chart.yaml"
	printf 'kind: ConfigMap\n' >"$s/chart/templates/cm.yaml"
	printf 'default: deny\nallow: []\n' >"$s/egress.yaml"
	head -c 1048576 /dev/urandom >"$s/rootfs.img"
	printf 'key=value\n' >"$s/files/etc/app.conf"
	cat >"$T/spec.yaml" <<SPEC
channel: stable
sequence: ${SEQ:-7}
expires_in_days: 30
target:
  classes: [gpu-appliance]
  sites: [site-1]
chunk_size: 1048576
components:
  - {type: software, name: app, version: 1.0.0, source: src/app}
  - {type: model, name: llama, version: "3", source: src/model.safetensors}
  - {type: images, name: base, version: "1", source: src/images.tar}
  - {type: chart, name: demo, version: 0.1.0, source: src/chart}
  - {type: policy, name: egress, version: "1", source: src/egress.yaml}
  - {type: rootfs, name: os, version: "12", source: src/rootfs.img}
  - {type: files, name: conf, version: "1", source: src/files}
SPEC
}

# sign_with BUNDLE KEY...: signs with each release key.
sign_with() {
	b=$1
	shift
	for k in "$@"; do "$B" sign "$b" --key "$T/keys/$k.key" >/dev/null; done
}
