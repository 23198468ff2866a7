# airgap-verifier run: usage errors, missing commands and missing privileges exit 2 with a
# clear message.
. "$EXAI_SRC/tests/cli/verifier_run_lib.sh"

expect_rc 0 airgap-verifier run --help
expect_contains "$T/out" "--allow CIDR:PORT"
expect_rc 2 airgap-verifier run
expect_contains "$T/err" "no command given"
expect_rc 2 airgap-verifier run --allow 10.0.0.0/8:443
expect_contains "$T/err" "no command given"
expect_rc 2 airgap-verifier run --bogus -- true
expect_contains "$T/err" "unknown option '--bogus'"
expect_rc 2 airgap-verifier run --format xml -- true
expect_contains "$T/err" "--format 'xml'"
expect_rc 2 airgap-verifier run --output
expect_contains "$T/err" "--output needs a value"
ok "usage errors exit 2"

if [ "$(id -u)" != 0 ]; then
	expect_rc 2 airgap-verifier run -- true
	expect_contains "$T/err" "needs root"
	echo "skip: the rest needs root"
	echo "1..$tests_run"
	exit 0
fi
need_root
expect_rc 2 in_netns setpriv --reuid=65534 --regid=65534 --clear-groups \
	airgap-verifier run -- true
expect_contains "$T/err" "needs root"
expect_contains "$T/err" "CAP_SYS_ADMIN"
expect_contains "$T/err" "CAP_NET_ADMIN"
ok "without root: exit 2 naming the privileges needed"

expect_rc 2 in_netns airgap-verifier run -- /nonexistent/phone-home
expect_contains "$T/err" "/nonexistent/phone-home: not an executable file"
expect_rc 2 in_netns airgap-verifier run -- no-such-command-xyz
expect_contains "$T/err" "no-such-command-xyz: command not found in PATH"
expect_rc 2 in_netns airgap-verifier run -- "$EXAI_SRC/tests/cli/lib.sh"
ok "a missing or non-executable command exits 2"

expect_rc 2 in_netns airgap-verifier run --output "$T/no/such/dir/r.json" -- \
	sh -c "touch $T/ran"
expect_contains "$T/err" "$T/no/such/dir"
[ ! -e "$T/ran" ] || fail "the command ran although the report could not be written"
ok "an unwritable --output exits 2 before the command runs"
echo "1..$tests_run"
