#!/bin/bash
# Guest MIPS natively, under Node and in headless Chromium: boots the cached kernel with our init
# running /bin/echo (build with ./test.sh first). Prints one line per engine.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BOOT=$HERE/build/test/boot
[ -f "$BOOT/Image" ] && [ -f "$BOOT/initrd.cpio" ] || { echo "run ./test.sh first (needs the cached kernel)" >&2; exit 1; }
ARGS=(--stats --initrd "$BOOT/initrd.cpio" --append "console=hvc0 quiet -- /bin/echo bench" "$BOOT/Image")
echo -n "native: "; "$HERE/emulator/build/native/c2w-emu" "${ARGS[@]}" </dev/null 2>&1 | grep MIPS
echo -n "node:   "; C2W_PREOPENS="$BOOT" node --no-warnings "$HERE/emulator/tools/run-node.mjs" \
  "$HERE/emulator/build/wasm/c2w-emu.wasm" "${ARGS[@]}" </dev/null 2>&1 | grep MIPS
if command -v "${C2W_CHROMIUM:-chromium}" >/dev/null; then
  echo -n "chromium: "; python3 "$HERE/web/chromium-run.py" --boot "$BOOT" --append "console=hvc0 quiet -- /bin/echo bench" 2>&1 | grep MIPS
fi
