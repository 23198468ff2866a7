# The hook sandbox, tried as an attacker would: tests/helpers/netprobe runs as the health
# check of a real `exai-update apply` and tries socket() and socketpair() for every address
# family with clean and high-bit (0x1000000xx) family arguments, setns into /proc/1/ns/net,
# unshare, bpf, io_uring and the x32 and ia32 ABIs. Every attempt but AF_UNIX must fail,
# the hook must run as the unprivileged user (default nobody; hooks.user when configured)
# with an empty capability bounding set and no capabilities, in "/", with the fixed
# environment. Once with exai-update as root, once as a normal user. All inside unshare -n.
if [ "$(id -u)" = 0 ] && [ -z "${EXAI_SANDBOX_NETNS:-}" ]; then
	EXAI_SANDBOX_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/update_lib.sh"
if [ "$(id -u)" != 0 ]; then
	echo "ok - SKIP update_sandbox needs root (unshare -n, a second user)"
	exit 0
fi
if getent passwd exai-hook >/dev/null; then hook_uid=$(id -u exai-hook); else hook_uid=$(id -u nobody); fi

setup_keys
chmod 755 "$T"
mkdir -m 1777 "$T/probe"
install -m 755 "$EXAI_BUILD/tests/netprobe" "$T/probe/netprobe"

# check_report FILE UID: the probe's report says every way out was refused, as UID.
check_report() {
	r=$1
	[ -s "$r" ] || fail "no probe report at $r"
	tail -1 "$r" | grep -qx "summary attempts=[0-9]* opened=0" || fail "$r: $(tail -1 "$r")"
	n=$(grep -c '^socket' "$r")
	[ "$n" = 768 ] || fail "$r: $n socket attempts, expected 64 families x 3 types x 2 x 2"
	if grep '^socket' "$r" | grep -v '^socket[a-z]* family=1 ' | grep -v ': refused errno=' >&2; then
		fail "$r: a non-AF_UNIX socket was not refused"
	fi
	for f in 2 10 16 17 40 44; do # inet, inet6, netlink, packet, vsock, xdp
		for a in $(printf '%#x %#x' "$f" $((f + 4294967296))); do
			expect_contains "$r" "socket family=$f type=dgram arg=$a: refused errno=13 (Permission denied)"
			expect_contains "$r" "socket family=$f type=raw arg=$a: refused errno=13 (Permission denied)"
		done
	done
	expect_contains "$r" "socket family=1 type=stream arg=0x1: OPENED (allowed)"
	expect_contains "$r" "setns /proc/self/ns/net: refused errno=1 (Operation not permitted)"
	grep -Eq '^setns /proc/1/ns/net( \(open\))?: refused errno=(1|13) ' "$r" || fail "$r: setns /proc/1"
	expect_contains "$r" "unshare CLONE_NEWNET: refused errno=1 (Operation not permitted)"
	expect_contains "$r" "unshare CLONE_NEWUSER|CLONE_NEWNET: refused errno=1 (Operation not permitted)"
	expect_contains "$r" "bpf BPF_PROG_LOAD: refused errno=1 (Operation not permitted)"
	expect_contains "$r" "bpf BPF_MAP_CREATE: refused errno=1 (Operation not permitted)"
	expect_contains "$r" "io_uring_setup: refused errno=1 (Operation not permitted)"
	expect_contains "$r" "x32 socket(AF_INET, SOCK_DGRAM): killed by signal 31"
	expect_contains "$r" "ia32 socket(AF_INET, SOCK_DGRAM): killed by signal 31"
	grep -qx "status Uid $2 $2 $2 $2" "$r" || fail "$r: not uid $2: $(grep Uid "$r")"
	expect_contains "$r" "status CapEff 0000000000000000"
	expect_contains "$r" "status CapPrm 0000000000000000"
	expect_contains "$r" "status CapInh 0000000000000000"
	expect_contains "$r" "status CapAmb 0000000000000000"
	expect_contains "$r" "status NoNewPrivs 1"
	expect_contains "$r" "status Seccomp 2"
	expect_contains "$r" "cwd /"
}

# --- as root, default user ---
write_config "hooks: {health_check: [$T/probe/netprobe, $T/probe/root-default], timeout: 60}"
bundle "$T/b1" 1 1 1
EXAI_LEAK=secret expect_rc 0 U apply "$T/b1"
r="$T/probe/root-default"
check_report "$r" "$hook_uid"
expect_contains "$r" "status CapBnd 0000000000000000"
grep -Eqx 'status Groups *' "$r" || fail "supplementary groups kept: $(grep Groups "$r")"
[ "$(grep '^env ' "$r")" = "$(printf 'env PATH=/usr/sbin:/usr/bin:/sbin:/bin\nenv LANG=C.UTF-8')" ] ||
	fail "environment: $(grep '^env ' "$r")"
assert_app 1
ok "root, default user: $(grep -c ': refused' "$r") attempts refused, as uid $hook_uid, CapBnd empty"

# --- as root, a configured user and environment ---
write_config "hooks:" "  health_check: [$T/probe/netprobe, $T/probe/root-4242]" \
	"  user: '4242'" "  env: {EXAI_SITE: berlin-1, TZ: UTC}"
bundle "$T/b2" 2 2 2
expect_rc 0 U apply "$T/b2"
r="$T/probe/root-4242"
check_report "$r" 4242
expect_contains "$r" "status Gid 4242 4242 4242 4242"
expect_contains "$r" "status CapBnd 0000000000000000"
[ "$(grep '^env ' "$r" | tr '\n' ' ')" = "env PATH=/usr/sbin:/usr/bin:/sbin:/bin env LANG=C.UTF-8 env EXAI_SITE=berlin-1 env TZ=UTC " ] ||
	fail "environment: $(grep '^env ' "$r")"
ok "root, hooks.user 4242 and hooks.env: every attempt refused, exactly that environment"

# --- uid 0 only when the config says root ---
write_config "hooks: {health_check: [$T/probe/netprobe, $T/probe/x], user: '0'}"
expect_rc 2 U apply "$T/b2"
expect_contains "$T/err" "hooks.user '0' is uid 0: write 'user: root' to run hooks as root"
write_config "hooks: {health_check: [$T/probe/netprobe, $T/probe/root-root], user: root}"
bundle "$T/b3" 3 3 3
expect_rc 0 U apply "$T/b3"
r="$T/probe/root-root"
check_report "$r" 0
expect_contains "$r" "status CapBnd 0000000000000000"
ok "uid 0 refused unless 'user: root'; a root hook has no capabilities and is still refused"

# --- as a normal user ---
chown -R "$hook_uid" "$T"
write_config "hooks: {health_check: [$T/probe/netprobe, $T/probe/user], user: '4242'}"
chown "$hook_uid" "$T/update.yaml"
nu() { setpriv --reuid="$hook_uid" --regid="$(id -g "$hook_uid")" --clear-groups "$@"; }
expect_rc 2 nu exai-update --config "$T/update.yaml" apply "$T/b3"
expect_contains "$T/err" "only root can switch users"
write_config "hooks: {health_check: [$T/probe/netprobe, $T/probe/user]}"
chown "$hook_uid" "$T/update.yaml"
bundle "$T/b4" 4 4 4
chown -R "$hook_uid" "$T"
expect_rc 0 nu exai-update --config "$T/update.yaml" apply "$T/b4"
r="$T/probe/user"
check_report "$r" "$hook_uid"
assert_app 4
ok "normal user: every attempt refused; a hooks.user it cannot switch to is refused"
