# Scrubbing before storage, end to end: secrets in bodies, attributes and exai-update's event
# reason are replaced by markers before anything is queued for the writer, so none reaches the
# database files; the leaf commits to the scrubbed payload (verify passes); stats counts hits by
# kind.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config
mirror_start
cat >"$T/in" <<'EOI'
{"class":"telemetry","body":"login by alice@example.org with AKIAIOSFODNN7EXAMPLE","attributes":{"iban":"DE89370400440532013000","tok":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}
{"class":"audit","body":{"pem":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----","jwt":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"}}
{"v":1,"source":"exai-update","time":1764460800,"op":"apply","bundle_id":"","channel":"stable","sequence":6,"signers":"","outcome":"failed","reason":"hook wrote to ops@example.net"}
{"class":"telemetry","body":"order 12345678901234567890 shipped; DE89370400440532013001"}
EOI
send "$T/in"
jq -s -e '(map(.ack.stored // 0) | add) == 4' "$T/replies" >/dev/null || fail "acks: $(cat "$T/replies")"
sleep 1.3
mirror_stop

for secret in alice@example.org AKIAIOSFODNN7EXAMPLE DE89370400440532013000 \
	ghp_abcdefghijklmnopqrstuvwxyz0123456789 MIIEvQIBADANBgkq dozjgNryP4J3jVmNHl0w5N \
	ops@example.net; do
	if grep -a -q "$secret" "$T/mstate/"mirror.db*; then fail "'$secret' reached the disk"; fi
done
ok "no secret of any kind reaches the database files"

[ "$(q "SELECT json_extract(payload, '\$.body') FROM entries WHERE idx = 0")" = \
	"login by ‹email:****REDACTED› with ‹aws_access_key_id:AKIA****REDACTED›" ] ||
	fail "body: $(q 'SELECT payload FROM entries WHERE idx = 0')"
[ "$(q "SELECT json_extract(payload, '\$.attributes.iban') FROM entries WHERE idx = 0")" = \
	"‹iban:DE89****REDACTED›" ] || fail "attribute"
[ "$(q "SELECT json_extract(payload, '\$.body.reason') FROM entries WHERE idx = 2")" = \
	"hook wrote to ‹email:****REDACTED›" ] || fail "event reason"
# Near misses are kept: a plain digit string and an IBAN whose check digits are wrong.
[ "$(q "SELECT json_extract(payload, '\$.body') FROM entries WHERE idx = 3")" = \
	"order 12345678901234567890 shipped; DE89370400440532013001" ] || fail "near misses changed"
ok "matches become markers keeping the kind and a short prefix; near misses are kept"

expect_rc 0 M verify
expect_rc 0 M stats --json
jq -e '.counters["scrubbed:email"] == 2 and .counters["scrubbed:aws_access_key_id"] == 1 and
	.counters["scrubbed:iban"] == 1 and .counters["scrubbed:github_token"] == 1 and
	.counters["scrubbed:pem_private_key"] == 1 and .counters["scrubbed:jwt"] == 1' "$T/out" \
	>/dev/null || fail "stats: $(cat "$T/out")"
ok "verify passes over scrubbed payloads; stats counts scrubber hits by kind"
