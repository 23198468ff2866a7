# The free-disk watermark (limits.min_free_bytes): with less free space under state_dir the
# socket stops reading, so a client waits and nothing is dropped or refused; once there is room
# again the waiting lines are read, stored and acked, and the stop is counted
# (backpressure:disk). The test build reads the free space from $EXAI_MIRROR_TEST_FREE_FILE.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
export EXAI_MIRROR_TEST_FREE_FILE="$T/free"
echo 1000000000 >"$T/free"
mirror_config "limits: {min_free_bytes: 100000000}"
mirror_start
echo '{"class":"telemetry","body":"room"}' >"$T/a"
send "$T/a"
jq -e '.ack.stored == 1' "$T/replies" >/dev/null || fail "with room: $(cat "$T/replies")"
ok "above the watermark lines are stored and acked"

echo 1000 >"$T/free"
i=0
while ! grep -q "below min_free_bytes" "$T/serve.err" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
grep -q "below min_free_bytes (100000000): not reading" "$T/serve.err" || fail "no stop: $(cat "$T/serve.err")"
printf '%s\n' '{"class":"telemetry","body":"w1"}' '{"class":"audit","body":"w2"}' >"$T/b"
$CLIENT "$SOCK" <"$T/b" >"$T/replies2" &
client=$!
sleep 1.5
[ ! -s "$T/replies2" ] || fail "read while the disk is low: $(cat "$T/replies2")"
[ "$(q 'SELECT count(*) FROM entries')" = 1 ] || fail "stored while the disk is low"
kill -0 $client 2>/dev/null || fail "the client did not wait"
ok "below the watermark nothing is read: the client waits, nothing is stored or refused"

echo 1000000000 >"$T/free"
wait $client || fail "client"
jq -s -e '(map(.ack.stored // 0) | add) == 2 and (map(select(.error)) | length) == 0' \
	"$T/replies2" >/dev/null || fail "after room again: $(cat "$T/replies2")"
grep -q "free disk above min_free_bytes again: reading" "$T/serve.err" || fail "no resume line"
expect_rc 0 exai-mirror stats --json --config "$T/mirror.yaml"
jq -e '.counters["backpressure:disk"] == 1 and .entries == 3' "$T/out" >/dev/null ||
	fail "stats: $(cat "$T/out")"
mirror_stop
ok "with room again the waiting lines are stored and acked; the stop is counted"
