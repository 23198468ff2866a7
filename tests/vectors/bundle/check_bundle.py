#!/usr/bin/python3
"""Independent checker for exai bundle formats 1 and 2, written from docs/format.md alone.

usage: check_bundle.py BUNDLE_DIR ROOT [SITE.key]
       check_bundle.py --digest FILE...     (format 2's component digest of each FILE)

Verifies the root's own signatures, the release signature threshold (prehashed and legacy
minisign), every listed file's size and SHA-256, the chunk table, and, for a plain bundle or
with the site key, the manifest and every component's plaintext hash. Prints one line per
component and "OK", or "FAIL: <why>" and exits 1. Uses only the standard library and the
'cryptography' package (Debian's python3-cryptography); the sealed box (X25519 +
XSalsa20-Poly1305) is implemented here from its definition.
"""
import base64
import hashlib
import os
import re
import struct
import sys

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NUM = r"(0|[1-9][0-9]{0,19})"
NAME = r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}"


class Fail(Exception):
    pass


LEAF = 16384


def tree_digest(data):
    """Format 2's component digest (docs/format.md 7.1): SHA-256 over the tag, the size and
    the SHA-256 of each 16 KiB leaf of the bytes, in order; a 0-byte component has no leaf."""
    h = hashlib.sha256(b"exai-tree-v1" + struct.pack(">Q", len(data)))
    for at in range(0, len(data), LEAF):
        h.update(hashlib.sha256(data[at:at + LEAF]).digest())
    return h.hexdigest()


def component_digest(version, data):
    return tree_digest(data) if version == 2 else hashlib.sha256(data).hexdigest()


def keyid_str(b):
    return "%016X" % struct.unpack("<Q", b)[0]


# --- salsa20 family and poly1305, for libsodium's sealed box ---
def _rotl(v, c):
    return ((v << c) & 0xFFFFFFFF) | (v >> (32 - c))


def _salsa_rounds(x):
    x = list(x)
    for _ in range(10):
        for a, b, c, d in ((0, 4, 8, 12), (5, 9, 13, 1), (10, 14, 2, 6), (15, 3, 7, 11),
                           (0, 1, 2, 3), (5, 6, 7, 4), (10, 11, 8, 9), (15, 12, 13, 14)):
            x[b] ^= _rotl((x[a] + x[d]) & 0xFFFFFFFF, 7)
            x[c] ^= _rotl((x[b] + x[a]) & 0xFFFFFFFF, 9)
            x[d] ^= _rotl((x[c] + x[b]) & 0xFFFFFFFF, 13)
            x[a] ^= _rotl((x[d] + x[c]) & 0xFFFFFFFF, 18)
    return x


def _state(key, inp16):
    k = struct.unpack("<8I", key)
    i = struct.unpack("<4I", inp16)
    c = struct.unpack("<4I", b"expand 32-byte k")
    return [c[0], k[0], k[1], k[2], k[3], c[1], i[0], i[1], i[2], i[3], c[2], k[4], k[5], k[6],
            k[7], c[3]]


def hsalsa20(key, inp16):
    x = _salsa_rounds(_state(key, inp16))
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def salsa20_stream(key, nonce8, n):
    out = b""
    block = 0
    while len(out) < n:
        s = _state(key, nonce8 + struct.pack("<Q", block))
        x = _salsa_rounds(s)
        out += struct.pack("<16I", *((x[i] + s[i]) & 0xFFFFFFFF for i in range(16)))
        block += 1
    return out[:n]


def poly1305(key, msg):
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) % (1 << 128)).to_bytes(16, "little")


def seal_open(sealed, pk, sk):
    if len(sealed) != 80:
        raise Fail("keys: sealed box is not 80 bytes")
    epk = sealed[:32]
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    shared = X25519PrivateKey.from_private_bytes(sk).exchange(
        X25519PublicKey.from_public_bytes(epk))
    k = hsalsa20(shared, bytes(16))
    subkey = hsalsa20(k, nonce[:16])
    mac, ct = sealed[32:48], sealed[48:]
    stream = salsa20_stream(subkey, nonce[16:], 32 + len(ct))
    if poly1305(stream[:32], ct) != mac:
        raise Fail("keys: sealed box does not open with the site key")
    return bytes(a ^ b for a, b in zip(ct, stream[32:]))


# --- minisign ---
def minisig_verify(sigtext, pk, msg):
    lines = sigtext.split(b"\n")
    if lines[-1] == b"":
        lines = lines[:-1]
    if len(lines) != 4 or not lines[0].startswith(b"untrusted comment: ") \
            or not lines[2].startswith(b"trusted comment: "):
        raise Fail("signature: not 4 minisign lines")
    blob = base64.b64decode(lines[1], validate=True)
    if len(blob) != 74 or blob[:2] not in (b"ED", b"Ed"):
        raise Fail("signature: bad blob")
    data = hashlib.blake2b(msg).digest() if blob[:2] == b"ED" else msg
    key = Ed25519PublicKey.from_public_bytes(pk)
    key.verify(blob[10:], data)
    trusted = lines[2][len(b"trusted comment: "):]
    key.verify(base64.b64decode(lines[3], validate=True), blob[10:] + trusted)
    return keyid_str(blob[2:10])


