# exai-mirror query and stats on a read-only connection: filters by class, tenant and time
# (unix seconds or ISO 8601), --where on payload fields, --limit, --json, each common filter
# served by an index (EXPLAIN
# QUERY PLAN), and stats' counts per class and tenant, refusals and the last checkpoint.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config
mirror_start
cat >"$T/in" <<'EOI'
{"class":"telemetry","time":1000,"body":"t1000","attributes":{"host":"a"}}
{"class":"audit","time":2000,"body":{"op":"login"}}
{"class":"telemetry","time":3000,"body":"t3000"}
{"class":"prompt","body":"secret"}
{"class":"bogus","body":1}
{"class":"audit","time":1764633600,"body":"dec2"}
EOI
send "$T/in"
echo '{"class":"telemetry","time":2500,"body":"by group"}' >"$T/one"
chmod 755 "$T"
setpriv --reuid 65534 --regid 4242 --clear-groups $CLIENT "$SOCK" <"$T/one" >"$T/replies"
sleep 1.3
mirror_stop
chmod 444 "$DB"

expect_rc 0 M query --json
jq -e '[.entries[].body] == ["t1000", {"op":"login"}, "by group", "t3000", "dec2"]' "$T/out" >/dev/null ||
	fail "all, by time: $(cat "$T/out")"
jq -e '.entries[0] | .index == 0 and .class == "telemetry" and .tenant == "system" and .time == 1000
	and .attributes.host == "a"' "$T/out" >/dev/null || fail "entry fields"
expect_rc 0 M query --class audit --json
jq -e '[.entries[].index] == [1, 3]' "$T/out" >/dev/null || fail "--class: $(cat "$T/out")"
expect_rc 0 M query --tenant grouped --json
jq -e '[.entries[].body] == ["by group"]' "$T/out" >/dev/null || fail "--tenant"
expect_rc 0 M query --since 2000 --until 3000 --json
jq -e '[.entries[].time] == [2000, 2500]' "$T/out" >/dev/null || fail "--since/--until: $(cat "$T/out")"
expect_rc 0 M query --since 2025-12-02T00:00:00Z --json
jq -e '[.entries[].body] == ["dec2"]' "$T/out" >/dev/null || fail "ISO --since"
expect_rc 0 M query --limit 2 --json
jq -e '.entries | length == 2' "$T/out" >/dev/null || fail "--limit"
expect_rc 0 M query --class telemetry --limit 1
expect_contains "$T/out" "0  1970-01-01T00:16:40Z  telemetry  system  \"t1000\""
ok "query filters by class, tenant, time (unix or ISO), limits, text and --json, on a read-only file"

expect_rc 0 M query --class audit --explain
expect_contains "$T/out" "USING INDEX entries_class_time (class=?)"
expect_rc 0 M query --tenant system --since 5 --explain
expect_contains "$T/out" "USING INDEX entries_tenant_time (tenant=? AND time>?)"
expect_rc 0 M query --since 5 --until 9 --explain
expect_contains "$T/out" "USING INDEX entries_time (time>? AND time<?)"
expect_rc 0 M query --explain
expect_contains "$T/out" "USING INDEX entries_time"
expect_not_contains "$T/out" "TEMP B-TREE"
ok "each common filter is served by an index, with no sort"

# --where on payload fields: body, body.KEY, attributes.KEY; every one must hold.
expect_rc 0 M query --where body.op=login --json
jq -e '[.entries[].index] == [1]' "$T/out" >/dev/null || fail "--where body.op: $(cat "$T/out")"
expect_rc 0 M query --where attributes.host=a --json
jq -e '[.entries[].body] == ["t1000"]' "$T/out" >/dev/null || fail "--where attributes: $(cat "$T/out")"
expect_rc 0 M query --where body=t3000 --class telemetry --json
jq -e '[.entries[].body] == ["t3000"]' "$T/out" >/dev/null || fail "--where body: $(cat "$T/out")"
expect_rc 0 M query --where body=t3000 --where attributes.host=a --json
jq -e '.entries == []' "$T/out" >/dev/null || fail "two --where must both hold: $(cat "$T/out")"
expect_rc 0 M query --where body.op=logout --json
jq -e '.entries == []' "$T/out" >/dev/null || fail "--where no match: $(cat "$T/out")"
# Not served by an index: --explain shows it is checked on the rows the indexed filter selects.
expect_rc 0 M query --class audit --where body.op=login --explain
expect_contains "$T/out" "USING INDEX entries_class_time (class=?)"
for bad in body.op attributes.=x attributes=x "body..op=x" "body.o'p=x" "bodyx=1" "=x"; do
	expect_rc 2 M query --where "$bad"
	expect_contains "$T/err" "--where"
done
expect_rc 2 M query --where body=1 --where body=2 --where body=3 --where body=4 --where body=5 \
	--where body=6 --where body=7 --where body=8 --where body=9
expect_contains "$T/err" "at most 8 --where"
ok "--where FIELD=VALUE on body and attributes fields, all must hold; bad fields refused"

expect_rc 0 M stats --json
jq -e '.entries == 5 and .by_class.audit.system == 2 and .by_class.telemetry.system == 2
	and .by_class.telemetry.grouped == 1 and .counters["dropped:prompt"] == 1
	and .counters["refused:unknown_class"] == 1 and .last_checkpoint == 5' "$T/out" >/dev/null ||
	fail "stats: $(cat "$T/out")"
# Queue depth: a gauge the writer sets in each commit (the bytes still queued behind it); the
# daemon has drained, so the last one is 0; stats shows it apart from the counters.
[ "$(q "SELECT value FROM counters WHERE name = 'queue:waiting_bytes'")" = 0 ] ||
	fail "the writer did not record the queue depth: $(q 'SELECT * FROM counters')"
jq -e '.queue.waiting_bytes == 0 and (.counters | has("queue:waiting_bytes") | not)' "$T/out" \
	>/dev/null || fail "stats queue: $(cat "$T/out")"
expect_rc 0 M stats
expect_contains "$T/out" "last checkpoint:  size 5"
expect_contains "$T/out" "queue depth:      0 bytes waiting for the writer"
ok "stats: entries per class and tenant, drops and refusals by reason, the last checkpoint"

expect_rc 2 M query --limit 0
expect_contains "$T/err" "--limit must be 1 to 100000"
expect_rc 2 M query --since yesterday
expect_contains "$T/err" "'yesterday' is not unix seconds or YYYY-MM-DDTHH:MM:SSZ"
rm -f "$DB"
expect_rc 2 M query
expect_contains "$T/err" "mirror.db"
[ ! -e "$DB" ] || fail "query created the database"
ok "usage errors; a missing store is an error and is never created"
