# exai-mirror serve: a real daemon in a temp dir and a real client on its socket. Good lines
# are stored (asserted with sqlite3), bad lines get error lines naming the problem while the
# connection stays usable, acks come per batch, prompts are counted and never stored, an
# unmapped peer is refused, exai-update's event line lands in class audit, SIGTERM drains.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is needed"
command -v jq >/dev/null || fail "jq is needed"

mirror_config "limits: {max_line_bytes: 1024, max_batch: 100}"
mirror_start
[ "$(q 'PRAGMA journal_mode')" = wal ] || fail "not in WAL mode"

# One connection: good, bad, prompt, unknown class, tenant key, over-long, event, good.
long=$(head -c 3000 /dev/zero | tr '\0' 'x')
cat >"$T/in" <<EOI
{"class":"telemetry","body":{"cpu":0.5},"attributes":{"host":"n1"}}
not json
{"class":"prompt","body":"tell me the launch codes"}
{"class":"nope","body":1}
{"class":"telemetry","body":"x","tenant":"evil"}
{"class":"telemetry","body":"$long"}
{"v":1,"source":"exai-update","time":1764460800,"op":"apply","bundle_id":"","channel":"stable","sequence":6,"signers":"1C51780E3E465257","outcome":"ok","reason":""}
{"class":"telemetry","body":"after the errors","time":1700000000}
{"class":"telemetry","body":{"deep":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}}
{"class":"telemetry","body":1,"body":2}
{"class":"telemetry","body":"\u0000"}
{"class":"telemetry","body":123456789012345678901234567890}
{"v":1,"source":"exai-update","time":1,"op":"apply"}
{"class":"telemetry","body":"last"}
EOI
printf '{"class":"telemetry","body":"\377"}\n' >>"$T/in"
printf '{"class":"telemetry","body":"nul\000byte"}\n' >>"$T/in"
printf '{"class":"telemetry","body":"final"}\n' >>"$T/in"
send "$T/in"
err_line() { jq -r "select(.error.line == $1) | .error.message" "$T/replies"; }
expect_err() {
	m=$(err_line "$1")
	case $m in *"$2"*) ;; *) cat "$T/replies" >&2; fail "line $1: no error with '$2' (got '$m')" ;; esac
}
expect_err 2 "invalid JSON at column"
expect_err 4 "unknown class 'nope'"
expect_err 5 "key 'tenant' refused"
expect_err 6 "longer than 1024 bytes"
expect_err 9 "nests deeper than 16"
expect_err 10 "duplicate"
expect_err 11 "NUL"
expect_err 12 "too big"
expect_err 13 "audit event"
expect_err 15 "invalid JSON"
expect_err 16 "NUL byte at column"
[ "$(jq -s '[.[] | select(.error)] | length' "$T/replies")" = 11 ] || fail "error lines: $(cat "$T/replies")"
# Acks: every line settled, through the last one; 5 stored, 1 dropped, 11 refused in all.
jq -s -e '[.[] | select(.ack)] | (map(.ack.stored) | add) == 5 and (map(.ack.dropped) | add) == 1
	and (map(.ack.refused) | add) == 11 and (map(.ack.lines) | add) == 17
	and (last.ack.through_line == 17)' "$T/replies" >/dev/null || fail "acks: $(cat "$T/replies")"
ok "bad lines get error lines naming the problem (line and what), acks settle every line"

[ "$(q 'SELECT count(*) FROM entries')" = 5 ] || fail "rows: $(q 'SELECT idx, payload FROM entries')"
[ "$(q "SELECT group_concat(idx || ':' || class || ':' || tenant, ' ') FROM entries")" = \
	"0:telemetry:system 1:audit:system 2:telemetry:system 3:telemetry:system 4:telemetry:system" ] ||
	fail "rows: $(q 'SELECT idx, class, tenant FROM entries')"
[ "$(q "SELECT json_extract(payload, '\$.body') FROM entries WHERE idx = 2")" = "after the errors" ] ||
	fail "the good line after the bad ones"
[ "$(q 'SELECT time FROM entries WHERE idx = 2')" = 1700000000 ] || fail "record time"
[ "$(q "SELECT json_extract(payload, '\$.attributes.host') FROM entries WHERE idx = 0")" = n1 ] ||
	fail "attributes"
ok "good lines are stored in order, the next good line after each bad one too"

# The audit event: class audit, its own time, the event as body, tenant from the peer.
[ "$(q "SELECT class || ' ' || time || ' ' || json_extract(payload, '\$.body.op') || ' ' ||
	json_extract(payload, '\$.body.signers') || ' ' || json_extract(payload, '\$.tenant')
	FROM entries WHERE idx = 1")" = "audit 1764460800 apply 1C51780E3E465257 system" ] ||
	fail "event row: $(q 'SELECT * FROM entries WHERE idx = 1')"
ok "exai-update's event line lands in class audit"

# Prompts: counted, never written anywhere in the database.
[ "$(q "SELECT value FROM counters WHERE name = 'dropped:prompt'")" = 1 ] || fail "prompt count"
if grep -a -q "launch codes" "$T/mstate/"mirror.db*; then fail "a prompt reached the disk"; fi
[ "$(q "SELECT value FROM counters WHERE name = 'refused:too_long'")" = 1 ] || fail "too_long count"
[ "$(q "SELECT value FROM counters WHERE name = 'refused:unknown_class'")" = 1 ] || fail "class count"
[ "$(q "SELECT value FROM counters WHERE name = 'refused:tenant_key'")" = 1 ] || fail "tenant count"
[ "$(q "SELECT value FROM counters WHERE name = 'refused:format'")" = 8 ] || fail "format count"
ok "prompts are counted and dropped before the writer; refusals are counted by reason"

