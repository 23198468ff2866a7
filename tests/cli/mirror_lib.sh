# Helpers for exai-mirror tests (sourced after lib.sh): a config in $T, a real daemon in the
# background, a real client over the socket.
#   mirror_config [EXTRA YAML LINES...]  writes $T/mirror.yaml (state in $T/mstate)
#   mirror_start / mirror_stop           the daemon (a log key made first if there is none);
#                                        stop sends SIGTERM and wants exit 0
#   send FILE                            sends FILE's bytes, replies into $T/replies
#   q SQL                                one sqlite3 query on the store
MIRROR_PID=""
DB="$T/mstate/mirror.db"
SOCK="$T/ingest.sock"
CLIENT="/usr/bin/python3 $EXAI_SRC/tests/cli/mirror_client.py"

mirror_config() {
	cat >"$T/mirror.yaml" <<EOY
state_dir: $T/mstate
log_key: $T/log.key
origin: example.com/mirror
socket:
  path: $SOCK
  mode: "0666"
classes:
  audit: {retention_days: 2557}
  telemetry: {retention_days: 30}
  prompt: {retention_days: 0}
tenants:
  - uid: 0
    tenant: system
  - gid: 4242
    tenant: grouped
EOY
	for l in "$@"; do printf '%s\n' "$l" >>"$T/mirror.yaml"; done
}

mirror_start() {
	[ -e "$T/log.key" ] || exai-mirror keygen --config "$T/mirror.yaml" >"$T/keygen.out" ||
		fail "keygen"
	exai-mirror serve --config "$T/mirror.yaml" 2>>"$T/serve.err" &
	MIRROR_PID=$!
	i=0
	while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do
		kill -0 "$MIRROR_PID" 2>/dev/null || { cat "$T/serve.err" >&2; fail "serve exited"; }
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$SOCK" ] || fail "serve did not bind $SOCK"
	trap 'kill $MIRROR_PID 2>/dev/null && wait $MIRROR_PID 2>/dev/null || true; rm -rf "$T"' EXIT
}

mirror_stop() {
	kill -TERM "$MIRROR_PID"
	set +e
	wait "$MIRROR_PID"
	rc=$?
	set -e
	MIRROR_PID=""
	trap 'rm -rf "$T"' EXIT
	[ "$rc" = 0 ] || { cat "$T/serve.err" >&2; fail "serve exited $rc after SIGTERM"; }
	[ ! -e "$SOCK" ] || fail "the socket was left behind"
}

send() { $CLIENT "$SOCK" <"$1" >"$T/replies"; }

q() { sqlite3 "$DB" "$1"; }

# jq 1.6's -e exits 0 on empty input: a check of an empty file would pass. Refuse that here.
jq() {
	eval "last=\${$#}"
	if [ -f "$last" ] && [ ! -s "$last" ]; then fail "jq: $last is empty"; fi
	command jq "$@"
}
