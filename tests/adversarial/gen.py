#!/usr/bin/python3
"""Adversarial bundle generator: hostile .exb files built from one good, signed bundle.

usage: gen.py GOOD.exb OUTDIR ROOTKEY.key RELEASE.key... > cases.tsv

Every case is what an insider with valid keys, or whoever holds the media, could make: the
release keys and a root key are used where the attack needs them (a re-signed index, a root
that lists one key twice). Each output line is

    NAME <TAB> VERDICT <TAB> TEXT

VERDICT is "refuse" (every verifier must refuse, naming TEXT) or "accept" (the case sits
exactly at a limit and must still verify). Minisign signing is written out here from the
format document (an independent implementation), with the `cryptography` package.
"""
import base64
import hashlib
import io
import os
import random
import re
import sys
import tarfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MAX_SIGS = 64
MAX_ENTRIES = 160


def load_seckey(path):
    """A minisign secret key without a password: (keyid bytes, private key)."""
    lines = open(path, "rb").read().split(b"\n")
    blob = base64.b64decode(lines[1])
    if blob[:2] != b"Ed" or blob[2:4] != b"\0\0" or blob[4:6] != b"B2":
        raise SystemExit("gen.py: %s: not an unencrypted minisign secret key" % path)
    off = 2 + 2 + 2 + 32 + 8 + 8
    keyid, sk = blob[off:off + 8], blob[off + 8:off + 72]
    return keyid, Ed25519PrivateKey.from_private_bytes(sk[:32])


def keyid_str(kid):
    return "%016X" % int.from_bytes(kid, "little")


def minisign(key, msg, kid=None):
    """A prehashed ("ED") minisign signature file of msg; kid overrides the id bytes."""
    keyid, sk = key
    sig = sk.sign(hashlib.blake2b(msg, digest_size=64).digest())
    trusted = b"timestamp:1700000000"
    glob = sk.sign(sig + trusted)
    return (b"untrusted comment: adversarial\n" +
            base64.b64encode(b"ED" + (kid or keyid) + sig) + b"\ntrusted comment: " +
            trusted + b"\n" + base64.b64encode(glob) + b"\n")


def read_exb(path):
    with tarfile.open(path, "r:") as t:
        return [(m.name, t.extractfile(m).read()) for m in t.getmembers() if m.isfile()]


