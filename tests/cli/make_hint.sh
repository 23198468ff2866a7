#!/bin/sh
# A plain `make` on a machine without the build dependencies names the fix (make deps), not
# only a raw CMake or shell error: here with cmake missing from PATH (make itself, sh and
# the coreutils stay reachable through a directory of links).
set -eu
. "$EXAI_SRC/tests/cli/lib.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir "$T/bin"
for t in make sh echo cat dirname; do ln -s "$(command -v "$t")" "$T/bin/$t"; done
if PATH="$T/bin" make -C "$EXAI_SRC" --no-print-directory build BUILD="$T/build" >"$T/out" 2>&1; then
	fail "make build succeeded without cmake"
fi
grep -q "make deps" "$T/out" || fail "no 'make deps' hint: $(cat "$T/out")"
grep -q "cmake" "$T/out" || fail "the underlying error is not shown: $(cat "$T/out")"
[ ! -e "$T/build" ] || fail "a build dir was left behind"
echo "make_hint: ok"
