# exai-bundle: k-of-n thresholds, unknown and duplicate signers.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
"$B" keygen --type release --no-password --out "$T/keys/stranger" >/dev/null
mk_root 1 root11 r1
mk_root 2 root23 r1 r2 r3
mk_root 3 root33 r1 r2 r3
mk_tree
cd "$T"
V="--now 1790000001"
export SOURCE_DATE_EPOCH=1790000000
"$B" create spec.yaml --out b.exb --no-encrypt >/dev/null

expect_rc 1 "$B" verify b.exb --root keys/root11 $V
sign_with b.exb r1
expect_rc 0 "$B" verify b.exb --root keys/root11 $V
ok "1-of-1: unsigned refused, one signature accepted"

expect_rc 1 "$B" verify b.exb --root keys/root23 $V
expect_contains "$T/err" "1 valid of the 2 required"
sign_with b.exb r2
expect_rc 0 "$B" verify b.exb --root keys/root23 $V
ok "2-of-3: one signature refused, two accepted"

expect_rc 1 "$B" verify b.exb --root keys/root33 $V
expect_contains "$T/err" "2 valid of the 3 required"
sign_with b.exb r3
expect_rc 0 "$B" verify b.exb --root keys/root33 $V
ok "3-of-3: two refused, three accepted"

# Unknown signer: a stranger's signature does not count, and is named.
"$B" create spec.yaml --out u.exb --no-encrypt >/dev/null
sign_with u.exb r1 stranger
expect_rc 1 "$B" verify u.exb --root keys/root23 $V
sid=$(sed -n 's/.*minisign public key //p' keys/stranger.pub)
expect_contains "$T/err" "$sid unknown key"
expect_contains "$T/err" "1 valid of the 2 required"
ok "unknown signer named and not counted"

# Duplicate signer: the same signature entry twice in the archive is refused outright.
"$B" create spec.yaml --out d.exb --no-encrypt >/dev/null
sign_with d.exb r1
r1id=$(sed -n 's/.*minisign public key //p' keys/r1.pub)
mkdir -p dup/sig && tar xf d.exb -C dup "sig/$r1id.minisig"
/usr/bin/python3 - "$T/d.exb" "$T/dup/sig/$r1id.minisig" "sig/$r1id.minisig" <<'PY'
import sys, tarfile
# Re-append the same signature entry; tarfile rewrites the end marker after it.
with tarfile.open(sys.argv[1], "a", format=tarfile.PAX_FORMAT) as t:
    t.add(sys.argv[2], arcname=sys.argv[3])
PY
[ "$(tar tf d.exb | grep -c "sig/$r1id")" = 2 ] || fail "duplicate not planted"
expect_rc 1 "$B" verify d.exb --root keys/root23 $V --json
[ "$(jq -r .ok "$T/out")" = false ] || fail "duplicate counted twice"
expect_contains "$T/out" "appears twice (refused)"
ok "the same signature entry twice is refused"

# Signing twice with one key is refused by the tool itself.
expect_rc 1 "$B" sign b.exb --key keys/r1.key
expect_contains "$T/err" "already holds a signature by key $r1id"
ok "signing twice with one key refused"

# A signature file for another key's id is refused (renamed file).
"$B" create spec.yaml --out m --no-encrypt >/dev/null
sign_with m r1
r2id=$(sed -n 's/.*minisign public key //p' keys/r2.pub)
mv "m/sig/$r1id.minisig" "m/sig/$r2id.minisig"
sign_with m r3
expect_rc 1 "$B" verify m --root keys/root23 $V
expect_contains "$T/err" "file name and signature key id differ"
ok "a signature under another key's file name is refused"

# Offline signing: sign a copy of the index elsewhere, then attach.
"$B" create spec.yaml --out o.exb --no-encrypt >/dev/null
mkdir -p offline && tar xf o.exb -C offline index
expect_rc 0 "$B" sign offline/index --key keys/r2.key --out offline/r2.minisig
expect_rc 0 "$B" sign o.exb --attach offline/r2.minisig --root keys/root23
sign_with o.exb r1
expect_rc 0 "$B" verify o.exb --root keys/root23 $V
ok "offline signature of an index copy attaches and counts"
