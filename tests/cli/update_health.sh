# Health check after the switch: a failing check switches everything back automatically
# (exit 3), records why, leaves the ratchets alone (the same bundle applies once healthy).
# No network by construction: a health check that tries to connect to a listener this test
# started on 127.0.0.1 fails, and the listener sees nothing; the same command run outside
# exai-update does connect (the control). Loopback only.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
cat >"$T/health.sh" <<EOS
#!/bin/sh
out=\$(sh "$T/inst/sw/app/current/bin/run")
[ "\$out" != "app 2" ] || { echo "app 2 does not answer on its socket"; exit 1; }
EOS
chmod +x "$T/health.sh"
write_config "hooks: {health_check: [$T/health.sh], timeout: 10, user: root}"
bundle "$T/b1" 1 1 1
# b2 also brings a model this host has never had: the revert must leave no trace of it.
bundle "$T/b2" 2 2 2 "$NOW" "  - {type: model, name: newm, version: '1', source: ./src/model-1}"
expect_rc 0 U apply "$T/b1"
links() { readlink "$T/inst/sw/app/current" "$T/inst/models/llama/current"; U --json status; }
before=$(links)

expect_rc 3 U apply "$T/b2"
expect_contains "$T/err" "health check: $T/health.sh: exit 1: app 2 does not answer on its socket"
expect_contains "$T/out" "health check failed: switched software/app back from 2 to 1"
expect_contains "$T/out" "health check failed: removed model/newm 1 again (it was new here)"
assert_app 1
assert_model 1
[ "$(links)" = "$before" ] || fail "links or status changed after the revert"
[ ! -e "$T/inst/models/llama/2" ] || fail "the reverted model version was kept"
[ ! -e "$T/inst/models/newm" ] || fail "the reverted new model left $(ls -A "$T/inst/models/newm")"
U history | tail -1 | grep -Eq "apply +reverted .*app 2 does not answer" || fail "history"
ok "failing health check: switched back automatically, exit 3, reason recorded"

sed -i "s|health_check: \[$T/health.sh\]|health_check: [/bin/true]|" "$T/update.yaml"
expect_rc 0 U apply "$T/b2"
assert_app 2
ok "ratchets did not move: the same bundle applies once the check passes"

# --- no network ---
/usr/bin/python3 - "$T" <<'EOS' &
import socket, sys, time
t = sys.argv[1]
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(5); s.settimeout(30)
open(t + "/port.tmp", "w").write(str(s.getsockname()[1])); import os; os.rename(t + "/port.tmp", t + "/port")
try:
    while True:
        c, _ = s.accept(); open(t + "/connections", "a").write("connected\n"); c.close()
except Exception:
    pass
EOS
listener=$!
trap 'kill $listener 2>/dev/null || true; rm -rf "$T"' EXIT
i=0
while [ ! -f "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(cat "$T/port")
cat >"$T/phone.sh" <<EOS
#!/bin/bash
exec 3<>/dev/tcp/127.0.0.1/$port && echo "connected to $port"
EOS
chmod +x "$T/phone.sh"
sed -i "s|health_check: \[/bin/true\]|health_check: [$T/phone.sh]|" "$T/update.yaml"
bundle "$T/b3" 3 3 3
expect_rc 3 U apply "$T/b3"
expect_contains "$T/err" "Permission denied"
expect_not_contains "$T/err" "connected to"
sleep 0.3
[ ! -f "$T/connections" ] || fail "the health check reached the listener"
assert_app 2
ok "a health check that connects to 127.0.0.1:$port is denied (EACCES) and switched back"

"$T/phone.sh" >/dev/null || fail "control: the listener is not reachable outside exai-update"
i=0
# The listener creates the file before it writes the line: wait for the line itself.
while [ "$(cat "$T/connections" 2>/dev/null | wc -l)" != 1 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$(wc -l <"$T/connections")" = 1 ] || fail "control connection not seen"
ok "control: the same command outside exai-update connects"
kill $listener 2>/dev/null || true
