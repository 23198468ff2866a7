#!/usr/bin/python3
"""early.py: sockets made before exai-egress attaches, for the backstop test.

    early.py CGROUP DIR DENIED_UDP_PORT ALLOWED_UDP_PORT

Joins CGROUP, connects a UDP socket to 127.0.0.2:DENIED_UDP_PORT and one to
127.0.0.1:ALLOWED_UDP_PORT, writes DIR/ready, waits (up to 30 s) for DIR/go, then sends one
datagram on each and writes "pid=PID denied=RESULT allowed=RESULT" to DIR/result (RESULT:
ok or errno=NAME). Loopback only.
"""
import errno
import os
import socket
import sys
import time


def send(s):
    try:
        s.send(b"early")
        return "ok"
    except OSError as e:
        return "errno=" + errno.errorcode.get(e.errno, str(e.errno))


def main(cg, d, denied, allowed):
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.connect(("127.0.0.2", int(denied)))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.connect(("127.0.0.1", int(allowed)))
    open(os.path.join(d, "ready"), "w").close()
    for _ in range(300):
        if os.path.exists(os.path.join(d, "go")):
            break
        time.sleep(0.1)
    res = "pid=%d denied=%s allowed=%s\n" % (os.getpid(), send(a), send(b))
    with open(os.path.join(d, "result.tmp"), "w") as f:
        f.write(res)
    os.rename(os.path.join(d, "result.tmp"), os.path.join(d, "result"))


if __name__ == "__main__":
    main(*sys.argv[1:5])
