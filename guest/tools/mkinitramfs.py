#!/usr/bin/env python3
"""Write an uncompressed initramfs (cpio "newc") from a small spec, no root needed.

usage: mkinitramfs.py OUT.cpio SPEC...
SPEC is one of:  dir:PATH   file:PATH=HOSTFILE (mode 0755)   dev:PATH=c,MAJOR,MINOR
                 link:PATH=TARGET (symbolic link)
"""
import os
import sys


def entry(ino, name, mode, data=b"", rmaj=0, rmin=0):
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin, len(name_b), 0]
    hdr = b"070701" + b"".join(b"%08x" % f for f in fields)
    out = hdr + name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    blob = b""
    ino = 1
    for spec in argv[2:]:
        kind, _, rest = spec.partition(":")
        if kind == "dir":
            blob += entry(ino, rest.lstrip("/"), 0o040755)
        elif kind == "file":
            path, _, host = rest.partition("=")
            with open(host, "rb") as f:
                blob += entry(ino, path.lstrip("/"), 0o100755, f.read())
        elif kind == "link":
            path, _, target = rest.partition("=")
            blob += entry(ino, path.lstrip("/"), 0o120777, target.encode())
        elif kind == "dev":
            path, _, dev = rest.partition("=")
            typ, maj, mnr = dev.split(",")
            mode = (0o020000 if typ == "c" else 0o060000) | 0o600
            blob += entry(ino, path.lstrip("/"), mode, b"", int(maj), int(mnr))
        else:
            print("bad spec " + spec, file=sys.stderr)
            return 2
        ino += 1
    blob += entry(ino, "TRAILER!!!", 0)
    blob += b"\0" * (-len(blob) % 512)
    with open(argv[1], "wb") as f:
        f.write(blob)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
