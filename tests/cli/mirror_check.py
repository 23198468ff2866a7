#!/usr/bin/python3
# An independent checker of exai-mirror's store and formats, for the tests (no code shared
# with the C side): RFC 6962 hashing, C2SP signed-note checkpoints (Ed25519 via
# python3-cryptography), the leaf bytes SHA-256(nonce || payload).
#   mirror_check.py db DB VKEY      every checkpoint verifies and matches the recomputed tree,
#                                   every stored node is right; prints a JSON summary
#   mirror_check.py note NOTE VKEY  one checkpoint note verifies; prints "size root"
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
        assert mth(leaves[lo:hi]) == hh, "node (%d, %d) is wrong" % (level, idx)
        nodes += 1
    # Every complete subtree is stored: 2n - popcount(n) nodes.
    n = len(leaves)
    assert nodes == 2 * n - bin(n).count("1"), "%d nodes for %d leaves" % (nodes, n)
    print(json.dumps({"entries": n, "checkpoints": sizes}))


def main():
    vkey = parse_vkey(open(sys.argv[3]).read())
    if sys.argv[1] == "db":
        check_db(sys.argv[2], vkey)
    elif sys.argv[1] == "note":
        size, root = open_note(open(sys.argv[2], "rb").read(), vkey)
        print(size, base64.b64encode(root).decode())


main()
