# exai-update apply, interrupted: a signal sent to the real process while it stages undoes the
# apply at once (staging removed, journal cleared, a history row "interrupted before switch",
# installed trees, links, ratchets and the ratchet record unchanged; exit 128 + signal);
# status tells a running apply (lock held: pid, phase, progress) from an interrupted one;
# recover of an apply killed while staging says what it really undid; a signal after the
# commit point leaves the journal for recover, as a crash does.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
setup_keys
write_config
bundle "$T/b1" 1 1.0 1
expect_rc 0 U apply "$T/b1"
# b2: a 40 MiB model, so staging takes several data blocks.
mkdir -p "$T/src/model-2"
head -c 40000000 /dev/urandom >"$T/src/model-2/big.bin"
bundle "$T/b2" 2 2.0 2

# start_stopped POINT: apply b2 in the background, stopped at the test-only stop point POINT
# (signals reset to their defaults: sh starts background jobs with SIGINT ignored, and
# exai-update keeps an ignored signal ignored). Sets $pid.
start_stopped() {
	EXAI_FAULT=$1 env --default-signal=INT,TERM,HUP \
		exai-update --config "$T/update.yaml" apply "$T/b2" >"$T/aout" 2>"$T/aerr" &
	pid=$!
	i=0
	until [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = T ]; do
		kill -0 "$pid" 2>/dev/null || { cat "$T/aerr" >&2; fail "apply ended before $1"; }
		i=$((i + 1))
		[ $i -lt 400 ] || { kill -KILL "$pid"; fail "apply never stopped at $1"; }
		sleep 0.05
	done
}
signal_run() {
	kill -"$1" "$pid"
	kill -CONT "$pid" 2>/dev/null || true
	set +e
	wait "$pid"
	rc=$?
	set -e
}
staging() { find "$T/inst" -name '.stage*' | LC_ALL=C sort; }
last_history() { U --json history --limit 1 | jq -r '.history[0] | "\(.op) \(.outcome) \(.reason)"'; }

snapshot >"$T/snap.before"
cp "$T/state/ratchets" "$T/ratchets.before"

for sig in INT:130 TERM:143; do
	name=${sig%%:*} code=${sig#*:}
	start_stopped stage.data:3:stop
	[ -n "$(staging)" ] || fail "nothing staged at the stop point (the test would prove nothing)"
	# status while the apply runs: RUNNING with its pid, phase and progress, not PENDING.
	expect_rc 0 U status
	expect_contains "$T/out" "RUNNING: apply (pid $pid, since "
	expect_contains "$T/out" "phase staging, "
	expect_contains "$T/out" "do not run recover while it runs"
	expect_not_contains "$T/out" "PENDING"
	expect_rc 0 U --json status
	[ "$(jq -r '.running.pid' "$T/out")" = "$pid" ] || fail "json running.pid"
	[ "$(jq -r '.running.phase' "$T/out")" = staging ] || fail "json running.phase"
	[ "$(jq -r '.running.journal.phase' "$T/out")" = staging ] || fail "json running.journal"
	[ "$(jq -r '.running.total' "$T/out")" -gt 40000000 ] || fail "json running.total"
	[ "$(jq -r '.pending' "$T/out")" = null ] || fail "a running apply shown as pending"
	signal_run "$name"
	[ "$rc" = "$code" ] || { cat "$T/aerr" >&2; fail "SIG$name: exit $rc, want $code"; }
	expect_contains "$T/aerr" "interrupted by SIG$name before the switch: staging removed, journal cleared, nothing was changed"
	[ -z "$(staging)" ] || fail "SIG$name left staging: $(staging)"
	[ "$(last_history)" = "apply interrupted interrupted before switch (SIG$name): staging removed, nothing was changed" ] ||
		fail "history: $(last_history)"
	snapshot >"$T/snap.after"
	diff "$T/snap.before" "$T/snap.after" >&2 || fail "SIG$name changed installed state"
	cmp "$T/ratchets.before" "$T/state/ratchets" || fail "SIG$name changed the ratchet record"
	expect_rc 0 U --json status
	[ "$(jq -r '.pending' "$T/out")" = null ] && [ "$(jq -r '.running' "$T/out")" = null ] ||
		fail "journal or lock left after SIG$name"
done
assert_app 1.0
ok "SIGINT/SIGTERM while staging: undone at once (staging, journal gone; state, ratchets unchanged; history row; exit 130/143); status showed RUNNING with pid"

# Killed while staging (as by SIGKILL or a power cut): status says PENDING, and recover says
# that the version it removes was never switched in.
set +e
EXAI_FAULT=stage.data:3:crash U apply "$T/b2" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 86 ] || fail "crash point: exit $rc"
expect_rc 0 U status
expect_contains "$T/out" "PENDING: interrupted apply (phase staging"
expect_not_contains "$T/out" "RUNNING"
expect_rc 0 U recover
expect_contains "$T/out" "exai-update recover: undone"
expect_contains "$T/out" "the interrupted apply had not reached its switch: nothing had changed"
expect_contains "$T/out" "software/app 2.0: staged copy removed (never switched in); a stays active"
expect_contains "$T/out" "model/llama 2: staged copy removed (never switched in); 1 stays active"
expect_not_contains "$T/out" " -> "
[ -z "$(staging)" ] || fail "recover left staging"
snapshot >"$T/snap.after"
diff "$T/snap.before" "$T/snap.after" >&2 || fail "recover changed installed state"
ok "recover of an apply killed while staging says the new version was never switched in"

# After the commit point a signal ends the process with one line; the journal stays and
# recover finishes the apply.
start_stopped switch.link:1:stop
signal_run INT
[ "$rc" = 130 ] || { cat "$T/aerr" >&2; fail "after the switch: exit $rc"; }
expect_contains "$T/aerr" "interrupted after the commit point: the journal stays; run 'exai-update recover'"
expect_rc 0 U status
expect_contains "$T/out" "PENDING: interrupted apply (phase switching"
expect_rc 0 U recover
expect_contains "$T/out" "exai-update recover: completed"
assert_app 2.0
ok "a signal after the commit point leaves the journal; recover completes the apply"
