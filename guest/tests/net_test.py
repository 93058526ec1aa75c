#!/usr/bin/env python3
"""virtio-net test (native emulator): the guest's NIC is connected to this
script over a Unix stream socket (no IP traffic leaves the process pair) with
QEMU stream framing: 4-byte big-endian length + raw Ethernet frame.

usage: net_test.py EMULATOR KERNEL INITRD
Prints one "PASS name" / "FAIL name: why" line per check; exits 1 on failure.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

GUEST_MAC = bytes.fromhex("020000000001")
GUEST_IP = bytes([10, 0, 2, 15])
HOST_MAC = bytes.fromhex("5254000abcde")
HOST_IP = bytes([10, 0, 2, 2])

results = []


def check(name, ok, why=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why), flush=True)


class Peer:
    """One connection to the emulator's listening socket, with a frame parser."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.closed = False

    def send_frame(self, frame):
        self.s.sendall(struct.pack(">I", len(frame)) + frame)

    def frames(self, timeout):
        """Yields frames received within timeout seconds."""
        end = time.time() + timeout
        while time.time() < end and not self.closed:
            while len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) < 4 + n:
                    break
                frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                yield frame
            r, _, _ = select.select([self.s], [], [], max(0.0, min(0.2, end - time.time())))
            if r:
                try:
                    data = self.s.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    self.closed = True
                self.buf += data
            else:
                yield None  # lets the caller act on idle ticks

    def close(self):
        self.s.close()


def arp_request():
    eth = b"\xff" * 6 + HOST_MAC + b"\x08\x06"
    arp = struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + HOST_MAC + HOST_IP + b"\0" * 6 + GUEST_IP
    return eth + arp


def is_arp_reply(frame):
    if frame is None or len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return False
    op = struct.unpack(">H", frame[20:22])[0]
    return (op == 2 and frame[0:6] == HOST_MAC and frame[22:28] == GUEST_MAC
            and frame[28:32] == GUEST_IP and frame[32:38] == HOST_MAC and frame[38:42] == HOST_IP)


def wait_arp_reply(peer, timeout):
    last = 0.0
    seen = []
    for frame in peer.frames(timeout):
        if frame is not None:
            seen.append(frame)
            if is_arp_reply(frame):
                return True, seen
        if time.time() - last > 0.3:
            peer.send_frame(arp_request())
            last = time.time()
    return False, seen


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    emu, kernel, initrd = argv[1:]
    tmp = tempfile.mkdtemp(prefix="c2w-net-")
    path = os.path.join(tmp, "net.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(1)
    lfd = lsock.fileno()
    cmd = [emu, "--net=socket=listenfd=%d" % lfd, "--mac", "02:00:00:00:00:01", "--initrd", initrd,
           "--append", "console=hvc0 quiet C2W_IP=10.0.2.15 -- /bin/sleep 60", kernel]
    log = open(os.path.join(tmp, "emu.log"), "wb")
    proc = subprocess.Popen(cmd, pass_fds=(lfd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    lsock.close()
    try:
        # The guest boots while nobody is connected: accept is retried.
        time.sleep(1.0)
        check("emulator runs with no peer connected", proc.poll() is None)
        peer = Peer(path)
        ok, seen = wait_arp_reply(peer, 30)
        check("guest answers ARP through virtio-net", ok, "%d frames seen, none an ARP reply" % len(seen))
        check("frames come from the guest MAC", bool(seen) and all(f[6:12] == GUEST_MAC for f in seen),
              "sources %s" % sorted({f[6:12].hex() for f in seen}))
        # A length prefix over 64 KiB is refused: the emulator drops the connection.
        peer.s.sendall(struct.pack(">I", 70000) + b"\0" * 16)
        for _ in peer.frames(10):
            pass
        check("oversized frame closes the connection", peer.closed, "connection still open")
        peer.close()
        check("emulator survives a bad peer", proc.poll() is None, "exit %s" % proc.poll())
        # A new peer is accepted and the link works again.
        peer = Peer(path)
        ok, _ = wait_arp_reply(peer, 20)
        check("new peer accepted after disconnect", ok, "no ARP reply on the new connection")
        # A frame split over several writes is reassembled.
        frame = struct.pack(">I", 42) + arp_request()
        for k in range(0, len(frame), 5):
            peer.s.sendall(frame[k:k + 5])
            time.sleep(0.01)
        got = any(is_arp_reply(f) for f in peer.frames(10) if f is not None)
        check("frame written in pieces is reassembled", got, "no ARP reply")
        peer.close()
    finally:
        proc.kill()
        proc.wait()
        log.close()
    if not all(results):
        sys.stdout.write(open(os.path.join(tmp, "emu.log"), errors="replace").read()[-2000:])
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
