#!/bin/bash
# Guest MIPS natively, under Node, in headless Chromium (when installed) and
# (RUNNER=1) in the JVM runner (../c2w-net --invoke, Chicory compiled). Build with ./test.sh first (needs
# the cached kernel; the awk run also needs busybox, fetched by test.sh).
#   boot: kernel boot to init + /bin/echo (~57 M instructions, mostly
#         kernel code that runs once: decoding and JIT warm-up count)
#   awk:  busybox awk floating-point loop after boot (~300 M instructions,
#         CPU-bound); "steady" is the MIPS of the last 100 M instructions
# The runner uses --dispatch=calls unless DISPATCH=inline is given.
# One line per engine and workload; the machine is shared: repeat and
# compare A/B back to back.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BOOT=$HERE/build/test/boot
EMU=$HERE/emulator/build/native/c2w-emu
WASM=$HERE/emulator/build/wasm/c2w-emu.wasm
[ -f "$BOOT/Image" ] && [ -f "$BOOT/initrd.cpio" ] || { echo "run ./test.sh first (needs the cached kernel)" >&2; exit 1; }
AWK_N=${AWK_N:-50000}

BOOT_ARGS=(--stats --initrd "$BOOT/initrd.cpio" --append "console=hvc0 quiet -- /bin/echo bench" "$BOOT/Image")
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
# Output goes to a file, not a pipe: Node 20 sometimes crashed or spun at
# exit when its stdout/stderr were pipes (never seen with files).
run_engine() { # engine args... (a failing run prints its exit status)
  local eng=$1 rc=0; shift
  exec 3>"$TMP/out"
  case $eng in
  native) "$EMU" "$@" </dev/null >&3 2>&1 || rc=$? ;;
  node) C2W_PREOPENS="$BOOT" node --no-warnings "$HERE/emulator/tools/run-node.mjs" "$WASM" "$@" </dev/null >&3 2>&1 || rc=$? ;;
  chromium) # chromium-run.py takes the command line and the initramfs name; the rest is fixed
    local initrd=initrd.cpio append=
    while [ $# -gt 0 ]; do case $1 in --initrd) initrd=$(basename "$2"); shift 2 ;; --append) append=$2; shift 2 ;; *) shift ;; esac; done
    python3 "$HERE/web/chromium-run.py" --boot "$BOOT" --initrd "$initrd" --append "$append" >&3 2>&1 || rc=$? ;;
  runner) (cd "$HERE/.." && ./c2w-net --invoke --dir "$BOOT::$BOOT" "$WASM" --dispatch="${DISPATCH:-calls}" "$@" </dev/null >&3 2>&1) || rc=$? ;;
  esac
  exec 3>&-
  cat "$TMP/out"
  [ $rc = 0 ] || echo "exit status $rc"
}
report() { # engine workload <output
  local out total steady status
  out=$(cat)
  total=$(sed -n 's/^c2w-emu: \([0-9]*\) instructions in \([0-9]*\) ms = \([0-9.]*\) MIPS.*/\1 insns, \2 ms, \3 MIPS/p' <<<"$out")
  steady=$(sed -n 's/.*: \([0-9.]*\) MIPS over the last 100 M$/\1/p' <<<"$out" | tail -n 1)
  status=$(sed -n 's/^exit status \([0-9]*\)$/ (exit status \1)/p' <<<"$out")
  printf '%-7s %-5s %s%s%s\n' "$1" "$2" "${total:-failed}" "${steady:+, steady $steady MIPS}" "$status"
}

engines=(native node)
command -v "${C2W_CHROMIUM:-chromium}" >/dev/null && engines+=(chromium)
[ "${RUNNER:-0}" = 1 ] && engines+=(runner)
for eng in "${engines[@]}"; do
  run_engine "$eng" "${BOOT_ARGS[@]}" | report "$eng" boot
  if [ -f "$BOOT/bb.cpio" ]; then
    run_engine "$eng" --stats --initrd "$BOOT/bb.cpio" \
      --append "console=hvc0 quiet -- /bin/busybox awk BEGIN{s=0;for(i=0;i<$AWK_N;i++)s+=i*0.5;print(s)}" \
      "$BOOT/Image" | report "$eng" awk
  fi
done
