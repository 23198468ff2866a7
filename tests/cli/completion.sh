#!/bin/sh
# Bash completion (contrib/bash-completion/exai) offers exactly the options each command's
# usage lines name: no option the tool would refuse, none the tool takes left out. The usage
# block of `TOOL CMD --help` (from "usage:" to the first empty line) is the truth; --help is
# offered everywhere and not listed there.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
COMP="$EXAI_SRC/contrib/bash-completion/exai"
command -v bash >/dev/null || fail "bash is needed"

# usage_opts BIN ARGS...: the options in the usage block of BIN ARGS... --help, one per line.
usage_opts() {
	"$@" --help | awk '/^usage:/ { on = 1 } on && /^$/ { exit } on' |
		grep -o -- '--[a-z][a-z-]*' | grep -vx -- '--help' | sort -u
}
# offered FUNC WORD...: the options completion offers after the words (cursor on "--").
offered() {
	f=$1
	shift
	bash -c '. "$1"; f=$2; shift 2; COMP_WORDS=("$@" "--"); COMP_CWORD=$#; "$f"; printf "%s\n" "${COMPREPLY[@]}"' \
		sh "$COMP" "$f" "$@" | grep -- '^--' | grep -vx -- '--help' | sort -u
}
# same LABEL USAGE_FILE OFFERED_FILE
same() {
	if ! diff -u "$2" "$3" >"$T/diff"; then
		cat "$T/diff" >&2
		fail "$1: completion (+) and usage (-) disagree"
	fi
	n=$(wc -l <"$2")
	[ "$n" = 1 ] && w=option || w=options
	ok "$1: completion offers the $n $w its usage names besides --help"
}

B="$EXAI_BUILD/bundler/exai-bundle"
for c in keygen create sign inspect verify digest; do
	usage_opts "$B" "$c" >"$T/u"
	offered _exai_bundle exai-bundle "$c" >"$T/o"
	same "exai-bundle $c" "$T/u" "$T/o"
done
# root's subcommands share one completion list: it must be the union of theirs.
for s in init sign show; do usage_opts "$B" root "$s"; done | sort -u >"$T/u"
offered _exai_bundle exai-bundle root init >"$T/o"
same "exai-bundle root" "$T/u" "$T/o"

U="$EXAI_BUILD/appliance/exai-update"
for c in init verify apply status history rollback recover; do
	# --config and --json are offered before the command (both tools take them there).
	usage_opts "$U" "$c" | grep -vx -- '--config' >"$T/u"
	offered _exai_update exai-update "$c" >"$T/o"
	same "exai-update $c" "$T/u" "$T/o"
done

V="$EXAI_BUILD/verifier/airgap-verifier"
for c in scan run host bundle; do
	usage_opts "$V" "$c" >"$T/u"
	offered _exai_verifier airgap-verifier "$c" >"$T/o"
	same "airgap-verifier $c" "$T/u" "$T/o"
done
M="$EXAI_BUILD/mirror/exai-mirror"
for c in serve keygen prove verify query stats; do
	usage_opts "$M" "$c" >"$T/u"
	offered _exai_mirror exai-mirror "$c" >"$T/o"
	same "exai-mirror $c" "$T/u" "$T/o"
done
E="$EXAI_BUILD/bpf/exai-egress"
if [ -x "$E" ]; then
	for c in init apply reload run status events serve detach; do
		usage_opts "$E" "$c" >"$T/u"
		offered _exai_egress exai-egress "$c" >"$T/o"
		same "exai-egress $c" "$T/u" "$T/o"
	done
fi
echo "completion: ok"
