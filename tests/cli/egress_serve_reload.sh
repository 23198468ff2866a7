#!/bin/sh
# Reloads through exai-egress serve's control socket. The client is untrusted: the daemon
# reads the files itself, checks the signatures against ITS trust root (2-of-2 here) and the
# sequence ratchet, and swaps the policy. A signed policy directory, or a file with --sig,
# is swapped in (a probe's verdict changes, status shows the generation); one key short, a
# local edit, --unsigned (allow_unsigned off), a file outside policy_dirs, a peer uid outside
# control.allow_uids and malformed requests are refused with a reason and the old policy
# stays; after a detach, a replayed older sequence is still refused (the ratchet record in
# state_dir), and a missing record refuses every signed reload; --root, --mode, --pin-dir and
# --state-dir are refused by the client when a daemon answers; each
# reload, done or refused, is an event naming the peer. Without a daemon, reload still works
# directly (as root) and says what it needs.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
. "$EXAI_SRC/tests/cli/egress_lib.sh"
MIRROR_PID=""
. "$EXAI_SRC/tests/cli/egress_serve_lib.sh"

mk_keys
mk_root 2 root.yaml r1 r2
ROOT="$T/keys/root.yaml"
# mkpolicy DIR SEQ ADDR...: DIR/policy.yaml (any protocol to each ADDR/32), signed by r1 and r2
mkpolicy() {
	d=$1 seq=$2
	shift 2
	mkdir -p "$d"
	printf 'version: 1\ndefault: deny\nsequence: %s\nworkloads:\n  - name: probes\n    cgroup: %s\n    rules:\n' "$seq" "$CG" >"$d/policy.yaml"
	for a in "$@"; do printf '      - {cidr: %s/32, protocol: any}\n' "$a" >>"$d/policy.yaml"; done
	for k in r1 r2; do
		minisign -S -s "$T/keys/$k.key" -m "$d/policy.yaml" -x "$d/$k.minisig" </dev/null >/dev/null 2>&1 ||
			fail "minisign $d with $k"
	done
}
gen_is() {
	exai-egress status --json >"$T/st" || true
	jq -e --argjson g "$1" '.generation == $g and .attached' "$T/st" >/dev/null ||
		fail "status: want generation $1: $(cat "$T/st")"
}
start_servers
mkpolicy "$T/pol/a" 1 127.0.0.1
mkpolicy "$T/pol/b" 2 127.0.0.1 127.0.0.2
mkpolicy "$T/outside" 3 127.0.0.1 127.0.0.2 127.0.0.3
expect_rc 0 exai-egress apply --policy "$T/pol/a/policy.yaml" --root "$ROOT" --sig "$T/pol/a/r1.minisig" --sig "$T/pol/a/r2.minisig"
serve_config "trust_root: $ROOT"
sed -i "s|^policy_dirs: .*|policy_dirs: [$T/pol]|; s|^control: .*|control: {socket: $CTL, mode: \"0666\", allow_uids: [0, 65534]}|" "$CONF"
chmod 711 "$T" # the client as nobody reaches the socket and resolves the paths
journal_start
serve_start
EXAI_EGRESS_SOCKET=$CTL
export EXAI_EGRESS_SOCKET
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"

# one key short: refused by the daemon, the old policy stays
mkdir "$T/pol/short"
cp "$T/pol/b/policy.yaml" "$T/pol/b/r1.minisig" "$T/pol/short/"
expect_rc 1 exai-egress reload --policy-dir "$T/pol/short"
expect_contains "$T/err" "exai-egress reload: $T/pol/short/policy.yaml: signed by 1 distinct release key of trust root v1, 2 needed"
gen_is 1
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
# a local edit of a signed policy (widening it)
mkdir "$T/pol/edited"
cp "$T/pol/b/"* "$T/pol/edited/"
printf '      - {cidr: 0.0.0.0/0, protocol: any}\n' >>"$T/pol/edited/policy.yaml"
expect_rc 1 exai-egress reload --policy-dir "$T/pol/edited"
expect_contains "$T/err" "signed by 0 distinct release keys"
gen_is 1
ok "through serve: one key short and a local edit are refused by the daemon's trust root; generation 1 stays"

