#!/usr/bin/python3
"""cache.py: the per-socket verdict record of exai-egress, seen from one UDP socket.

    cache.py CGROUP DIR PA PB

Run inside `unshare -n` with lo up (one case sends to an address outside loopback, which
must never leave). DIR holds allow.yaml (127.0.0.1 any; 127.0.0.3 udp port PA) and
deny.yaml (127.0.0.1 any only), both for workload cgroup CGROUP. The exai-egress on PATH
(EXAI_EGRESS_PIN_DIR set) has applied allow.yaml. Creates its sockets inside CGROUP, then
moves itself back to the cgroup it came from, so the reloads it runs are outside the
workload; the sockets keep CGROUP's policy. Every case reuses the SAME sockets:

  key       127.0.0.3:PA allowed, then on the same socket 127.0.0.3:PB and 127.0.0.4:PA are
            denied (port and address are in the record); an AF_INET6 socket allowed
            ::ffff:127.0.0.3:PA (decided as IPv4) still gets EPERM for [7f00:3::]:PA, whose
            16 address bytes are those of 127.0.0.3 as recorded (the family is in the record;
            without it the send would be let out and fail with ENETUNREACH here)
  reload    ROUNDS times: reload allow, 127.0.0.3:PA ok; reload deny, the very next send EPERM
            (both sockets), with no pause between the reload and the send
  nonstop   a thread sends 127.0.0.3:PA on one socket without pause while ROUNDS reloads
            alternate deny and allow; every send that began and ended with no reload running
            must have the verdict of the policy in force (ok after allow, EPERM after deny)
  mode      enforce -> audit -> enforce: a destination allowed in enforce and then removed in
            audit mode is audited on every send (the audited counter moves each time: nothing
            was reused), and is EPERM once enforce is back
  reuse     the state map's generation rewound with bpftool (what two loaders racing, or a
            swap whose record then failed, would leave): the next reload gets the SAME
            generation number with a different trie, and the allowed destination it removes
            is EPERM at once (the record names the trie, not just the generation)
  threads   two threads send 127.0.0.3:PA and 127.0.0.1:PB (both allowed) on one socket while
            a third sends 127.0.0.3:PB (denied): a record torn between the first two would
            let the third through. SECONDS of that, zero successes for the third.

Prints one line per case, "ok CASE ..." or "FAIL CASE ..."; exit 0 only when all pass.
Environment: CACHE_ROUNDS (100), CACHE_SECONDS (3).
"""
import errno
import json
import os
import socket
import subprocess
import sys
import threading
import time

X, Y, LO = "127.0.0.3", "127.0.0.4", "127.0.0.1"
FAMILY_TWIN = "7f00:3::"  # the bytes of 127.0.0.3 followed by zeros, as an IPv6 address


def send(s, addr, port):
    try:
        s.sendto(b"cache", (addr, port))
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


