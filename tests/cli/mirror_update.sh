# exai-update's outbox into the real exai-mirror: with the mirror down the events queue; with
# it up the next run delivers them and they land in class audit, as exai-update's tenant,
# with their own times and the event as the body.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"

setup_keys
mirror_config
write_config "mirror_socket: $SOCK" "hooks: {health_check: [/bin/true]}"
bundle "$T/b1" 1 1 1
bundle "$T/b2" 2 2 2

expect_rc 0 U apply "$T/b1"
expect_contains "$T/err" "events stay queued for the mirror"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 1 ] || fail "outbox"
ok "mirror down: the event queues in exai-update's outbox"

mirror_start
expect_rc 0 U apply "$T/b2"
expect_not_contains "$T/err" "queued"
[ "$(sqlite3 "$T/state/state.db" 'SELECT count(*) FROM outbox')" = 0 ] || fail "outbox not drained"
# exai-update does not wait for the ack yet: stop the mirror (it drains) before reading.
mirror_stop
[ "$(q "SELECT group_concat(class || ':' || tenant || ':' || json_extract(payload, '\$.body.op')
	|| ':' || json_extract(payload, '\$.body.sequence'), ' ') FROM entries")" = \
	"audit:system:apply:1 audit:system:apply:2" ] || fail "rows: $(q 'SELECT * FROM entries')"
[ "$(q "SELECT count(*) FROM entries WHERE time = json_extract(payload, '\$.body.time')")" = 2 ] ||
	fail "event times"
ok "mirror up: the queued event and the new one land in class audit, in order"