expect_rc 0 exai-egress reload --policy-dir "$T/pol/b"
expect_contains "$T/out" "exai-egress: policy $T/pol/b/policy.yaml in force: generation 2"
gen_is 2
expect_probe ok tcp 127.0.0.2 "$TCP4B"
ok "through serve: a signed policy directory swapped in (generation 2, 127.0.0.2 now allowed)"

expect_rc 1 exai-egress reload --policy-dir "$T/outside"
expect_contains "$T/err" "is under none of the policy_dirs"
ln -s "$T/outside" "$T/pol/link"
expect_rc 1 exai-egress reload --socket "$CTL" --policy-dir "$T/pol/link"
expect_contains "$T/err" "is under none of the policy_dirs"
expect_rc 1 exai-egress reload --policy-dir "$T/pol/a" --unsigned
expect_contains "$T/err" "an unsigned policy is refused: allow_unsigned is off"
mkpolicy "$T/pol/old" 1 127.0.0.1 127.0.0.2 127.0.0.3
expect_rc 1 exai-egress reload --policy-dir "$T/pol/old"
expect_contains "$T/err" "sequence 1 is older than sequence 2 in force"
gen_is 2
ok "through serve: a directory outside policy_dirs (also by a symlink), --unsigned, a replayed older sequence: refused"

for o in "--root $ROOT" "--mode audit" "--pin-dir $PIN" "--state-dir $STATE"; do
	# shellcheck disable=SC2086
	expect_rc 2 exai-egress reload --policy-dir "$T/pol/b" $o
	expect_contains "$T/err" "${o%% *} given, but the request goes to exai-egress serve at $CTL"
done
gen_is 2
ok "the client refuses --root, --mode, --pin-dir and --state-dir when the daemon answers (its own root, the policy's mode, its pins and state_dir)"

chmod 755 "$T/pol" "$T/pol/b" "$T/pol/a"
expect_rc 1 setpriv --reuid 1234 --regid 1234 --clear-groups exai-egress reload --policy-dir "$T/pol/a"
expect_contains "$T/err" "uid 1234 may not send requests (not in control.allow_uids)"
gen_is 2
mkpolicy "$T/pol/c" 3 127.0.0.1
chmod 755 "$T/pol/c"
expect_rc 0 setpriv --reuid 65534 --regid 65534 --clear-groups exai-egress reload --policy-dir "$T/pol/c"
expect_contains "$T/out" "generation 3"
gen_is 3
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
ok "SO_PEERCRED: uid 1234 refused, nobody (in allow_uids) swaps in generation 3"

mkpolicy "$T/pol/d" 4 127.0.0.1 127.0.0.2
expect_rc 0 exai-egress reload --policy "$T/pol/d/policy.yaml" --sig "$T/pol/d/r1.minisig" --sig "$T/pol/d/r2.minisig" --json
jq -e '.ok and .generation == 4' "$T/out" >/dev/null || fail "reload --json: $(cat "$T/out")"
expect_rc 1 exai-egress reload --policy "$T/pol/d/policy.yaml" --sig "$T/pol/d/r1.minisig"
expect_contains "$T/err" "signed by 1 distinct release key"
gen_is 4
ok "through serve: --policy FILE with --sig files (both keys: generation 4; one: refused)"

# requests straight on the socket: malformed ones get a reason and exit 2, the daemon serves on
raw() { $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
if sys.argv[2] != "-": s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().readline().strip())' "$CTL" "$1"; }
raw '{"op":"reload","policy_dir":"relative/dir"}' >"$T/r1"
jq -e '.ok == false and .exit == 2 and (.error.message | contains("absolute path"))' "$T/r1" >/dev/null || fail "relative: $(cat "$T/r1")"
raw '{"op":"reload","policy_dir":"/x","root":"/tmp/evil.yaml"}' >"$T/r2"
jq -e '.ok == false and (.error.message | contains("unknown key '"'root'"'"))' "$T/r2" >/dev/null || fail "root key: $(cat "$T/r2")"
raw 'not json' >"$T/r3"
jq -e '.ok == false and .exit == 2' "$T/r3" >/dev/null || fail "garbage: $(cat "$T/r3")"
raw - >"$T/r4"
jq -e '.ok == false and (.error.message | contains("no request line within"))' "$T/r4" >/dev/null || fail "silent: $(cat "$T/r4")"
gen_is 4
ok "malformed requests (a relative path, a trust root key, not JSON, nothing) get a reason; the policy stays"