def parse_pubkey_b64(b64):
    blob = base64.b64decode(b64, validate=True)
    if len(blob) != 42 or blob[:2] != b"Ed":
        raise Fail("bad public key")
    return keyid_str(blob[2:10]), blob[10:]


# --- root ---
def parse_root(data):
    text = data.decode("ascii")
    lines = text.split("\n")[:-1]
    doc = []
    sigs = []
    for ln in lines:
        (sigs if ln.startswith("signature ") else doc).append(ln)
    pat = [r"exai-root 1", r"version " + NUM, r"created " + NUM, r"expires (never|" + NUM + ")",
           r"root-threshold " + NUM]
    for i, p in enumerate(pat):
        if not re.fullmatch(p, doc[i]):
            raise Fail("root: line %d" % (i + 1))
    root = {"version": int(doc[1].split()[1]), "root_thr": int(doc[4].split()[1]),
            "root_keys": {}, "release_keys": {}}
    i = 5
    while doc[i].startswith("root-key "):
        _, kid, b64 = doc[i].split(" ")
        k, pk = parse_pubkey_b64(b64)
        assert k == kid
        root["root_keys"][kid] = pk
        i += 1
    root["release_thr"] = int(doc[i].split()[1])
    for ln in doc[i + 1:]:
        _, kid, b64 = ln.split(" ")
        k, pk = parse_pubkey_b64(b64)
        assert k == kid
        root["release_keys"][kid] = pk
    # One public key, one place: never twice (under two ids) nor in both lists.
    pks = list(root["root_keys"].values()) + list(root["release_keys"].values())
    if len(set(pks)) != len(pks) or len(root["root_keys"]) != sum(
            1 for d in doc if d.startswith("root-key ")) or len(root["release_keys"]) != sum(
            1 for d in doc if d.startswith("release-key ")):
        raise Fail("root: a public key is listed twice")
    message = b"exai-root-sig-v1\n" + ("\n".join(doc) + "\n").encode()
    valid = set()
    for s in sigs:
        _, kid, b64 = s.split(" ")
        pk = root["root_keys"].get(kid)
        if pk is None:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pk).verify(base64.b64decode(b64), message)
            valid.add(pk)  # distinct public keys, not ids
        except InvalidSignature:
            pass
    if len(valid) < root["root_thr"]:
        raise Fail("root: own threshold not met")
    return root


# --- index and manifest ---
def parse_index(data):
    text = data.decode("ascii")
    if "\r" in text or not text.endswith("\n") or len(data) > 65536:
        raise Fail("index: not LF text under 64 KiB")
    lines = text.split("\n")[:-1]
    ix = {"classes": [], "sites": [], "recipients": [], "files": {}}
    it = iter(lines)
    k, v = next(it).split(" ")
    if k != "exai-bundle-index":
        raise Fail("index: not an exai-bundle-index")
    if v not in ("1", "2"):
        raise Fail("index: unknown format version " + v)
    ix["version"] = int(v)
    expect = [("bundle-id", "[0-9a-f]{64}"), ("channel", NAME),
              ("sequence", NUM), ("created", NUM), ("expires", NUM), ("min-root-version", NUM)]
    for key, pat in expect:
        k, v = next(it).split(" ")
        if k != key or not re.fullmatch(pat, v):
            raise Fail("index: bad " + key)
        ix[key] = v
    ln = next(it)
    while ln.startswith("target-class ") or ln.startswith("target-site "):
        k, v = ln.split(" ")
        ix["classes" if k == "target-class" else "sites"].append(v)
        ln = next(it)
    k, ix["encryption"] = ln.split(" ")
    for key in ("chunk-size", "payload-size", "chunk-count"):
        k, v = next(it).split(" ")
        if k != key or not re.fullmatch(NUM, v):
            raise Fail("index: bad " + key)
        ix[key] = int(v)
    for ln in it:
        f = ln.split(" ")
        if f[0] == "recipient":
            ix["recipients"].append(f[1])
        elif f[0] == "file":
            ix["files"][f[1]] = (int(f[2]), f[3])
        else:
            raise Fail("index: unexpected " + f[0])
    cs, ps, cc = ix["chunk-size"], ix["payload-size"], ix["chunk-count"]
    if cc != (ps + cs - 1) // cs:
        raise Fail("index: chunk-count")
    if ix["files"]["payload"][1] != ix["files"]["chunks"][1]:
        raise Fail("index: payload hash must be the chunk table's")
    return ix


