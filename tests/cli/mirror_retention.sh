# Retention inside the daemon: payloads of a class older than its retention_days are deleted
# (their bytes gone from the files, the space reclaimed), their leaves stay, the run is itself
# a log entry (class, count, index range), verify still passes, query shows the entries as
# pruned, never absent, and proofs of every entry still verify. The daemon's clock for
# retention is moved 31 days on (EXAI_MIRROR_RETENTION_SKEW_DAYS, a test-build hook).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
CHECK="/usr/bin/python3 $EXAI_SRC/tests/cli/mirror_check.py"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config "retention_check_s: 1"
mirror_start
python3 -c '
for i in range(40):
    print("{\"class\":\"%s\",\"body\":\"%s-%04d-%s\"}" % (("telemetry", "tele", i, "x" * 200) if i % 2 else ("audit", "keep", i, "y")))' >"$T/in"
send "$T/in"
sleep 1.5
[ "$(q 'SELECT count(*) FROM entries WHERE payload IS NULL')" = 0 ] || fail "pruned too early"
mirror_stop
[ "$(q 'PRAGMA auto_vacuum')" = 2 ] || fail "auto_vacuum is not incremental"
grep -a -q "tele-0001" "$T/mstate/mirror.db" || fail "self-check: the telemetry bodies are in the file"
size0=$(stat -c %s "$T/mstate/mirror.db")

EXAI_MIRROR_RETENTION_SKEW_DAYS=31 mirror_start
sleep 2.5
mirror_stop
expect_contains "$T/serve.err" "retention: 20 payloads pruned"
[ "$(q "SELECT count(*) FROM entries WHERE class = 'telemetry' AND payload IS NULL")" = 20 ] ||
	fail "telemetry not pruned"
[ "$(q "SELECT count(*) FROM entries WHERE class = 'audit' AND payload IS NOT NULL")" = 21 ] ||
	fail "audit (2557 days) was touched"
[ "$(q "SELECT count(*) FROM entries WHERE length(leaf) = 32 AND length(nonce) = 16")" = 41 ] ||
	fail "leaves or nonces were removed"
ok "a class past its retention loses its payloads, keeps its leaves; other classes untouched"

# The run is an entry of its own, with class, count and index range.
q "SELECT tenant, json_extract(payload, '\$.body.retention') FROM entries WHERE idx = 40" >"$T/run"
grep -qF 'exai-mirror|{"class":"telemetry","first_index":1,"ingested_before_ms":' "$T/run" ||
	fail "retention entry: $(cat "$T/run")"
grep -qF '"last_index":39,"pruned":20}' "$T/run" || fail "retention count: $(cat "$T/run")"
[ "$(q "SELECT value FROM counters WHERE name = 'pruned:telemetry'")" = 20 ] || fail "counter"
ok "the pruning run is logged as an entry (class, count, index range) and counted"

if grep -a -q "tele-00" "$T/mstate/"mirror.db*; then fail "a pruned payload is still in the files"; fi
size1=$(stat -c %s "$T/mstate/mirror.db")
[ "$size1" -le "$size0" ] || fail "the file grew from $size0 to $size1 bytes"
ok "the pruned bytes are gone from the database files, the space reclaimed ($size0 -> $size1 bytes)"

expect_rc 0 M verify
expect_contains "$T/out" "verify: ok: 41 entries (20 pruned)"
expect_rc 0 M query --class telemetry --limit 3 --json
jq -e '[.entries[] | .pruned] == [true, true, true] and [.entries[].index] == [1, 3, 5]' "$T/out" \
	>/dev/null || fail "query: $(cat "$T/out")"
expect_rc 0 M query --class telemetry --limit 1
expect_contains "$T/out" "(pruned)"
# --where cannot compare a pruned payload: such entries are shown as pruned, not left out.
expect_rc 0 M query --class telemetry --where body=no-such-body --limit 2 --json
jq -e '[.entries[] | .pruned] == [true, true] and [.entries[].index] == [1, 3]' "$T/out" \
	>/dev/null || fail "query --where over pruned entries: $(cat "$T/out")"
ok "verify passes after pruning; query shows pruned entries as pruned, --where too"

# Proofs of a kept entry still verify against a checkpoint signed after the pruning.
last=$(q 'SELECT max(size) FROM checkpoints')
[ "$last" = 41 ] || fail "no checkpoint over the retention entry: $last"
M prove --index 2 >"$T/proof"
$CHECK inclusion "$T/proof" "$T/log.vkey" >/dev/null || fail "inclusion after pruning"
M prove --index 3 >"$T/proof"
expect_not_contains "$T/proof" "extra "
M prove --from 40 --to 41 >"$T/cproof"
$CHECK consistency "$T/cproof" "$T/log.vkey" >/dev/null || fail "consistency across the pruning"
ok "proofs stay valid: a kept entry's inclusion, a pruned one's without extra, consistency across"
