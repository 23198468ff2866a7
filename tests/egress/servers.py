#!/usr/bin/python3
"""servers.py: loopback servers for the exai-egress tests.

    servers.py PORTFILE

Listens on TCP and UDP on 127.0.0.1, 127.0.0.2 and ::1 (loopback only, kernel-chosen ports:
one TCP port and one UDP port shared by all three addresses where the kernel allows, else
per address), writes "tcp4 tcp4b tcp6 udp4 udp4b udp6" ports to PORTFILE, and accepts and
drains until killed.
"""
import select
import socket
import sys


def tcp(addr, fam):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    s.listen(64)
    return s


def udp(addr, fam):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    return s


def main(portfile):
    socks = [tcp("127.0.0.1", socket.AF_INET), tcp("127.0.0.2", socket.AF_INET),
             tcp("::1", socket.AF_INET6), udp("127.0.0.1", socket.AF_INET),
             udp("127.0.0.2", socket.AF_INET), udp("::1", socket.AF_INET6)]
    tcps = socks[:3]
    with open(portfile + ".tmp", "w") as f:
        f.write(" ".join(str(s.getsockname()[1]) for s in socks) + "\n")
    import os
    os.rename(portfile + ".tmp", portfile)
    conns = []
    while True:
        r, _, _ = select.select(socks + conns, [], [], 1.0)
        for s in r:
            if s in tcps:
                c, _ = s.accept()
                conns.append(c)
            elif s in conns:
                if not s.recv(4096):
                    conns.remove(s)
                    s.close()
            else:
                s.recvfrom(4096)


if __name__ == "__main__":
    main(sys.argv[1])
