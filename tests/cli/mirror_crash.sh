# kill -9 of exai-mirror serve under load, then a restart: every acknowledged event is there,
# verify passes, and the next checkpoint is consistent with the last one signed before the
# crash (a consistency proof between the two, checked by the independent Python checker).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
CHECK="/usr/bin/python3 $EXAI_SRC/tests/cli/mirror_check.py"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config "limits: {max_batch: 50}" "checkpoint_interval_ms: 100"
mirror_start
# Two writers at once, each sending lines as fast as acks allow and noting what was acked.
load() {
	/usr/bin/python3 - "$SOCK" "$1" >"$T/acked.$1" 2>/dev/null <<'EOP' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
sent = 0
try:
    while True:
        batch = b"".join(b'{"class":"telemetry","body":"%s-%d"}\n' % (sys.argv[2].encode(), sent + i)
                         for i in range(50))
        s.sendall(batch)
        sent += 50
        line = f.readline()
        if not line:
            break
        a = json.loads(line)["ack"]
        assert a["stored"] == 50 and a["through_line"] == sent
        print(sent, flush=True)
except Exception:
    pass
EOP
}
load a
pa=$!
load b
pb=$!
sleep 2
kill -9 "$MIRROR_PID"
wait "$MIRROR_PID" 2>/dev/null || true
wait $pa $pb || true
na=$(tail -1 "$T/acked.a")
nb=$(tail -1 "$T/acked.b")
[ "${na:-0}" -ge 100 ] && [ "${nb:-0}" -ge 100 ] || fail "too little load before the kill: $na, $nb"
rm -f "$SOCK"
ok "kill -9 under load from two clients ($na and $nb lines acknowledged)"

# The record beside the database is written after each checkpoint is stored: after a kill -9
# it exists and is one of the signed notes the database holds.
[ -s "$T/mstate/checkpoint" ] || fail "no checkpoint record after kill -9"
rec=$(/usr/bin/python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rec = open(sys.argv[2]).read()
print(sum(1 for (n,) in db.execute("SELECT note FROM checkpoints") if n == rec))' "$DB" "$T/mstate/checkpoint")
[ "$rec" = 1 ] || fail "the checkpoint record is not one of the stored checkpoints ($rec matches): $(cat "$T/mstate/checkpoint")"
ok "the checkpoint record survived kill -9 and names a stored checkpoint"

for w in a:$na b:$nb; do
	c=${w%%:*}
	n=${w#*:}
	got=$(q "SELECT count(*) FROM entries WHERE json_extract(payload, '\$.body') LIKE '$c-%'
		AND CAST(substr(json_extract(payload, '\$.body'), 3) AS INTEGER) < $n")
	[ "$got" = "$n" ] || fail "client $c: $n lines acknowledged, $got stored"
done
ok "every acknowledged line is in the store"

last=$(q 'SELECT max(size) FROM checkpoints')
[ -n "$last" ] || fail "no checkpoint before the crash"
expect_rc 0 M verify
ok "verify passes after the crash (last checkpoint before it: $last)"

mirror_start
printf '{"class":"audit","body":"after the crash"}\n' >"$T/one"
send "$T/one"
sleep 0.5
mirror_stop
new=$(q 'SELECT max(size) FROM checkpoints')
[ "$new" -gt "$last" ] || fail "no new checkpoint after the restart"
M prove --from "$last" --to "$new" >"$T/cproof" || fail "prove --from $last --to $new"
$CHECK consistency "$T/cproof" "$T/log.vkey" >/dev/null || fail "the new checkpoint does not extend the old"
expect_rc 0 M verify
ok "after a restart the next checkpoint ($new) is consistent with the last before the crash ($last)"

# kill -9 while the tree's right edge is partly in memory only: schema 2 keeps nodes at levels
# 4, 8, ... (tree.h), so at a size of 16k + 7 the nodes over the last 7 leaves (levels 1 to 3)
# exist only in the writer. The restart rebuilds them from the leaves; the next checkpoint
# must extend the one signed at that size.
n0=$(q 'SELECT count(*) FROM entries')
k=$(((16 + 7 - n0 % 16) % 16 + 16))
mirror_start
python3 -c "
for i in range($k): print('{\"class\":\"audit\",\"body\":\"edge-%d\"}' % i)" >"$T/edge"
send "$T/edge"
sleep 0.5
kill -9 "$MIRROR_PID"
wait "$MIRROR_PID" 2>/dev/null || true
rm -f "$SOCK"
size=$(q 'SELECT count(*) FROM entries')
[ $((size % 16)) = 7 ] || fail "size $size at the kill, wanted 16k + 7"
[ "$(q 'SELECT max(size) FROM checkpoints')" = "$size" ] || fail "no checkpoint at $size before the kill"
[ "$(q "SELECT count(*) FROM nodes WHERE level = 4 AND idx = $((size / 16))")" = 0 ] || fail "tail node"
mirror_start
python3 -c "
for i in range(9): print('{\"class\":\"audit\",\"body\":\"after-%d\"}' % i)" >"$T/edge2"
send "$T/edge2"
sleep 0.5
mirror_stop
after=$(q 'SELECT max(size) FROM checkpoints')
[ "$after" = $((size + 9)) ] || fail "checkpoint $after after the restart, wanted $((size + 9))"
M prove --from "$size" --to "$after" >"$T/cproof" || fail "prove --from $size --to $after"
$CHECK consistency "$T/cproof" "$T/log.vkey" >/dev/null || fail "$after does not extend $size"
$CHECK db "$DB" "$T/log.vkey" >/dev/null || fail "independent check after the edge crash"
expect_rc 0 M verify
ok "kill -9 at size $size (levels 1-3 of the edge in memory only): $after extends it"
new=$after

# The database lost (deleted, with its WAL) while the checkpoint record beside it says the log
# has signed checkpoints: serve refuses to start a new log under the same key, creates nothing,
# and says what to do. A state_dir that never held a log still starts fresh (mirror_ingest).
[ -s "$T/mstate/checkpoint" ] || fail "no checkpoint record beside the database"
grep -q "^$new\$" "$T/mstate/checkpoint" || fail "the record is not the last checkpoint ($new): $(cat "$T/mstate/checkpoint")"
rm -f "$DB" "$DB-wal" "$DB-shm"
expect_rc 2 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "is missing but this log has signed checkpoints"
[ ! -e "$DB" ] || fail "serve created a new database after the old one was lost"
ok "a lost database is refused, not taken as a fresh log"
