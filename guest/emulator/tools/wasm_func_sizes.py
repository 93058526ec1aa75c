#!/usr/bin/env python3
"""List the code size of every function in a .wasm module (largest first).

usage: wasm_func_sizes.py MODULE.wasm [--max BYTES] [--top N]
With --max, exits 1 if any function body is larger than BYTES.
"""
import sys


def leb_u(buf, pos):
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return result, pos


def read_name(buf, pos):
    n, pos = leb_u(buf, pos)
    return buf[pos:pos + n].decode("utf-8", "replace"), pos + n


def parse(data):
    if data[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    pos = 8
    n_func_imports = 0
    bodies = []
    names = {}
    while pos < len(data):
        sid = data[pos]
        size, pos = leb_u(data, pos + 1)
        end = pos + size
        if sid == 2:  # imports
            count, p = leb_u(data, pos)
            for _ in range(count):
                _, p = read_name(data, p)
                _, p = read_name(data, p)
                kind = data[p]
                p += 1
                if kind == 0:
                    _, p = leb_u(data, p)
                    n_func_imports += 1
                elif kind == 1:
                    p += 1
                    flags, p = leb_u(data, p)
                    _, p = leb_u(data, p)
                    if flags & 1:
                        _, p = leb_u(data, p)
                elif kind == 2:
                    flags, p = leb_u(data, p)
                    _, p = leb_u(data, p)
                    if flags & 1:
                        _, p = leb_u(data, p)
                elif kind == 3:
                    p += 2
                else:
                    raise ValueError("unknown import kind %d" % kind)
        elif sid == 10:  # code
            count, p = leb_u(data, pos)
            for _ in range(count):
                bsize, p = leb_u(data, p)
                bodies.append(bsize)
                p += bsize
        elif sid == 0:  # custom: look for "name"
            cname, p = read_name(data, pos)
            if cname == "name":
                while p < end:
                    sub = data[p]
                    ssize, p = leb_u(data, p + 1)
                    send = p + ssize
                    if sub == 1:
                        count, q = leb_u(data, p)
                        for _ in range(count):
                            idx, q = leb_u(data, q)
                            nm, q = read_name(data, q)
                            names[idx] = nm
                    p = send
        pos = end
    return [(names.get(n_func_imports + i, "func[%d]" % (n_func_imports + i)), s)
            for i, s in enumerate(bodies)]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    limit = None
    top = 15
    args = argv[2:]
    while args:
        if args[0] == "--max":
            limit = int(args[1])
            args = args[2:]
        elif args[0] == "--top":
            top = int(args[1])
            args = args[2:]
        else:
            print("unknown argument " + args[0], file=sys.stderr)
            return 2
    funcs = sorted(parse(open(path, "rb").read()), key=lambda f: -f[1])
    for name, size in funcs[:top]:
        print("%8d  %s" % (size, name))
    print("%d functions, %d bytes of code" % (len(funcs), sum(s for _, s in funcs)))
    if limit is not None:
        over = [(n, s) for n, s in funcs if s > limit]
        for name, size in over:
            print("TOO LARGE (> %d bytes): %s %d" % (limit, name, size), file=sys.stderr)
        return 1 if over else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
