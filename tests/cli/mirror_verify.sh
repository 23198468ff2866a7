# exai-mirror prove and verify. Proofs (C2SP tlog-proof for inclusion, the consistency form)
# are checked by the independent Python checker; verify recomputes the whole log and names the
# index of an altered, inserted, removed or reordered row, and a bad checkpoint, each on its
# own copy of a good store.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
CHECK="/usr/bin/python3 $EXAI_SRC/tests/cli/mirror_check.py"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }
# MG: the same without the SHA extensions (SHA-256 through OpenSSL, exai_init as usual).
MG() { EXAI_SHA_GENERIC=1 M "$@"; }

mirror_config
mirror_start
# Three bursts more than a second apart: checkpoints of 13, 20 and 37 entries.
for n in 13 7 17; do
	python3 -c "
for i in range($n): print('{\"class\":\"telemetry\",\"body\":\"e%d\",\"attributes\":{\"n\":%d}}' % (i, i))" >"$T/burst"
	send "$T/burst"
	sleep 1.3
done
mirror_stop
[ "$(q 'SELECT group_concat(size) FROM checkpoints')" = "13,20,37" ] ||
	fail "checkpoints: $(q 'SELECT group_concat(size) FROM checkpoints')"

expect_rc 0 M verify
expect_contains "$T/out" "verify: ok: 37 entries (0 pruned), 3 checkpoints, the last of size 37"
expect_rc 0 M verify --json
jq -e '.ok and .entries == 37 and .checkpoints == 3 and .problems == []' "$T/out" >/dev/null ||
	fail "verify --json: $(cat "$T/out")"
ok "verify: a good store passes"

# Inclusion proofs, every index against every checkpoint it is in.
for size in 13 20 37; do
	i=0
	while [ $i -lt $size ]; do
		M prove --index $i --size $size >"$T/proof" || fail "prove $i $size"
		# prove skips exai_init and hashes with the SHA extensions (where the CPU has
		# them); the same proof through OpenSSL, as every other command starts, must be
		# the same bytes.
		MG prove --index $i --size $size >"$T/proof.g" || fail "generic prove $i $size"
		cmp -s "$T/proof" "$T/proof.g" || fail "prove $i $size: another proof through OpenSSL"
		$CHECK inclusion "$T/proof" "$T/log.vkey" >"$T/pc" || fail "proof of $i in $size"
		[ "$(head -1 "$T/pc")" = "$i $size" ] || fail "proof names $(head -1 "$T/pc")"
		i=$((i + 5))
	done
done
M prove --index 36 >"$T/proof"
head -1 "$T/proof" | grep -qx "c2sp.org/tlog-proof@v1" || fail "first line"
sed -n 3p "$T/proof" | grep -qx "index 36" || fail "index line"
$CHECK inclusion "$T/proof" "$T/log.vkey" >"$T/pc" || fail "latest proof"
tail -1 "$T/pc" | jq -e '.body == "e16" and .class == "telemetry"' >/dev/null || fail "extra payload"
ok "inclusion proofs (tlog-proof, default: the latest checkpoint) verify independently, the same bytes through OpenSSL"

for p in "13 20" "13 37" "20 37" "37 37"; do
	set -- $p
	M prove --from $1 --to $2 >"$T/cproof" || fail "prove --from $1 --to $2"
	MG prove --from $1 --to $2 >"$T/cproof.g" || fail "generic prove --from $1 --to $2"
	cmp -s "$T/cproof" "$T/cproof.g" || fail "prove --from $1 --to $2: another proof through OpenSSL"
	$CHECK consistency "$T/cproof" "$T/log.vkey" >/dev/null || fail "consistency $1 $2"
done
ok "consistency proofs between checkpoints verify independently"

expect_rc 1 M prove --index 3 --size 14
expect_contains "$T/err" "no checkpoint of size 14 was signed"
expect_rc 1 M prove --index 20 --size 20
expect_contains "$T/err" "entry 20 is not in the checkpoint of size 20"
expect_rc 2 M prove --index 3 --from 1 --to 2
expect_contains "$T/err" "give --index N [--size S], or --from A --to B"
expect_rc 2 M prove --index x
ok "prove refuses sizes that were never signed, indexes outside, mixed options"