def parse_manifest(text, payload_size, version):
    lines = text.split("\n")
    if lines[0] != "exai-bundle-manifest %d" % version or lines[-1] != "":
        raise Fail("manifest: header (must be version %d, as the index)" % version)
    comps = []
    pos = 0
    for ln in lines[1:-1]:
        f = ln.split(" ")
        if len(f) != 12 or f[0] != "component":
            raise Fail("manifest: line")
        c = {"type": f[1], "name": f[2], "version": f[3], "encoding": f[4],
             "offset": int(f[5]), "size": int(f[6]), "sha256": f[7], "target": f[8]}
        if c["offset"] != pos:
            raise Fail("manifest: components do not tile the payload")
        pos += c["size"]
        comps.append(c)
    if pos != payload_size:
        raise Fail("manifest: size")
    return comps


def main():
    if sys.argv[1] == "--digest":
        for path in sys.argv[2:]:
            print("%s  %s" % (tree_digest(open(path, "rb").read()), path))
        return
    bdir, root_path = sys.argv[1], sys.argv[2]
    site = sys.argv[3] if len(sys.argv) > 3 else None
    read = lambda p: open(os.path.join(bdir, p), "rb").read()
    root = parse_root(open(root_path, "rb").read())
    index = read("index")
    ix = parse_index(index)

    valid = set()
    if len(os.listdir(os.path.join(bdir, "sig"))) > 64:
        raise Fail("more than 64 signature entries")
    for name in sorted(os.listdir(os.path.join(bdir, "sig"))):
        kid = name[:-len(".minisig")]
        pk = root["release_keys"].get(kid)
        if pk is None:
            continue
        try:
            if minisig_verify(read("sig/" + name), pk, index) == kid:
                valid.add(pk)  # distinct public keys, not ids or files
        except (InvalidSignature, Fail):
            pass
    if len(valid) < root["release_thr"]:
        raise Fail("signatures: %d valid of %d" % (len(valid), root["release_thr"]))
    for name in os.listdir(bdir):
        if name not in ("index", "sig", "roots") and name not in ix["files"]:
            raise Fail("unlisted entry " + name)
    for name, (size, digest) in ix["files"].items():
        data = read(name)
        if len(data) != size:
            raise Fail(name + ": size")
        if name != "payload" and hashlib.sha256(data).hexdigest() != digest:
            raise Fail(name + ": hash")

    enc = ix["encryption"] == "aes-256-gcm"
    bid = bytes.fromhex(ix["bundle-id"])
    cc, cs = ix["chunk-count"], ix["chunk-size"]
    key = None
    manifest = read("manifest")
    if enc:
        if site is None:
            print("OK (signatures and files; contents encrypted)")
            return
        lines = open(site, "rb").read().split(b"\n")
        blob = base64.b64decode(lines[1])
        sid, sk, spk = keyid_str(blob[2:10]), blob[10:42], blob[42:74]
        r = ix["recipients"].index(sid)
        rec = read("keys")[r * 88:(r + 1) * 88]
        key = seal_open(rec[8:], spk, sk)
        manifest = AESGCM(key).decrypt(b"\0\0\0\1" + bytes(8), manifest,
                                       b"exai-manifest-v1" + bid)
    comps = parse_manifest(manifest.decode("ascii"), ix["payload-size"], ix["version"])

    table = read("chunks")
    payload = read("payload")
    plain = bytearray()
    pos = 0
    for i in range(cc):
        plen = min(cs, ix["payload-size"] - i * cs)
        stored = payload[pos:pos + plen + (16 if enc else 0)]
        pos += len(stored)
        if hashlib.sha256(stored).digest() != table[32 * i:32 * i + 32]:
            raise Fail("payload: chunk %d: hash mismatch" % i)
        if enc:
            ad = b"exai-chunk-v1" + bid + struct.pack(">QQ", i, cc)
            try:
                stored = AESGCM(key).decrypt(bytes(4) + struct.pack(">Q", i), stored, ad)
            except InvalidTag:
                raise Fail("payload: chunk %d: tag" % i)
        plain += stored
    for c in comps:
        data = bytes(plain[c["offset"]:c["offset"] + c["size"]])
        if component_digest(ix["version"], data) != c["sha256"]:
            raise Fail("component %s/%s: plaintext hash mismatch" % (c["type"], c["name"]))
        print("%s %s %s %s %d bytes %s:%s" % (c["type"], c["name"], c["version"],
                                             c["encoding"], c["size"],
                                             "digest" if ix["version"] == 2 else "sha256",
                                             c["sha256"]))
    print("OK (format %d)" % ix["version"])


if __name__ == "__main__":
    try:
        main()
    except (Fail, InvalidSignature, InvalidTag, ValueError, KeyError, StopIteration) as e:
        print("FAIL: %s" % (e or type(e).__name__))
        sys.exit(1)
