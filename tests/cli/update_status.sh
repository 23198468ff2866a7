# exai-update for a person reading it: status and history with ISO 8601 UTC dates and headed,
# aligned columns (numbers unchanged in --json), the trust root in force named with where it
# came from, rollback and health-check revert said in words, one line per phase of an apply
# on stderr when no progress bar is drawn, and apply --dry-run (verify, plan, space check,
# nothing changed).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

ISO='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z'
# line N FILE: line N of FILE
line() { sed -n "$1p" "$2"; }
# expect_line N FILE TEXT: line N of FILE is exactly TEXT
expect_line() {
	[ "$(line "$1" "$2")" = "$3" ] || { cat "$2" >&2; fail "line $1 of $2 is '$(line "$1" "$2")', want '$3'"; }
}
# expect_match N FILE ERE: line N of FILE matches the extended regex ERE
expect_match() {
	line "$1" "$2" | grep -Eq -- "$3" || { cat "$2" >&2; fail "line $1 of $2 does not match '$3'"; }
}

setup_keys
write_config "hooks: {health_check: [$T/health.sh], user: root}"
printf '#!/bin/sh\n[ ! -e %s/unhealthy ] || { echo "app does not answer"; exit 1; }\n' "$T" >"$T/health.sh"
chmod +x "$T/health.sh"

# ---- status and history before the first apply ----
expect_rc 0 U status
expect_line 1 "$T/out" "trust root:  version 1 from trust_root $T/root.v1"
expect_line 2 "$T/out" "ratchets:    none yet (no bundle applied)"
expect_line 3 "$T/out" "components:  none installed"
expect_rc 0 U --json status
[ "$(jq -c '.trust_root | [.version, .source, .path, .configured_version]' "$T/out")" = \
	"[1,\"trust_root\",\"$T/root.v1\",1]" ] || fail "json trust root: $(jq -c .trust_root "$T/out")"
[ "$(jq -c '.ratchets | [.created, .created_utc, .root_version]' "$T/out")" = '[0,null,0]' ] ||
	fail "json ratchets before the first apply"
expect_rc 0 U history
expect_line 1 "$T/out" "history: empty"
ok "before the first apply, status names the configured trust root (version 1), not 'root version 0'"

bundle "$T/b1.exb" 1 1.5.0 1
bundle "$T/b2.exb" 2 1.6.0 2
expect_rc 0 U apply "$T/b1.exb"
expect_rc 0 U apply "$T/b2.exb"
id1=$(U --json history | jq -r '.history[0].bundle_id' | cut -c1-16)
id2=$(U --json history | jq -r '.history[1].bundle_id' | cut -c1-16)

expect_rc 0 U status
expect_line 1 "$T/out" "trust root:  version 1 from trust_root $T/root.v1"
expect_match 2 "$T/out" "^ratchets:    newest signed time $ISO, root version 1\$"
expect_line 3 "$T/out" "channels:"
expect_line 4 "$T/out" "  CHANNEL  SEQUENCE"
expect_line 5 "$T/out" "  stable   2"
expect_line 6 "$T/out" "components:"
expect_line 7 "$T/out" "  TYPE      NAME   VERSION  LOCATION  BUNDLE            SEQUENCE  INSTALLED             PREVIOUS"
expect_match 8 "$T/out" "^  model     llama  2        2         $id2  2         $ISO  1 at 1\$"
expect_match 9 "$T/out" "^  software  app    1.6.0    b         $id2  2         $ISO  1.5.0 at a\$"
! grep -Eq '(^| )1[0-9]{9}( |$)' "$T/out" || fail "a unix time in status"
expect_rc 0 U --json status
jq -e '(.ratchets.created | type) == "number" and (.ratchets.created_utc | test("^[0-9]{4}-"))
	and .components[0].current.sequence == 2' "$T/out" >/dev/null || fail "json status numbers"
ok "status: ISO 8601 UTC dates, headed aligned columns; --json keeps the numbers"

