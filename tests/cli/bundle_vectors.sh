# Known-answer bundles (tests/vectors/bundle): our verifier and an independent Python
# implementation of docs/format.md both accept them; the plain one rebuilds byte for byte.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
V="$EXAI_SRC/tests/vectors/bundle"
PY=/usr/bin/python3

expect_rc 0 "$B" verify "$V/plain" --root "$V/root" --now 1767225601
# git keeps the secret key 0644, which exai-bundle refuses (docs/bundle.md#keys): a 0600 copy.
cp "$V/keys/site.key" "$T/site.key" && chmod 600 "$T/site.key"
expect_rc 0 "$B" verify "$V/encrypted" --root "$V/root" --key "$T/site.key" --now 1767225601
ok "exai-bundle verifies the committed vectors"

expect_rc 0 $PY "$V/check_bundle.py" "$V/plain" "$V/root"
expect_contains "$T/out" "model m 1 raw 12 bytes sha256:9aa6c074d457a309644b6af534fb32e12e7f229b5bb5526425af241d6f50b946"
expect_rc 0 $PY "$V/check_bundle.py" "$V/encrypted" "$V/root" "$V/keys/site.key"
expect_contains "$T/out" "software app 1 tar 2048 bytes"
ok "the independent Python implementation accepts both, decrypting the sealed box and chunks"

# The Python checker is not a rubber stamp: a flipped payload byte fails it too.
cp -a "$V/encrypted" "$T/enc"
printf '\377' | dd of="$T/enc/payload" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_rc 1 $PY "$V/check_bundle.py" "$T/enc" "$V/root" "$V/keys/site.key"
expect_contains "$T/out" "payload: chunk 0: hash mismatch"
ok "the Python checker refuses a tampered vector"

# Rebuild the plain vector from its inputs: same bytes.
cp -a "$V/src" "$V/spec.yaml" "$T/"
chmod 755 "$T/src/app"
chmod 644 "$T/src/app/hello.txt" "$T/src/model.bin"
cd "$T"
SOURCE_DATE_EPOCH=1767225600 "$B" create spec.yaml --out plain --no-encrypt >/dev/null
for f in index manifest chunks payload; do
	cmp "plain/$f" "$V/plain/$f" || fail "rebuilt $f differs from the vector"
done
ok "the plain vector rebuilds byte for byte"

# A fresh bundle made now is accepted by the Python implementation as well.
mk_keys
mk_root 1 root r1
mk_tree
"$B" create spec.yaml --out fresh --recipient keys/s2.pub >/dev/null
sign_with fresh r1
expect_rc 0 $PY "$V/check_bundle.py" fresh keys/root keys/s2.key
expect_contains "$T/out" "model llama 3 raw 5000000 bytes"
ok "a freshly made encrypted bundle passes the independent checker"
