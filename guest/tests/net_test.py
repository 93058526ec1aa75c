#!/usr/bin/env python3
"""virtio-net test (native emulator): the guest's NIC is connected to this
script over a Unix stream socket (no IP traffic leaves the process pair) with
QEMU stream framing: 4-byte big-endian length + raw Ethernet frame.

usage: net_test.py EMULATOR KERNEL INITRD [BUSYBOX_INITRD]
With BUSYBOX_INITRD, also checks init's DHCP client against a small DHCP
server in this script (then /etc/resolv.conf, /etc/hosts and the default
route in the guest). Prints one "PASS name" / "FAIL name: why" line per check; exits 1 on failure.
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


GW_MAC = bytes.fromhex("5a94efe40cdd")
GW_IP = bytes([192, 168, 127, 1])
LEASE_IP = bytes([192, 168, 127, 3])


def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def dhcp_request_of(frame):
    """(msg type, xid, chaddr) of a DHCP client message, else None."""
    if frame is None or len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 15) * 4
    if frame[23] != 17:
        return None
    udp = 14 + ihl
    if struct.unpack("!H", frame[udp + 2:udp + 4])[0] != 67:
        return None
    d = frame[udp + 8:]
    if d[236:240] != b"\x63\x82\x53\x63":
        return None
    o, mtype = 240, None
    while o + 1 < len(d) and d[o] != 255:
        if d[o] == 0:
            o += 1
            continue
        if d[o] == 53:
            mtype = d[o + 2]
        o += 2 + d[o + 1]
    return mtype, d[4:8], d[28:34]


def dhcp_reply(mtype, xid, chaddr):
    d = bytearray(240)
    d[0], d[1], d[2] = 2, 1, 6
    d[4:8] = xid
    d[10] = 0x80
    d[16:20] = LEASE_IP
    d[20:24] = GW_IP
    d[28:34] = chaddr
    d[236:240] = b"\x63\x82\x53\x63"
    opts = bytes([53, 1, mtype, 54, 4]) + GW_IP + bytes([51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 255, 0, 3, 4])
    opts += GW_IP + bytes([6, 8]) + GW_IP + bytes([8, 8, 4, 4]) + b"\xff"
    d += opts
    udp = struct.pack("!HHHH", 67, 68, 8 + len(d), 0) + bytes(d)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, GW_IP, b"\xff" * 4))
    ip[10:12] = struct.pack("!H", ip_checksum(bytes(ip)))
    return b"\xff" * 6 + GW_MAC + b"\x08\x00" + bytes(ip) + udp


def dhcp_phase(emu, kernel, bb_initrd, tmp):
    path = os.path.join(tmp, "dhcp.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(1)
    lfd = lsock.fileno()
    cmd = [emu, "--net=socket=listenfd=%d" % lfd, "--initrd", bb_initrd, "--append",
           'console=hvc0 quiet C2W_NET=dhcp -- /bin/sh -c "busybox cat /etc/resolv.conf /etc/hosts; '
           'busybox route -n; busybox sleep 60"', kernel]
    logpath = os.path.join(tmp, "dhcp.log")
    log = open(logpath, "wb")
    proc = subprocess.Popen(cmd, pass_fds=(lfd,), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    lsock.close()
    try:
        peer = Peer(path)
        seen = []
        for frame in peer.frames(30):
            req = dhcp_request_of(frame)
            if req is None:
                continue
            mtype, xid, chaddr = req
            seen.append(mtype)
            if mtype == 1:
                peer.send_frame(dhcp_reply(2, xid, chaddr))
            elif mtype == 3:
                peer.send_frame(dhcp_reply(5, xid, chaddr))
                break
        check("DHCP: guest sends DISCOVER then REQUEST", seen[:1] == [1] and 3 in seen, "messages %s" % seen)
        global GUEST_IP
        GUEST_IP = LEASE_IP
        ok, _ = wait_arp_reply(peer, 20)
        check("DHCP: guest uses the leased address (answers ARP for it)", ok, "no ARP reply for 192.168.127.3")
        out = b""
        for _ in range(50):
            out = open(logpath, "rb").read()
            if b"Kernel IP routing table" in out and b"\n" in out.split(b"Kernel IP routing table")[1][60:]:
                break
            time.sleep(0.2)
        text = out.decode(errors="replace").replace("\r", "")
        check("DHCP: /etc/resolv.conf from the lease",
              "nameserver 192.168.127.1\nnameserver 8.8.4.4\n" in text, text[-400:])
        check("DHCP: /etc/hosts written", "127.0.0.1\tlocalhost" in text, text[-400:])
        check("DHCP: default route via the router",
              any(l.split()[:2] == ["0.0.0.0", "192.168.127.1"] for l in text.splitlines()), text[-400:])
        peer.close()
    finally:
        proc.kill()
        proc.wait()
        log.close()


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    emu, kernel, initrd = argv[1:4]
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
        # Random bytes from a peer are data, not a crash: frames with random
        # contents and lengths are delivered or dropped, a random length
        # prefix ends the connection, and the emulator keeps running.
        rng = __import__("random").Random(99)
        junk = b"".join(struct.pack(">I", n) + bytes(rng.getrandbits(8) for _ in range(n))
                        for n in [rng.randrange(1, 1600) for _ in range(40)])
        peer.s.sendall(junk + bytes(rng.getrandbits(8) for _ in range(4096)))
        for _ in peer.frames(5):
            pass
        peer.close()
        check("emulator survives random frames and garbage", proc.poll() is None, "exit %s" % proc.poll())
        peer = Peer(path)
        ok, _ = wait_arp_reply(peer, 20)
        check("link works again after garbage", ok, "no ARP reply")
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
    if len(argv) == 5:
        dhcp_phase(emu, kernel, argv[4], tmp)
    if not all(results):
        sys.stdout.write(open(os.path.join(tmp, "emu.log"), errors="replace").read()[-2000:])
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
