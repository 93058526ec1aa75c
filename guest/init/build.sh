#!/bin/bash
# Builds the guest init (static, freestanding, riscv64) into $1 (default build/init).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/build/init}
mkdir -p "$(dirname "$OUT")"
riscv64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic -no-pie \
  -march=rv64imac_zicsr -mabi=lp64 -O2 -Wall -Wl,--build-id=none -mno-relax -o "$OUT" "$HERE/init.c"
