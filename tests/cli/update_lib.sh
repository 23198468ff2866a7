# Shared setup for exai-update CLI tests (sourced after lib.sh): keys, a trust root, a config
# whose every path is under $T, bundle builders and a snapshot of everything an apply may
# change (installed trees, active links, boot selector, status with ratchets).
MK="$EXAI_BUILD/tests/upd_mkbundle"
NOW=$(date +%s)
export EXAI_NO_PROGRESS=1

U() { exai-update --config "$T/update.yaml" "$@"; }

setup_keys() {
	cd "$T"
	for k in root1 root2; do exai-bundle keygen --type root --no-password --out "$k" >/dev/null; done
	for k in rel1 rel2 rel3; do exai-bundle keygen --type release --no-password --out "$k" >/dev/null; done
	exai-bundle keygen --type site --out site >/dev/null
	exai-bundle root init --out root.v1 --root-key root1.pub --root-threshold 1 \
		--release-key rel1.pub --release-key rel2.pub --release-threshold 1 \
		--created $((NOW - 86400)) >/dev/null
	exai-bundle root sign root.v1 --key root1.key >/dev/null
	cd - >/dev/null
}

# write_config [extra YAML lines...]
write_config() {
	mkdir -p "$T/inst"
	{
		echo "state_dir: $T/state"
		echo "trust_root: $T/root.v1"
		echo "site_key: $T/site.key"
		echo "identity: {class: gpu, site: site-1}"
		echo "install:"
		echo "  software_dir: $T/inst/sw"
		echo "  models_dir: $T/inst/models"
		echo "  models_keep: 2"
		echo "  policy_dir: $T/inst/policy"
		echo "  files_dir: $T/inst/files"
		echo "  registry_dir: $T/inst/registry"
		echo "  chart_dir: $T/inst/charts"
		for l in "$@"; do echo "$l"; done
	} >"$T/update.yaml"
	provision
}

# provision: `exai-update init` once per state dir (the explicit provisioning step; every
# other command refuses to run without it).
provision() {
	[ -e "$T/state/state.db" ] || U init >/dev/null
}

# src_app VERSION: a small software tree whose content names the version.
src_app() {
	d="$T/src/app-$1"
	mkdir -p "$d/bin" "$d/lib"
	printf '#!/bin/sh\necho app %s\n' "$1" >"$d/bin/run"
	chmod 755 "$d/bin/run"
	echo "lib $1" >"$d/lib/libapp.so.1"
	ln -sf libapp.so.1 "$d/lib/libapp.so"
}
src_model() {
	d="$T/src/model-$1"
	mkdir -p "$d"
	printf 'weights %s\n' "$1" >"$d/weights.bin"
}

