#!/usr/bin/python3
"""probe.py: one socket operation for the exai-egress tests, run inside a test cgroup.

    probe.py [--cgroup DIR] KIND ADDR PORT

Moves itself into cgroup DIR first (so the socket is created there), then does KIND:
  tcp          connect a TCP socket (family from ADDR)
  tcp6         connect an AF_INET6 TCP socket (ADDR may be ::ffff:a.b.c.d)
  tfo          TCP Fast Open: sendto(MSG_FASTOPEN) on an unconnected TCP socket
  udp-connect  connect a UDP socket, then send one datagram
  udp6-connect the same on an AF_INET6 socket (mapped ADDR allowed)
  udp-sendto   sendto on an unconnected UDP socket (AF_INET6 when ADDR has ':')
  udp6-sendto  sendto on an unconnected AF_INET6 UDP socket (mapped ADDR allowed)
  udp-loop:N   N sendto calls on ONE unconnected UDP socket (prints the errno of the last
               and "eperm=K", how many failed with EPERM)
  udp-many:N   N unconnected UDP sockets, one sendto each (prints "eperm=K")
  raw          create a raw ICMP socket (ADDR, PORT ignored)
  packet       create an AF_PACKET socket (ADDR, PORT ignored)
  sctp         create an SCTP stream socket (ADDR, PORT ignored)
  ping         create an ICMP echo (ping) socket
  ping-send    an ICMP echo request to ADDR on an ICMP echo socket (PORT ignored; needs
               net.ipv4.ping_group_range to hold the caller's group)
  packet-high  socket(2) straight, family AF_PACKET with bit 32 set (the kernel reads an int:
               it is AF_PACKET to it; a filter comparing 64 bits would let it through)
  vsock        create an AF_VSOCK socket
  bpf          a bpf(2) call (BPF_PROG_GET_NEXT_ID): EPERM when refused
  escape       move itself to the cgroup2 root (ADDR: the root's path)
Prints "pid=PID comm=COMM" then "ok" or "errno=NAME" and exits 0 either way (2: usage).
The address is always a loopback address chosen by the test.
"""
import ctypes
import errno
import os
import socket
import sys


def join_cgroup(path):
    with open(os.path.join(path, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def run(kind, addr, port):
    if kind == "tcp" or kind == "tcp6":
        fam = socket.AF_INET6 if kind == "tcp6" else family_of(addr)
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((addr, port))
    elif kind == "tfo":
        s = socket.socket(family_of(addr), socket.SOCK_STREAM)  # blocking: no EINPROGRESS
        s.sendto(b"probe", socket.MSG_FASTOPEN, (addr, port))
    elif kind in ("udp-connect", "udp6-connect"):
        fam = socket.AF_INET6 if kind == "udp6-connect" else family_of(addr)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.connect((addr, port))
        s.send(b"probe")
    elif kind in ("udp-sendto", "udp6-sendto"):
        fam = socket.AF_INET6 if kind == "udp6-sendto" else family_of(addr)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.sendto(b"probe", (addr, port))
    elif kind.startswith("udp-loop:") or kind.startswith("udp-many:"):
        n, eperm = int(kind.split(":")[1]), 0
        s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
        for _ in range(n):
            if kind.startswith("udp-many:"):
                s.close()
                s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
            try:
                s.sendto(b"probe", (addr, port))
            except PermissionError:
                eperm += 1
        print("eperm=%d" % eperm)
    elif kind == "raw":
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    elif kind == "packet":
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    elif kind == "sctp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
    elif kind == "ping":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    elif kind == "ping-send":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
        s.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01", (addr, 0))
    elif kind in ("packet-high", "bpf"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        if kind == "packet-high":  # x86_64 socket(2) is 41
            r = libc.syscall(ctypes.c_long(41), ctypes.c_long((1 << 32) | socket.AF_PACKET),
                             ctypes.c_long(socket.SOCK_RAW), ctypes.c_long(0))
        else:  # x86_64 bpf(2) is 321; BPF_PROG_GET_NEXT_ID is 11
            attr = ctypes.create_string_buffer(128)
            r = libc.syscall(ctypes.c_long(321), ctypes.c_long(11), attr, ctypes.c_long(128))
        if r < 0:
            en = ctypes.get_errno()
            raise OSError(en, os.strerror(en))
        if kind == "packet-high":
            os.close(r)
        return
    elif kind == "vsock":
        s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM, 0)
    elif kind == "escape":
        with open(os.path.join(addr, "cgroup.procs"), "w") as f:
            f.write("%d\n" % os.getpid())
        return
    else:
        print("unknown kind " + kind, file=sys.stderr)
        sys.exit(2)
    s.close()


def main(argv):
    if len(argv) >= 2 and argv[0] == "--cgroup":
        join_cgroup(argv[1])
        argv = argv[2:]
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open("/proc/self/comm") as f:
        comm = f.read().strip()
    print("pid=%d comm=%s" % (os.getpid(), comm), flush=True)
    try:
        run(argv[0], argv[1], int(argv[2]))
        print("ok")
    except OSError as e:
        print("errno=" + (errno.errorcode.get(e.errno, str(e.errno)) if e.errno else "none:" + str(e)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
