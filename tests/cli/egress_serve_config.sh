#!/bin/sh
# exai-egress serve's config is read strictly, and a bad one stops it before it touches
# anything (exit 2, file:line:column): unknown or mistyped keys, relative paths, a missing
# trust_root (unless allow_unsigned), empty or bad allow_uids, a bad socket mode, no
# policy_dirs, a missing spool directory (serve does not create it). status --config names a
# bad config too; a missing default config is "not configured".
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
mkdir "$T/spool"
good() {
	cat <<EOY
trust_root: $T/root.yaml
policy_dirs: [$T/pol]
spool: {dir: $T/spool, max_events: 10}
control: {socket: $T/ctl.sock, mode: "0660", allow_uids: [0]}
EOY
}
# refused 'SED EXPR' MESSAGE: the good config edited by SED EXPR is refused with MESSAGE
refused() {
	good | sed "$1" >"$T/c.yaml"
	expect_rc 2 exai-egress serve --config "$T/c.yaml"
	expect_contains "$T/err" "exai-egress serve: config: $T/c.yaml:$2"
	[ ! -e "$T/ctl.sock" ] || fail "a refused config bound the socket"
	[ ! -e "$T/spool/spool.db" ] || fail "a refused config made a spool"
}
refused 's/^trust_root/trust_rot/' "1:1: unknown key 'trust_rot'"
refused 's|^trust_root: .*|trust_root: root.yaml|' "1:13: "
refused '/^trust_root/d' "1:1: missing required key 'trust_root'"
refused '$a state_dir: var/lib/exai-egress' "5:12: "
refused 's/allow_uids: \[0\]/allow_uids: []/' "4:"
refused 's/allow_uids: \[0\]/allow_uids: [root]/' "4:"
refused 's/"0660"/"0999"/' "4:"
refused 's/max_events: 10/max_events: 0/' "3:"
refused 's/^policy_dirs: .*/policy_dirs: []/' "2:14: policy_dirs: 1 to 16 directories"
refused '/^control/d' "1:1: missing required key 'control'"
refused 's/^spool: .*/spool: {dir: \/x, extra: 1}/' "3:"
ok "bad serve configs are refused at file:line:column, before anything is made"

good | sed "s|$T/spool|$T/nospool|" >"$T/c.yaml"
expect_rc 2 exai-egress serve --config "$T/c.yaml"
expect_contains "$T/err" "spool: spool.dir $T/nospool (serve does not create it): No such file or directory"
good | sed '/^trust_root/d' >"$T/c.yaml"
echo "allow_unsigned: true" >>"$T/c.yaml"
EXAI_EGRESS_CONFIG=$T/nope.yaml expect_rc 2 exai-egress status
expect_contains "$T/err" "$T/nope.yaml"
ok "a missing spool directory is refused (not created); status names a config it was pointed at and cannot read"

# The shipped example loads (its spool directory need not exist for status).
set +e
exai-egress status --config "$EXAI_SRC/bpf/egress.yaml.example" >"$T/out" 2>"$T/err"
set -e
expect_contains "$T/out" "serve: config $EXAI_SRC/bpf/egress.yaml.example; spool: "
expect_not_contains "$T/err" "config:"
ok "the example config (bpf/egress.yaml.example) loads"