# bundle OUT SEQ APPVER MODELVER [CREATED] [extra spec lines]: exai-bundle create + sign rel1.
bundle() {
	out=$1 seq=$2 av=$3 mv=$4 created=${5:-$NOW}
	shift 4
	[ $# -gt 0 ] && shift
	src_app "$av"
	src_model "$mv"
	{
		echo "channel: stable"
		echo "sequence: $seq"
		echo "expires_in_days: 30"
		echo "target: {classes: [gpu]}"
		echo "components:"
		echo "  - {type: software, name: app, version: '$av', source: ./src/app-$av}"
		echo "  - {type: model, name: llama, version: '$mv', source: ./src/model-$mv}"
		for l in "$@"; do echo "$l"; done
	} >"$T/spec-$seq.yaml"
	(cd "$T" && SOURCE_DATE_EPOCH=$created exai-bundle create "spec-$seq.yaml" --out "$out" \
		--recipient site.pub ${BUNDLE_FORMAT:+--format-version "$BUNDLE_FORMAT"} >/dev/null &&
		exai-bundle sign "$out" --key rel1.key >/dev/null)
}

# bundle_of OUT SEQ COMPONENT...: a bundle of exactly these spec component entries (flow
# mappings, one per argument), created at ${CREATED:-$NOW} and signed by rel1.
bundle_of() {
	out=$1 seq=$2
	shift 2
	{
		echo "channel: stable"
		echo "sequence: $seq"
		echo "expires_in_days: 30"
		echo "target: {classes: [gpu]}"
		echo "components:"
		for l in "$@"; do echo "  - $l"; done
	} >"$T/spec-$seq.yaml"
	(cd "$T" && SOURCE_DATE_EPOCH=${CREATED:-$NOW} exai-bundle create "spec-$seq.yaml" \
		--out "$out" --recipient site.pub ${BUNDLE_FORMAT:+--format-version "$BUNDLE_FORMAT"} >/dev/null && exai-bundle sign "$out" --key rel1.key >/dev/null)
}

# snapshot: one line per file/link/dir under inst (with content hashes), the boot selector,
# and status (components, ratchets, pending journal). History is left out on purpose.
snapshot() {
	(
		cd "$T/inst"
		find . -printf '%p %y %m %l\n' | LC_ALL=C sort
		find . -type f -exec sha256sum {} + | LC_ALL=C sort
		[ -f "$T/boot/selector" ] && cat "$T/boot/selector"
		U --json status
	)
}

# active VERSION: bin/run of the active software slot prints "app VERSION".
assert_app() {
	out=$(sh "$T/inst/sw/app/current/bin/run")
	[ "$out" = "app $1" ] || fail "active app is '$out', expected 'app $1'"
}
assert_model() {
	out=$(cat "$T/inst/models/llama/current/weights.bin")
	[ "$out" = "weights $1" ] || fail "active model is '$out', expected 'weights $1'"
}

# ---- per-file records (state db schema 2, table installed_file) ----

# disk_records DIR: one line per entry of the tree at DIR, in the form db_records prints:
# path|kind|octal mode|size|sha256|symlink target ("." is the root; dirs have size 0).
disk_records() {
	(cd "$1" && find . -printf '%P|%y|%m|%s|%l\n') | while IFS='|' read -r p y m s l; do
		[ -n "$p" ] || p=.
		case $y in
		f) echo "$p|file|$m|$s|$(sha256sum <"$1/$p" | cut -d' ' -f1)|-" ;;
		d) echo "$p|dir|$m|0|-|-" ;;
		l) echo "$p|link|0|$s|-|$l" ;;
		*) echo "$p|other-$y" ;;
		esac
	done | LC_ALL=C sort
}

# db_records TYPE NAME [LOC]: the records of the tree at LOC (default: the active one).
db_records() {
	loc=${3:-$(sqlite3 "$T/state/state.db" \
		"SELECT loc FROM installed WHERE type = '$1' AND name = '$2'")}
	sqlite3 -separator '|' "$T/state/state.db" \
		"SELECT path, kind, printf('%o', mode), size, coalesce(sha256, '-'),
		 coalesce(target, '-') FROM installed_file
		 WHERE type = '$1' AND name = '$2' AND loc = '$loc'" | LC_ALL=C sort
}

# install_dir TYPE: where update_lib's config installs components of TYPE.
install_dir() {
	case $1 in
	software) echo "$T/inst/sw" ;; model) echo "$T/inst/models" ;;
	policy) echo "$T/inst/policy" ;; files) echo "$T/inst/files" ;;
	images) echo "$T/inst/registry" ;; chart) echo "$T/inst/charts" ;;
	esac
}

# assert_records: for every installed tree component (active and previous), the records
# in the state db are exactly the tree on disk; a rootfs has one raw record whose hash is
# that of the first SIZE bytes of its slot.
assert_records() {
	sqlite3 -separator ' ' "$T/state/state.db" \
		"SELECT type, name, loc FROM installed UNION
		 SELECT type, name, prev_loc FROM installed WHERE prev_loc IS NOT NULL" >"$T/rec.list"
	while read -r ty nm lc; do
		if [ "$ty" = rootfs ]; then
			row=$(db_records rootfs "$nm" "$lc")
			sz=$(echo "$row" | cut -d'|' -f4)
			img=$(sed -n "s/.*slot_$(echo "$lc" | tr AB ab): \([^,}]*\).*/\1/p" "$T/update.yaml")
			want=$(head -c "$sz" "$img" | sha256sum | cut -d' ' -f1)
			[ "$row" = ".|raw|0|$sz|$want|-" ] || fail "rootfs/$nm $lc record: '$row' (want hash $want)"
			continue
		fi
		d="$(install_dir "$ty")/$nm/$lc"
		[ -d "$d" ] || fail "$ty/$nm: $d is recorded as installed but missing"
		db_records "$ty" "$nm" "$lc" >"$T/rec.db"
		disk_records "$d" >"$T/rec.disk"
		[ -s "$T/rec.db" ] || fail "$ty/$nm $lc: no file records"
		diff "$T/rec.disk" "$T/rec.db" >&2 || fail "$ty/$nm $lc: records differ from the tree"
	done <"$T/rec.list"
}
