#!/bin/sh
# exai-egress serve delivers every event durably, into a real exai-mirror: a denied connect is
# queryable there in class audit with the prober's pid and comm; with the mirror down the
# events wait in the spool and go to the journal, and arrive once each when it is back; a
# kill -9 of the daemon loses nothing (spooled events, and those still in the ring buffer,
# arrive after the restart); at the spool's bound the extra events are refused, counted,
# persisted, shown by status and reported to the mirror as a counter event, and nothing
# spooled is dropped; the rate limit's suppressed counter becomes an event; 'events' is
# refused while serve reads; SIGTERM drains, exits 0 and leaves enforcement in place.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
. "$EXAI_SRC/tests/cli/egress_serve_lib.sh"

start_servers
printf 'version: 1\ndefault: deny\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n      - {cidr: 127.0.0.1/32, protocol: any}\n' \
	"$CG" >"$T/policy.yaml"
expect_rc 0 exai-egress apply --policy "$T/policy.yaml" --unsigned
mirror_config
serve_config "mirror_socket: $SOCK" "allow_unsigned: true"
journal_start
M() { exai-mirror --config "$T/mirror.yaml" "$@"; }
# mirror_has JQ: the mirror's audit entries from exai-egress satisfy JQ (over the array).
mirror_has() {
	M query --class audit --json --limit 10000 >"$T/q" 2>"$T/q.err" || return 1
	command jq -e "[.entries[] | select(.attributes.source == \"exai-egress\")] | $1" \
		"$T/q" >/dev/null
}
# verdicts_of PIDS...: each pid's verdict events in the mirror, one count per pid
once_each() {
	for p in "$@"; do
		n=$(command jq --argjson p "$p" \
			'[.entries[] | select(.body.kind == "verdict" and .body.pid == $p)] | length' "$T/q")
		[ "$n" = 1 ] || { cat "$T/q" >&2; fail "pid $p: $n verdict events in the mirror (want 1)"; }
	done
}
deny() { expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"; }

mstart
serve_start
deny
P1=$PROBE_PID
wait_for "the denial of pid $P1 in the mirror" mirror_has "any(.body.kind == \"verdict\" and .body.pid == $P1)"
command jq -e --argjson p "$P1" '[.entries[] | select(.body.pid == $p)][0] |
	.class == "audit" and .tenant == "system" and .body.comm == "python3" and
	.body.verdict == "deny" and .body.hook == "connect4" and .body.daddr == "127.0.0.2" and
	.body.generation == 1 and .attributes.spool_seq > 0 and (.time - now | fabs) < 60' "$T/q" >/dev/null ||
	fail "the mirror's entry: $(cat "$T/q")"
mirror_has 'any(.body.kind == "spool" and .body.op == "created")' || fail "no 'spool created' event: $(cat "$T/q")"
wait_for "the spool to empty" spool_is 0
expect_rc 1 exai-egress events
expect_contains "$T/err" "another reader holds the events"
ok "a denied connect reaches exai-mirror in class audit with pid and comm; 'events' is refused meanwhile"

mstop
P=""
for i in 1 2 3; do
	deny
	P="$P $PROBE_PID"
done
wait_for "3 events in the spool" spool_is 3
for p in $P; do
	wait_for "pid $p in the journal" grep -q "exai-egress\[[0-9]*\]: deny connect4 tcp 127.0.0.2:$TCP4B pid=$p comm=python3" "$T/journal"
done
grep -q '^<28>' "$T/journal" || fail "deny lines are not daemon.warning: $(cat "$T/journal")"
expect_rc 0 exai-egress status --config "$CONF"
expect_contains "$T/out" "spool: 3 events"
expect_contains "$T/out" "now failing: mirror: connect $SOCK"
expect_contains "$T/out" "serve: running (pid $SERVE_PID)"
mstart
# shellcheck disable=SC2086
wait_for "the 3 spooled events in the mirror" mirror_has "[.[] | select(.body.kind == \"verdict\")] | length == 4"
wait_for "the spool to empty" spool_is 0
M query --class audit --json --limit 10000 >"$T/q"
# shellcheck disable=SC2086
once_each $P1 $P
ok "mirror down: the events wait in the spool and go to the journal; mirror back: delivered, once each"

# A mirror that reads the lines and closes without an ack: nothing leaves the spool.
mstop
/usr/bin/python3 - "$SOCK" "$T/fake.got" <<'EOS' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(5); s.settimeout(20)
c, _ = s.accept()
c.settimeout(1)
got = b""
while b"\n" not in got:
    d = c.recv(65536)
    if not d: break
    got += d
open(sys.argv[2], "wb").write(got)
c.close(); s.close()
EOS
fake=$!
wait_for "the fake mirror" test -S "$SOCK"
deny
P4=$PROBE_PID
wait "$fake" || fail "the fake mirror failed"
rm -f "$SOCK"
grep -q "\"pid\":$P4" "$T/fake.got" || fail "the fake mirror did not get the event: $(cat "$T/fake.got")"
spool_is 1 || fail "an event sent without an ack left the spool ($(spool_events) left)"
status_says() { exai-egress status --config "$CONF" 2>&1 | grep -qF "$1"; }
wait_for "the failure in status" status_says "now failing: mirror: connection closed before the ack of line 1"
mstart
wait_for "the spool to empty" spool_is 0
M query --class audit --json --limit 10000 >"$T/q"
once_each "$P4"
ok "a mirror that reads and closes without an ack: the event stays in the spool, then arrives once"

mstop
P=""
for i in 1 2; do
	deny
	P="$P $PROBE_PID"
done
wait_for "2 events in the spool" spool_is 2
serve_kill
deny # into the ring buffer: no reader now
P="$P $PROBE_PID"
mstart
serve_start
wait_for "the spool to empty after the restart" spool_is 0
wait_for "the events in the mirror" mirror_has '[.[] | select(.body.kind == "verdict")] | length == 8'
# shellcheck disable=SC2086
once_each $P
ok "kill -9: the spooled events and the one left in the ring buffer arrive after the restart, once each"

probe udp-loop:50 127.0.0.2 "$UDP4B"
grep -qx "eperm=50" "$T/probe" || fail "retry loop: $(cat "$T/probe")"
wait_for "the suppressed counter in the mirror" mirror_has 'any(.body.kind == "counter" and .body.counter == "suppressed" and .body.delta == 49)'
ok "the rate limit's suppressed counter becomes an event (49 held back of 50 denials)"

# With no reader the ring buffer overflows; the next serve reads what it holds and reports
# the kernel's lost counter as an event with the same count.
serve_stop
probe udp-many:4000 127.0.0.2 9
grep -qx "eperm=4000" "$T/probe" || fail "flood: $(cat "$T/probe")"
expect_rc 0 exai-egress status --json
lost=$(jq .counters.lost "$T/out")
[ "$lost" -gt 0 ] || fail "the ring buffer did not overflow"
serve_start
wait_for "the lost counter in the mirror" mirror_has "any(.body.kind == \"counter\" and .body.counter == \"lost\" and .body.delta == $lost)"
wait_for "the spool to empty" spool_is 0
n=$(command jq --argjson p "$PROBE_PID" '[.entries[] | select(.body.pid == $p)] | length' "$T/q")
[ $((n + lost)) = 4000 ] || fail "flood: $n events in the mirror + $lost lost != 4000"
ok "a flood with no reader: the events the ring held ($n) and a lost counter event (+$lost) reach the mirror: $n + $lost = 4000"

serve_stop
expect_rc 0 exai-egress status --json
jq -e '.attached and .generation == 1' "$T/out" >/dev/null || fail "status after SIGTERM: $(cat "$T/out")"
deny
expect_event '.daddr == "127.0.0.2"'
ok "SIGTERM: exit 0, the control socket removed, enforcement still attached; 'events' reads again"

mstop
serve_config "mirror_socket: $SOCK" "allow_unsigned: true"
sed -i "s|^spool: .*|spool: {dir: $T/spool, max_events: 3}|" "$CONF"
serve_start
P=""
for i in 1 2 3 4 5; do
	deny
	P="$P $PROBE_PID"
done
wait_for "2 refusals counted" meta_is refused 2
[ "$(spool_events)" = 3 ] || fail "the spool holds $(spool_events) events (bound 3)"
last=$(echo $P | awk '{ print $NF }')
wait_for "the refused event in the journal" grep -q "pid=$last comm=python3" "$T/journal"
expect_rc 0 exai-egress status --config "$CONF"
expect_contains "$T/out" "spool: REFUSED 2 events at its bound"
serve_kill
expect_rc 0 exai-egress status --config "$CONF" --json
jq -e '.serve.running == false and .serve.spool.refused == 2 and .serve.spool.events == 3' "$T/out" >/dev/null ||
	fail "status after kill -9: $(cat "$T/out")"
mstart
serve_start
wait_for "the refusals reported to the mirror" mirror_has 'any(.body.kind == "counter" and .body.counter == "spool_refused" and .body.delta == 2)'
first3=$(echo $P | awk '{ print $1, $2, $3 }')
M query --class audit --json --limit 10000 >"$T/q"
# shellcheck disable=SC2086
once_each $first3
for p in $(echo $P | awk '{ print $4, $5 }'); do
	command jq -e --argjson p "$p" '[.entries[] | select(.body.pid == $p)] | length == 0' "$T/q" >/dev/null ||
		fail "a refused event (pid $p) reached the mirror"
done
ok "at the spool's bound (3): 2 events refused, counted and persisted (status, also after kill -9), journaled, reported to the mirror; the 3 kept all delivered"
serve_stop

# Crashes at the two steps that matter, through the test build's fault hook (EXAI_FAULT, the
# process _exits as a power cut would stop it): between reading a batch from the ring buffer
# and committing it to the spool, the ring's position has not moved, so the events are read
# again after the restart; between the mirror's ack and the spool's removal, the batch is sent
# again (at least once: twice, with the same spool_seq, never lost).
sqlite3 "$T/spool/spool.db" "DELETE FROM spool"
EXAI_FAULT=serve.spool:1:crash serve_start
deny
P7=$PROBE_PID
set +e
wait "$SERVE_PID"
rc=$?
set -e
SERVE_PID=""
[ "$rc" = 86 ] || fail "serve did not crash at serve.spool (exit $rc)"
spool_is 0 || fail "the crashed batch was committed"
serve_start
wait_for "the event read again after the crash" mirror_has "any(.body.kind == \"verdict\" and .body.pid == $P7)"
M query --class audit --json --limit 10000 >"$T/q"
once_each "$P7"
serve_stop
EXAI_FAULT=serve.remove:1:crash serve_start
deny
P8=$PROBE_PID
set +e
wait "$SERVE_PID"
rc=$?
set -e
SERVE_PID=""
[ "$rc" = 86 ] || fail "serve did not crash at serve.remove (exit $rc)"
mirror_has "[.[] | select(.body.pid == $P8)] | length == 1" || fail "the acknowledged event is not in the mirror"
spool_is 1 || fail "the acknowledged event left the spool before the crash"
serve_start
wait_for "the spool to empty" spool_is 0
mirror_has "[.[] | select(.body.pid == $P8)] | length == 2 and (map(.attributes.spool_seq) | unique | length) == 1" ||
	fail "after the crash at serve.remove: $(cat "$T/q")"
ok "a crash between ring and spool loses nothing (read again); between ack and removal the batch is sent again, same spool_seq"
serve_stop

# A spool that cannot be written (an injected failure of the commit): the batch stays in the
# ring, is said once, and is spooled on the next try.
EXAI_FAULT=serve.spool:1:fail serve_start
deny
P9=$PROBE_PID
wait_for "the event after the failed commit" mirror_has "any(.body.kind == \"verdict\" and .body.pid == $P9)"
M query --class audit --json --limit 10000 >"$T/q"
once_each "$P9"
expect_contains "$T/serve.err" "spool: injected fault (the events stay in the ring buffer)"
ok "a failed spool commit leaves the batch in the ring; the next try spools and delivers it once"
serve_stop
mstop
