# Interop: tests/gocheck/mirrorcheck.go, an independent checker on Go's sumdb/note and
# sumdb/tlog (Debian's golang-golang-x-mod-dev, built offline), verifies exai-mirror's
# checkpoints, inclusion proofs and consistency proofs, and refuses every one of them with any
# single byte changed (each byte of each file in turn: a leaf's payload or nonce in the proof's
# extra line, a proof hash, the checkpoint's origin, size, root or signature).
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/mirror_lib.sh"
M() { exai-mirror "$@" --config "$T/mirror.yaml"; }
command -v go >/dev/null || fail "go is needed (scripts/deps.sh installs golang-go)"
[ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ] ||
	fail "golang-golang-x-mod-dev is needed (scripts/deps.sh)"

GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$T/gocache" GOFLAGS= \
	go build -o "$T/mirrorcheck" "$EXAI_SRC/tests/gocheck/mirrorcheck.go" || fail "go build"
G="$T/mirrorcheck"
ok "the Go checker builds offline from Debian's x/mod"

mirror_config
mirror_start
for n in 5 6 11; do
	python3 -c "
for i in range($n): print('{\"class\":\"audit\",\"body\":{\"n\":%d}}' % i)" >"$T/burst"
	send "$T/burst"
	sleep 1.3
done
mirror_stop
sizes=$(q 'SELECT group_concat(size, " ") FROM checkpoints')
[ "$sizes" = "5 11 22" ] || fail "checkpoints: $sizes"

for s in $sizes; do
	q "SELECT writefile('$T/cp$s', note) FROM checkpoints WHERE size = $s" >/dev/null
	"$G" checkpoint "$T/log.vkey" "$T/cp$s" >"$T/gout" || fail "Go refused checkpoint $s"
	[ "$(cut -d' ' -f1 "$T/gout")" = "$s" ] || fail "Go read size $(cat "$T/gout")"
	root=$(python3 -c "import base64, sqlite3, sys; print(base64.b64encode(sqlite3.connect(sys.argv[1]).execute(
		'SELECT root FROM checkpoints WHERE size = $s').fetchone()[0]).decode())" "$DB")
	[ "$(cut -d' ' -f2 "$T/gout")" = "$root" ] || fail "Go read another root"
done
ok "Go's sumdb/note verifies every checkpoint (Ed25519, signed-note key id, origin)"

for s in $sizes; do
	i=0
	while [ $i -lt "$s" ]; do
		M prove --index $i --size "$s" >"$T/inc.$i.$s"
		"$G" inclusion "$T/log.vkey" "$T/inc.$i.$s" >/dev/null || fail "Go refused inclusion $i in $s"
		i=$((i + 1))
	done
done
for p in "5 11" "5 22" "11 22" "22 22"; do
	set -- $p
	M prove --from "$1" --to "$2" >"$T/con.$1.$2"
	"$G" consistency "$T/log.vkey" "$T/con.$1.$2" >/dev/null || fail "Go refused consistency $1 $2"
done
ok "Go's sumdb/tlog verifies every inclusion proof and the consistency proofs"

# One byte changed anywhere: refused. Each byte of a checkpoint, an inclusion proof (its extra
# line holds the leaf's nonce and payload) and a consistency proof, changed in turn.
python3 - "$G" "$T/log.vkey" "checkpoint:$T/cp11" "inclusion:$T/inc.7.22" "consistency:$T/con.5.22" <<'EOP' || fail "a changed byte was accepted"
import subprocess, sys
g, vkey = sys.argv[1], sys.argv[2]
tmp = vkey + ".flip"
for arg in sys.argv[3:]:
    kind, path = arg.split(":", 1)
    data = open(path, "rb").read()
    for i in range(len(data)):
        for x in (0x01, 0x20):
            b = bytearray(data)
            b[i] ^= x
            open(tmp, "wb").write(b)
            r = subprocess.run([g, kind, vkey, tmp], capture_output=True)
            if r.returncode == 0:
                sys.exit("%s %s: byte %d ^ 0x%02x accepted" % (kind, path, i, x))
    print(kind, len(data), "bytes, each changed twice: all refused")
EOP
ok "one changed byte of a leaf, a proof or a checkpoint: the Go checker refuses"

# And a proof for a different log key is refused.
sed 's|^log_key: .*|log_key: '"$T"'/other.key|' "$T/mirror.yaml" >"$T/other.yaml"
exai-mirror keygen --config "$T/other.yaml" >/dev/null
expect_rc 1 "$G" inclusion "$T/other.vkey" "$T/inc.7.22"
ok "another key's vkey does not verify the log's proofs"
