# exai-mirror's command start: with EXAI_STATIC_MIRROR=ON (the default; sanitizer and fuzz
# builds turn it off) the tool is a static PIE (no INTERP, no NEEDED: no loader, no shared
# libraries to map and relocate on every command) with full RELRO; and OpenSSL reads no
# openssl.cnf: a config that activates only the null provider (no SHA-256 at all) changes
# nothing, prove and verify still work.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
# M: exai-mirror under the null-provider OpenSSL config.
M() { env OPENSSL_CONF="$T/openssl.cnf" exai-mirror "$@" --config "$T/mirror.yaml"; }

mirror_config
mirror_start
python3 -c "
for i in range(9): print('{\"class\":\"telemetry\",\"body\":\"e%d\"}' % i)" >"$T/burst"
send "$T/burst"
sleep 1.3
mirror_stop
[ "$(q 'SELECT max(size) FROM checkpoints')" = "9" ] ||
	fail "checkpoint: $(q 'SELECT group_concat(size) FROM checkpoints')"

cat >"$T/openssl.cnf" <<'EOC'
openssl_conf = init
[init]
providers = provs
[provs]
null = nullsect
[nullsect]
activate = 1
EOC
# The config does bite where it is read: openssl(1) finds no SHA-256 under it.
if command -v openssl >/dev/null; then
	if echo x | OPENSSL_CONF="$T/openssl.cnf" openssl dgst -sha256 >/dev/null 2>&1; then
		fail "openssl dgst -sha256 works under the null-provider config (the test proves nothing)"
	fi
fi
expect_rc 0 M prove --index 4
expect_contains "$T/out" "index 4"
expect_rc 0 M verify
expect_contains "$T/out" "verify: ok: 9 entries"
ok "openssl.cnf is not read: prove and verify work under a null-provider-only config"

bin="$EXAI_BUILD/mirror/exai-mirror"
if ! grep -q '^EXAI_STATIC_MIRROR:BOOL=ON' "$EXAI_BUILD/CMakeCache.txt"; then
	echo "ok - SKIP static checks (EXAI_STATIC_MIRROR is OFF in this build)"
	exit 0
fi
file "$bin" >"$T/file"
expect_contains "$T/file" "static-pie linked"
LC_ALL=C readelf -hldW "$bin" >"$T/elf"
grep -Eq '^ *Type: +DYN ' "$T/elf" || fail "ELF type is not DYN: $(grep 'Type:' "$T/elf")"
expect_not_contains "$T/elf" "INTERP"
expect_not_contains "$T/elf" "(NEEDED)"
expect_contains "$T/elf" "GNU_RELRO"
grep -Eq '\(FLAGS\) +BIND_NOW' "$T/elf" || fail "no BIND_NOW in the dynamic section"
ok "static-pie: DYN without INTERP or NEEDED, GNU_RELRO, BIND_NOW"
