#!/bin/sh
# The CLI contract (lib/core/include/exai/cli.h, README "Exit codes and errors"), the same for every
# tool: --version and --help (global and per command, and 'help COMMAND') exit 0 on stdout; a
# bad option or an unknown command exits 2 with one line naming it on stderr (a near miss with
# the name meant) and nothing on stdout, and with --json (before or after the command) also a
# JSON error document (ok false, code EINVAL) on stdout; an option's value as '--opt VALUE' or
# '--opt=VALUE', refused when missing, empty or looking like an option, and a value given to a
# flag refused; a missing input file exits 2 naming the path, with --json as a JSON document.
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

refused() { # refused WHAT MESSAGE: exit 2, MESSAGE in the first stderr line, stdout empty
	[ "$rc" = 2 ] || fail "$1 exited $rc (want 2)"
	[ ! -s "$T/o" ] || fail "$1 wrote to stdout: $(head -c 200 "$T/o")"
	head -1 "$T/e" | grep -qF -- "$2" || fail "$1: first stderr line: $(head -1 "$T/e") (want: $2)"
}

check_tool() { # check_tool TOOL BIN "SUBCOMMANDS" "CMD --VALUE-OPTION" MISSING_FILE_ARGS...
	tool=$1 bin=$2 subs=$3 valopt=$4
	shift 4
	sub1=$(echo $subs | cut -d' ' -f1)
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
		"$bin" help $s >"$T/h" || fail "$tool help $s exited $?"
		cmp -s "$T/o" "$T/h" || fail "$tool help $s is not $tool $s --help"
	done
	for args in "--no-such-flag" "$sub1 --no-such-flag"; do
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
	for args in "frobnicate --json" "--json frobnicate" "--json $sub1 --no-such-flag"; do
		run "$bin" $args
		[ "$rc" = 2 ] || fail "$tool $args exited $rc"
		json_error "$tool $args"
	done
	# Near misses name what was meant.
	run "$bin" "${sub1%?}"
	refused "$tool ${sub1%?}" "$tool: unknown command '${sub1%?}' (did you mean '$sub1'?)"
	run "$bin" $sub1 --jsn
	refused "$tool $sub1 --jsn" "unknown option '--jsn' (did you mean '--json'?)"
	# The option syntax.
	cmd=${valopt% *} opt=${valopt#* }
	run "$bin" $cmd $opt
	refused "$tool $cmd $opt" "$opt needs a value"
	run "$bin" $cmd $opt=
	refused "$tool $cmd $opt=" "$opt needs a value, not an empty one"
	run "$bin" $cmd $opt -x
	refused "$tool $cmd $opt -x" "'-x' looks like an option (write $opt=-x if it is the value)"
	run "$bin" $cmd --json=1
	refused "$tool $cmd --json=1" "--json takes no value ('--json=1')"
	run "$bin" $cmd --json $opt
	[ "$rc" = 2 ] || fail "$tool $cmd --json $opt exited $rc"
	json_error "$tool $cmd --json $opt"
	# A missing input file: exit 2, the path named; --json: a JSON document.
	run "$bin" "$@"
	[ "$rc" = 2 ] || fail "$tool $* exited $rc (want 2)"
	grep -q "/nonexistent" "$T/e" || fail "$tool $*: the path is not named: $(cat "$T/e")"
	run "$bin" "$@" --json
	[ "$rc" = 2 ] || fail "$tool $* --json exited $rc"
	json_error "$tool $* --json"
	# ... the same with every --opt VALUE written --opt=VALUE.
	set -- $(echo "$*" | sed 's/\(--[a-z-]*\) \([^-]\)/\1=\2/g')
	case "$*" in *=*) ;; *) fail "$tool: no --opt=VALUE in '$*'" ;; esac
	run "$bin" "$@"
	[ "$rc" = 2 ] || fail "$tool $* exited $rc (want 2)"
	grep -q "/nonexistent" "$T/e" || fail "$tool $*: the path is not named: $(cat "$T/e")"
	! grep -q "option\|needs a value" "$T/e" || fail "$tool $*: the option syntax refused: $(cat "$T/e")"
	ok "$tool keeps the CLI contract"
}

check_tool exai-bundle "$EXAI_BUILD/bundler/exai-bundle" "keygen create sign inspect verify" \
	"verify --root" verify /nonexistent/b.exb --root /nonexistent/root
check_tool exai-update "$EXAI_BUILD/appliance/exai-update" \
	"init verify apply status history rollback recover" "status --config" \
	--config /nonexistent/update.yaml status
check_tool airgap-verifier "$EXAI_BUILD/verifier/airgap-verifier" "scan run host bundle" \
	"scan --rules" bundle /nonexistent/b.exb --root /nonexistent/root
check_tool exai-mirror "$EXAI_BUILD/mirror/exai-mirror" "serve keygen prove verify query stats" \
	"query --class" --config /nonexistent/mirror.yaml stats
if [ -x "$EXAI_BUILD/bpf/exai-egress" ]; then
	check_tool exai-egress "$EXAI_BUILD/bpf/exai-egress" "init apply reload run status events serve detach" \
		"apply --policy" apply --policy /nonexistent/p.yaml --unsigned
fi
echo "cli_conformance: ok"
