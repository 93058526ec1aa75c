#!/usr/bin/env python3
# A stand-in for wasmtime in tests of --runtime wasmtime: records its argv, listens where
# "-S tcplisten=ADDR" (or "--tcplisten=ADDR") says, accepts the runner's connection, sends one QEMU-framed
# broadcast Ethernet frame, waits for one framed frame back, prints its length and exits with status 42
# (3 when none came back).
import socket, struct, sys

argv = sys.argv[1:]
with open(sys.argv[0] + ".argv", "w") as f:
    f.write("\n".join(argv) + "\n")
addr = None
for i, a in enumerate(argv):
    if a == "-S" and i + 1 < len(argv) and argv[i + 1].startswith("tcplisten="):
        addr = argv[i + 1][len("tcplisten="):]
    elif a.startswith("--tcplisten="):
        addr = a[len("--tcplisten="):]
host, port = addr.rsplit(":", 1)
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, int(port)))
ls.listen(1)
ls.settimeout(60)
conn, _ = ls.accept()
frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"hello from fake wasmtime"
conn.sendall(struct.pack(">I", len(frame)) + frame)
buf = b""
conn.settimeout(60)
while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
    chunk = conn.recv(4096)
    if not chunk:
        break
    buf += chunk
if len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
    print("got frame of", struct.unpack(">I", buf[:4])[0], "bytes", flush=True)
    sys.exit(42)
print("no frame came back", flush=True)
sys.exit(3)
