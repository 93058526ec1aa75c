#!/bin/bash
# usage: build-run.sh OUTDIR TEST.S  -> OUTDIR/TEST.bin
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
out=$1; src=$2; name=$(basename "$src" .S)
riscv64-linux-gnu-gcc -nostdlib -nostartfiles -no-pie -march=rv64imafdc_zicsr_zifencei -mabi=lp64 \
  -mcmodel=medany -T "$HERE/link.ld" -Wl,--no-warn-rwx-segments -Wl,--build-id=none \
  -I"$HERE" -o "$out/$name.elf" "$src"
riscv64-linux-gnu-objcopy -O binary "$out/$name.elf" "$out/$name.bin"
