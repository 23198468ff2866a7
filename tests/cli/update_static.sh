# One static, hardened binary: with EXAI_STATIC_UPDATE=ON (the default; sanitizer builds turn
# it off) exai-update is a static PIE (ELF type DYN, no INTERP, so no loader and no shared
# libraries), linked with full RELRO (GNU_RELRO, BIND_NOW, FLAGS_1 NOW), its own code and
# libexai's built with -fstack-protector-strong (functions with arrays call __stack_chk_fail)
# and -D_FORTIFY_SOURCE=2 (calls go to the *_chk variants); it runs from an empty root (as
# root: chroot).
. "$EXAI_SRC/tests/cli/lib.sh"

bin="$EXAI_BUILD/appliance/exai-update"
if ! grep -q '^EXAI_STATIC_UPDATE:BOOL=ON' "$EXAI_BUILD/CMakeCache.txt"; then
	echo "ok - SKIP static checks (EXAI_STATIC_UPDATE is OFF in this build)"
	exit 0
fi
file "$bin" >"$T/file"
expect_contains "$T/file" "static-pie linked"
expect_rc 0 "$bin" --help
expect_contains "$T/out" "usage: exai-update"
ok "file(1) says static-pie linked ($(stat -c %s "$bin") bytes) and it runs"

LC_ALL=C readelf -hldW "$bin" >"$T/elf"
grep -Eq '^ *Type: +DYN ' "$T/elf" || fail "ELF type is not DYN: $(grep 'Type:' "$T/elf")"
expect_not_contains "$T/elf" "INTERP"
expect_not_contains "$T/elf" "(NEEDED)"
expect_contains "$T/elf" "GNU_RELRO"
grep -Eq '\(FLAGS\) +BIND_NOW' "$T/elf" || fail "no BIND_NOW in the dynamic section"
grep -Eq '\(FLAGS_1\) +Flags: .*NOW.*PIE' "$T/elf" || fail "FLAGS_1 lacks NOW or PIE"
ok "ELF headers: DYN without INTERP or NEEDED, GNU_RELRO, BIND_NOW, FLAGS_1 NOW PIE"

# calls FUNCTION: the functions FUNCTION calls (from the disassembly).
calls() { objdump -d --no-show-raw-insn --disassemble="$1" "$bin" | grep -oE 'call +[0-9a-f]+ <[^>+]+' | sed 's/.*<//' | sort -u; }
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$EXAI_BUILD/CMakeCache.txt"; then
	for f in upd_run_hook upd_config_load exai_yaml_error; do
		calls "$f" >"$T/calls.$f"
		expect_contains "$T/calls.$f" "__stack_chk_fail"
	done
	expect_contains "$T/calls.upd_run_hook" "__dprintf_chk"
	expect_contains "$T/calls.exai_yaml_error" "__vsnprintf_chk"
	readelf -sW "$bin" | awk '{print $8}' | grep -E '^__[a-z]+_chk$' | sort -u >"$T/chk"
	[ "$(wc -l <"$T/chk")" -ge 5 ] || fail "few fortified symbols: $(cat "$T/chk")"
	ok "stack protector and _FORTIFY_SOURCE in appliance/ and lib/ code ($(wc -l <"$T/chk") *_chk symbols)"
fi

if [ "$(id -u)" = 0 ] && command -v chroot >/dev/null; then
	mkdir -p "$T/root/bin"
	cp "$bin" "$T/root/bin/exai-update"
	expect_rc 2 chroot "$T/root" /bin/exai-update --config /none.yaml status
	expect_contains "$T/err" "/none.yaml: open: No such file or directory"
	ok "runs in an empty root without any shared library"
fi
