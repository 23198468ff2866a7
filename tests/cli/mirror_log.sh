# The transparency log: each stored event a leaf of an RFC 6962 tree with its interior nodes
# stored, checkpoints as C2SP signed notes (Ed25519, signed-note key id), at least one per
# second while entries arrive and none when idle, each one extending the last, checked by an
# independent Python checker (mirror_check.py) against the vkey keygen wrote.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
CHECK="/usr/bin/python3 $EXAI_SRC/tests/cli/mirror_check.py"

mirror_config
mirror_start
# A steady trickle for about 3.5 s: a line every 100 ms on one connection.
python3 - "$SOCK" <<'EOP' >"$T/replies"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
for i in range(35):
    s.sendall(b'{"class":"telemetry","body":%d}\n' % i)
    time.sleep(0.1)
s.shutdown(socket.SHUT_WR)
sys.stdout.write(s.makefile().read())
EOP
sleep 1.5
n1=$(q 'SELECT count(*) FROM checkpoints')
[ "$n1" -ge 3 ] || fail "only $n1 checkpoints for 3.5 s of entries: $(q 'SELECT size, time_ms FROM checkpoints')"
[ "$(q 'SELECT max(size) FROM checkpoints')" = 35 ] ||
	fail "the last entries got no checkpoint within a second: $(q 'SELECT size FROM checkpoints')"
# At most one per interval (1 s): no two closer than 900 ms.
[ "$(q 'SELECT count(*) FROM checkpoints a JOIN checkpoints b ON b.size > a.size AND
	b.time_ms - a.time_ms < 900 AND NOT EXISTS (SELECT 1 FROM checkpoints c
	WHERE c.size > a.size AND c.size < b.size)')" = 0 ] || fail "checkpoints too close"
ok "checkpoints while entries arrive: $n1 in 3.5 s, the last covering every entry"

sleep 2
[ "$(q 'SELECT count(*) FROM checkpoints')" = "$n1" ] || fail "a checkpoint while idle"
ok "no checkpoint while idle"

$CHECK db "$DB" "$T/log.vkey" >"$T/check" || fail "independent check"
jq -e '.entries == 35 and (.checkpoints | length) >= 3' "$T/check" >/dev/null || fail "$(cat "$T/check")"
ok "every checkpoint verifies (Python, Ed25519, key id) and is the root of its leaves; every node right"

# The note text, byte for byte.
q "SELECT writefile('$T/note', note) FROM checkpoints ORDER BY size DESC LIMIT 1" >/dev/null
keyname=$(cut -d+ -f1 "$T/log.vkey")
sed -n 1p "$T/note" | grep -qx "example.com/mirror" || fail "origin line"
sed -n 2p "$T/note" | grep -qx 35 || fail "size line"
sed -n 4p "$T/note" | grep -qx "" || fail "blank line"
sed -n 5p "$T/note" | grep -q "^— $keyname " || fail "signature line: $(sed -n 5p "$T/note")"
[ "$(wc -l <"$T/note")" = 5 ] || fail "note lines"
$CHECK note "$T/note" "$T/log.vkey" >"$T/cp" || fail "note check"
[ "$(cut -d' ' -f1 "$T/cp")" = 35 ] || fail "note size"
ok "a checkpoint is origin, size, base64 root, blank line, one em-dash signature line"

# By hand, as docs/mirror.md tells an auditor: the key id and the signature with openssl.
cut -d+ -f3- "$T/log.vkey" | base64 -d | tail -c 32 >"$T/pk.raw"
{ printf '\060\052\060\005\006\003\053\145\160\003\041\000'; cat "$T/pk.raw"; } >"$T/pk.der"
openssl pkey -pubin -inform DER -in "$T/pk.der" -out "$T/pk.pem" || fail "pk.pem"
{ printf 'example.com/mirror\n\001'; cat "$T/pk.raw"; } | sha256sum | cut -c1-8 >"$T/kid"
[ "$(cat "$T/kid")" = "$(cut -d+ -f2 "$T/log.vkey")" ] || fail "key id by hand"
[ "$(sed -n 5p "$T/note" | cut -d' ' -f3 | base64 -d | head -c 4 | od -An -tx1 | tr -d ' \n')" = \
	"$(cat "$T/kid")" ] || fail "the signature does not start with the key id"
head -3 "$T/note" >"$T/body"
sed -n 5p "$T/note" | cut -d' ' -f3 | base64 -d | tail -c 64 >"$T/sig"
openssl pkeyutl -verify -pubin -inkey "$T/pk.pem" -rawin -in "$T/body" -sigfile "$T/sig" >/dev/null ||
	fail "openssl refused the checkpoint signature"
printf '1' | cat - "$T/body" >"$T/body2"
if openssl pkeyutl -verify -pubin -inkey "$T/pk.pem" -rawin -in "$T/body2" -sigfile "$T/sig" >/dev/null 2>&1; then
	fail "openssl accepted a changed body"
fi
ok "by hand: the key id is SHA-256(name, 0x0A, 0x01, key)[:4] and openssl pkeyutl verifies the signature"

# A restart: the next checkpoint extends the last one signed before it.
mirror_stop
mirror_start
printf '{"class":"audit","body":"after restart"}\n' >"$T/one"
send "$T/one"
sleep 1.5
mirror_stop
$CHECK db "$DB" "$T/log.vkey" >"$T/check" || fail "independent check after restart"
jq -e '.entries == 36 and (.checkpoints | last) == 36' "$T/check" >/dev/null || fail "$(cat "$T/check")"
ok "after a restart the log continues and the next checkpoint covers the new entry"

# A store whose tree was changed under the last checkpoint: serve refuses to sign on it.
# (node (4, 1) covers leaves 16..31, part of the root of 36; schema 2 keeps levels 4, 8, ...)
sqlite3 "$DB" "UPDATE nodes SET hash = zeroblob(32) WHERE level = 4 AND idx = 1"
expect_rc 1 timeout 20 exai-mirror serve --config "$T/mirror.yaml"
expect_contains "$T/err" "no longer has the root of the last signed checkpoint (size 36)"
ok "serve refuses a store whose tree no longer matches its last checkpoint"