expect_rc 0 U history
expect_line 1 "$T/out" "ID  TIME                  OP     OUTCOME  BUNDLE            CHANNEL  SEQUENCE  SIGNERS           REASON"
expect_match 2 "$T/out" "^1   $ISO  apply  ok       $id1  stable   1         [0-9A-F]{16}  -\$"
expect_match 3 "$T/out" "^2   $ISO  apply  ok       $id2  stable   2         [0-9A-F]{16}  -\$"
! grep -Eq '(^| )1[0-9]{9}( |$)' "$T/out" || fail "a unix time in history"
expect_rc 0 U --json history
jq -e '.history[0] | (.time | type) == "number" and (.time_utc | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"))' \
	"$T/out" >/dev/null || fail "json history time"
ok "history: a header line, aligned columns, ISO dates; --json keeps time and adds time_utc"

# ---- rollback and a health-check revert, in words ----
expect_rc 0 U rollback
expect_line 1 "$T/out" "exai-update rollback: rolled back from bundle $id2 to bundle $id1 (channel stable, sequence 1): operator request"
expect_line 2 "$T/out" "  rolled back model/llama from 2 to 1 (operator request)"
expect_line 3 "$T/out" "  rolled back software/app from 1.6.0 to 1.5.0 (operator request)"
U --json history --limit 1 >"$T/h.json"
[ "$(jq -r '.history[0] | "\(.op) \(.outcome) \(.bundle_id[0:16]) \(.channel) \(.sequence)"' "$T/h.json")" = \
	"rollback ok $id1 stable 1" ] || fail "rollback history row: $(cat "$T/h.json")"
[ "$(jq -r '.history[0].reason' "$T/h.json")" = \
	"model/llama 2 -> 1, software/app 1.6.0 -> 1.5.0 (operator request; back from bundle $id2)" ] ||
	fail "rollback reason: $(jq -r '.history[0].reason' "$T/h.json")"
ok "rollback says from which version to which and why; its history row names the bundle active again"

bundle "$T/b4.exb" 4 1.7.0 4 $((NOW + 20))
touch "$T/unhealthy"
expect_rc 3 U apply "$T/b4.exb"
expect_contains "$T/out" "  health check failed: switched software/app back from 1.7.0 to 1.5.0"
expect_contains "$T/out" "  health check failed: switched model/llama back from 4 to 1"
expect_contains "$T/err" "app does not answer"
rm "$T/unhealthy"
ok "a health-check revert says what failed and from which version to which it switched back"

# ---- the trust root persisted in state_dir/root ----
cd "$T"
exai-bundle root init --out root.v2 --root-key root1.pub --root-threshold 1 \
	--release-key rel1.pub --release-threshold 1 --version 2 --created $((NOW - 3600)) >/dev/null
exai-bundle root sign root.v2 --key root1.key >/dev/null
cd - >/dev/null
mkdir -p "$T/src/notes"
echo notes >"$T/src/notes/n"
tar --format=pax -cf "$T/notes.tar" -C "$T/src/notes" .
"$MK" --out "$T/b3" --sequence 3 --created $((NOW + 30)) --expires $((NOW + 86400)) --class gpu \
	--recipient "$T/site.pub" --sign "$T/rel1.key" --root-chain "$T/root.v2" \
	--comp "files:notes:1:tar:notes:auto:auto:-:$T/notes.tar" >/dev/null
expect_rc 0 U apply "$T/b3"
expect_rc 0 U status
expect_line 1 "$T/out" "trust root:  version 2 from state_dir/root $T/state/root (newer than trust_root $T/root.v1, version 1)"
ok "status names a newer persisted root and the configured one it replaces"

