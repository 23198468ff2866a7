# airgap-verifier run: the command runs as an unprivileged user by default (no capabilities,
# no_new_privs), sees / read-only (a world-writable host file stays unchanged, even for
# --user root) with a private writable /tmp, keeps its working directory writable only with
# --writable-cwd, and cannot open AF_VSOCK sockets (also not with high bits in the family
# argument), while its pings through ICMP datagram sockets are still seen.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root
PY=/usr/bin/python3
H=$(mktemp -d /var/tmp/exai-vr.XXXXXX)
trap 'rm -rf "$T" "$H"' EXIT
chmod 777 "$H"
echo original >"$H/host"
chmod 666 "$H/host"

expect_rc 0 in_netns airgap-verifier run --format json -- sh -c \
	'id -u; id -G; grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status'
expect_contains "$T/err" "65534"
for k in CapInh CapPrm CapEff CapBnd CapAmb; do
	grep -Eq "^$k:\s+0000000000000000$" "$T/err" || fail "$k not empty: $(grep "^$k" "$T/err")"
done
grep -Eq '^NoNewPrivs:\s+1$' "$T/err" || fail "no_new_privs not set"
[ "$(sed -n 1p "$T/err")" = 65534 ] && [ "$(sed -n 2p "$T/err")" = 65534 ] || fail "ids: $(head -2 "$T/err")"
note "$T/out" "the command ran as nobody (uid 65534), with no capabilities, with no_new_privs"
ok "the command runs as nobody: no groups, no capabilities, no_new_privs"

expect_rc 0 in_netns airgap-verifier run --format json -- sh -c \
	"echo changed >$H/host; echo \"rc=\$?\"; touch $H/new; echo \"touch=\$?\"; echo tmp >/tmp/vr-private-$$ && echo tmp-ok"
expect_contains "$T/err" "Read-only file system"
expect_contains "$T/err" "rc=2"
expect_contains "$T/err" "tmp-ok"
[ "$(cat "$H/host")" = original ] || fail "the host file was changed"
[ ! -e "$H/new" ] || fail "a host file was created"
[ ! -e "/tmp/vr-private-$$" ] || fail "the command's /tmp is the host's"
expect_rc 0 in_netns airgap-verifier run --user root --format json -- sh -c "echo changed >$H/host"
expect_contains "$T/err" "Read-only file system"
[ "$(cat "$H/host")" = original ] || fail "root changed the host file"
ok "a world-writable host file stays unchanged (EROFS, also as root); /tmp is private"

# The private /tmp is an overlay: what the host keeps in /tmp (the program under test, its
# data) is visible, and writing to it changes only the private copy.
echo host-tmp >"/tmp/vr-host-$$"
chmod 666 "/tmp/vr-host-$$"
expect_rc 0 in_netns airgap-verifier run --format json -- sh -c \
	"cat /tmp/vr-host-$$; echo changed >/tmp/vr-host-$$ && cat /tmp/vr-host-$$"
expect_contains "$T/err" "host-tmp"
expect_contains "$T/err" "changed"
[ "$(cat "/tmp/vr-host-$$")" = host-tmp ] || fail "the host's /tmp file was changed"
rm -f "/tmp/vr-host-$$"
ok "the host's /tmp is visible under the private overlay, and stays unchanged"

(cd "$H" && in_netns airgap-verifier run --user root --writable-cwd --format json -- \
	sh -c 'echo made >./made; echo changed >/var/tmp/x-$$ 2>/dev/null || echo outside-ro') \
	>"$T/out" 2>"$T/err" || fail "--writable-cwd run: $(cat "$T/err")"
[ "$(cat "$H/made")" = made ] || fail "--writable-cwd: nothing written to the working directory"
expect_contains "$T/err" "outside-ro"
note "$T/out" "the working directory writable"
ok "--writable-cwd: only the working directory becomes writable"

vsock="import socket, ctypes, errno
for arg in (40, 0x100000028):
    r = ctypes.CDLL(None, use_errno=True).syscall(41, ctypes.c_long(arg), 1, 0)
    print('vsock', hex(arg), r, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()) if r < 0 else 'OPENED')"
in_netns "$PY" -c "$vsock" >"$T/control"
if grep -q "vsock 0x28 -1" "$T/control"; then
	echo "ok - SKIP AF_VSOCK control: the host cannot open vsock sockets ($(cat "$T/control"))"
else
	for u in nobody root; do
		expect_rc 0 in_netns airgap-verifier run --user $u --format json -- "$PY" -c "$vsock"
		expect_contains "$T/err" "vsock 0x28 -1 EACCES"
		expect_contains "$T/err" "vsock 0x100000028 -1 EACCES"
	done
	ok "AF_VSOCK refused (EACCES) for nobody and root, clean and high-bit family; opens outside"
fi

expect_rc 1 in_netns airgap-verifier run --format json -- "$PY" -c "import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
s.sendto(b'\x08\x00\x00\x00\x00\x00\x00\x01', ('203.0.113.9', 0)); print('ping sent')"
expect_contains "$T/err" "ping sent"
attempt "$T/out" "203.0.113.9" "proto=icmp dst=203.0.113.9 icmp_type=8 packets=1"
ok "an unprivileged ping (ICMP datagram socket) is still seen"

expect_rc 2 airgap-verifier run --user no-such-user-x -- true
expect_contains "$T/err" "--user 'no-such-user-x': no such user in /etc/passwd"
expect_rc 2 airgap-verifier run --keep-caps --user nobody -- true
expect_contains "$T/err" "--keep-caps runs CMD as root"
ok "an unknown --user and --keep-caps with a non-root --user are refused (exit 2)"
echo "1..$tests_run"
