#!/bin/bash
# Builds the guest parts the converter packs into every out.wasm, and collects them in one directory:
#   c2w-emu.wasm (the RISC-V emulator, wasm32-wasi), Image (the Linux kernel), init (our PID 1),
#   guest.properties (what went in: hashes, the kernel's source version and config key, the commit).
#
#   guest/dist.sh [OUTDIR]        (default guest/build/dist; prints OUTDIR last)
#
# Each part is rebuilt only when its sources changed: the emulator by make, init when init/*.c is
# newer, the kernel through kernel/build.sh's cache (~/.cache/c2w-java/kernel; the first build takes
# about 4 minutes on 2 cores). Needs (apt): clang-16 lld-16 wasi-libc gcc-riscv64-linux-gnu
# linux-source-6.1 bc flex bison libssl-dev libelf-dev make xz-utils python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/build/dist}
mkdir -p "$OUT"
say() { echo "guest: $*" >&2; }

make -s -C "$HERE/emulator" wasm >"$OUT/emulator-build.log" 2>&1 || { cat "$OUT/emulator-build.log" >&2; say "emulator build failed"; exit 1; }
cp "$HERE/emulator/build/wasm/c2w-emu.wasm" "$OUT/c2w-emu.wasm.new" && mv "$OUT/c2w-emu.wasm.new" "$OUT/c2w-emu.wasm"

if [ ! -f "$OUT/init" ] || [ -n "$(find "$HERE/init" -newer "$OUT/init" -type f -print -quit)" ]; then
  "$HERE/init/build.sh" "$OUT/init.new" && mv "$OUT/init.new" "$OUT/init"
fi

if ! KERNEL=$("$HERE/kernel/build.sh" --print-path 2>/dev/null); then
  say "building the Linux kernel (first use on this machine: about 4 minutes on 2 cores) ..."
  KERNEL=$("$HERE/kernel/build.sh" -j "$(nproc)")
fi
cmp -s "$KERNEL" "$OUT/Image" 2>/dev/null || cp "$KERNEL" "$OUT/Image"

commit=$(git -C "$HERE" describe --always --dirty 2>/dev/null || echo unknown)
{
  echo "emulator.sha256=$(sha256sum "$OUT/c2w-emu.wasm" | cut -d' ' -f1)"
  echo "init.sha256=$(sha256sum "$OUT/init" | cut -d' ' -f1)"
  echo "kernel.sha256=$(sha256sum "$OUT/Image" | cut -d' ' -f1)"
  echo "kernel.version=$(cat "$(dirname "$KERNEL")/source-version" 2>/dev/null || echo unknown) (linux-source-6.1, config key $(basename "$(dirname "$KERNEL")"))"
  echo "kernel.cache=$KERNEL"
  echo "commit=$commit"
} >"$OUT/guest.properties.new"
mv "$OUT/guest.properties.new" "$OUT/guest.properties"
echo "$OUT"
