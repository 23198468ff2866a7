# Known-answer bundles (tests/vectors/bundle): our verifier and an independent Python
# implementation of docs/format.md both accept them; the plain ones rebuild byte for byte.
# plain/ and encrypted/ are format 2 (create --format-version 2), v1/ format 1 (the default).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
V="$EXAI_SRC/tests/vectors/bundle"
PY=/usr/bin/python3

# git keeps the secret key 0644, which exai-bundle refuses (docs/bundle.md#keys): a 0600 copy.
cp "$V/keys/site.key" "$T/site.key" && chmod 600 "$T/site.key"
for d in "$V" "$V/v1"; do
	expect_rc 0 "$B" verify "$d/plain" --root "$V/root" --now 1767225601
	expect_rc 0 "$B" verify "$d/encrypted" --root "$V/root" --key "$T/site.key" --now 1767225601
done
ok "exai-bundle verifies the committed vectors, format 2 and format 1"

expect_rc 0 $PY "$V/check_bundle.py" "$V/v1/plain" "$V/root"
expect_contains "$T/out" "model m 1 raw 12 bytes sha256:9aa6c074d457a309644b6af534fb32e12e7f229b5bb5526425af241d6f50b946"
expect_contains "$T/out" "OK (format 1)"
expect_rc 0 $PY "$V/check_bundle.py" "$V/v1/encrypted" "$V/root" "$V/keys/site.key"
expect_contains "$T/out" "software app 1 tar 2048 bytes"
# Format 2: weights.txt (80000 bytes at payload offset 2060) has 5 leaves, the fourth of which
# straddles the boundary between the two 64 KiB chunks; empty.bin is a 0-byte component.
for b in plain encrypted; do
	expect_rc 0 $PY "$V/check_bundle.py" "$V/$b" "$V/root" "$V/keys/site.key"
	expect_contains "$T/out" "model m 1 raw 12 bytes digest:05cff47d763988a249b0806b99319d239161473868e346d82eb933c031176c15"
	expect_contains "$T/out" "files empty 1 raw 0 bytes digest:29b2d66607038a7116092b9a0f993aa2c1f5121b05dcd9b7438cd2156268cd8f"
	expect_contains "$T/out" "model weights 1 raw 80000 bytes digest:0fb9f7db0e345368a6a9d11a935ad7aac167a7aa51fa7070980dd13b761b638c"
	expect_contains "$T/out" "OK (format 2)"
done
ok "the independent Python implementation accepts all four, decrypting the sealed box and chunks"

# exai-bundle digest prints what the manifest records, and so does the Python checker.
for f in model.bin empty.bin weights.txt; do
	want=$($PY "$V/check_bundle.py" --digest "$V/src/$f" | cut -d' ' -f1)
	got=$("$B" digest "$V/src/$f" | cut -d' ' -f1)
	[ "$want" = "$got" ] || fail "$f: exai-bundle digest $got, check_bundle.py $want"
	grep -q " $got $f " "$V/plain/manifest" || fail "$f: digest $got not in the manifest"
done
ok "exai-bundle digest agrees with the Python checker and the vector's manifest"

# The Python checker is not a rubber stamp: a flipped payload byte fails it too, and so does
# a manifest of the other format version than the index's (re-hashed: only the version is off).
cp -a "$V/encrypted" "$T/enc"
printf '\377' | dd of="$T/enc/payload" bs=1 seek=100 conv=notrunc 2>/dev/null
expect_rc 1 $PY "$V/check_bundle.py" "$T/enc" "$V/root" "$V/keys/site.key"
expect_contains "$T/out" "payload: chunk 0: hash mismatch"
cp -a "$V/plain" "$T/p2"
sed -i '1s/^exai-bundle-index 2$/exai-bundle-index 3/' "$T/p2/index"
expect_rc 1 $PY "$V/check_bundle.py" "$T/p2" "$V/root"
expect_contains "$T/out" "index: unknown format version 3"
expect_rc 1 "$B" verify "$T/p2" --root "$V/root" --now 1767225601
expect_contains "$T/err" "unknown format version '3'"
ok "the Python checker and exai-bundle refuse a tampered vector and an unknown format version"

# Rebuild the plain vectors from their inputs: same bytes.
cp -a "$V/src" "$V/spec.yaml" "$T/"
mkdir "$T/v1" && cp "$V/v1/spec.yaml" "$T/v1/"
chmod 755 "$T/src/app"
chmod 644 "$T/src/app/hello.txt" "$T/src/model.bin" "$T/src/empty.bin" "$T/src/weights.txt"
cd "$T"
SOURCE_DATE_EPOCH=1767225600 "$B" create spec.yaml --out plain --no-encrypt --format-version 2 >/dev/null
(cd v1 && SOURCE_DATE_EPOCH=1767225600 "$B" create spec.yaml --out plain --no-encrypt \
	--format-version 1 >/dev/null)
for f in index manifest chunks payload; do
	cmp "plain/$f" "$V/plain/$f" || fail "rebuilt $f differs from the vector"
	cmp "v1/plain/$f" "$V/v1/plain/$f" || fail "rebuilt v1 $f differs from the vector"
done
ok "the plain vectors rebuild byte for byte (format 2 with --format-version 2, format 1)"

# A fresh bundle made now is accepted by the Python implementation as well.
mk_keys
mk_root 1 root r1
mk_tree
"$B" create spec.yaml --out fresh --recipient keys/s2.pub --format-version 2 >/dev/null
sign_with fresh r1
expect_rc 0 $PY "$V/check_bundle.py" fresh keys/root keys/s2.key
expect_contains "$T/out" "model llama 3 raw 5000000 bytes"
ok "a freshly made encrypted bundle passes the independent checker"
