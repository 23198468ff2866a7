# exai-bundle signatures interoperate with Debian's stock minisign, both ways.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
command -v minisign >/dev/null || fail "minisign not installed (scripts/deps.sh installs it)"
mk_keys
mk_tree
cd "$T"
# A release key made by stock minisign (no password).
minisign -G -W -p keys/m.pub -s keys/m.key >/dev/null
"$B" root init --out keys/root --root-key keys/k1.pub --root-threshold 1 \
	--release-key keys/r1.pub --release-key keys/m.pub --release-threshold 2 >/dev/null
"$B" root sign keys/root --key keys/k1.key >/dev/null
"$B" create spec.yaml --out bdir --no-encrypt >/dev/null

# Ours, checked by stock minisign -V.
sign_with bdir r1
r1id=$(sed -n 's/.*minisign public key //p' keys/r1.pub)
expect_rc 0 minisign -V -p keys/r1.pub -m bdir/index -x "bdir/sig/$r1id.minisig"
expect_contains "$T/out" "Signature and comment signature verified"
# The trusted comment (signed, printed by minisign -V) names what was signed.
bid=$(sed -n 's/^bundle-id //p' bdir/index | cut -c1-16)
ch=$(sed -n 's/^channel //p' bdir/index)
sq=$(sed -n 's/^sequence //p' bdir/index)
grep -Eq "^Trusted comment: timestamp:[0-9]+	bundle:$bid	channel:$ch	sequence:$sq	file:index\$" "$T/out" ||
	{ cat "$T/out"; fail "trusted comment does not name the bundle"; }
ok "stock minisign -V accepts an exai-bundle signature, and shows the bundle id, channel and sequence it covers"

# Stock minisign -S (prehashed, its default), attached and counted by our verifier.
minisign -S -s keys/m.key -m bdir/index -x m.minisig -t "signed with stock minisign" >/dev/null
expect_rc 0 "$B" sign bdir --attach m.minisig --root keys/root
expect_contains "$T/out" "checked over the index with the release keys of --root"
expect_rc 0 "$B" verify bdir --root keys/root --json
[ "$(jq '[.signatures[] | select(.state=="valid")] | length' "$T/out")" = 2 ] ||
	fail "stock minisign signature not counted"
ok "a stock 'minisign -S' signature is accepted by our verifier"

# Legacy (non-prehashed) minisign signatures are accepted too.
"$B" create spec.yaml --out b2 --no-encrypt >/dev/null
sign_with b2 r1
minisign -S -l -s keys/m.key -m b2/index -x legacy.minisig >/dev/null 2>&1 ||
	minisign -S -s keys/m.key -m b2/index -x legacy.minisig >/dev/null
expect_rc 0 "$B" sign b2 --attach legacy.minisig --pubkey keys/m.pub
expect_rc 0 "$B" verify b2 --root keys/root
ok "a legacy minisign signature is accepted"

# A stock signature over a different file is refused, naming the key.
echo other >other
minisign -S -s keys/m.key -m other -x bad.minisig >/dev/null
"$B" create spec.yaml --out b3 --no-encrypt >/dev/null
sign_with b3 r1
# Stock minisign prints the key id without leading zeros; exai always writes 16 digits.
mid=$(sed -n 's/.*minisign public key //p' keys/m.pub | awk '{ printf "%16s\n", $1 }' | tr ' ' 0)
expect_rc 1 "$B" sign b3 --attach bad.minisig --pubkey keys/m.pub
expect_contains "$T/err" "bad.minisig: not attached"
expect_contains "$T/err" "$mid"
[ ! -e "b3/sig/$mid.minisig" ] || fail "a signature of another file was attached"
expect_rc 1 "$B" sign b3 --attach bad.minisig --root keys/root
[ ! -e "b3/sig/$mid.minisig" ] || fail "a signature of another file was attached (--root)"
# Without a public key to check it with, nothing is attached either.
minisign -S -s keys/m.key -m b3/index -x good.minisig >/dev/null
expect_rc 1 "$B" sign b3 --attach good.minisig
expect_contains "$T/err" "cannot check the signature by key $mid"
# The real signature then attaches (nothing blocks it).
expect_rc 0 "$B" sign b3 --attach good.minisig --pubkey keys/m.pub
expect_rc 0 "$B" verify b3 --root keys/root
ok "a minisign signature of another file is refused at attach, naming the key; the real one attaches"
