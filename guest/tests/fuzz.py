#!/usr/bin/env python3
"""Robustness test: random instruction streams must only cause guest
exceptions, never an emulator crash. Each case is the prologue (a trap
handler that skips the faulting halfword) followed by 16 KiB of random
words biased towards valid opcodes; the emulator runs it with an instruction
limit and must exit normally (status < 128: a limit, a guest shutdown...).

usage: fuzz.py EMULATOR PROLOGUE_BIN CASES [SEED]
Prints "PASS name" / "FAIL name: why" lines.
"""
import os
import random
import subprocess
import sys
import tempfile

OPCODES = [0x03, 0x07, 0x0F, 0x13, 0x17, 0x1B, 0x23, 0x27, 0x2F, 0x33, 0x37, 0x3B,
           0x43, 0x47, 0x4B, 0x4F, 0x53, 0x63, 0x67, 0x6F, 0x73]


def word(rng):
    r = rng.random()
    w = rng.getrandbits(32)
    if r < 0.6:
        return (w & ~0x7F) | rng.choice(OPCODES)
    if r < 0.9:
        return w & 0xFFFF | ((w & 0xFFFF) << 16) if (w & 3) != 3 else w & 0xFFFFFFFC
    return w


def main(argv):
    emu, prologue, cases = argv[1], argv[2], int(argv[3])
    seed = int(argv[4]) if len(argv) > 4 else 1234
    head = open(prologue, "rb").read()
    tmp = tempfile.mkdtemp(prefix="c2w-fuzz-")
    failed = 0
    for k in range(cases):
        rng = random.Random(seed * 1000 + k)
        body = b"".join(word(rng).to_bytes(4, "little") for _ in range(4096))
        path = os.path.join(tmp, "case%d.bin" % k)
        with open(path, "wb") as f:
            f.write(head + body)
        p = subprocess.run([emu, "--memory", "32", "--max-insns", os.environ.get("FUZZ_INSNS", "300000"), path],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120)
        err = p.stderr.decode(errors="replace")
        if p.returncode < 0 or p.returncode >= 128 or "ERROR: AddressSanitizer" in err or "runtime error" in err:
            failed += 1
            print("FAIL fuzz case %d (seed %d): exit %d %s" % (k, seed, p.returncode, err[-300:]))
    if not failed:
        print("PASS fuzz: %d random instruction streams, no emulator crash" % cases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
