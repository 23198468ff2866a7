# exai-bundle verify refuses every kind of tampering with a precise message, and never
# prints plaintext.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
mk_keys
mk_root 2 root r1 r2 r3
mk_tree
cd "$T"
export SOURCE_DATE_EPOCH=1790000000
V="--root keys/root --key keys/s1.key --now 1790000001"
"$B" create spec.yaml --out good --recipient keys/s1.pub >/dev/null
sign_with good r1 r2
expect_rc 0 "$B" verify good $V
fresh() { rm -rf t && cp -a good t; }

# Wrong recipient: the bundle is not encrypted to s2.
expect_rc 1 "$B" verify good --root keys/root --key keys/s2.key --now 1790000001
sid=$(sed -n 's/.*site public key //p' keys/s2.pub)
expect_contains "$T/err" "not encrypted to site key $sid"
ok "wrong recipient refused, naming the key"

# Truncated payload, truncated chunk table, extended payload.
fresh && truncate -s -1 t/payload
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "payload: "
expect_contains "$T/err" "truncated or padded"
fresh && printf x >>t/payload
expect_rc 1 "$B" verify t $V
fresh && truncate -s -32 t/chunks
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "chunks: "
ok "truncated or extended files refused"

# An extra, unlisted file.
fresh && echo x >t/extra
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "'extra' is not part of the format"
fresh && mkdir -p t/roots && cp keys/root t/roots/1
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "roots/1: not listed in the signed index"
# A root past the end of the chain is a gap, refused before anything else is judged.
fresh && mkdir -p t/roots && cp keys/root t/roots/5
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "carries roots/5 but not roots/2 (a gap after root version 1"
ok "unlisted files refused"

# A symlink where a file should be.
fresh && mv t/keys keys.real && ln -s "$T/keys.real" t/keys
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "keys: open: is a symbolic link (refused)"
ok "symlinked entry refused"

# A chunk swapped in from another bundle by the same signers (same size, same position).
"$B" create spec.yaml --out other --recipient keys/s1.pub >/dev/null
sign_with other r1 r2
fresh
dd if=other/payload of=t/payload bs=1048592 skip=2 seek=2 count=1 conv=notrunc 2>/dev/null
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "payload: chunk 2: hash mismatch"
ok "chunk spliced from another bundle of the same signers refused (chunk 2 named)"

# Every byte of the index flipped in turn: always refused.
fresh
n=$(stat -c %s t/index)
mkdir flips
/usr/bin/python3 -c "
import sys
d = open('good/index', 'rb').read()
for i in range(len(d)):
    f = bytearray(d); f[i] ^= 0x01
    open('flips/%d' % i, 'wb').write(f)"
i=0
while [ $i -lt "$n" ]; do
	cp flips/$i t/index
	set +e
	"$B" verify t $V >/dev/null 2>"$T/err"
	rc=$?
	set -e
	[ $rc = 1 ] || fail "index byte $i flipped: exit $rc"
	i=$((i + 1))
done
ok "each of the $n index bytes flipped in turn: all refused"

# Random byte flips across the payload: each refused, naming the chunk.
for k in 1 2 3 4 5 6 7 8; do
	fresh
	size=$(stat -c %s t/payload)
	off=$(/usr/bin/python3 -c "import random; print(random.randrange($size))")
	/usr/bin/python3 -c "
import sys; p=sys.argv[1]; i=int(sys.argv[2]); f=open(p,'r+b'); f.seek(i); b=f.read(1); f.seek(i); f.write(bytes([b[0]^0x80]))" t/payload "$off"
	expect_rc 1 "$B" verify t $V
	chunk=$((off / 1048592))
	expect_contains "$T/err" "payload: chunk $chunk: hash mismatch"
	expect_not_contains "$T/out" "app"
done
ok "random payload byte flips refused, each naming its chunk"

# Flips in the manifest, keys and signatures.
for f in manifest keys; do
	fresh
	/usr/bin/python3 -c "
import sys; p=sys.argv[1]; d=bytearray(open(p,'rb').read()); d[len(d)//2]^=1; open(p,'wb').write(d)" t/$f
	expect_rc 1 "$B" verify t $V
	expect_contains "$T/err" "$f: hash mismatch"
done
fresh
sig=$(ls t/sig | head -1)
sed -i '2s/^R/Q/' "t/sig/$sig"
expect_rc 1 "$B" verify t $V
expect_contains "$T/err" "1 valid of the 2 required"
ok "manifest, keys and signature tampering refused"

# The .exb form: truncated archive and flipped payload byte.
"$B" create spec.yaml --out g.exb --recipient keys/s1.pub >/dev/null
sign_with g.exb r1 r2
expect_rc 0 "$B" verify g.exb $V
cp g.exb t.exb && truncate -s 3000000 t.exb
expect_rc 1 "$B" verify t.exb $V
cp g.exb t.exb && printf 'junk' | dd of=t.exb bs=1 seek=2500000 conv=notrunc 2>/dev/null
expect_rc 1 "$B" verify t.exb $V
expect_contains "$T/err" "hash mismatch"
ok ".exb truncated or flipped: refused"

# Expired bundle: refused against the given time.
expect_rc 1 "$B" verify good --root keys/root --key keys/s1.key --now 2000000000
expect_contains "$T/err" "bundle expired at"
ok "expired bundle refused"
