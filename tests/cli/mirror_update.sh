# exai-update's outbox into the real exai-mirror, which waits for the mirror's ack: with the
# mirror down the events queue; with it up the next run delivers them, and an event leaves the
# outbox only after the ack of its batch, so when exai-update returns it is already queryable
# with 'exai-mirror query' (class audit, exai-update's tenant, its own time, the event as the
# body). A peer that reads the lines and closes without an ack, or one that refuses a line,
# leaves the events queued, and the next run against the real mirror delivers them.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"

setup_keys
mirror_config
write_config "mirror_socket: $SOCK" "hooks: {health_check: [/bin/true]}"
bundle "$T/b1" 1 1 1
bundle "$T/b2" 2 2 2
outbox() { sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox'; }
M() { exai-mirror --config "$T/mirror.yaml" "$@"; }

expect_rc 0 U apply "$T/b1"
expect_contains "$T/err" "events stay queued for the mirror"
[ "$(outbox)" = 1 ] || fail "outbox"
ok "mirror down: the event queues in exai-update's outbox"

# A fake mirror that reads everything and closes without an ack: nothing leaves the outbox.
/usr/bin/python3 - "$SOCK" "$T/fake.got" <<'EOS' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5); s.settimeout(20)
c, _ = s.accept()
c.settimeout(1)  # reads until the client has sent everything and waits for an ack
got = b""
while True:
    try:
        d = c.recv(65536)
    except socket.timeout:
        break
    if not d: break
    got += d
open(sys.argv[2], "wb").write(got)
c.close(); s.close()
EOS
fake=$!
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
expect_rc 1 U apply "$T/b1"
wait $fake || fail "the fake mirror failed"
rm -f "$SOCK"
expect_contains "$T/err" "events stay queued for the mirror: mirror: connection closed before the ack of line"
[ "$(wc -l <"$T/fake.got")" = 2 ] || fail "the fake mirror did not get both lines: $(cat "$T/fake.got")"
head -1 "$T/fake.got" | command jq -e '.op == "apply" and .sequence == 1' >/dev/null ||
	fail "fake got: $(cat "$T/fake.got")"
[ "$(outbox)" = 2 ] || fail "the events sent without an ack left the outbox: $(outbox) queued"
ok "a mirror that reads and closes without an ack leaves every event queued"

mirror_start
expect_rc 0 U apply "$T/b2"
expect_not_contains "$T/err" "queued"
[ "$(outbox)" = 0 ] || fail "outbox not drained"
# No waiting and no stop: exai-update returned after the ack, so the rows are committed.
expect_rc 0 M query --class audit --json
jq -e '[.entries[] | "\(.class):\(.tenant):\(.body.op):\(.body.sequence):\(.body.outcome)"] ==
	["audit:system:apply:1:ok", "audit:system:apply:1:refused", "audit:system:apply:2:ok"]
	and all(.entries[]; .time == .body.time)' "$T/out" >/dev/null ||
	fail "query: $(cat "$T/out")"
ok "mirror up: the queued events and the new one are queryable in class audit, in order, once each"

expect_rc 0 U rollback
expect_rc 0 M query --class audit --json
jq -e '(.entries | length) == 4 and .entries[3].body.op == "rollback"' "$T/out" >/dev/null ||
	fail "rollback event: $(cat "$T/out")"
[ "$(outbox)" = 0 ] || fail "outbox not drained after rollback"
mirror_stop
ok "each later command's event is acknowledged before exai-update returns"
