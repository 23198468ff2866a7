# Mirror events: with mirror_socket configured, every history event is queued in the outbox
# and sent as one JSON line over the unix socket; while the mirror is down the events stay
# queued, and the next run delivers them, oldest first, exactly once each (the listener acks
# what it read, as the mirror does; an event leaves the outbox only after its ack). A listener
# that refuses a line keeps that event queued and the run names it.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"

setup_keys
write_config "mirror_socket: $T/mirror.sock" "hooks: {health_check: [/bin/true]}"
bundle "$T/b1" 1 1 1
bundle "$T/b2" 2 2 2

# Mirror down: the apply and a refusal succeed/refuse as usual; events wait in the outbox.
expect_rc 0 U apply "$T/b1"
expect_contains "$T/err" "events stay queued for the mirror"
expect_rc 1 U apply "$T/b1"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 2 ] || fail "outbox"
ok "mirror down: operations are unaffected, events queue in the outbox"

/usr/bin/python3 - "$T" <<'EOS' &
import os, socket, sys
t = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.bind(t + "/mirror.sock"); s.listen(5); s.settimeout(20)
try:
    while True:
        c, _ = s.accept()
        lines = 0
        with c, open(t + "/received", "ab") as f:
            while True:
                d = c.recv(65536)
                if not d: break
                f.write(d)
                f.flush()
                # As the mirror does: an ack per read, after the lines are "stored".
                lines += d.count(b"\n")
                c.sendall(b'{"ack":{"through_line":%d}}\n' % lines)
except Exception:
    pass
EOS
listener=$!
trap 'kill $listener 2>/dev/null || true; rm -rf "$T"' EXIT
i=0
while [ ! -S "$T/mirror.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

# wait_lines N: until the listener has written N lines (it runs concurrently), at most 10 s.
wait_lines() {
	i=0
	while [ "$(cat "$T/received" 2>/dev/null | wc -l)" -lt "$1" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

expect_rc 0 U apply "$T/b2"
expect_not_contains "$T/err" "queued"
wait_lines 3
[ "$(wc -l <"$T/received")" = 3 ] || fail "expected 3 events: $(cat "$T/received")"
jq -s -e '[.[].outcome] == ["ok", "refused", "ok"] and [.[].sequence] == [1, 1, 2]
	and all(.source == "exai-update" and .op == "apply")' "$T/received" >/dev/null ||
	fail "events: $(cat "$T/received")"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 0 ] || fail "outbox not drained"
ok "mirror up: queued events then the new one are delivered in order, once each"

expect_rc 0 U rollback
wait_lines 4
tail -1 "$T/received" | jq -e '.op == "rollback" and .outcome == "ok"' >/dev/null ||
	fail "rollback event"
ok "rollback is reported to the mirror too"
kill $listener 2>/dev/null || true
wait $listener 2>/dev/null || true
rm -f "$T/mirror.sock"

# A listener that refuses line 1 (an error line, then the ack of the read): that event stays
# queued and the run names it; the next run, to an accepting listener, delivers it.
/usr/bin/python3 - "$T" <<'EOS' &
import socket, sys
t = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.bind(t + "/mirror.sock"); s.listen(5); s.settimeout(20)
for refuse in (True, False):
    c, _ = s.accept()
    c.settimeout(1)  # reads until the client has sent everything and waits for replies
    got = b""
    while True:
        try:
            d = c.recv(65536)
        except socket.timeout:
            break
        if not d: break
        got += d
    n = got.count(b"\n")
    if refuse:
        c.sendall(b'{"error":{"line":1,"code":"EFORMAT","message":"line 1: not today"}}\n')
    else:
        open(t + "/second", "wb").write(got)
    c.sendall(b'{"ack":{"through_line":%d}}\n' % n)
    c.close()
EOS
listener=$!
i=0
while [ ! -S "$T/mirror.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect_rc 1 U apply "$T/b2"
expect_contains "$T/err" "the mirror refused 1 event(s), kept queued: outbox event"
expect_contains "$T/err" "line 1: not today"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 1 ] || fail "the refused event left the outbox"
expect_rc 1 U verify "$T/b2"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 0 ] || fail "the event was not delivered on the next run"
jq -s -e '[.[] | "\(.op):\(.outcome):\(.sequence)"] == ["apply:refused:2", "verify:refused:2"]' \
	"$T/second" >/dev/null || fail "second delivery: $(cat "$T/second")"
wait $listener || fail "listener"
ok "an event the mirror refuses stays queued, is named, and goes out on the next run"
