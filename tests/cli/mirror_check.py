#!/usr/bin/python3
# An independent checker of exai-mirror's store and formats, for the tests (no code shared
# with the C side): RFC 6962 hashing, C2SP signed-note checkpoints (Ed25519 via
# python3-cryptography), the leaf bytes SHA-256(nonce || payload).
#   mirror_check.py db DB VKEY      every checkpoint verifies and matches the recomputed tree,
#                                   every stored node is right; prints a JSON summary
#   mirror_check.py note NOTE VKEY  one checkpoint note verifies; prints "size root"
#   mirror_check.py inclusion FILE VKEY     a c2sp.org/tlog-proof@v1 proof verifies; prints
#                                   "index size" and the payload
#   mirror_check.py consistency FILE VKEY   an exai-mirror/consistency@v1 proof verifies
import base64
import hashlib
import json
import sqlite3
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def h(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return h(b"\x00" + d)


def node(l, r):
    return h(b"\x01" + l + r)


def mth(hs):
    if len(hs) == 1:
        return hs[0]
    k = 1
    while k * 2 < len(hs):
        k *= 2
    return node(mth(hs[:k]), mth(hs[k:]))


def parse_vkey(text):
    name, kid, key = text.strip().split("+", 2)
    raw = base64.b64decode(key, validate=True)
    assert len(raw) == 33 and raw[0] == 1, "vkey: not Ed25519"
    want = h(name.encode() + b"\n" + raw)[:4].hex()
    assert kid == want, "vkey: key id %s, computed %s" % (kid, want)
    return name, bytes.fromhex(kid), raw[1:]


def open_note(note, vkey):
    name, kid, pk = vkey
    assert note.endswith(b"\n"), "note: no final newline"
    i = note.rindex(b"\n\n")
    body, sigs = note[: i + 1], note[i + 2:]
    lines = body.decode().split("\n")
    assert len(lines) == 4 and lines[3] == "", "checkpoint body: %r" % body
    assert lines[0] == name, "origin %r" % lines[0]
    size = int(lines[1])
    assert str(size) == lines[1]
    root = base64.b64decode(lines[2], validate=True)
    assert len(root) == 32
    ok = False
    for sl in sigs.decode().rstrip("\n").split("\n"):
        assert sl.startswith("\u2014 "), "signature line %r" % sl
        sname, sig = sl[2:].split(" ")
        raw = base64.b64decode(sig, validate=True)
        if sname == name and raw[:4] == kid:
            Ed25519PublicKey.from_public_bytes(pk).verify(raw[4:], body)
            ok = True
    assert ok, "no signature by the key"
    return size, root


def check_db(path, vkey):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    leaves = []
    for idx, nonce, payload, leaf in db.execute(
            "SELECT idx, nonce, payload, leaf FROM entries ORDER BY idx"):
        assert idx == len(leaves), "index %d missing" % len(leaves)
        assert len(nonce) == 16 and h(nonce + payload) == leaf, "leaf %d" % idx
        leaves.append(leaf_hash(leaf))
    sizes = []
    for size, root, note in db.execute("SELECT size, root, note FROM checkpoints ORDER BY size"):
        s, r = open_note(note.encode(), vkey)
        assert (s, r) == (size, root), "checkpoint row %d does not match its note" % size
        assert mth(leaves[:size]) == root, "checkpoint %d: root differs from the leaves" % size
        sizes.append(size)
    nodes = 0
    for level, idx, hh in db.execute("SELECT level, idx, hash FROM nodes"):
        lo, hi = idx << level, (idx + 1) << level
        assert hi <= len(leaves), "node (%d, %d) past the leaves" % (level, idx)
        assert level > 0 and level % 4 == 0, "node (%d, %d) at a level not kept" % (level, idx)
        assert mth(leaves[lo:hi]) == hh, "node (%d, %d) is wrong" % (level, idx)
        nodes += 1
    # Schema 2: every complete subtree at the levels 4, 8, 12, ... is stored, no other.
    n = len(leaves)
    want = sum(n >> l for l in range(4, 64, 4))
    assert nodes == want, "%d nodes for %d leaves, want %d" % (nodes, n, want)
    print(json.dumps({"entries": n, "checkpoints": sizes}))


def check_inclusion(leaf, index, size, proof, root):
    # RFC 9162 2.1.3.2
    assert index < size, "index past size"
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    assert sn == 0 and r == root, "inclusion proof does not verify"


def check_consistency(first, second, h1, h2, proof):
    # RFC 9162 2.1.4.2
    assert 0 < first <= second
    if first == second:
        assert not proof and h1 == h2
        return
    assert proof, "empty consistency proof"
    if first & (first - 1) == 0:
        proof = [h1] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    assert fr == h1 and sr == h2 and sn == 0, "consistency proof does not verify"


def split_notes(text):
    # Checkpoint notes one after another, separated by an empty line after signature lines.
    notes, cur, in_sigs = [], [], False
    for line in text.split("\n")[:-1]:
        if in_sigs and line == "":
            notes.append("\n".join(cur) + "\n")
            cur, in_sigs = [], False
            continue
        if line.startswith("\u2014 "):
            in_sigs = True
        cur.append(line)
    notes.append("\n".join(cur) + "\n")
    return notes


def inclusion(path, vkey):
    text = open(path, "rb").read().decode()
    head, note = text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1", "first line"
    extra = None
    if lines[1].startswith("extra "):
        extra = base64.b64decode(lines[1][6:], validate=True)
        lines = lines[:1] + lines[2:]
    assert lines[1].startswith("index "), "index line"
    index = int(lines[1][6:])
    assert str(index) == lines[1][6:]
    proof = [base64.b64decode(x, validate=True) for x in lines[2:]]
    assert all(len(p) == 32 for p in proof)
    size, root = open_note(note.encode(), vkey)
    assert extra is not None and len(extra) > 16, "no nonce and payload"
    check_inclusion(leaf_hash(h(extra)), index, size, proof, root)
    print(index, size)
    print(extra[16:].decode())


def consistency(path, vkey):
    text = open(path, "rb").read().decode()
    head, rest = text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "exai-mirror/consistency@v1"
    old, new = int(lines[1][4:]), int(lines[2][4:])
    assert lines[1] == "old %d" % old and lines[2] == "new %d" % new
    proof = [base64.b64decode(x, validate=True) for x in lines[3:]]
    n1, n2 = split_notes(rest)
    s1, r1 = open_note(n1.encode(), vkey)
    s2, r2 = open_note(n2.encode(), vkey)
    assert (s1, s2) == (old, new), "checkpoint sizes"
    check_consistency(old, new, r1, r2, proof)
    print(old, new)


def main():
    vkey = parse_vkey(open(sys.argv[3]).read())
    if sys.argv[1] == "db":
        check_db(sys.argv[2], vkey)
    elif sys.argv[1] == "note":
        size, root = open_note(open(sys.argv[2], "rb").read(), vkey)
        print(size, base64.b64encode(root).decode())
    elif sys.argv[1] == "inclusion":
        inclusion(sys.argv[2], vkey)
    elif sys.argv[1] == "consistency":
        consistency(sys.argv[2], vkey)


main()
