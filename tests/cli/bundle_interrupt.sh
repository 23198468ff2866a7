# exai-bundle create, interrupted: SIGINT/SIGTERM/SIGHUP sent to the real process mid-payload
# remove the temporary output (.exb file or bundle directory), print one line and exit
# 128 + signal; a run killed with SIGKILL leaves its temporary file, which the next create
# into the same directory names (without removing it), while a running create's is left alone.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
cd "$T"
mkdir -p src dst
head -c 48000000 /dev/urandom >src/model.bin
cat >spec.yaml <<'SPEC'
channel: stable
sequence: 1
expires_in_days: 30
target: {classes: [a]}
chunk_size: 1048576
components:
  - {type: model, name: big, version: "1", source: src/model.bin}
SPEC

# start_stopped OUT: starts create in the background, stopped at its 10th payload chunk (the
# test-only stop point create.chunk); sets $pid. Signals are reset to their defaults: a
# background job of sh would otherwise start with SIGINT ignored (and create keeps an
# ignored signal ignored, as nohup expects).
start_stopped() {
	EXAI_FAULT=create.chunk:10:stop env --default-signal=INT,TERM,HUP \
		"$B" create spec.yaml --out "$1" --no-encrypt >"$T/cout" 2>"$T/cerr" &
	pid=$!
	i=0
	until [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = T ]; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "create did not reach its stop point"
		sleep 0.05
	done
}
# signal_run SIG: sends SIG to the stopped create, lets it run, sets $rc.
signal_run() {
	kill -"$1" "$pid"
	kill -CONT "$pid" 2>/dev/null || true
	set +e
	wait "$pid"
	rc=$?
	set -e
}

for form in dst/b.exb dst/bdir; do
	for sig in INT:130 TERM:143 HUP:129; do
		name=${sig%%:*} want=${sig#*:}
		start_stopped "$form"
		[ -n "$(ls dst)" ] || fail "nothing written before the signal (test would prove nothing)"
		signal_run "$name"
		[ "$rc" = "$want" ] || { cat "$T/cerr" >&2; fail "SIG$name: exit $rc, want $want"; }
		[ -z "$(ls -A dst)" ] || { ls -la dst >&2; fail "SIG$name left files in dst/"; }
		[ "$(wc -l <"$T/cerr")" = 1 ] || { cat "$T/cerr" >&2; fail "not one line"; }
		expect_contains "$T/cerr" "exai-bundle create: interrupted by SIG$name: removed everything written; $form was not created"
		expect_not_contains "$T/cerr" ".tmp."
	done
done
ok "SIGINT, SIGTERM and SIGHUP mid-payload remove the .exb or directory: nothing left, one line, exit 130/143/129"

# An ignored SIGINT stays ignored (nohup semantics): the create completes.
EXAI_FAULT=create.chunk:10:stop "$B" create spec.yaml --out dst/ign.exb --no-encrypt \
	>"$T/cout" 2>"$T/cerr" &
pid=$!
until [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = T ]; do sleep 0.05; done
signal_run INT
[ "$rc" = 0 ] || { cat "$T/cerr" >&2; fail "an ignored SIGINT stopped create ($rc)"; }
[ -f dst/ign.exb ] || fail "no bundle"
rm -f dst/ign.exb
ok "a SIGINT that the caller ignores (sh background job) does not interrupt"

# SIGKILL: nothing can clean up; the next create names what was left.
start_stopped dst/k.exb
signal_run KILL
[ "$rc" = 137 ] || fail "SIGKILL: exit $rc"
stale=$(ls dst)
case "$stale" in k.exb.tmp.??????) ;; *) fail "unexpected left-over: $stale" ;; esac
start_stopped dst/kdir
signal_run KILL
stale_dir=$(ls dst | grep '^kdir\.tmp\.')
# A create that is running (stopped at its stop point, holding its lock) is not named.
start_stopped dst/running.exb
running_pid=$pid
running_tmp=$(ls dst | grep '^running\.exb\.tmp\.')
expect_rc 0 "$B" create spec.yaml --out dst/next.exb --no-encrypt
expect_contains "$T/err" "warning: dst/$stale is left over from an interrupted create (9.0 MiB"
expect_contains "$T/err" "it is not removed automatically: remove it with rm -rf -- 'dst/$stale'"
expect_contains "$T/err" "warning: dst/$stale_dir is left over from an interrupted create"
expect_not_contains "$T/err" "$running_tmp"
[ "$(grep -c 'left over' "$T/err")" = 2 ] || { cat "$T/err" >&2; fail "wrong count"; }
[ -f "dst/$stale" ] && [ -d "dst/$stale_dir" ] || fail "a stale file was removed"
[ -f dst/next.exb ] || fail "the second create did not write its bundle"
pid=$running_pid
signal_run TERM
[ "$rc" = 143 ] || fail "running create: exit $rc"
[ ! -e "dst/$running_tmp" ] || fail "interrupted create left its temp file"
# An unrelated file with a similar name is not ours: never named.
rm -rf "dst/$stale" "dst/$stale_dir"
: >dst/notes.tmp.abcdef
mkdir dst/other.tmp.abcdef
expect_rc 0 "$B" create spec.yaml --out dst/third.exb --no-encrypt
expect_not_contains "$T/err" "left over"
ok "after SIGKILL the next create names the stale .exb and directory with a removal command, leaves them and a running create's file alone"

# Ctrl-C typed on a real terminal (tmux): the tty sends SIGINT to the foreground process
# group; the progress bar line is ended and the message is one line of its own. (The shell
# in the pane traps SIGINT so that it lives on to write the exit status; its child gets the
# default disposition.)
if command -v tmux >/dev/null 2>&1; then
	sock="$T/tmux.sock"
	cat >"$T/run.sh" <<RUN
unset EXAI_NO_PROGRESS
trap 'echo' INT
cd "$T"
EXAI_FAULT=create.chunk:20:stop "$B" create spec.yaml --out dst/tty.exb --no-encrypt
echo "rc=\$?" >"$T/tty.rc"
sleep 30 # keeps the pane for capture
RUN
	tmux -S "$sock" new-session -d -x 200 -y 20 "sh $T/run.sh"
	i=0
	until pid=$(pgrep -f "out dst/tty.exb" | head -1) && [ -n "$pid" ] &&
		[ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = T ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || { tmux -S "$sock" capture-pane -p >&2; tmux -S "$sock" kill-server; fail "no stopped create in tmux"; }
		sleep 0.05
	done
	[ -n "$(ls dst | grep '^tty\.exb\.tmp\.')" ] || fail "tty create wrote nothing yet"
	tmux -S "$sock" send-keys C-c
	sleep 0.2
	kill -CONT "$pid"
	i=0
	until [ -f "$T/tty.rc" ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || { tmux -S "$sock" kill-server; fail "tty create did not end"; }
		sleep 0.05
	done
	tmux -S "$sock" capture-pane -p >"$T/pane"
	tmux -S "$sock" kill-server
	expect_contains "$T/tty.rc" "rc=130"
	grep -q '^exai-bundle create: interrupted by SIGINT: removed everything written; dst/tty.exb was not created$' "$T/pane" ||
		{ cat "$T/pane" >&2; fail "the message is not a line of its own on the terminal"; }
	[ -z "$(ls dst | grep '^tty\.exb')" ] || fail "Ctrl-C on a terminal left $(ls dst)"
	ok "Ctrl-C on a terminal (tmux): one line of its own after the progress bar, exit 130, nothing left"
fi