class Run:
    def __init__(self, d):
        self.d = d
        self.failed = 0

    def egress(self, *args):
        r = subprocess.run(["exai-egress"] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        return r.returncode, r.stdout

    def reload(self, name, mode="enforce"):
        rc, out = self.egress("reload", "--policy", os.path.join(self.d, name + ".yaml"),
                              "--unsigned", "--mode", mode)
        if rc != 0:
            raise SystemExit("reload %s --mode %s: exit %d: %s" % (name, mode, rc, out))

    def status(self):
        _, out = self.egress("status", "--json")
        return json.loads(out)

    def check(self, case, what, got, want):
        if got != want:
            self.failed += 1
            print("FAIL %s: %s: %s (want %s)" % (case, what, got, want), flush=True)
            return False
        return True


def case_key(r, s4, s6, pa, pb):
    ok = r.check("key", "127.0.0.3:PA", send(s4, X, pa), "ok")
    ok &= r.check("key", "127.0.0.3:PA again", send(s4, X, pa), "ok")
    ok &= r.check("key", "127.0.0.3:PB after PA", send(s4, X, pb), "EPERM")
    ok &= r.check("key", "127.0.0.3:PA", send(s4, X, pa), "ok")
    ok &= r.check("key", "127.0.0.4:PA after 127.0.0.3", send(s4, Y, pa), "EPERM")
    ok &= r.check("key", "::ffff:127.0.0.3:PA", send(s6, "::ffff:" + X, pa), "ok")
    ok &= r.check("key", "[7f00:3::]:PA after it", send(s6, FAMILY_TWIN, pa), "EPERM")
    ok &= r.check("key", "::ffff:127.0.0.3:PA again", send(s6, "::ffff:" + X, pa), "ok")
    if ok:
        print("ok key: port, address and family are in the record", flush=True)


def case_reload(r, s4, s6, pa, rounds):
    bad = r.failed
    for i in range(rounds):
        r.reload("allow")
        r.check("reload", "round %d allowed" % i, send(s4, X, pa), "ok")
        r.check("reload", "round %d allowed again" % i, send(s4, X, pa), "ok")
        r.check("reload", "round %d mapped allowed" % i, send(s6, "::ffff:" + X, pa), "ok")
        r.reload("deny")
        r.check("reload", "round %d first send after the deny reload" % i, send(s4, X, pa),
                "EPERM")
        r.check("reload", "round %d mapped after the deny reload" % i,
                send(s6, "::ffff:" + X, pa), "EPERM")
        if r.failed > bad:
            return
    print("ok reload: %d rounds, denied at the first send after each reload" % rounds,
          flush=True)


def case_nonstop(r, s4, pa, rounds):
    st = {"epoch": 0, "busy": True, "stop": False}  # epoch odd: allow in force, even: deny
    samples = []

    def sender():
        while not st["stop"]:
            b0, e0 = st["busy"], st["epoch"]
            got = send(s4, X, pa)
            b1, e1 = st["busy"], st["epoch"]
            samples.append((not b0 and not b1 and e0 == e1, e0, got))

    t = threading.Thread(target=sender)
    t.start()
    try:
        for i in range(rounds):
            st["busy"] = True
            r.reload("allow" if i % 2 == 0 else "deny")
            st["epoch"] = i + 1
            st["busy"] = False
            n = len(samples)
            while len(samples) < n + 20:
                time.sleep(0.001)
    finally:
        st["stop"] = True
        t.join()
    clean = [(e, got) for c, e, got in samples if c and e > 0]
    wrong = [(e, got) for e, got in clean if got != ("ok" if e % 2 else "EPERM")]
    allowed = sum(1 for e, _ in clean if e % 2)
    if r.check("nonstop", "wrong verdicts of %d sends (first: %s)" % (
            len(clean), wrong[:1]), len(wrong), 0) and \
            r.check("nonstop", "sends under each policy", allowed > 0 and allowed < len(clean),
                    True):
        print("ok nonstop: %d sends on one socket over %d reloads, %d decided, zero wrong"
              % (len(samples), rounds, len(clean)), flush=True)


def audited(r):
    return r.status()["counters"]["audited"]


def case_mode(r, s4, pa):
    ok = True
    r.reload("allow")
    ok &= r.check("mode", "allowed in enforce", send(s4, X, pa), "ok")
    r.reload("deny", "audit")
    a0 = audited(r)
    ok &= r.check("mode", "removed, audit mode", send(s4, X, pa), "ok")
    ok &= r.check("mode", "audited after the first send", audited(r), a0 + 1)
    ok &= r.check("mode", "removed, audit mode, again", send(s4, X, pa), "ok")
    ok &= r.check("mode", "audited after the second send", audited(r), a0 + 2)
    r.reload("deny")
    ok &= r.check("mode", "removed, enforce again", send(s4, X, pa), "EPERM")
    r.reload("allow", "audit")
    a0 = audited(r)
    ok &= r.check("mode", "allowed, audit mode", send(s4, X, pa), "ok")
    ok &= r.check("mode", "audited (an allowed send is not)", audited(r), a0)
    r.reload("deny")
    ok &= r.check("mode", "removed, enforce", send(s4, X, pa), "EPERM")
    if ok:
        print("ok mode: audit and enforce swaps: every would-be denial audited, EPERM after",
              flush=True)


def state_generation(pin, gen=None):
    """The state map's generation (its value's first 4 bytes); rewritten when GEN is given."""
    m = os.path.join(pin, "map_state")
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", m, "key", "0", "0", "0",
                          "0"], check=True, stdout=subprocess.PIPE, text=True).stdout
    val = [int(b, 16) for b in json.loads(out)["value"]]
    if gen is not None:
        val[0:4] = list(gen.to_bytes(4, "little"))
        subprocess.run(["bpftool", "map", "update", "pinned", m, "key", "0", "0", "0", "0",
                        "value"] + [str(b) for b in val], check=True)
    return int.from_bytes(bytes(val[0:4]), "little")


