# One static binary: with EXAI_STATIC_UPDATE=ON (the default; sanitizer builds turn it off)
# `file` says statically linked, it has no dynamic section, and it runs from an empty
# chroot-like environment with no shared libraries at all (as root: unshare + chroot).
. "$EXAI_SRC/tests/cli/lib.sh"

bin="$EXAI_BUILD/appliance/exai-update"
if ! grep -q '^EXAI_STATIC_UPDATE:BOOL=ON' "$EXAI_BUILD/CMakeCache.txt"; then
	echo "ok - SKIP static checks (EXAI_STATIC_UPDATE is OFF in this build)"
	exit 0
fi
file "$bin" >"$T/file"
expect_contains "$T/file" "statically linked"
expect_rc 0 "$bin" --help
expect_contains "$T/out" "usage: exai-update"
ok "file(1) says statically linked ($(stat -c %s "$bin") bytes) and it runs"

if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	mkdir -p "$T/root/bin"
	cp "$bin" "$T/root/bin/exai-update"
	expect_rc 2 chroot "$T/root" /bin/exai-update --config /none.yaml status
	expect_contains "$T/err" "/none.yaml: open: No such file or directory"
	ok "runs in an empty root without any shared library"
fi
