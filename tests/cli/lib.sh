# Shared helpers for CLI tests (sourced). Each test: `. "$EXAI_SRC/tests/cli/lib.sh"`.
# Gives: $T (a fresh temp dir, removed on exit), ok/fail/expect_rc/expect_contains.
set -eu
: "${EXAI_BUILD:?set by ctest}" "${EXAI_SRC:?set by ctest}"
T=$(mktemp -d /tmp/exai-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
PATH="$EXAI_BUILD/bundler:$EXAI_BUILD/appliance:$EXAI_BUILD/verifier:$EXAI_BUILD/mirror:$EXAI_BUILD/bpf:$PATH"
export PATH
tests_run=0

ok() { tests_run=$((tests_run + 1)); echo "ok $tests_run - $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_rc WANT CMD...: runs CMD, output to $T/out and $T/err, checks the exit code.
expect_rc() {
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "--- stdout" >&2; cat "$T/out" >&2
		echo "--- stderr" >&2; cat "$T/err" >&2
		fail "expected exit $want, got $got: $*"
	fi
}

# expect_contains FILE TEXT: FILE contains TEXT (fixed string).
expect_contains() {
	grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "'$2' not in $1"; }
}
expect_not_contains() {
	! grep -qF -- "$2" "$1" || { echo "--- $1:" >&2; cat "$1" >&2; fail "'$2' unexpectedly in $1"; }
}
