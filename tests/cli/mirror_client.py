#!/usr/bin/python3
# A test client for exai-mirror's ingest socket: sends stdin (as is, so tests can send bad
# bytes and unterminated lines), half-closes, and prints every reply line until the daemon
# closes. Usage: mirror_client.py SOCKET [CHUNK]  (CHUNK: send in pieces of that many bytes).
import socket
import sys

path = sys.argv[1]
chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 0
data = sys.stdin.buffer.read()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(30)
s.connect(path)
out = b""
try:
    if chunk:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
    else:
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
except (BrokenPipeError, ConnectionResetError):
    pass  # the daemon closed the connection (a refused peer): read what it said
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
except ConnectionResetError:
    pass
sys.stdout.buffer.write(out)
