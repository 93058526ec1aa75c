#!/usr/bin/env python3
"""Test aid: turn the emulator's wasm into a "converted module" the way the
converter does (spec/INTERFACES.md section 1): find the bundle magic in an
active data segment, fill in the fields, append page-aligned active data
segments (kernel, initrd, rootfs) at or beyond the original memory end and
raise the memory's minimum.

usage: bundle_patch.py IN.wasm OUT.wasm --kernel F [--initrd F] [--rootfs F | --external NAME]
                       [--cmdline S] [--memory MIB]
"""
import argparse
import struct

MAGIC = b"C2W-BUNDLE-V1\0\0\0"
PAGE = 65536


def leb(buf, pos):
    r = sh = 0
    while True:
        b = buf[pos]; pos += 1
        r |= (b & 0x7F) << sh; sh += 7
        if b < 0x80:
            return r, pos


def sleb_at(buf, pos):
    r = sh = 0
    while True:
        b = buf[pos]; pos += 1
        r |= (b & 0x7F) << sh; sh += 7
        if b < 0x80:
            if b & 0x40:
                r -= 1 << sh
            return r, pos


def enc_u(v):
    out = bytearray()
    while True:
        b = v & 0x7F; v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def enc_s(v):
    out = bytearray()
    while True:
        b = v & 0x7F; v >>= 7
        done = (v == 0 and not b & 0x40) or (v == -1 and b & 0x40)
        out.append(b | (0 if done else 0x80))
        if done:
            return bytes(out)


def sections(mod):
    pos, out = 8, []
    while pos < len(mod):
        sid = mod[pos]
        size, p = leb(mod, pos + 1)
        out.append([sid, bytearray(mod[p:p + size])])
        pos = p + size
    return out


def data_segments(body):
    n, p = leb(body, 0)
    segs = []
    for _ in range(n):
        kind, p = leb(body, p)
        if kind not in (0, 2):
            raise SystemExit("unexpected data segment kind %d" % kind)
        if kind == 2:
            _, p = leb(body, p)
        assert body[p] == 0x41, "i32.const offset expected"
        off, p = sleb_at(body, p + 1)
        assert body[p] == 0x0B
        size, p = leb(body, p + 1)
        segs.append((off, p, size))
        p += size
    return n, segs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp"); ap.add_argument("out")
    ap.add_argument("--kernel", required=True); ap.add_argument("--initrd"); ap.add_argument("--rootfs")
    ap.add_argument("--external"); ap.add_argument("--cmdline", default=""); ap.add_argument("--memory", type=int, default=0)
    a = ap.parse_args()
    mod = open(a.inp, "rb").read()
    secs = sections(mod)
    mem = next(s for s in secs if s[0] == 5)[1]
    _, p = leb(mem, 0)
    flags, p = leb(mem, p)
    min_pages, p = leb(mem, p)
    max_pages = leb(mem, p)[0] if flags & 1 else None
    data = next(s for s in secs if s[0] == 11)
    n, segs = data_segments(data[1])
    hits = [(off, start, size, data[1].find(MAGIC, start, start + size)) for off, start, size in segs]
    hits = [h for h in hits if h[3] >= 0]
    assert len(hits) == 1 and data[1].count(MAGIC) == 1, "magic must occur once"
    off, start, size, at = hits[0]
    assert at + 704 <= start + size, "bundle not wholly inside its segment"
    addr = min_pages * PAGE
    blobs, fields = [], {}
    for name, path in (("kernel", a.kernel), ("initrd", a.initrd), ("rootfs", a.rootfs)):
        if path:
            b = open(path, "rb").read()
            fields[name] = (addr, len(b))
            blobs.append((addr, b))
            addr += (len(b) + PAGE - 1) // PAGE * PAGE
    bundle = bytearray(data[1][at:at + 704])
    struct.pack_into("<I", bundle, 20, 1 if a.external else 0)
    for name, o in (("kernel", 24), ("initrd", 32), ("rootfs", 40)):
        struct.pack_into("<II", bundle, o, *fields.get(name, (0, 0)))
    struct.pack_into("<I", bundle, 48, a.memory)
    bundle[64:576] = a.cmdline.encode().ljust(512, b"\0")[:512]
    bundle[576:704] = (a.external or "").encode().ljust(128, b"\0")[:128]
    data[1][at:at + 704] = bundle
    body = bytearray(data[1][len(enc_u(n)):])
    for base, b in blobs:
        body += b"\0" + b"\x41" + enc_s(base if base < 2 ** 31 else base - 2 ** 32) + b"\x0b" + enc_u(len(b)) + b
    data[1] = bytearray(enc_u(n + len(blobs))) + body
    new_min = addr // PAGE
    if max_pages is not None and max_pages < new_min:
        raise SystemExit("memory maximum too small")
    mem[:] = enc_u(1) + enc_u(flags) + enc_u(new_min) + (enc_u(max_pages) if max_pages is not None else b"")
    for s in secs:
        if s[0] == 12:
            s[1][:] = enc_u(n + len(blobs))
    with open(a.out, "wb") as f:
        f.write(mod[:8])
        for sid, b in secs:
            f.write(bytes([sid]) + enc_u(len(b)) + b)


if __name__ == "__main__":
    main()
