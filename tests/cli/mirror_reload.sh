# SIGHUP reloads what can be reloaded: the tenant map (a peer unmapped before is mapped after,
# by the new file); a setting that needs a restart is named and not applied; a config that no
# longer loads changes nothing, and the daemon keeps serving with the map it had.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }
chmod 755 "$T"
echo '{"class":"telemetry","body":"from nobody"}' >"$T/one"
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups $CLIENT "$SOCK" <"$T/one" >"$T/replies"; }
# wait_log TEXT: until serve's stderr says TEXT (at most 10 s).
wait_log() {
	i=0
	while ! grep -qF -- "$1" "$T/serve.err" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	grep -qF -- "$1" "$T/serve.err" || fail "serve never said '$1': $(cat "$T/serve.err")"
}

mirror_config
mirror_start
as_nobody || true
jq -e '.error.line == 0' "$T/replies" >/dev/null || fail "unmapped peer: $(cat "$T/replies")"
ok "a peer the tenant map does not name is refused"

cp "$T/mirror.yaml" "$T/good.yaml"
printf '  - uid: 65534\n    tenant: nobody\n' >>"$T/mirror.yaml"
kill -HUP "$MIRROR_PID"
wait_log "SIGHUP: reloaded the tenant map (3 entries)"
! grep -q "not reloaded" "$T/serve.err" || fail "a tenant change was taken for a restart one"
as_nobody
jq -e '.ack.stored == 1' "$T/replies" >/dev/null || fail "after reload: $(cat "$T/replies")"
ok "SIGHUP: the new tenant map maps the peer"

# A class change needs a restart: named, not applied (the class stays unknown).
sed 's/^  prompt: {retention_days: 0}$/  prompt: {retention_days: 0}\n  metrics: {retention_days: 1}/' \
	"$T/mirror.yaml" >"$T/new.yaml"
cp "$T/new.yaml" "$T/mirror.yaml"
kill -HUP "$MIRROR_PID"
wait_log "not reloaded (restart to apply): classes"
echo '{"class":"metrics","body":1}' >"$T/m"
send "$T/m"
jq -s -e '.[0].error.message | test("class")' "$T/replies" >/dev/null ||
	fail "the new class was applied: $(cat "$T/replies")"
ok "SIGHUP: a setting that needs a restart is named and not applied"

# A config that does not load changes nothing: the map stays, the daemon serves.
echo 'bogus_key: 1' >>"$T/mirror.yaml"
kill -HUP "$MIRROR_PID"
wait_log "SIGHUP: nothing reloaded, the running config stays"
grep -F "nothing reloaded" "$T/serve.err" | grep -q "bogus_key" || fail "the error does not name the key"
as_nobody
jq -e '.ack.stored == 1' "$T/replies" >/dev/null || fail "after a bad reload: $(cat "$T/replies")"
cp "$T/good.yaml" "$T/mirror.yaml"
mirror_stop
[ "$(q "SELECT count(*) FROM entries WHERE tenant = 'nobody'")" = 2 ] || fail "rows: $(q 'SELECT tenant FROM entries')"
ok "SIGHUP with a broken config keeps the running one; the daemon keeps serving"
