# query --follow: the matching entries, then each matching one as it is committed (in log
# order, none twice, none of another filter), until SIGINT, which ends it with exit 0; with
# --json one compact JSON object a line.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
# wait_count FILE N: until FILE has N lines (at most 10 s).
wait_count() {
	i=0
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

mirror_config
mirror_start
echo '{"class":"telemetry","body":"before"}' >"$T/a"
send "$T/a"
exai-mirror query --config "$T/mirror.yaml" --class telemetry --follow --json >"$T/f" 2>"$T/f.err" &
follower=$!
wait_count "$T/f" 1
printf '%s\n' '{"class":"audit","body":"other class"}' '{"class":"telemetry","body":"after 1"}' >"$T/b"
send "$T/b"
echo '{"class":"telemetry","body":"after 2"}' >"$T/c"
send "$T/c"
wait_count "$T/f" 3
kill -INT $follower
rc=0
wait $follower || rc=$?
[ "$rc" = 0 ] || fail "query --follow exited $rc after SIGINT: $(cat "$T/f.err")"
mirror_stop
jq -s -e '[.[].body] == ["before", "after 1", "after 2"] and ([.[].index] == [0, 2, 3])' "$T/f" \
	>/dev/null || fail "followed: $(cat "$T/f")"
ok "query --follow prints the matching entries, then each new matching one once, until SIGINT"
expect_rc 2 exai-mirror query --config "$T/mirror.yaml" --follow --explain
expect_contains "$T/err" "--follow and --explain do not go together"
ok "--follow with --explain is refused"
