# Test helper for UdhcpcTest: run inside a fresh network namespace (unshare -n). Creates a TAP interface
# with the given MAC, starts busybox udhcpc on it, and relays Ethernet frames between the TAP device and
# this process's stdin/stdout, each frame preceded by its length as 2 bytes big-endian. Exits with
# udhcpc's exit status when udhcpc ends (or when stdin closes).
# Usage: tap_bridge.py MAC SCRIPT
import fcntl
import os
import select
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

mac, script = sys.argv[1], sys.argv[2]
tap = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack("16sH", b"tap0", IFF_TAP | IFF_NO_PI))
subprocess.run(["ip", "link", "set", "dev", "lo", "up"], check=True)
subprocess.run(["ip", "link", "set", "dev", "tap0", "address", mac], check=True)
subprocess.run(["ip", "link", "set", "dev", "tap0", "up"], check=True)
udhcpc = subprocess.Popen(
    ["busybox", "udhcpc", "-i", "tap0", "-f", "-q", "-n", "-t", "5", "-T", "2", "-s", script],
    stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr)

out = sys.stdout.buffer
pending = b""
while udhcpc.poll() is None:
    ready, _, _ = select.select([tap, 0], [], [], 0.2)
    if tap in ready:
        frame = os.read(tap, 65536)
        out.write(struct.pack(">H", len(frame)) + frame)
        out.flush()
    if 0 in ready:
        data = os.read(0, 65536)
        if not data:
            udhcpc.kill()
            break
        pending += data
        while len(pending) >= 2:
            n = struct.unpack(">H", pending[:2])[0]
            if len(pending) < 2 + n:
                break
            os.write(tap, pending[2:2 + n])
            pending = pending[2 + n:]
sys.exit(udhcpc.wait())
