# exai-update end to end: verify, apply, upgrade (A/B slots, model versions), status,
# history, rollback, model GC (keep 2), a media dir with several bundles, policy reload,
# JSON output, usage and config errors.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
cat >"$T/reload.sh" <<EOS
#!/bin/sh
cat "$T/inst/policy/egress/current/egress.yaml" >"$T/reloaded"
EOS
chmod +x "$T/reload.sh"
write_config "hooks: {policy_reload: [$T/reload.sh], health_check: [/bin/true], user: root}"

bundle "$T/b1.exb" 1 1.0 1
expect_rc 0 U verify "$T/b1.exb"
expect_contains "$T/out" "verified $T/b1.exb"
expect_line() { [ "$(sed -n "$1p" "$2")" = "$3" ] || { cat "$2" >&2; fail "line $1 of $2 is not '$3'"; }; }
expect_line 2 "$T/out" "  software/app: 1.0, new here"
expect_line 3 "$T/out" "  model/llama: 1, new here"
# One line per phase on stderr, as apply prints them.
expect_line 1 "$T/err" "exai-update verify: verifying $T/b1.exb"
grep -qE "^exai-update verify: verified the signatures of bundle [0-9a-f]{16} \(channel stable, sequence 1, signed by [0-9A-F]{16}\)\$" "$T/err" ||
	fail "verify: no signature phase line: $(cat "$T/err")"
grep -qE "^exai-update verify: checking every chunk and the plaintext hash of 2 components \([0-9.]+ [KMG]?i?B\); writing nothing\$" "$T/err" ||
	fail "verify: no checking phase line: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" = 3 ] || fail "verify printed more than its phases: $(cat "$T/err")"
expect_rc 0 U status
expect_contains "$T/out" "components:  none installed"
ok "verify checks everything, says so phase by phase, names the versions and installs nothing"

expect_rc 0 U apply "$T/b1.exb"
expect_contains "$T/out" "applied $T/b1.exb"
assert_app 1.0
assert_model 1
[ "$(readlink "$T/inst/sw/app/current")" = a ] || fail "app not in slot a"
[ "$(readlink "$T/inst/models/llama/current")" = 1 ] || fail "model link"
[ -L "$T/inst/sw/app/a/lib/libapp.so" ] || fail "symlink inside the tree lost"
ok "first apply installs software in slot a and model version 1"

bundle "$T/b2" 2 2.0 2
expect_rc 0 U --json apply "$T/b2"
[ "$(jq -r .outcome "$T/out")" = applied ] || fail "json outcome"
[ "$(jq -c .changes "$T/out")" = '["software/app: from 1.0 to 2.0","model/llama: from 1 to 2"]' ] ||
	fail "apply changes not in versions: $(jq -c .changes "$T/out")"
[ "$(jq -r '.signers | length' "$T/out")" = 1 ] || fail "json signers"
assert_app 2.0
assert_model 2
[ "$(readlink "$T/inst/sw/app/current")" = b ] || fail "app not in slot b"
U --json status >"$T/st.json"
[ "$(jq -r '.components[] | select(.name=="app") | .previous.version' "$T/st.json")" = 1.0 ] ||
	fail "previous app version not recorded"
[ "$(jq -r '.ratchets.channels.stable' "$T/st.json")" = 2 ] || fail "sequence ratchet"
ok "upgrade switches to slot b and keeps slot a as previous (bundle dir form)"

expect_rc 0 U rollback
assert_app 1.0
assert_model 1
expect_rc 1 U rollback
expect_contains "$T/err" "nothing to roll back"
expect_rc 0 U history
grep -Eq "rollback +ok" "$T/out" || fail "no rollback ok row"
grep -Eq "rollback +refused" "$T/out" || fail "no rollback refused row"
ok "rollback returns to the previous versions; a second rollback is refused"

expect_rc 1 U apply "$T/b2"
expect_contains "$T/err" "rollback/replay: sequence 2 is not above 2"
ok "rollback does not lower the ratchet: the same bundle cannot be re-applied"

bundle "$T/b3.exb" 3 3.0 3
bundle "$T/b4.exb" 4 4.0 4
expect_rc 0 U apply "$T/b3.exb"
expect_rc 0 U apply "$T/b4.exb"
assert_app 4.0
assert_model 4
vers=$(cd "$T/inst/models/llama" && ls | grep -v current | sort | tr '\n' ' ')
[ "$vers" = "3 4 " ] || fail "model GC kept: $vers"
ok "model GC keeps the last 2 versions"

mkdir "$T/media"
bundle "$T/media/b5.exb" 5 5.0 5 $((NOW + 10))
bundle "$T/media/b6.exb" 6 6.0 6 $((NOW + 20))
cp -r "$T/b2" "$T/media/old"
echo junk >"$T/media/junk.exb"
expect_rc 0 U apply "$T/media"
expect_contains "$T/out" "applied $T/media/b6.exb"
expect_contains "$T/err" "skipped $T/media/b5.exb: acceptable, but older than $T/media/b6.exb"
expect_contains "$T/err" "skipped $T/media/old: rollback/replay"
expect_contains "$T/err" "skipped $T/media/junk.exb"
assert_app 6.0
ok "a media dir: the newest acceptable bundle is applied, the others are named with why"

mkdir -p "$T/src/pol"
echo "allow: [10.0.0.0/8]" >"$T/src/pol/egress.yaml"
echo "hello" >"$T/src/notes.txt"
CREATED=$((NOW + 30)) bundle_of "$T/b7.exb" 7 \
	"{type: policy, name: egress, version: '1', source: ./src/pol}" \
	"{type: files, name: notes, version: '1', source: ./src/notes.txt}"
expect_rc 0 U apply "$T/b7.exb"
expect_contains "$T/err" "exai-update apply: policy reload: $T/reload.sh"
[ "$(cat "$T/reloaded")" = "allow: [10.0.0.0/8]" ] || fail "policy reload did not see the new policy"
[ "$(cat "$T/inst/files/notes/current/notes.txt")" = hello ] || fail "files component"
assert_app 6.0
ok "policy installs then the reload hook runs; files land under files_dir; others stay"

expect_rc 2 exai-update --config "$T/update.yaml"
expect_rc 2 U frobnicate
expect_rc 2 U apply
expect_rc 2 U status extra
printf 'state_dir: /x\ntrust_root: /r\nidentity: {site: s}\ninstall: {softwre_dir: /x}\n' \
	>"$T/bad.yaml"
expect_rc 2 exai-update --config "$T/bad.yaml" status
expect_contains "$T/err" "$T/bad.yaml:4:11: unknown key 'softwre_dir' (did you mean 'software_dir'?)"
printf 'state_dir: /x\ntrust_roots: /r\nidentity: {site: s}\ninstall: {software_dir: /x}\n' \
	>"$T/bad2.yaml"
expect_rc 2 exai-update --config "$T/bad2.yaml" status
expect_contains "$T/err" "$T/bad2.yaml:2:1: unknown key 'trust_roots' (did you mean 'trust_root'?)"
EXAI_UPDATE_CONFIG="$T/bad.yaml" expect_rc 2 exai-update status
expect_rc 0 exai-update --help
ok "usage and config errors exit 2 and name file:line:col; a mistyped key gets a suggestion"
