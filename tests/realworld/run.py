#!/usr/bin/env python3
"""make test-realworld: airgap-verifier scan on the real-world corpus (tests/realworld/manifest).

Fetches what is missing into the cache (npm pack, apt-get download + dpkg-deb -R), checks each
fetched file's SHA-256 against the manifest, scans every item on its own with the default gate
and reports recall per class of expectation and the noise on clean items; a Debian package is
also scanned as the .deb itself, which must give the findings of its unpacked tree. Exit 1 when
a class's recall is below 95%, a clean item has a finding at or above the gate or a .deb
differs; 2 when the manifest is malformed or a fetch fails (the message says which package and
how to fix it).
usage: run.py AIRGAP_VERIFIER [--cache DIR]
"""
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = ("medium", "high", "critical")  # the default --fail-on medium
RECALL_MIN = 0.95


class Fatal(Exception):
    pass


def load_manifest(path):
    items, order = {}, []
    with open(path) as f:
        for no, raw in enumerate(f, 1):
            w = raw.split()
            if not w or w[0].startswith("#"):
                continue
            where = "%s:%d" % (path, no)
            if w[0] == "item" and len(w) in (3, 4):
                if w[1] in items:
                    raise Fatal("%s: item %s defined twice" % (where, w[1]))
                items[w[1]] = {"source": w[2], "sha256": w[3] if len(w) == 4 else None,
                               "clean": False, "expect": []}
                order.append(w[1])
            elif w[0] == "clean" and len(w) == 2 and w[1] in items:
                items[w[1]]["clean"] = True
            elif w[0] == "expect" and len(w) in (6, 7) and w[1] in items:
                lo = int(w[4])
                hi = None if w[5] == "-" else int(w[5])
                items[w[1]]["expect"].append({"class": w[2], "rules": w[3].split("|"),
                                              "min": lo, "max": hi,
                                              "text": w[6] if len(w) == 7 else ""})
            else:
                raise Fatal("%s: cannot read: %s" % (where, raw.strip()))
    for name in order:
        it = items[name]
        if it["clean"] == bool(it["expect"]):
            raise Fatal("%s: item %s needs either 'clean' or 'expect' lines" % (path, name))
    return items, order


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd, cwd, what):
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fatal("%s: %s failed: %s" % (what, " ".join(cmd), e))
    if p.returncode != 0:
        tail = p.stdout.decode(errors="replace").strip().splitlines()[-5:]
        raise Fatal("%s: %s exited %d:\n    %s" % (what, " ".join(cmd), p.returncode,
                                                  "\n    ".join(tail)))
    return p.stdout.decode(errors="replace")


def fetch(name, it, cache):
    """The path to scan for item @name, fetching it into @cache when missing."""
    kind, _, spec = it["source"].partition(":")
    what = "realworld: fetching %s (%s)" % (name, it["source"])
    if kind == "fixture":
        return os.path.join(HERE, "fixtures", spec)
    if kind == "npm":
        pkg, _, ver = spec.rpartition("@")
        d = os.path.join(cache, "npm")
        fn = os.path.join(d, "%s-%s.tgz" % (pkg.lstrip("@").replace("/", "-"), ver))
        if not os.path.exists(fn):
            os.makedirs(d, exist_ok=True)
            if not shutil.which("npm"):
                raise Fatal("%s: npm is not installed (make deps installs it)" % what)
            with tempfile.TemporaryDirectory(dir=d) as tmp:
                out = run(["npm", "pack", "--silent", spec], tmp, what).split()
                got = os.path.join(tmp, out[-1]) if out else ""
                if not os.path.isfile(got):
                    raise Fatal("%s: npm pack wrote no tarball" % what)
                os.rename(got, fn)
        scan = fn
    elif kind == "deb":
        pkg, _, ver = spec.partition("=")
        d = os.path.join(cache, "deb")
        os.makedirs(d, exist_ok=True)
        debs = [f for f in os.listdir(d) if f.startswith("%s_%s_" % (pkg, ver.replace(":", "%3a")))
                and f.endswith(".deb")]
        if not debs:
            with tempfile.TemporaryDirectory(dir=d) as tmp:
                os.chmod(tmp, 0o755)
                hint = " (is the version still in the archive? apt-cache policy %s)" % pkg
                try:
                    run(["apt-get", "download", "-q", spec], tmp, what + hint)
                except Fatal:
                    if os.geteuid() != 0:
                        raise
                    # A fresh system may have no package lists yet: refresh them once.
                    run(["apt-get", "update", "-q"], tmp, what + " (apt-get update)")
                    run(["apt-get", "download", "-q", spec], tmp, what + hint)
                got = [f for f in os.listdir(tmp) if f.endswith(".deb")]
                if len(got) != 1:
                    raise Fatal("%s: apt-get download gave %d files" % (what, len(got)))
                os.rename(os.path.join(tmp, got[0]), os.path.join(d, got[0]))
                debs = got
        fn = os.path.join(d, debs[0])
        it["deb_file"] = fn
        scan = os.path.join(cache, "unpacked", debs[0][:-4])
    else:
        raise Fatal("realworld: item %s: unknown source kind '%s'" % (name, kind))
    if it["sha256"] and sha256(fn) != it["sha256"]:
        raise Fatal("%s: %s has SHA-256 %s, the manifest pins %s (delete it to fetch again, "
                    "or update the pin after review)" % (what, fn, sha256(fn), it["sha256"]))
    if kind == "deb" and not os.path.isdir(scan):
        os.makedirs(os.path.dirname(scan), exist_ok=True)
        tmp = tempfile.mkdtemp(dir=os.path.dirname(scan))
        run(["dpkg-deb", "-R", fn, os.path.join(tmp, "x")], tmp, what)
        os.rename(os.path.join(tmp, "x"), scan)
        os.rmdir(tmp)
    return scan


