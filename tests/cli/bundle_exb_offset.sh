# exai-bundle verify of an .exb reads the payload entry's data straight from the file at its
# offset (bundle_stream.c, direct_payload): the offset must follow the tar headers that precede
# the entry, and what is read there is what the chunk table checks. An .exb rewritten with a
# pax extended header before the payload entry (1024 bytes more before its data) verifies; the
# same with one byte of the payload's data changed is refused at that chunk.
. "$EXAI_SRC/tests/cli/lib.sh"
. "$EXAI_SRC/tests/cli/bundle_lib.sh"
PY=/usr/bin/python3
mk_keys
mk_root 1 root r1
mk_tree
cd "$T"
export SOURCE_DATE_EPOCH=1790000000
V="--root keys/root --key keys/s1.key --now 1790000001"
"$B" create spec.yaml --out good.exb --recipient keys/s1.pub >/dev/null
"$B" sign good.exb --key keys/r1.key >/dev/null
expect_rc 0 "$B" verify good.exb $V
ok "an .exb as written verifies"

# rewrite PAX|FLIP IN OUT: the same members in the same order; the payload member gets a pax
# extended header; FLIP also changes one byte in the middle of its data
rewrite() {
	$PY - "$@" <<'PY'
import sys, tarfile, io
mode, src, dst = sys.argv[1:4]
with tarfile.open(src, "r:") as tin, tarfile.open(dst, "w:", format=tarfile.PAX_FORMAT) as tout:
    for m in tin.getmembers():
        data = tin.extractfile(m).read() if m.isfile() else None
        if m.name == "payload":
            m.pax_headers = {"comment": "a pax header before the payload's data"}
            if mode == "flip":
                b = bytearray(data)
                b[len(b) // 2] ^= 1
                data = bytes(b)
        tout.addfile(m, io.BytesIO(data) if data is not None else None)
PY
}
off() { # off FILE: the payload entry's data offset, as Python's tarfile sees it
	$PY -c 'import sys, tarfile; print(tarfile.open(sys.argv[1], "r:").getmember("payload").offset_data)' "$1"
}
rewrite pax good.exb pax.exb
[ "$(off pax.exb)" -gt "$(off good.exb)" ] || fail "the rewrite did not move the payload's data ($(off good.exb) -> $(off pax.exb))"
expect_rc 0 "$B" verify pax.exb $V
ok "the payload behind a pax header (data at $(off pax.exb), was $(off good.exb)) verifies"

rewrite flip good.exb flip.exb
expect_rc 1 "$B" verify flip.exb $V
expect_contains "$T/err" "hash mismatch"
ok "one byte changed in the payload's data behind the pax header is refused at its chunk"