def write_exb(path, entries):
    """entries: (name, bytes) or (name, bytes, type) with type "dir" or "symlink"."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            name, data = e[0], e[1]
            kind = e[2] if len(e) > 2 else "file"
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, data.decode()
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))


def sha(b):
    return hashlib.sha256(b).hexdigest()


def main():
    good, out, rootkey = sys.argv[1], sys.argv[2], load_seckey(sys.argv[3])
    rel = [load_seckey(p) for p in sys.argv[4:]]
    rng = random.Random(1)
    ents = read_exb(good)
    names = [n for n, _ in ents]
    body = [(n, d) for n, d in ents if not n.startswith("sig/")]
    sigs = [(n, d) for n, d in ents if n.startswith("sig/")]
    index = dict(ents)["index"]
    cases = []

    def junk_sig():
        kid = bytes(rng.randrange(256) for _ in range(8))
        return ("sig/%s.minisig" % keyid_str(kid), b"untrusted comment: junk\nAAAA\n")

    def case(name, verdict, text, entries):
        write_exb(os.path.join(out, name + ".exb"), entries)
        cases.append((name, verdict, text))

    def resign(ix):
        return [("sig/%s.minisig" % keyid_str(k[0]), minisign(k, ix)) for k in rel]

    g = sigs[0]
    # Threshold: padding, copies, ids rewritten, limits.
    case("pad64-plus-3-copies", "refuse", "more than 64 signature entries",
         body + [junk_sig() for _ in range(MAX_SIGS)] + [g, g, g])
    case("3-copies-of-one", "refuse", "appears twice", body + [g, g, g])
    case("copy-under-other-ids", "refuse", "1 valid of the 3 required",
         body + [g] + [("sig/%s.minisig" % keyid_str(k[0]), minisign(rel[0], index, k[0]))
                       for k in rel[1:]])
    rids = [bytes(rng.randrange(256) for _ in range(8)) for _ in range(2)]
    case("copy-under-random-ids", "refuse", "1 valid of the 3 required",
         body + [g] + [("sig/%s.minisig" % keyid_str(k), minisign(rel[0], index, k))
                       for k in rids])
    case("65-junk-signatures", "refuse", "more than 64 signature entries",
         body + [junk_sig() for _ in range(MAX_SIGS + 1)])
    case("64-signatures-at-the-limit", "accept", "",
         body + [junk_sig() for _ in range(MAX_SIGS - len(sigs))] + sigs)
    case("padding-plus-valid-short-of-threshold", "refuse", "2 valid of the 3 required",
         body + [junk_sig() for _ in range(MAX_SIGS - 2)] + sigs[:2])

    # A good bundle plus one extra entry of each kind.
    for i, (n, d) in enumerate(body):
        text = "'%s' appears twice" % n if n != "payload" else "after payload"
        case("extra-" + n.replace("/", "-"), "refuse", text,
             body[:i + 1] + [(n, d)] + body[i + 1:] + sigs)
    case("extra-unlisted-file", "refuse", "'extra' is not part of the format",
         body[:1] + [("extra", b"x")] + body[1:] + sigs)
    case("extra-unlisted-file-after-payload", "refuse", "'extra' after payload",
         body + [("extra", b"x")] + sigs)
    case("extra-directory", "refuse", "is not part of the format",
         [body[0], ("models/", b"", "dir")] + body[1:] + sigs)
    case("extra-symlink", "refuse", "links are refused",
         [body[0], ("roots/1", b"index", "symlink")] + body[1:] + sigs)
    case("extra-old-root-unlisted", "refuse", "roots/1: not listed in the signed index",
         [body[0], ("roots/1", b"exai-root 1\n")] + body[1:] + sigs)
    case("extra-root-after-a-gap", "refuse", "carries roots/9 but not roots/2",
         [body[0], ("roots/9", b"exai-root 1\n")] + body[1:] + sigs)
    case("extra-junk-signature-is-harmless", "accept", "", body + sigs + [junk_sig()])

    # Order and size.
    order = {n: i for i, n in enumerate(names)}
    swapped = sorted(body, key=lambda e: order[e[0]])
    swapped[0], swapped[1] = swapped[1], swapped[0]
    case("manifest-before-index", "refuse", "after '%s'" % swapped[0][0], swapped + sigs)
    case("signature-before-payload", "refuse", "entry 'payload' after 'sig/",
         body[:-1] + sigs[:1] + body[-1:] + sigs[1:])
    case("payload-8-bytes-longer", "refuse", "truncated or padded",
         body[:-1] + [("payload", body[-1][1] + b"\0" * 8)] + sigs)
    case("payload-8-bytes-shorter", "refuse", "truncated or padded",
         body[:-1] + [("payload", body[-1][1][:-8])] + sigs)
    case("161-entries", "refuse", "more than 160 entries",
         [body[0]] + [("roots/%d" % (i + 1), b"x\n") for i in range(MAX_ENTRIES)] + body[1:] +
         sigs)

    # Every entry cap plus one byte: refused before the entry is read.
    caps = {"index": 65536, "keys": 256 * 88, "manifest": 4 * 1024 * 1024 + 16}
    for n, cap in caps.items():
        ents2 = [(m, d if m != n else d + b"\0" * (cap + 1 - len(d))) for m, d in body]
        case("%s-over-its-cap" % n, "refuse", "'%s' is %d bytes, over its limit" % (n, cap + 1),
             ents2 + sigs)
    case("signature-over-its-cap", "refuse", "is 16385 bytes, over its limit",
         body + [(g[0], g[1] + b"\0" * (16385 - len(g[1])))] + sigs[1:])
    case("root-over-its-cap", "refuse", "'roots/1' is 65537 bytes, over its limit",
         [body[0], ("roots/1", b"x" * 65537)] + body[1:] + sigs)

    # Insider: the index re-signed by every release key (a valid threshold), with what the
    # format forbids.
    ix_text = index.decode()
    big_ix = re.sub(r"\nsequence [0-9]+\n", "\nsequence 9223372036854775808\n", ix_text,
                    count=1).encode()
    case("sequence-2^63", "refuse", "is over the largest allowed value, 2^63-1",
         [("index", big_ix)] + body[1:] + resign(big_ix))

    # Insider with a root key: roots/2 lists one release key three times under three ids and
    # asks for 3 of them; signed by the root key, so only the duplicate rule stops it.
    root_doc = ("exai-root 1\nversion 2\ncreated 1700000000\nexpires never\n"
                "root-threshold 1\nroot-key %s %s\nrelease-threshold 3\n" %
                (keyid_str(rootkey[0]), pk_b64(rootkey)))
    for i in range(3):
        kid = bytes([0xA0 + i] * 8)
        root_doc += "release-key %s %s\n" % (keyid_str(kid), pk_b64(rel[0], kid))
    msg = b"exai-root-sig-v1\n" + root_doc.encode()
    root_file = (root_doc + "signature %s %s\n" %
                 (keyid_str(rootkey[0]),
                  base64.b64encode(rootkey[1].sign(msg)).decode())).encode()
    ix2 = add_index_file(ix_text, "roots/2", root_file).encode()
    copies = [("sig/%s.minisig" % keyid_str(bytes([0xA0 + i] * 8)),
               minisign(rel[0], ix2, bytes([0xA0 + i] * 8))) for i in range(3)]
    case("root-lists-one-key-three-times", "refuse", "same public key is listed twice",
         [("index", ix2), ("roots/2", root_file)] + body[1:] + copies)

    for c in cases:
        print("\t".join(c))


def pk_b64(key, kid=None):
    from cryptography.hazmat.primitives import serialization
    raw = key[1].public_key().public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)
    return base64.b64encode(b"Ed" + (kid or key[0]) + raw).decode()


def add_index_file(ix_text, name, data):
    """The index with one more `file` line, in the sorted place the format requires."""
    lines = ix_text.rstrip("\n").split("\n")
    files = [l for l in lines if l.startswith("file ")]
    head = [l for l in lines if not l.startswith("file ")]
    files.append("file %s %d %s" % (name, len(data), sha(data)))
    files.sort(key=lambda l: l.split(" ")[1].encode())
    return "\n".join(head + files) + "\n"


if __name__ == "__main__":
    main()