def scan(verifier, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        # --no-group: an expectation counts locations, not groups of identical evidence.
        p = subprocess.run([verifier, "scan", path, "--no-helm", "--no-group", "--format",
                            "json", "--output", out.name], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode not in (0, 1):
            raise Fatal("realworld: scan %s exited %d: %s" % (path, p.returncode,
                                                             p.stderr.decode(errors="replace")))
        rep = json.load(open(out.name))
    if rep["passed"] != (p.returncode == 0):
        raise Fatal("realworld: scan %s: exit %d but passed=%s" % (path, p.returncode,
                                                                 rep["passed"]))
    return p.returncode, rep["findings"]


def deb_parity(verifier, deb, unpacked, dir_findings):
    """The .deb itself must give what its unpacked tree gives: the same (rule, severity, path
    inside the package) multiset. Returns a list of differences, empty when equal."""
    import collections
    import re

    def in_deb(p):
        m = re.match(r".*?\.deb!(control|data)\.tar(?:\.[a-z0-9]+)?!(.*)$", p or "")
        return ("DEBIAN/" if m.group(1) == "control" else "") + m.group(2) if m else "?" + (p or "")

    root = unpacked.rstrip("/") + "/"
    _, fs = scan(verifier, deb)
    a = collections.Counter((f["rule_id"], f["severity"], in_deb(f["path"])) for f in fs)
    b = collections.Counter((f["rule_id"], f["severity"], (f["path"] or "")[len(root):])
                            for f in dir_findings)
    return ["only in the .deb: %s" % (k,) for k in (a - b)] + \
        ["only unpacked: %s" % (k,) for k in (b - a)]


def matches(e, f):
    if f["suppressed"] or f["severity"] not in GATE:
        return False
    if not any(fnmatch.fnmatchcase(f["rule_id"], r) for r in e["rules"]):
        return False
    hay = " ".join((f.get("path") or "", f.get("evidence") or "", f.get("message") or ""))
    return e["text"] in hay


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    verifier = os.path.abspath(argv[1])
    cache = os.environ.get("EXAI_REALWORLD_CACHE", "/var/cache/exai-realworld")
    if len(argv) == 4 and argv[2] == "--cache":
        cache = argv[3]
    t0 = time.time()
    try:
        items, order = load_manifest(os.path.join(HERE, "manifest"))
        paths = {n: fetch(n, items[n], cache) for n in order}
    except Fatal as e:
        print(e, file=sys.stderr)
        return 2
    t1 = time.time()
    classes, bad = {}, []
    noise_low = 0
    for n in order:
        it = items[n]
        try:
            rc, fs = scan(verifier, paths[n])
        except Fatal as e:
            print(e, file=sys.stderr)
            return 2
        if "deb_file" in it:
            try:
                diff = deb_parity(verifier, it["deb_file"], paths[n], fs)
            except Fatal as e:
                print(e, file=sys.stderr)
                return 2
            print("%-22s %-6s the .deb gives the %d findings of its unpacked tree" %
                  (n, "ok" if not diff else "DIFFER", len(fs)))
            for d in diff[:10]:
                print("    " + d)
            if diff:
                bad.append("deb:" + n)
        gated = [f for f in fs if not f["suppressed"] and f["severity"] in GATE]
        if it["clean"]:
            low = len(fs) - len(gated)
            noise_low += low
            state = "clean" if rc == 0 and not gated else "NOISE"
            print("%-22s %-6s %d at/above gate, %d below (info/low)" % (n, state, len(gated), low))
            if state != "clean":
                bad.append(n)
                for f in gated[:10]:
                    print("    %s %s %s:%d %s" % (f["severity"], f["rule_id"], f["path"],
                                                   f["line"], (f["evidence"] or "")[:80]))
            continue
        for e in it["expect"]:
            k = sum(1 for f in fs if matches(e, f))
            ok = k >= e["min"] and (e["max"] is None or k <= e["max"])
            c = classes.setdefault(e["class"], [0, 0])
            c[0] += ok
            c[1] += 1
            bound = "%d..%s" % (e["min"], "" if e["max"] is None else e["max"])
            print("%-22s %-6s %-9s %s %s: %d (want %s)" % (n, "ok" if ok else "MISS", e["class"],
                                                         "|".join(e["rules"]), e["text"], k,
                                                         bound))
    print("--- recall per class (expectations met / expected)")
    for c, (hit, tot) in sorted(classes.items()):
        r = hit / tot
        print("%-10s %d/%d = %.0f%%%s" % (c, hit, tot, 100 * r, "" if r >= RECALL_MIN else "  BELOW 95%"))
        if r < RECALL_MIN:
            bad.append("recall:" + c)
    nclean = sum(1 for n in order if items[n]["clean"])
    print("--- noise on %d clean items: %d at/above the gate, %d below it" %
          (nclean, sum(1 for b in bad if not b.startswith("recall:")), noise_low))
    print("--- fetch %.1fs, scans %.1fs (cache %s)" % (t1 - t0, time.time() - t1, cache))
    if bad:
        print("realworld: FAIL: %s" % ", ".join(bad), file=sys.stderr)
        return 1
    print("realworld: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
