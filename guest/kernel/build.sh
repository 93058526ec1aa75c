#!/bin/bash
# Build the c2w-java guest kernel (riscv64 Image) from Debian's linux-source-6.1.
#
#   guest/kernel/build.sh [-j N] [--print-path]
#
# The result is cached outside the repository, keyed by the config fragment, this
# script and the Debian source package version:
#   ${C2W_KERNEL_CACHE:-~/.cache/c2w-java/kernel}/<key>/Image
# A second run with the same key only prints the path. Needs (apt): linux-source-6.1
# gcc-riscv64-linux-gnu bc flex bison libssl-dev libelf-dev make xz-utils.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FRAGMENT="$HERE/config-fragment"
JOBS=2
PRINT_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    -j) JOBS="$2"; shift 2 ;;
    --print-path) PRINT_ONLY=1; shift ;;
    *) echo "usage: $0 [-j N] [--print-path]" >&2; exit 2 ;;
  esac
done

SRC_TAR=/usr/src/linux-source-6.1.tar.xz
if [ ! -f "$SRC_TAR" ]; then
  echo "build.sh: $SRC_TAR missing (apt-get install linux-source-6.1)" >&2; exit 1
fi
SRC_VER=$(dpkg-query -W -f='${Version}' linux-source-6.1)
KEY=$( { echo "$SRC_VER"; cat "$FRAGMENT" "$0"; } | sha256sum | cut -c1-16)
CACHE=${C2W_KERNEL_CACHE:-$HOME/.cache/c2w-java/kernel}
OUT="$CACHE/$KEY"

if [ -f "$OUT/Image" ]; then
  echo "$OUT/Image"; exit 0
fi
if [ "$PRINT_ONLY" = 1 ]; then
  echo "build.sh: no cached kernel for key $KEY" >&2; exit 1
fi

mkdir -p "$CACHE"
WORK="$CACHE/work-$KEY"
ARGS=(ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-)
if [ ! -f "$WORK/linux-source-6.1/Makefile" ]; then
  rm -rf "$WORK"; mkdir -p "$WORK"
  echo "build.sh: extracting $SRC_TAR" >&2
  tar -C "$WORK" -xf "$SRC_TAR"
fi
cd "$WORK/linux-source-6.1"

make "${ARGS[@]}" tinyconfig >/dev/null
./scripts/kconfig/merge_config.sh -m .config "$FRAGMENT" >/dev/null
make "${ARGS[@]}" olddefconfig >/dev/null

# Every option of the fragment must have stuck (a dependency we forgot would drop it).
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) want="$line" ;;
    "# CONFIG_"*" is not set") want="$line" ;;
    *) continue ;;
  esac
  if ! grep -qxF "$want" .config; then
    name=${want#\# }; name=${name%%=*}; name=${name%% *}
    if [[ "$want" == "# "* ]] && ! grep -q "^$name=" .config; then continue; fi
    echo "build.sh: config fragment line not in final .config: $want" >&2
    missing=1
  fi
done < "$FRAGMENT"
[ "$missing" = 0 ] || exit 1

echo "build.sh: building Image with -j$JOBS (takes ~20 min on 2 cores)" >&2
nice -n 19 make "${ARGS[@]}" -j"$JOBS" Image >"$WORK/build.log" 2>&1 || {
  tail -40 "$WORK/build.log" >&2; echo "build.sh: kernel build failed (log: $WORK/build.log)" >&2; exit 1; }

mkdir -p "$OUT.tmp"
cp arch/riscv/boot/Image "$OUT.tmp/Image"
cp .config "$OUT.tmp/config"
echo "$SRC_VER" > "$OUT.tmp/source-version"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
# keep the tree for incremental rebuilds only when asked
[ "${C2W_KERNEL_KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"
echo "$OUT/Image"
