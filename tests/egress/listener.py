#!/usr/bin/python3
"""listener.py: a TCP server inside a workload cgroup, for the exai-egress tests.

    listener.py CGROUP PORTFILE

Joins CGROUP, listens on 127.0.0.1 (kernel-chosen port, written to PORTFILE), accepts one
connection, answers each "ping" with "pong" and exits when the client closes (or after 30 s).
"""
import os
import socket
import sys


def main(cg, portfile):
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    s.settimeout(30)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    c, _ = s.accept()
    c.settimeout(30)
    while True:
        data = c.recv(64)
        if not data:
            break
        c.sendall(b"pong")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
