# airgap-verifier run --timeout: a hanging command and everything it started are killed, the
# report says so; leftovers of a command that exits are killed too.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root

# Sleep durations unique to this run, so that another test run on the machine (its own
# "sleep 987654") is never taken for a process this one left behind. bracket N: the pattern
# that matches N but not the command line of the grep looking for it.
base=$((100000 + ($$ % 80000) * 10))
S1=$((base + 1)) S2=$((base + 2)) S3=$((base + 3)) S4=$((base + 4))
bracket() { echo "$1" | sed 's/.$/[&]/'; }

start=$(date +%s)
expect_rc 0 in_netns airgap-verifier run --timeout 2 --format json -- \
	sh -c "sleep $S4 & sleep $S3; echo not-reached"
took=$(($(date +%s) - start))
[ "$took" -le 10 ] || fail "a 2 s timeout took $took s"
note "$T/out" "timed out after 2 s: the command and every process it started were killed"
expect_not_contains "$T/err" "not-reached"
no_process "$(bracket $S4)"
no_process "$(bracket $S3)"
ok "timeout kills the command and its background child (${took}s)"

expect_rc 1 in_netns airgap-verifier run --timeout 2 --format json -- \
	"$PHONE" tag "vfrun-timeout-$$" tcp 192.0.2.1 443 hang
attempt "$T/out" "192.0.2.1:443" "proto=tcp dst=192.0.2.1 port=443"
note "$T/out" "timed out after 2 s"
no_process "vfrun-timeou[t]-$$"
ok "what a hanging command tried before the timeout is reported"

expect_rc 0 in_netns airgap-verifier run --format json -- sh -c "sleep $S2 & exit 0"
note "$T/out" "1 process the command left running was killed when it exited"
note "$T/out" "command exit status: 0"
no_process "$(bracket $S2)"
ok "a command's leftovers are killed when it exits"

in_netns sh -c 'airgap-verifier run --format json -- sleep "$4" >"$1" 2>"$2" & p=$!
	sleep 1; kill -TERM $p; wait $p; echo $? >"$3"' sh "$T/out" "$T/err" "$T/rc" "$S1"
[ "$(cat "$T/rc")" = 2 ] || fail "interrupted run: exit $(cat "$T/rc"), want 2"
note "$T/out" "interrupted by signal 15"
expect_contains "$T/err" "the run is incomplete"
no_process "$(bracket $S1)"
ok "SIGTERM to the verifier kills the command, still writes the report, and exits 2"

expect_rc 2 airgap-verifier run --timeout 0 -- true
expect_contains "$T/err" "--timeout '0'"
expect_rc 2 airgap-verifier run --timeout 5x -- true
ok "bad --timeout values are usage errors"
echo "1..$tests_run"