# ---- one line per phase on stderr when stdout is a pipe ----
bundle "$T/b5.exb" 5 1.8.0 5 $((NOW + 40))
U apply "$T/b5.exb" 2>"$T/err" | cat >"$T/out"
id5=$(U --json history --limit 1 | jq -r '.history[0].bundle_id' | cut -c1-16)
expect_line 1 "$T/err" "exai-update apply: verifying $T/b5.exb"
expect_match 2 "$T/err" "^exai-update apply: verified the signatures of bundle $id5 \\(channel stable, sequence 5, signed by [0-9A-F]{16}\\)\$"
expect_match 3 "$T/err" "^exai-update apply: staging 2 of 2 components \\([0-9.]+ [KMG]?i?B\\), checking every chunk as it is written\$"
expect_line 4 "$T/err" "exai-update apply: staging software/app 1.8.0 (35 B)"
expect_line 5 "$T/err" "exai-update apply: staging model/llama 5 (10 B)"
expect_line 6 "$T/err" "exai-update apply: switching to bundle $id5 (channel stable, sequence 5)"
expect_line 7 "$T/err" "exai-update apply: health check: $T/health.sh"
[ "$(wc -l <"$T/err")" = 7 ] || fail "more on stderr than the phases: $(cat "$T/err")"
expect_line 1 "$T/out" "exai-update apply: applied $T/b5.exb (bundle $id5, channel stable, sequence 5)"
ok "off a terminal apply prints one line per phase on stderr (EXAI_NO_PROGRESS only drops the bar)"

# ---- apply --dry-run: verify, plan, space check; nothing changes ----
bundle "$T/b6.exb" 6 1.9.0 6 $((NOW + 50))
before=$(snapshot)
hist=$(U --json history | jq '.history | length')
expect_rc 0 U apply --dry-run "$T/b6.exb"
id6=$(U --json history --limit 1 | jq -r '.history[0].bundle_id' | cut -c1-16)
expect_line 1 "$T/out" "exai-update apply: dry run, nothing was changed: $T/b6.exb (bundle $id6, channel stable, sequence 6) verified; apply would do this"
expect_line 2 "$T/out" "  plan: software/app: from 1.8.0 to 1.9.0"
expect_line 3 "$T/out" "  plan: model/llama: from 5 to 6"
expect_match 4 "$T/out" "^  space: staging software/app 1.9.0 \\(into $T/inst/sw/app\\), model/llama 6 \\(into $T/inst/models/llama\\) needs [0-9.]+ KiB on the filesystem of $T/inst/sw/app, which has [0-9.]+ [KMGT]iB free: enough\$"
[ "$(wc -l <"$T/out")" = 4 ] || fail "dry run printed more: $(cat "$T/out")"
[ "$(snapshot)" = "$before" ] || fail "the dry run changed the appliance"
[ ! -e "$T/inst/sw/app/.stage" ] || fail "the dry run staged"
[ "$(U --json history | jq '.history | length')" = $((hist + 1)) ] || fail "not one history row"
[ "$(U --json history --limit 1 | jq -r '.history[0] | "\(.op) \(.outcome) \(.sequence)"')" = "verify dry-run 6" ] ||
	fail "dry-run history row"
expect_rc 0 U --json apply --dry-run "$T/b6.exb"
jq -e '.ok and .outcome == "dry-run" and .sequence == 6 and (.changes | length) == 3' "$T/out" >/dev/null ||
	fail "json dry run: $(cat "$T/out")"
expect_rc 0 U apply "$T/b6.exb"
assert_app 1.9.0
ok "apply --dry-run verifies, prints the plan and the space check, and changes nothing"

before=$(snapshot)
expect_rc 1 U apply --dry-run "$T/b6.exb"
expect_contains "$T/err" "rollback/replay: sequence 6 is not above 6"
[ "$(snapshot)" = "$before" ] || fail "a refused dry run changed the appliance"
bundle "$T/b7.exb" 7 2.0.0 7 $((NOW + 60))
EXAI_FAULT=stage.data:1:crash U apply "$T/b7.exb" >/dev/null 2>&1 || true
U --json status | jq -e '.pending.phase == "staging"' >/dev/null || fail "no pending journal for the test"
before=$(snapshot)
expect_rc 1 U apply --dry-run "$T/b7.exb"
expect_contains "$T/err" "must be finished first: run 'exai-update recover'"
[ "$(snapshot)" = "$before" ] || fail "a dry run with a pending journal changed the appliance"
expect_rc 0 U recover
expect_rc 2 U status --dry-run
expect_contains "$T/err" "--dry-run is an option of apply only"
ok "a dry run is refused as verify would be (exit 1); --dry-run elsewhere is a usage error"