def case_reuse(r, s4, pa):
    pin = os.environ["EXAI_EGRESS_PIN_DIR"]
    r.reload("allow")
    g = r.status()["generation"]
    ok = r.check("reuse", "allowed under generation %d" % g, send(s4, X, pa), "ok")
    state_generation(pin, g - 1)
    r.reload("deny")
    ok &= r.check("reuse", "live generation after the rewind", r.status()["generation"], g)
    ok &= r.check("reuse", "removed, same generation number, new trie", send(s4, X, pa),
                  "EPERM")
    if ok:
        print("ok reuse: generation %d twice, the second trie's verdict at once" % g,
              flush=True)


def case_threads(r, s4, pa, pb, seconds):
    r.reload("allow")
    stop = time.monotonic() + seconds
    res = {"a": 0, "b": 0, "c": 0, "bad": []}

    def loop(name, addr, port, want):
        while time.monotonic() < stop:
            got = send(s4, addr, port)
            res[name] += 1
            if got != want:
                res["bad"].append((name, got))

    ts = [threading.Thread(target=loop, args=a) for a in
          (("a", X, pa, "ok"), ("b", LO, pb, "ok"), ("c", X, pb, "EPERM"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if r.check("threads", "wrong verdicts (first: %s)" % res["bad"][:1], len(res["bad"]), 0):
        print("ok threads: %d, %d allowed and %d denied sends on one socket, zero wrong"
              % (res["a"], res["b"], res["c"]), flush=True)


def connect(cg, home, addr, port):
    """A TCP connect from a new socket created in CG (the process back home after)."""
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        with open(home, "w") as f:
            f.write(str(os.getpid()))
    try:
        s.settimeout(2)
        s.connect((addr, port))
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


def case_tcp(r, cg, home, pa, pb, rounds):
    """The verdict cache, shared by every socket: TCP X:PB is allowed (a rule), X:PA only for
    UDP; each connect is a new socket (no record), so the cache alone can answer."""
    ok = True
    for i in range(rounds):
        r.reload("allow")
        ok &= r.check("tcp", "round %d X:PB" % i, connect(cg, home, X, pb), "ok")
        ok &= r.check("tcp", "round %d X:PB again" % i, connect(cg, home, X, pb), "ok")
        ok &= r.check("tcp", "round %d X:PA (UDP only) after a UDP send to it" % i,
                      (send(r.s4, X, pa), connect(cg, home, X, pa))[1], "EPERM")
        ok &= r.check("tcp", "round %d Y:PB" % i, connect(cg, home, Y, pb), "EPERM")
        r.reload("deny")
        ok &= r.check("tcp", "round %d X:PB after the deny reload" % i,
                      connect(cg, home, X, pb), "EPERM")
        if not ok:
            return
    print("ok tcp: %d rounds of new sockets, denied at the first connect after each reload"
          % rounds, flush=True)


def main(cg, d, pa, pb):
    pa, pb = int(pa), int(pb)
    rounds = int(os.environ.get("CACHE_ROUNDS", "100"))
    seconds = float(os.environ.get("CACHE_SECONDS", "3"))
    with open("/proc/mounts") as f:
        root = [l.split()[1] for l in f if l.split()[2] == "cgroup2"][0]
    with open("/proc/self/cgroup") as f:
        home = [l.split("::", 1)[1].strip() for l in f if l.startswith("0::")][0]
    sinks = []  # receivers, so that nothing answers the sends with port unreachable
    for addr, port in ((X, pa), (X, pb), (LO, pb), (Y, pa)):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, port))
        sinks.append(u)
    for addr, port in ((X, pa), (X, pb), (Y, pb)):  # TCP listeners (connects complete)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((addr, port))
        t.listen(64)
        sinks.append(t)
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    home = root.rstrip("/") + home.rstrip("/") + "/cgroup.procs"
    with open(home, "w") as f:
        f.write(str(os.getpid()))
    r = Run(d)
    r.s4 = s4
    case_key(r, s4, s6, pa, pb)
    case_reload(r, s4, s6, pa, rounds)
    case_nonstop(r, s4, pa, rounds)
    case_mode(r, s4, pa)
    case_reuse(r, s4, pa)
    case_threads(r, s4, pa, pb, seconds)
    case_tcp(r, cg, home, pa, pb, max(1, rounds // 10))
    return 1 if r.failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:5]))