# the ratchet outlives a detach: serve reads the record in its state_dir, not only the pins
expect_rc 0 exai-egress detach
expect_rc 0 exai-egress apply --policy "$T/pol/a/policy.yaml" --unsigned
gen_is 1
expect_rc 1 exai-egress reload --policy-dir "$T/pol/old"
expect_contains "$T/err" "sequence 1 is older than sequence 4 in force (the ratchet record $STATE/ratchet): a replay?"
gen_is 1
expect_probe errno=EPERM tcp 127.0.0.2 "$TCP4B"
mv "$STATE/ratchet" "$T/ratchet.saved"
expect_rc 2 exai-egress reload --policy-dir "$T/pol/d"
expect_contains "$T/err" "ratchet record $STATE/ratchet: missing: signed policies are refused until it is provisioned: run 'exai-egress init'"
gen_is 1
mv "$T/ratchet.saved" "$STATE/ratchet"
expect_rc 0 exai-egress reload --policy-dir "$T/pol/d"
gen_is 2
wait_for "the ratchet refusal in the journal" grep -q "reload refused by uid=0 pid=[0-9]*: .*sequence 1 is older than sequence 4 in force (the ratchet record" "$T/journal"
grep -q "reload refused by uid=0 pid=[0-9]*: ratchet record $STATE/ratchet: missing" "$T/journal" || fail "no missing-record event: $(cat "$T/journal")"
ok "through serve after a detach: the replayed sequence 1 is refused by the record, a missing record refuses (exit 2, init named), both are events"

wait_for "the reload events in the journal" grep -q "reload ok by uid=65534 pid=[0-9]*: policy $T/pol/c/policy.yaml in force: generation 3" "$T/journal"
grep -q "reload refused by uid=1234 pid=[0-9]*: uid 1234 may not send requests" "$T/journal" || fail "no refused-peer event: $(cat "$T/journal")"
n=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM spool WHERE body LIKE '{\"kind\":\"reload\",\"outcome\":\"refused\"%'")
[ "$n" -ge 8 ] || fail "only $n refused reloads spooled"
ok "every reload, done or refused, is an event naming the peer (journal and spool)"

serve_stop
unset EXAI_EGRESS_SOCKET
expect_rc 2 exai-egress reload --policy-dir "$T/pol/b"
expect_contains "$T/err" "no exai-egress serve answers at /run/exai-egress/control.sock: reloading here needs --root ROOT"
expect_rc 1 exai-egress reload --socket "$CTL" --policy-dir "$T/pol/b"
expect_contains "$T/err" "connect to exai-egress serve at $CTL"
mkpolicy "$T/pol/e" 5 127.0.0.1
expect_rc 0 exai-egress reload --policy-dir "$T/pol/e" --root "$ROOT"
expect_contains "$T/out" "generation 3" # the pins were made anew after the detach above
ok "no daemon: reload works directly with --root, says what it needs without; --socket to nothing fails"

# serve started without a usable record says so at once, as an event
mv "$STATE/ratchet" "$T/ratchet.saved"
serve_start
wait_for "the ratchet event in the journal" grep -q "every signed reload will be refused: ratchet record $STATE/ratchet: missing" "$T/journal"
n=$(sqlite3 "$T/spool/spool.db" "SELECT count(*) FROM spool WHERE body LIKE '{\"kind\":\"ratchet\",\"outcome\":\"unusable\"%'")
[ "$n" = 1 ] || fail "$n ratchet events spooled"
expect_rc 2 exai-egress reload --socket "$CTL" --policy-dir "$T/pol/e"
expect_contains "$T/err" "run 'exai-egress init' once"
serve_stop
mv "$T/ratchet.saved" "$STATE/ratchet"
ok "serve started without a ratchet record: one event (kind ratchet) says every signed reload will be refused, and it is"