# Tampering, each on a fresh copy of the good store.
cp "$DB" "$T/good.db"
tamper() {
	cp "$T/good.db" "$DB"
	rm -f "$DB-wal" "$DB-shm"
	python3 -c "
import hashlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
def H(b): return hashlib.sha256(b).digest()
$1
db.commit()" "$DB" || fail "tamper script"
}
expect_problem() { # INDEX TEXT
	set +e
	M verify --json >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	[ $rc = 1 ] || { cat "$T/out" "$T/err" >&2; fail "verify exited $rc, wanted 1"; }
	jq -e --argjson i "$1" --arg t "$2" 'any(.problems[]; .index == $i and (.problem | contains($t)))' \
		"$T/out" >/dev/null || { cat "$T/out" >&2; fail "no problem at $1 with '$2'"; }
}

tamper "db.execute(\"UPDATE entries SET payload = replace(payload, 'e5', 'e6') WHERE idx = 5\")"
expect_problem 5 "entry 5: its payload does not match its leaf"
expect_rc 1 M prove --index 5
expect_contains "$T/err" "entry 5: its payload does not match its leaf"
expect_rc 1 MG prove --index 5
expect_contains "$T/err" "entry 5: its payload does not match its leaf"
tamper "
n, p = db.execute('SELECT nonce, payload FROM entries WHERE idx = 8').fetchone()
p = p.replace(b'e8', b'XX')
db.execute('UPDATE entries SET payload = ?, leaf = ? WHERE idx = 8', (p, H(n + p)))"
# (schema 2 keeps no level-0 nodes: the level-4 node over entries 0 to 15 names the range)
expect_problem 0 "tree node (level 4, index 0) over entries 0 to 15: not the hash of those entries"
tamper "db.execute('DELETE FROM entries WHERE idx = 7')"
expect_problem 7 "entries 7 to 7: missing (removed)"
tamper "db.execute('DELETE FROM entries WHERE idx >= 35')"
expect_problem 35 "checkpoint 37: signed over 37 entries, 35 stored"
tamper "
r = db.execute('SELECT class, tenant, time, ingest_ms, nonce, payload, leaf FROM entries WHERE idx = 36').fetchone()
db.execute('INSERT INTO entries VALUES (37, ?, ?, ?, ?, ?, ?, ?)', r)"
expect_problem 37 "entry 37: not in the tree (inserted)"
tamper "
a = db.execute('SELECT class, tenant, time, ingest_ms, nonce, payload, leaf FROM entries WHERE idx = 2').fetchone()
b = db.execute('SELECT class, tenant, time, ingest_ms, nonce, payload, leaf FROM entries WHERE idx = 3').fetchone()
db.execute('DELETE FROM entries WHERE idx IN (2, 3)')
db.execute('INSERT INTO entries VALUES (2, ?, ?, ?, ?, ?, ?, ?)', b)
db.execute('INSERT INTO entries VALUES (3, ?, ?, ?, ?, ?, ?, ?)', a)"
expect_problem 0 "tree node (level 4, index 0) over entries 0 to 15: not the hash of those entries"
tamper "db.execute(\"UPDATE entries SET tenant = 'grouped' WHERE idx = 4\")"
expect_problem 4 "entry 4: its class, tenant or time columns differ from its payload"
# Columns that read back as the payload's values but are not: time as text ('...x' reads as
# the same integer), a tenant with a NUL byte after the real name.
tamper "db.execute(\"UPDATE entries SET time = time || 'x' WHERE idx = 11\")"
expect_problem 11 "entry 11: its class, tenant or time columns differ from its payload"
tamper "db.execute(\"UPDATE entries SET tenant = CAST('system' || X'00' || 'x' AS TEXT) WHERE idx = 12\")"
expect_problem 12 "entry 12: its class, tenant or time columns differ from its payload"
tamper "db.execute(\"UPDATE entries SET ingest_ms = ingest_ms + 1 WHERE idx = 13\")"
expect_problem 13 "entry 13: its class, tenant or time columns differ from its payload"
# A copy of a row at an index below 0 is no leaf: it is named too.
tamper "
r = db.execute('SELECT class, tenant, time, ingest_ms, nonce, payload, leaf FROM entries WHERE idx = 3').fetchone()
db.execute('INSERT INTO entries VALUES (-2, ?, ?, ?, ?, ?, ?, ?)', r)"
expect_problem null "1 entries with an index below 0, the first -2 (inserted)"
tamper "db.execute(\"UPDATE checkpoints SET note = replace(note, '\n20\n', '\n21\n') WHERE size = 20\")"
expect_problem null "checkpoint 20: checkpoint: the signature by example.com/mirror does not verify"
# A thorough forger: alters entry 10 and rebuilds every node; only the signed checkpoints
# still know, and verify names the range since the last good one.
tamper "
n, p = db.execute('SELECT nonce, payload FROM entries WHERE idx = 10').fetchone()
p = p.replace(b'e10', b'e99')
db.execute('UPDATE entries SET payload = ?, leaf = ? WHERE idx = 10', (p, H(n + p)))
leaves = [H(b'\x00' + l) for (l,) in db.execute('SELECT leaf FROM entries ORDER BY idx')]
db.execute('DELETE FROM nodes')
lv, level = leaves, 0
while lv:
    if level and level % 4 == 0:
        for i, x in enumerate(lv): db.execute('INSERT INTO nodes VALUES (?, ?, ?)', (level, i, x))
    lv = [H(b'\x01' + lv[2 * i] + lv[2 * i + 1]) for i in range(len(lv) // 2)]
    level += 1"
expect_problem 0 "checkpoint 13: not the root of the stored entries (one of entries 0 to 12"
ok "verify names altered, re-leafed, removed, truncated, inserted, reordered and re-tenanted rows, a forged checkpoint and a rebuilt tree"

cp "$T/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
expect_rc 0 M verify
ok "the untouched store still verifies"

# verify of a store the daemon is writing to: one read transaction, so the rows, nodes and
# checkpoints it checks are one snapshot (read apart, nodes and checkpoints committed after
# the rows were read looked like removed entries).
mirror_config "limits: {max_batch: 20}" "checkpoint_interval_ms: 10"
mirror_start
/usr/bin/python3 - "$SOCK" >/dev/null 2>&1 <<'EOP' &
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rb")
n = 0
while n < 1000:
    s.sendall(b"".join(b'{"class":"telemetry","body":"live-%d"}\n' % (n * 20 + i) for i in range(20)))
    if not f.readline():
        break
    n += 1
EOP
load=$!
k=0
proved=0
while [ $k -lt 25 ] && kill -0 $load 2>/dev/null; do
	M verify >"$T/live.out" 2>&1 || { cat "$T/live.out" >&2; kill $load; fail "verify of a live store, round $k"; }
	# prove too reads one snapshot: its checkpoint, entry and path agree (checked before it
	# prints, and again by the independent checker), or there is no checkpoint yet.
	if M prove --index 0 >"$T/live.p" 2>"$T/live.err"; then
		$CHECK inclusion "$T/live.p" "$T/log.vkey" >/dev/null || { kill $load; fail "live proof, round $k"; }
		proved=$((proved + 1))
	elif ! grep -q "the log has no checkpoint yet" "$T/live.err"; then
		cat "$T/live.err" >&2
		kill $load
		fail "prove of a live store, round $k"
	fi
	k=$((k + 1))
done
wait $load || fail "the live load's client failed"
mirror_stop
[ $k -ge 3 ] || fail "only $k verify rounds ran during the load"
[ $proved -ge 1 ] || fail "no proof during the load ($k rounds)"
echo "# $proved of $k rounds proved entry 0 during the load"
expect_rc 0 M verify
ok "verify and prove of a store being written ($k rounds during the load) see one snapshot"
