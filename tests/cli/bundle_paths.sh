# exai-bundle: errors name the path the user gave (--out), never the temporary name it is
# written under; a secret key file that others may read is refused, as ssh refuses an
# unprotected private key (when it belongs to the running user; chmod 600 fixes it).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_tree
mk_root 1 root r1
cd "$T"

for out in /nonexist/x.exb /nonexist/dir; do
	expect_rc 1 "$B" create spec.yaml --out "$out" --no-encrypt
	expect_contains "$T/err" "exai-bundle create: $out: create: No such file or directory"
	expect_not_contains "$T/err" ".tmp."
done
mkdir ro && chmod 555 ro
if ! touch ro/probe 2>/dev/null; then # root writes anywhere; then this case proves nothing
	expect_rc 1 "$B" create spec.yaml --out ro/x.exb --no-encrypt
	expect_not_contains "$T/err" ".tmp."
fi
ok "create errors name --out, not the temporary name"

expect_rc 0 "$B" create spec.yaml --out b.exb --recipient keys/s1.pub
chmod 644 keys/r1.key
expect_rc 2 "$B" sign b.exb --key keys/r1.key
expect_contains "$T/err" "keys/r1.key: secret key file is accessible by others (mode 0644): a secret key must be readable by its owner only; run 'chmod 600 keys/r1.key'"
chmod 640 keys/s1.key
expect_rc 2 "$B" inspect b.exb --key keys/s1.key
expect_contains "$T/err" "keys/s1.key: secret key file is accessible by others (mode 0640)"
chmod 600 keys/r1.key keys/s1.key
expect_rc 0 "$B" sign b.exb --key keys/r1.key
expect_rc 0 "$B" inspect b.exb --key keys/s1.key
# Public keys are public.
chmod 644 keys/r1.pub keys/s1.pub
expect_rc 0 "$B" verify b.exb --root keys/root --key keys/s1.key
# A key file of another owner is that owner's business (as ssh): not refused.
if [ "$(id -u)" = 0 ]; then
	cp keys/s1.key other.key
	chown nobody other.key
	chmod 644 other.key
	expect_rc 0 "$B" inspect b.exb --key other.key
fi
ok "secret keys readable by group or others are refused (sign, inspect), fixed by chmod 600; public keys and other owners' files are not"
