#!/usr/bin/python3
"""soak.py: allowed and denied probes without pause, for the reload soak test.

    soak.py CGROUP DIR TCP_ALLOWED_PORT TCP_DENIED_PORT UDP_PORT

Joins CGROUP and, until DIR/stop exists, repeats: TCP connect to 127.0.0.1:TCP_ALLOWED_PORT
(must succeed), TCP connect to 127.0.0.2:TCP_DENIED_PORT (must fail with EPERM), UDP sendto
127.0.0.1:UDP_PORT (must succeed) and 127.0.0.2:UDP_PORT (EPERM) on a new socket each, and
the same two sends on ONE UDP socket kept for the whole soak (its remembered verdict for
127.0.0.1 goes stale at every swap). Writes DIR/running after the first round and
"rounds=N wrong=M first=WHAT" to DIR/result. Loopback only.
"""
import errno
import os
import socket
import sys


def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def main(cg, d, tok, tdeny, uport):
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    tok, tdeny, uport = int(tok), int(tdeny), int(uport)

    def tcp(addr, port):
        s = socket.socket()
        s.settimeout(5)
        try:
            s.connect((addr, port))
        finally:
            s.close()

    def udp(addr):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.sendto(b"soak", (addr, uport))
        finally:
            s.close()

    kept = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def same(addr):
        kept.sendto(b"soak", (addr, uport))

    cases = [(lambda: tcp("127.0.0.1", tok), "ok"), (lambda: tcp("127.0.0.2", tdeny), "EPERM"),
             (lambda: udp("127.0.0.1"), "ok"), (lambda: udp("127.0.0.2"), "EPERM"),
             (lambda: same("127.0.0.1"), "ok"), (lambda: same("127.0.0.1"), "ok"),
             (lambda: same("127.0.0.2"), "EPERM")]
    rounds = wrong = 0
    first = "-"
    stop = os.path.join(d, "stop")
    while not os.path.exists(stop):
        for i, (fn, want) in enumerate(cases):
            got = attempt(fn)
            if got != want:
                wrong += 1
                if first == "-":
                    first = "round%d-case%d:%s" % (rounds, i, got)
        rounds += 1
        if rounds == 1:
            open(os.path.join(d, "running"), "w").close()
    with open(os.path.join(d, "result"), "w") as f:
        f.write("rounds=%d wrong=%d first=%s\n" % (rounds, wrong, first))


if __name__ == "__main__":
    main(*sys.argv[1:6])
