#!/bin/sh
# The CLI contract (lib/core/include/exai/cli.h, README "Exit codes and errors"), the same for every
# tool: --version and --help (global and per command) exit 0 on stdout; a bad option or an
# unknown command exits 2 with one line naming it on stderr and nothing on stdout, and with
# --json also a JSON error document (ok false, code EINVAL) on stdout; a missing input file
# exits 2 naming the path, with --json as a JSON document.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ver=$("$EXAI_BUILD/bundler/exai-bundle" --version | head -1 | cut -d' ' -f2)
[ -n "$ver" ] || fail "no version"

run() { # run NAME ARGS...: $rc, $T/o, $T/e
	rc=0
	"$@" >"$T/o" 2>"$T/e" || rc=$?
}
json_error() { # the JSON error document of a usage or setup error on stdout
	jq -e '.ok == false and (.error.code | type == "string") and (.error.message | type == "string")' "$T/o" >/dev/null 2>&1 ||
		fail "$*: stdout is not a JSON error document: $(head -c 300 "$T/o")"
}

check_tool() { # check_tool TOOL BIN "SUBCOMMANDS" MISSING_FILE_ARGS...
	tool=$1 bin=$2 subs=$3
	shift 3
	run "$bin" --version
	[ "$rc" = 0 ] || fail "$tool --version exited $rc"
	[ "$(head -1 "$T/o")" = "$tool $ver" ] || fail "$tool --version: $(head -1 "$T/o")"
	run "$bin" --help
	[ "$rc" = 0 ] && head -1 "$T/o" | grep -q "^usage: $tool" || fail "$tool --help ($rc): $(head -1 "$T/o")"
	global=$(head -1 "$T/o")
	for s in $subs; do
		run "$bin" $s --help
		[ "$rc" = 0 ] || fail "$tool $s --help exited $rc"
		first=$(head -1 "$T/o")
		case $first in "usage: $tool"*" $s"*) ;; *) fail "$tool $s --help: not its own usage: $first" ;; esac
		[ "$first" != "$global" ] || fail "$tool $s --help prints the global help"
	done
	for args in "--no-such-flag" "$(echo $subs | cut -d' ' -f1) --no-such-flag"; do
		run "$bin" $args
		[ "$rc" = 2 ] || fail "$tool $args exited $rc (want 2)"
		[ ! -s "$T/o" ] || fail "$tool $args wrote to stdout: $(head -c 200 "$T/o")"
		head -1 "$T/e" | grep -q "^$tool[a-z ]*: unknown option '--no-such-flag'" ||
			fail "$tool $args: first stderr line: $(head -1 "$T/e")"
		run "$bin" $args --json
		[ "$rc" = 2 ] || fail "$tool $args --json exited $rc"
		json_error "$tool $args --json"
		jq -e '.error.code == "EINVAL" and (.error.message | contains("--no-such-flag"))' "$T/o" >/dev/null ||
			fail "$tool $args --json: $(cat "$T/o")"
	done
	run "$bin" frobnicate
	[ "$rc" = 2 ] && head -1 "$T/e" | grep -q "^$tool: unknown command 'frobnicate'" ||
		fail "$tool frobnicate ($rc): $(head -1 "$T/e")"
	run "$bin" frobnicate --json
	[ "$rc" = 2 ] || fail "$tool frobnicate --json exited $rc"
	json_error "$tool frobnicate --json"
	# A missing input file: exit 2, the path named; --json: a JSON document.
	run "$bin" "$@"
	[ "$rc" = 2 ] || fail "$tool $* exited $rc (want 2)"
	grep -q "/nonexistent" "$T/e" || fail "$tool $*: the path is not named: $(cat "$T/e")"
	run "$bin" "$@" --json
	[ "$rc" = 2 ] || fail "$tool $* --json exited $rc"
	json_error "$tool $* --json"
	ok "$tool keeps the CLI contract"
}

check_tool exai-bundle "$EXAI_BUILD/bundler/exai-bundle" "keygen create sign inspect verify" \
	verify /nonexistent/b.exb --root /nonexistent/root
check_tool exai-update "$EXAI_BUILD/appliance/exai-update" \
	"init verify apply status history rollback recover" --config /nonexistent/update.yaml status
check_tool airgap-verifier "$EXAI_BUILD/verifier/airgap-verifier" "scan run host bundle" \
	scan /nonexistent/tree
echo "cli_conformance: ok"
