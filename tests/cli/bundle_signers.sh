# exai-bundle sign: key roles (a root or site key never signs a bundle, a release key never
# signs a root or decrypts), an attached signature is checked over the bundle's index before it
# is attached, and a signature can be replaced or removed, atomically, in both forms.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
command -v minisign >/dev/null || fail "minisign not installed (scripts/deps.sh installs it)"
mk_keys
cd "$T"
mk_root 2 root r1 r2 r3
mkdir -p src/app && echo hi >src/app/f
printf 'channel: c\nsequence: 1\nexpires_in_days: 30\ntarget: {sites: [site-1]}\ncomponents:\n  - {type: software, name: app, version: "1", source: src/app}\n' >spec.yaml
kid() { sed -n 's/.*minisign public key //p' "keys/$1.pub"; }
r1=$(kid r1) r2=$(kid r2) r3=$(kid r3)

# --- roles (a wrong key is a usage error: exit 2, like an unreadable key)
head -1 keys/r1.key | grep -qF "untrusted comment: exai release key, minisign secret key" ||
	fail "release key file does not name its role"
head -1 keys/k1.pub | grep -qF "untrusted comment: exai root key, minisign public key" ||
	fail "root public key file does not name its role"
"$B" create spec.yaml --out b.exb --recipient keys/s1.pub >/dev/null
cp b.exb b0.exb
expect_rc 2 "$B" sign b.exb --key keys/k1.key
expect_contains "$T/err" "keys/k1.key is a root key (its key file says so); signing a bundle needs a release key"
expect_rc 2 "$B" sign b.exb --key keys/s1.key
expect_contains "$T/err" "keys/s1.key is a site key (its key file says so); signing a bundle needs a release key"
cmp -s b.exb b0.exb || fail "a refused key changed the bundle"
tar xf b.exb index
expect_rc 2 "$B" sign index --key keys/k1.key --out k1.minisig
[ ! -e k1.minisig ] || fail "a root key signed an index copy"
cp keys/root root.copy
expect_rc 2 "$B" root sign root.copy --key keys/r1.key
expect_contains "$T/err" "keys/r1.key is a release key (its key file says so); signing a trust root needs a root key"
cmp -s root.copy keys/root || fail "a release key changed the root"
sign_with b.exb r1 r2
expect_rc 2 "$B" verify b.exb --root keys/root --key keys/r1.key
expect_contains "$T/err" "keys/r1.key is a release key (its key file says so); decrypting a bundle needs a site key"
expect_rc 0 "$B" verify b.exb --root keys/root --key keys/s1.key
ok "a key of the wrong role is refused by sign, root sign and verify --key, naming both roles"

# Public keys too: root init takes root keys as root keys and release keys as release keys,
# create encrypts only to site keys.
expect_rc 2 "$B" root init --out rr --root-key keys/r1.pub --root-threshold 1 \
	--release-key keys/r2.pub --release-threshold 1
expect_contains "$T/err" "keys/r1.pub is a release key (its key file says so); --root-key needs a root key"
expect_rc 2 "$B" root init --out rr --root-key keys/k1.pub --root-threshold 1 \
	--release-key keys/s1.pub --release-threshold 1
expect_contains "$T/err" "keys/s1.pub is a site key (its key file says so); --release-key needs a release key"
[ ! -e rr ] || fail "a refused root init wrote a root"
expect_rc 2 "$B" create spec.yaml --out bad.exb --recipient keys/r1.pub
expect_contains "$T/err" "keys/r1.pub is a release key (its key file says so); --recipient needs a site key"
[ ! -e bad.exb ] || fail "a refused create wrote a bundle"
# The verify-only tools (no signing code, so no role parsing) say what the file is.
expect_rc 2 airgap-verifier bundle b.exb --root keys/root --key keys/r1.key
expect_contains "$T/err" "keys/r1.key is a release secret key; this needs a site secret key (.key)"
ok "public keys of the wrong role are refused by root init and create --recipient; airgap-verifier names a minisign key given as a site key"

# A release key that is not in the root: refused with --root.
"$B" keygen --type release --no-password --out keys/stranger >/dev/null
expect_rc 1 "$B" sign b.exb --key keys/stranger.key --root keys/root
expect_contains "$T/err" "is not a release key of root version 1"
ok "with --root, sign refuses a release key the root does not list"

# A key made by stock minisign has no role: accepted, with a note.
minisign -G -W -p keys/m.pub -s keys/m.key >/dev/null
"$B" create spec.yaml --out m.exb --no-encrypt >/dev/null
expect_rc 0 "$B" sign m.exb --key keys/m.key
expect_contains "$T/err" "carries no exai key role"
ok "a stock minisign key (no role) still signs, with a note"

