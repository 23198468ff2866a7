# SQLite's WAL checkpoints run beside the writer's commits (mirror/walck.h): under a load that
# never pauses, mirror.db-wal still stays near its 32 MiB limit (the writer's own pass at the
# limit lets the WAL start over; copied only by another connection while commits go on, it
# would grow with the load), the database file takes the entries while the load runs, and
# every acknowledged entry is there afterwards, verified.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config "limits: {max_batch: 1000}"
mirror_start
N=150000
/usr/bin/python3 - "$SOCK" $N >"$T/acked" <<'EOP' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
total, sent = int(sys.argv[2]), 0
pad = "x" * 600
while sent < total:
    s.sendall("".join('{"class":"telemetry","body":{"n":%d,"pad":"%s"}}\n' % (sent + i, pad)
                      for i in range(1000)).encode())
    sent += 1000
    acked = 0
    while acked < sent:
        line = f.readline()
        assert line.startswith(b'{"ack":'), line
        acked = int(line.split(b'"through_line":')[1].split(b",")[0])
print(sent)
EOP
load=$!
max=0
while kill -0 $load 2>/dev/null; do
	w=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	[ "$w" -le "$max" ] || max=$w
	sleep 0.05
done
wait $load || fail "the load's client failed"
[ "$(cat "$T/acked")" = $N ] || fail "acknowledged: $(cat "$T/acked")"
db=$(stat -c %s "$DB")
mirror_stop
[ "$db" -gt 60000000 ] || fail "the database file holds $db bytes after the load: not checkpointed"
[ "$max" -gt 4000000 ] || fail "the WAL never grew ($max bytes): too little load to test"
[ "$max" -le 50000000 ] || fail "the WAL grew to $max bytes under load (limit 32 MiB)"
[ "$(q 'SELECT count(*) FROM entries')" = $N ] || fail "entries: $(q 'SELECT count(*) FROM entries')"
expect_rc 0 M verify
ok "under a load that never pauses the WAL stays at most $max bytes, every entry is stored and verifies"
