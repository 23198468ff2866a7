#!/bin/sh
# libexai's layers (lib/CMakeLists.txt) call downwards only, and each links only the system
# libraries it is listed with: read from the built archives with nm, so a new call across a
# layer (or a libarchive call in the key code) fails here, not in a future tool's link. They
# include downwards only: with a layer's include path, a higher layer's header is not found.
# And the verify-only tools hold none of the signing layer's code.
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
L="$EXAI_BUILD/lib"
command -v nm >/dev/null || fail "nm (binutils) is needed"

# layer: the layers it may use (itself included), and the external symbol prefixes it may
# reference beyond libc (libsodium, OpenSSL, pthreads are core's; see lib/CMakeLists.txt).
allowed() {
	case $1 in
	core) echo "core" ;;
	yaml) echo "yaml core" ;;
	json) echo "json core" ;;
	keys) echo "keys core" ;;
	bundle) echo "bundle keys core" ;;
	sign) echo "sign keys core" ;;
	sqlite) echo "sqlite core" ;;
	*) fail "unknown layer $1" ;;
	esac
}
foreign() { # external prefixes that only one layer may reference
	case $1 in
	yaml) echo "yaml_" ;;
	json) echo "json_" ;;
	bundle) echo "archive_" ;;
	sqlite) echo "sqlite3_" ;;
	*) echo "" ;;
	esac
}
layers="core yaml json keys bundle sign sqlite"
for l in $layers; do
	[ -f "$L/libexai_$l.a" ] || fail "missing $L/libexai_$l.a"
	nm -g --defined-only "$L/libexai_$l.a" 2>/dev/null | awk -v l="$l" 'NF == 3 { print $3, l }' >>"$T/defs"
done
[ -s "$T/defs" ] || fail "no symbols read"
bad=0
for l in $layers; do
	ok=$(allowed "$l")
	nm -u "$L/libexai_$l.a" 2>/dev/null | awk 'NF == 2 { print $2 }' | sort -u >"$T/undef.$l"
	# Calls into other layers.
	while read -r sym; do
		owner=$(awk -v s="$sym" '$1 == s { print $2; exit }' "$T/defs")
		[ -n "$owner" ] || continue
		case " $ok " in *" $owner "*) ;; *)
			echo "layer $l calls $sym, defined in layer $owner (allowed: $ok)" >&2
			bad=1
			;;
		esac
	done <"$T/undef.$l"
	# System libraries that belong to another layer.
	for other in $layers; do
		[ "$other" = "$l" ] && continue
		p=$(foreign "$other")
		[ -n "$p" ] || continue
		if grep -q "^$p" "$T/undef.$l"; then
			echo "layer $l references $(grep "^$p" "$T/undef.$l" | head -3 | tr '\n' ' ')(only layer $other links that library)" >&2
			bad=1
		fi
	done
done
[ "$bad" = 0 ] || fail "a layer reaches past what lib/CMakeLists.txt gives it (above)"

# Self-check: the reader sees real calls, e.g. bundle_verify's into keys and core.
grep -q "^exai_root_parse$" "$T/undef.bundle" || fail "self-check: bundle's calls into keys not seen"
awk '$2 == "sign"' "$T/defs" | grep -q "^exai_seckey_" || fail "self-check: sign's symbols not seen"

# Verify-only tools: no symbol of the signing layer. (exai-update is static: its own symbol
# table; airgap-verifier links the archives.)
awk '$2 == "sign" { print $1 }' "$T/defs" | sort -u >"$T/signsyms"
for tool in appliance/exai-update verifier/airgap-verifier; do
	nm "$EXAI_BUILD/$tool" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u >"$T/tool"
	[ -s "$T/tool" ] || fail "$tool: no symbol table (stripped?)"
	common=$(comm -12 "$T/signsyms" "$T/tool" | head -3)
	[ -z "$common" ] || fail "$tool holds signing code: $common"
done

# Includes. Each directory's include path as its layers compile with it (written by
# lib/CMakeLists.txt: "cc <compiler>", then "<dir> <include dirs...>"). Every header of a
# directory compiles alone with that directory's path (so a failure below is the path, not
# the header), and not with the path of any directory under it.
I="$L/layer_includes.txt"
[ -f "$I" ] || fail "missing $I (lib/CMakeLists.txt writes it in test builds)"
cc=$(awk '$1 == "cc" { print $2 }' "$I")
[ -n "$cc" ] || fail "$I names no compiler"
under() { # dir: the directories under it, lowest first
	case $1 in
	core) echo "" ;;
	bundle) echo "core" ;;
	sign) echo "core bundle" ;;
	*) fail "unknown directory $1" ;;
	esac
}
probe() { # dir header: compiles a one-line file including exai/<header> with dir's include path
	grep -q "^$1 " "$I" || fail "$I has no line for $1"
	printf '#include "exai/%s"\n' "$2" >"$T/probe.c"
	# shellcheck disable=SC2046 # one -I per directory
	"$cc" -std=gnu11 -fsyntax-only $(awk -v d="$1" '$1 == d { for (i = 2; i <= NF; i++) print "-I" $i }' "$I") \
		"$T/probe.c" 2>"$T/probe.err"
}
n=0
for dir in core bundle sign; do
	hdrs=$(cd "$EXAI_SRC/lib/$dir/include/exai" && ls -- *.h)
	[ -n "$hdrs" ] || fail "lib/$dir/include/exai holds no header"
	for h in $hdrs; do
		probe "$dir" "$h" || fail "exai/$h does not compile with lib/$dir's own include path: $(head -3 "$T/probe.err")"
		for low in $(under "$dir"); do
			if probe "$low" "$h"; then
				fail "exai/$h (lib/$dir) compiles with lib/$low's include path: a lower layer can include it"
			fi
			grep -q "exai/$h" "$T/probe.err" || fail "exai/$h with lib/$low's path failed, but not for want of the header: $(head -3 "$T/probe.err")"
			n=$((n + 1))
		done
	done
done
# The cases that matter most, named: core cannot include the bundle format nor signing, the
# bundle layer cannot include signing. (Each also ran above; this fails if a header moved.)
for c in core:bundle.h core:sign.h bundle:sign.h; do
	! probe "${c%%:*}" "${c#*:}" || fail "exai/${c#*:} compiles with lib/${c%%:*}'s include path"
done
[ "$n" -ge 10 ] || fail "self-check: only $n upward includes tried"

echo "lib_layers: ok ($n upward includes refused)"