# --- attach: a signature over another bundle's index is refused; the real one then attaches
for form in exb dir; do
	if [ $form = exb ]; then x=a.exb y=other.exb; else x=adir y=otherdir; fi
	SOURCE_DATE_EPOCH=1700000000 "$B" create spec.yaml --out "$x" --recipient keys/s1.pub >/dev/null
	SOURCE_DATE_EPOCH=1700000000 "$B" create spec.yaml --out "$y" --recipient keys/s1.pub >/dev/null
	sign_with "$x" r1
	"$B" sign "$y" --key keys/r2.key >/dev/null
	if [ $form = exb ]; then tar xf "$y" sig/$r2.minisig && mv sig/$r2.minisig wrong.minisig; else cp "$y/sig/$r2.minisig" wrong.minisig; fi
	if [ $form = exb ]; then cp "$x" before; else tar cf before -C "$x" .; fi
	expect_rc 1 "$B" sign "$x" --attach wrong.minisig --root keys/root
	expect_contains "$T/err" "wrong.minisig: not attached"
	expect_contains "$T/err" "$r2"
	expect_rc 1 "$B" sign "$x" --attach wrong.minisig --pubkey keys/r2.pub
	expect_rc 1 "$B" sign "$x" --attach wrong.minisig --pubkey keys/r3.pub
	expect_contains "$T/err" "the signature is by key $r2, keys/r3.pub is key $r3"
	if [ $form = exb ]; then cmp -s "$x" before || fail "$form: refused attach changed the bundle"
	else [ ! -e "$x/sig/$r2.minisig" ] || fail "$form: refused attach left a signature"; fi
	# the real signer is not blocked
	expect_rc 0 "$B" sign "$x" --key keys/r2.key
	expect_rc 0 "$B" verify "$x" --root keys/root --key keys/s1.key --now 1700000001
	ok "$form: an attached signature over another index is refused; the real signer then signs"

	# --- replace and remove
	"$B" sign "$x" --key keys/r2.key >/dev/null 2>&1 && fail "$form: signing twice was accepted"
	expect_rc 1 "$B" sign "$x" --key keys/r2.key
	expect_contains "$T/err" "already holds a signature by key $r2 (--replace replaces it, --remove $r2 removes it)"
	expect_rc 0 "$B" sign "$x" --key keys/r2.key --replace --json
	[ "$(jq -r .action "$T/out")" = replaced ] || fail "$form: --replace"
	expect_rc 0 "$B" verify "$x" --root keys/root --key keys/s1.key --now 1700000001 --json
	[ "$(jq '[.signatures[] | select(.state=="valid")] | length' "$T/out")" = 2 ] ||
		fail "$form: after --replace"
	expect_rc 0 "$B" sign "$x" --remove "$r2"
	expect_contains "$T/out" "removed the signature by key $r2"
	expect_rc 1 "$B" verify "$x" --root keys/root --key keys/s1.key --now 1700000001
	expect_contains "$T/err" "1 valid of the 2 required"
	expect_rc 1 "$B" sign "$x" --remove "$r2"
	expect_contains "$T/err" "holds no signature by key $r2"
	expect_rc 0 "$B" sign "$x" --key keys/r3.key
	expect_rc 0 "$B" verify "$x" --root keys/root --key keys/s1.key --now 1700000001 --json
	[ "$(jq -r '[.signatures[] | select(.state=="valid") | .key_id] | sort | join(" ")' "$T/out")" = \
		"$(printf '%s\n' "$r1" "$r3" | sort | tr '\n' ' ' | sed 's/ $//')" ] || fail "$form: signers after remove"
	if [ $form = exb ]; then
		tar tf "$x" >list
		[ "$(grep -c '^sig/' list)" = 2 ] || fail "exb: signature entries after remove"
		[ "$(tail -n 2 list | tr '\n' ' ')" = "sig/$r1.minisig sig/$r3.minisig " ] || fail "exb: order"
	fi
	ok "$form: --replace replaces a signature, --remove drops it, the real signer re-signs"
done

# --- failures leave the .exb as it was (byte for byte)
cp a.exb keep.exb
for f in rename fsync; do
	expect_rc 1 env EXAI_FAULT=$f "$B" sign a.exb --remove "$r3"
	cmp -s a.exb keep.exb || fail "a failed rewrite ($f) changed the .exb"
	[ -z "$(ls -a | grep 'a\.exb\..*tmp\|\.tmp\.')" ] || fail "temp file left after a failed rewrite"
done
expect_rc 0 "$B" sign a.exb --remove "$r3"
cp a.exb keep.exb
for f in sign.append sign.header; do
	expect_rc 1 env EXAI_FAULT=$f "$B" sign a.exb --key keys/r3.key
	cmp -s a.exb keep.exb || fail "a failed append ($f) changed the .exb"
done
# A crash between the two steps of an append leaves a bundle that reads as before.
expect_rc 86 env EXAI_FAULT=sign.header:1:crash "$B" sign a.exb --key keys/r3.key
expect_rc 1 "$B" verify a.exb --root keys/root --key keys/s1.key --now 1700000001
expect_contains "$T/err" "1 valid of the 2 required"
expect_rc 0 "$B" sign a.exb --key keys/r3.key
expect_rc 0 "$B" verify a.exb --root keys/root --key keys/s1.key --now 1700000001
ok "a failed or crashed append or rewrite leaves the .exb whole"
