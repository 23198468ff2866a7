# Shared setup for the exai-egress serve tests (sourced after lib.sh, egress_lib.sh and
# mirror_lib.sh). Gives:
#   serve_config [EXTRA YAML LINES...]  $T/egress.yaml: spool in $T/spool, control socket
#                                       $CTL, journal socket $T/log.sock, policy_dirs [$T],
#                                       state_dir $STATE (egress_lib's)
#   journal_start                       a syslog receiver on $T/log.sock, lines into $T/journal
#   serve_start / serve_stop / serve_kill   the daemon ($SERVE_PID); stop sends SIGTERM and
#                                       wants exit 0 and the socket gone; kill is kill -9
#   mstart / mstop                      the real exai-mirror (mirror_lib's, keeping our trap)
#   spool_events, spool_is N            how many events wait in the spool (sqlite3); is it N
#   meta_is KEY VALUE                   the spool's counter KEY is VALUE
#   wait_for DESC CMD...                retries CMD for up to 10 s (CMD is run each time: give
#                                       a function, not an expanded $(...))
# The EXIT trap stops serve, the mirror and the journal receiver, then egress_cleanup.
SERVE_PID=""
JOURNAL_PID=""
KEEP_SERVE_ERR=${KEEP_SERVE_ERR:-}
CTL="$T/ctl.sock"
CONF="$T/egress.yaml"

serve_cleanup() {
	[ -z "$KEEP_SERVE_ERR" ] || cp "$T/serve.err" "$KEEP_SERVE_ERR" 2>/dev/null || true
	[ -z "$SERVE_PID" ] || kill -9 "$SERVE_PID" 2>/dev/null || true
	[ -z "$MIRROR_PID" ] || kill "$MIRROR_PID" 2>/dev/null || true
	[ -z "$JOURNAL_PID" ] || kill "$JOURNAL_PID" 2>/dev/null || true
	egress_cleanup
}
trap serve_cleanup EXIT

serve_config() {
	mkdir -p "$T/spool"
	cat >"$CONF" <<EOY
policy_dirs: [$T]
spool: {dir: $T/spool}
journal_socket: $T/log.sock
control: {socket: $CTL, mode: "0600", allow_uids: [0]}
state_dir: $STATE
EOY
	for l in "$@"; do printf '%s\n' "$l" >>"$CONF"; done
}

journal_start() {
	rm -f "$T/log.sock"
	$PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".ready", "w").close()
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T/log.sock" "$T/journal" &
	JOURNAL_PID=$!
	wait_for "the journal receiver" test -e "$T/log.sock.ready"
}

wait_for() {
	what=$1
	shift
	i=0
	until "$@" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			echo "--- serve's stderr:" >&2
			tail -20 "$T/serve.err" >&2 2>/dev/null || true
			fail "waited 10 s for $what"
		fi
		sleep 0.1
	done
}

reading_count() {
	if [ -e "$T/serve.err" ]; then grep -cF "reading the events of $PIN" "$T/serve.err" || true; else echo 0; fi
}
reading_more() { [ "$(reading_count)" -gt "$1" ]; }

serve_start() {
	n0=$(reading_count)
	exai-egress serve --config "$CONF" 2>>"$T/serve.err" &
	SERVE_PID=$!
	i=0
	while [ ! -S "$CTL" ]; do
		kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/serve.err" >&2; fail "serve exited"; }
		i=$((i + 1))
		[ $i -lt 100 ] || fail "serve did not bind $CTL"
		sleep 0.1
	done
	wait_for "serve to read the events of $PIN" reading_more "$n0"
}

serve_stop() {
	kill -TERM "$SERVE_PID"
	set +e
	wait "$SERVE_PID"
	rc=$?
	set -e
	SERVE_PID=""
	[ "$rc" = 0 ] || { cat "$T/serve.err" >&2; fail "serve exited $rc after SIGTERM"; }
	[ ! -e "$CTL" ] || fail "serve left its control socket behind"
}

serve_kill() {
	kill -9 "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=""
}

mstart() {
	mirror_start
	trap serve_cleanup EXIT
}

mstop() {
	mirror_stop
	trap serve_cleanup EXIT
}

spool_events() { sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM spool"; }
spool_is() { [ "$(spool_events)" = "$1" ]; }
# meta_is KEY VALUE: the spool's counter KEY is VALUE now
meta_is() { [ "$(sqlite3 "$T/spool/spool.db" "SELECT value FROM meta WHERE key = '$1'")" = "$2" ]; }