# Leaves: SHA-256(nonce || payload), nonce 16 random bytes.
python3 - "$DB" <<'EOP' || fail "leaf bytes"
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
nonces = set()
for idx, nonce, payload, leaf in db.execute("SELECT idx, nonce, payload, leaf FROM entries"):
    assert len(nonce) == 16, idx
    assert hashlib.sha256(nonce + payload).digest() == leaf, idx
    nonces.add(nonce)
assert len(nonces) == 5
EOP
ok "each row's leaf is SHA-256(16-byte nonce || payload)"

# Many lines in pieces: batches of at most max_batch, every line acked, all stored.
python3 -c '
for i in range(2500):
    print("{\"class\":\"telemetry\",\"body\":%d}" % i)' >"$T/many"
$CLIENT "$SOCK" 7 <"$T/many" >"$T/replies"
jq -s -e '(map(.ack.stored) | add) == 2500 and all(.ack.stored <= 100) and
	last.ack.through_line == 2500' "$T/replies" >/dev/null || fail "bulk acks: $(tail -3 "$T/replies")"
[ "$(q "SELECT count(*) FROM entries WHERE class = 'telemetry' AND idx >= 5")" = 2500 ] || fail "bulk rows"
[ "$(q "SELECT group_concat(json_extract(payload, '\$.body')) FROM
	(SELECT payload FROM entries WHERE idx IN (5, 6, 2504) ORDER BY idx)")" = "0,1,2499" ] ||
	fail "bulk order"
ok "2500 lines sent 7 bytes at a time: batches of at most max_batch, all acked and stored in order"

# An unmapped peer (uid 65534) is refused with an error line, counted; a gid mapping works.
chmod 755 "$T"
head -3 "$T/many" >"$T/three"
setpriv --reuid 65534 --regid 65534 --clear-groups $CLIENT "$SOCK" <"$T/three" >"$T/replies" ||
	fail "client as nobody"
expect_err 0 "peer uid 65534 gid 65534 is not in the tenant map"
[ "$(q 'SELECT count(*) FROM entries')" = 2505 ] || fail "the unmapped peer's lines were stored"
echo '{"class":"telemetry","body":"by group"}' >"$T/one"
setpriv --reuid 65534 --regid 4242 --clear-groups $CLIENT "$SOCK" <"$T/one" >"$T/replies"
jq -s -e 'length == 1 and .[0].ack.stored == 1' "$T/replies" >/dev/null ||
	fail "gid tenant: $(cat "$T/replies")"
[ "$(q 'SELECT tenant FROM entries WHERE idx = 2505')" = grouped ] || fail "gid tenant row"
[ "$(q "SELECT value FROM counters WHERE name = 'refused:unmapped_peer'")" = 1 ] || fail "unmapped count"
ok "an unmapped uid is refused and counted; a gid entry maps its tenant"

# An unterminated last line is not a line; SIGTERM drains and exits 0.
printf '{"class":"telemetry","body":"no newline"}' >"$T/nonl"
send "$T/nonl"
[ ! -s "$T/replies" ] || fail "an unterminated line was answered: $(cat "$T/replies")"
mirror_stop
[ "$(q 'SELECT count(*) FROM entries')" = 2506 ] || fail "rows after stop"
expect_contains "$T/serve.err" "drained"
ok "SIGTERM: drained, exit 0, socket removed"

# Restart on the same store: appends continue at the next index.
mirror_start
send "$T/one"
jq -s -e 'length == 1 and .[0].ack.first_index == 2506' "$T/replies" >/dev/null ||
	fail "restart index: $(cat "$T/replies")"
mirror_stop
ok "a restart continues the log at the next index"

# Lines already sent when SIGTERM arrives (waiting in the socket of an accepted connection,
# the daemon stopped) are read, stored and acknowledged before it exits.
mirror_start
/usr/bin/python3 - "$SOCK" >"$T/replies" <<'EOP' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
time.sleep(1)  # the test stops the daemon meanwhile
s.sendall(b"".join(b'{"class":"audit","body":"pending %d"}\n' % i for i in (1, 2, 3)))
s.shutdown(socket.SHUT_WR)
sys.stdout.write(s.makefile().read())
EOP
client=$!
sleep 0.5
kill -STOP "$MIRROR_PID"
sleep 1
kill -TERM "$MIRROR_PID"
kill -CONT "$MIRROR_PID"
set +e
wait "$MIRROR_PID"
rc=$?
wait "$client"
set -e
trap 'rm -rf "$T"' EXIT
[ "$rc" = 0 ] || fail "serve exited $rc"
jq -s -e 'length == 1 and .[0].ack.stored == 3 and .[0].ack.through_line == 3' "$T/replies" \
	>/dev/null || fail "pending lines not acked: $(cat "$T/replies")"
[ "$(q "SELECT count(*) FROM entries WHERE json_extract(payload, '\$.body') LIKE 'pending %'")" = 3 ] ||
	fail "pending lines not stored"
ok "SIGTERM: lines already sent are still read, stored and acked before the exit"
