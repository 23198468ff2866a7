# airgap-verifier run, clean programs: nothing seen means exit 0, whatever the command's own
# exit status; loopback stays usable; the command sees the namespace it should.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"
need_root

expect_rc 0 in_netns airgap-verifier run --format json -- true
jq_true "$T/out" '.passed == true and .findings == [] and .summary.findings == 0'
note "$T/out" "command exit status: 0"
ok "true is clean"

expect_rc 0 in_netns airgap-verifier run --format json -- "$PHONE" loopback
jq_true "$T/out" '.findings == []'
note "$T/out" "command exit status: 0"
ok "TCP and UDP over 127.0.0.1 and ::1 work and are not findings"

expect_rc 0 in_netns airgap-verifier run --format json -- sh -c 'echo to-stdout; exit 7'
jq_true "$T/out" '.findings == []'
note "$T/out" "command exit status: 7"
expect_contains "$T/err" "to-stdout"
ok "the command's exit status is reported, not used; its stdout goes to stderr"

expect_rc 0 in_netns airgap-verifier run --format json -- sh -c 'kill -9 $$'
note "$T/out" "command killed by signal 9"
ok "a command killed by a signal is reported"

expect_rc 0 in_netns airgap-verifier run -- sh -c \
	'cat /etc/resolv.conf; ip -4 route; ip -6 route; ip -o link; echo "pid=$$"'
expect_contains "$T/err" "nameserver 127.0.0.53"
expect_contains "$T/err" "default dev vfegress0"
expect_contains "$T/err" "pid=2"
expect_not_contains "$T/err" "eth"
ok "the command sees the sink in resolv.conf, default routes into the TUN device, its own PIDs"

expect_rc 0 in_netns airgap-verifier run --format json -- ip route del default
note "$T/out" "command exit status: 2"
note "$T/out" "the command ran without CAP_SYS_ADMIN, CAP_NET_ADMIN"
expect_rc 0 in_netns airgap-verifier run --keep-caps --format json -- ip route del default
note "$T/out" "command exit status: 0"
note "$T/out" "--keep-caps"
ok "the command cannot change its routes unless --keep-caps"
echo "1..$tests_run"
