#!/usr/bin/env python3
"""Independent checker of the audit event line, version 1 (lib/core/include/exai/event.h), in
Python: every line of valid.jsonl must be accepted and every line of invalid.txt (an expected
message fragment for the C parser, a tab, the line) refused. tests/unit/lib/test_event.c runs
the C parser over the same files, so the two implementations must agree on each vector.

usage: check_events.py [DIR]"""
import json
import re
import sys

KEYS = ["v", "source", "time", "op", "bundle_id", "channel", "sequence", "signers",
        "outcome", "reason"]
INT_MAX = 2**63 - 1
WORD = re.compile(r"[a-z][a-z0-9-]{0,31}\Z")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}\Z")
KEYID = re.compile(r"[0-9A-F]{16}\Z")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def canonical(d):
    s = json.dumps(d, separators=(",", ":"), ensure_ascii=False)
    # jansson writes \u escapes with upper-case hex; Python with lower-case.
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)",
                  lambda m: "\\" + ("u" + m.group(1)[1:].upper() if len(m.group(1)) == 5
                                    else m.group(1)), s)


def pairs_no_dup(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return pairs


def check(line):
    """Returns None if @line is a valid event, else why not."""
    if len(line.encode("utf-8", "surrogatepass")) > 2048 + 6 * 4096:
        return "too long"
    try:
        pairs = json.loads(line, object_pairs_hook=pairs_no_dup)
    except (ValueError, RecursionError) as e:
        return f"not JSON: {e}"
    if (not isinstance(pairs, list) or not all(isinstance(p, tuple) for p in pairs)
            or [k for k, _ in pairs] != KEYS):
        return "keys"
    d = dict(pairs)
    for k in ("v", "time", "sequence"):
        if type(d[k]) is not int or not 0 <= d[k] <= INT_MAX:
            return k
    for k in KEYS:
        if k not in ("v", "time", "sequence") and type(d[k]) is not str:
            return k
    if "\0" in "".join(str(x) for x in d.values()):
        return "NUL"
    try:
        for k in KEYS:
            if type(d[k]) is str:
                d[k].encode("utf-8")
    except UnicodeEncodeError:
        return "not UTF-8 (lone surrogate)"
    if d["v"] != 1:
        return "v"
    for k in ("source", "op", "outcome"):
        if not WORD.match(d[k]):
            return k
    if d["bundle_id"] and not HEX64.match(d["bundle_id"]):
        return "bundle_id"
    if d["channel"] and not NAME.match(d["channel"]):
        return "channel"
    if d["signers"]:
        ids = d["signers"].split(",")
        if len(ids) > 64 or len(set(ids)) != len(ids) or not all(KEYID.match(i) for i in ids):
            return "signers"
    if len(d["reason"].encode("utf-8")) > 4096:
        return "reason"
    if canonical(d) != line:
        return "not canonical"
    return None


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = 0
    n = 0
    with open(f"{base}/valid.jsonl", encoding="utf-8", newline="\n") as f:
        for i, line in enumerate(f.read().split("\n")[:-1], 1):
            n += 1
            why = check(line)
            if why:
                print(f"valid.jsonl:{i}: refused: {why}", file=sys.stderr)
                bad = 1
    with open(f"{base}/invalid.txt", encoding="utf-8", newline="\n",
              errors="surrogatepass") as f:
        for i, line in enumerate(f.read().split("\n")[:-1], 1):
            n += 1
            want, _, ev = line.partition("\t")
            if not want or check(ev) is None:
                print(f"invalid.txt:{i}: accepted (the C parser says: {want})", file=sys.stderr)
                bad = 1
    if n < 10:
        print("check_events: too few vectors read", file=sys.stderr)
        bad = 1
    print(f"check_events: {n} vectors, {'FAILED' if bad else 'ok'}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
