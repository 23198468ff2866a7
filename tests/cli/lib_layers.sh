#!/bin/sh
# libexai's layers (lib/CMakeLists.txt) call downwards only, and each links only the system
# libraries it is listed with: read from the built archives with nm, so a new call across a
# layer (or a libarchive call in the key code) fails here, not in a future tool's link. And the
# verify-only tools hold none of the signing layer's code.
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
	*) fail "unknown layer $1" ;;
	esac
}
foreign() { # external prefixes that only one layer may reference
	case $1 in
	yaml) echo "yaml_" ;;
	json) echo "json_" ;;
	bundle) echo "archive_" ;;
	*) echo "" ;;
	esac
}
layers="core yaml json keys bundle sign"
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
echo "lib_layers: ok"
