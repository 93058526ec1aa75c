#!/bin/bash
# Builds the guest emulator (native and wasm32-wasi) and runs its tests:
#   - ISA tests (tests/isa/*.S) natively, under Node's WASI, and in
#     qemu-system-riscv64 (differential: same output expected);
#   - boot tests (kernel + initramfs + our init: echo, busybox, 9p, run
#     configuration, the container rootfs from an erofs disk) natively, under
#     ASan and under Node; the kernel comes from kernel/build.sh's cache and is
#     built when it is not there (a few minutes; C2W_BUILD_KERNEL=1 forces
#     kernel/build.sh, C2W_KERNEL_IMAGE=path uses a given Image instead).
# Prints "N passed, M failed" last; exits non-zero on any failure.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${C2W_TEST_OUT:-$HERE/build/test}
EMU=$HERE/emulator/build/native/c2w-emu
WASM=$HERE/emulator/build/wasm/c2w-emu.wasm
NODE_RUN=$HERE/emulator/tools/run-node.mjs
passed=0; failed=0
ok() { echo "PASS $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; failed=$((failed + 1)); }
mkdir -p "$OUT"

if make -s -C "$HERE/emulator" all >"$OUT/build.log" 2>&1; then ok "emulator build (native, wasm, function sizes)"
else cat "$OUT/build.log"; bad "emulator build"; echo "$passed passed, $failed failed"; exit 1; fi

# The bundle magic occurs exactly once in the module (the converter patches it there).
if python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); sys.exit(d.count(b"C2W-BUNDLE-V1\0\0\0") != 1 or d.count(b"C2W-BUNDLE-V1") != 1)' "$WASM"
then ok "bundle magic occurs once in the wasm module"; else bad "bundle magic occurs once in the wasm module"; fi

run_native() { timeout 60 "$EMU" --max-insns 50000000 "$@"; }
run_node() { C2W_PREOPENS="$OUT:$(dirname "${@: -1}")" timeout 120 node --no-warnings "$NODE_RUN" "$WASM" --max-insns 50000000 "$@"; }
run_qemu() {
  timeout 60 qemu-system-riscv64 -M virt -m 256M -nographic -bios default -kernel "$1" \
    -monitor none -serial stdio </dev/null 2>/dev/null | tr -d '\r'
}
# The part of a test's output that is compared: from BEGIN on, else the last line.
result_of() { if grep -q '^BEGIN' "$1"; then sed -n '/^BEGIN/,$p' "$1"; else tail -n 1 "$1"; fi; }

for src in "$HERE"/tests/isa/*.S; do
  name=$(basename "$src" .S)
  if ! "$HERE/tests/isa/build-run.sh" "$OUT" "$src" >"$OUT/$name.build.log" 2>&1; then
    cat "$OUT/$name.build.log"; bad "$name: assemble"; continue; fi
  bin=$OUT/$name.bin
  want_rc=0; want_last=PASS
  if [ "$name" = selfcheck_fail ]; then want_rc=7; want_last="FAIL 0000000000000007"; fi
  run_native "$bin" >"$OUT/$name.native.out" 2>&1; rc=$?
  if [ $rc = $want_rc ] && [ "$(tail -n 1 "$OUT/$name.native.out")" = "$want_last" ]; then ok "$name (native)"
  else bad "$name (native)" "exit $rc, $(tail -n 1 "$OUT/$name.native.out")"; fi
  run_node "$bin" >"$OUT/$name.node.out" 2>&1; rc=$?
  if [ $rc = $want_rc ] && cmp -s "$OUT/$name.native.out" "$OUT/$name.node.out"; then ok "$name (node wasm)"
  else bad "$name (node wasm)" "exit $rc, $(tail -n 1 "$OUT/$name.node.out")"; fi
  if command -v qemu-system-riscv64 >/dev/null; then
    run_qemu "$bin" >"$OUT/$name.qemu.out"
    if [ "$(result_of "$OUT/$name.qemu.out")" = "$(result_of "$OUT/$name.native.out")" ]; then ok "$name (same as qemu)"
    else bad "$name (same as qemu)" "qemu: $(tail -n 1 "$OUT/$name.qemu.out")"; fi
  fi
done

# Robustness: random instruction streams under ASan/UBSan cause guest
# exceptions only, never an emulator crash or memory error.
ASAN=$HERE/emulator/build/asan/c2w-emu
if make -s -C "$HERE/emulator" asan >"$OUT/asan.log" 2>&1 &&
   riscv64-linux-gnu-gcc -nostdlib -nostartfiles -no-pie -march=rv64imafdc_zicsr_zifencei -mabi=lp64 \
     -mcmodel=medany -T "$HERE/tests/isa/link.ld" -Wl,--no-warn-rwx-segments -Wl,--build-id=none \
     -o "$OUT/fuzz_prologue.elf" "$HERE/tests/fuzz_prologue.S" &&
   riscv64-linux-gnu-objcopy -O binary "$OUT/fuzz_prologue.elf" "$OUT/fuzz_prologue.bin"; then
  if python3 "$HERE/tests/fuzz.py" "$ASAN" "$OUT/fuzz_prologue.bin" 40 >"$OUT/fuzz.out" 2>&1; then ok "$(tail -n 1 "$OUT/fuzz.out" | sed 's/^PASS //') (asan)"
  else tail -5 "$OUT/fuzz.out"; bad "fuzz (asan)"; fi
else
  tail -5 "$OUT/asan.log"; bad "asan build and fuzz prologue"
fi

# Host-side errors are reported, not crashes.
"$EMU" --memory abc x >"$OUT/badarg.out" 2>&1; rc=$?
if [ $rc = 2 ] && grep -q 'bad --memory' "$OUT/badarg.out"; then ok "bad argument rejected"; else bad "bad argument rejected" "exit $rc"; fi
"$EMU" "$OUT/does-not-exist.bin" >"$OUT/nofile.out" 2>&1; rc=$?
if [ $rc = 1 ] && grep -q 'cannot open' "$OUT/nofile.out"; then ok "missing kernel reported"; else bad "missing kernel reported" "exit $rc"; fi

# Node host's socket/stdin bridge (web/node/), unit tests over loopback TCP.
if timeout 120 node --test "$HERE/../web/node/test/" >"$OUT/node-bridge.out" 2>&1; then ok "node socket bridge (unit)"
else tail -30 "$OUT/node-bridge.out"; bad "node socket bridge (unit)"; fi

# Boot test.
if [ -n "${C2W_KERNEL_IMAGE:-}" ]; then KERNEL=$C2W_KERNEL_IMAGE
elif [ "${C2W_BUILD_KERNEL:-0}" = 1 ]; then KERNEL=$("$HERE/kernel/build.sh")
else KERNEL=$("$HERE/kernel/build.sh" --print-path 2>/dev/null) ||
  { echo "building the guest kernel (not cached; a few minutes)"; KERNEL=$("$HERE/kernel/build.sh" 2>"$OUT/kernel-build.log" | tail -n 1); }; fi
if [ -n "${KERNEL:-}" ] && [ -f "$KERNEL" ]; then
  BOOT=$OUT/boot; mkdir -p "$BOOT"
  if "$HERE/init/build.sh" "$BOOT/init" && \
     riscv64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic -no-pie \
       -march=rv64imac -mabi=lp64 -O2 -Wl,--build-id=none -o "$BOOT/echo" "$HERE/tests/guest/echo.c" && \
     riscv64-linux-gnu-gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pic -no-pie \
       -march=rv64imac -mabi=lp64 -O2 -Wl,--build-id=none -o "$BOOT/sleep" "$HERE/tests/guest/sleep.c" && \
     python3 "$HERE/tools/mkinitramfs.py" "$BOOT/initrd.cpio" dir:/dev dev:/dev/console=c,5,1 dir:/bin \
       dir:/proc dir:/sys dir:/tmp dir:/run file:/init="$BOOT/init" file:/bin/echo="$BOOT/echo" file:/bin/sleep="$BOOT/sleep"; then
    cp "$KERNEL" "$BOOT/Image"
    ARGS=(--max-insns 400000000 --initrd "$BOOT/initrd.cpio" --append "console=hvc0 quiet -- /bin/echo hello from c2w" "$BOOT/Image")
    timeout 120 "$EMU" "${ARGS[@]}" </dev/null >"$BOOT/native.out" 2>&1; rc=$?
    if [ $rc = 0 ] && grep -qx 'hello from c2w' <(tr -d '\r' <"$BOOT/native.out"); then ok "boot to init: echo (native)"
    else tail -5 "$BOOT/native.out"; bad "boot to init: echo (native)" "exit $rc"; fi
    if [ -x "$ASAN" ]; then
      timeout 300 "$ASAN" "${ARGS[@]}" </dev/null >"$BOOT/asan.out" 2>&1; rc=$?
      if [ $rc = 0 ] && grep -qx 'hello from c2w' <(tr -d '\r' <"$BOOT/asan.out"); then ok "boot to init: echo (asan)"
      else tail -5 "$BOOT/asan.out"; bad "boot to init: echo (asan)" "exit $rc"; fi
    fi
    C2W_PREOPENS="$BOOT" timeout 300 node --no-warnings "$NODE_RUN" "$WASM" "${ARGS[@]}" </dev/null >"$BOOT/node.out" 2>&1; rc=$?
    if [ $rc = 0 ] && grep -qx 'hello from c2w' <(tr -d '\r' <"$BOOT/node.out"); then ok "boot to init: echo (node wasm)"
    else tail -5 "$BOOT/node.out"; bad "boot to init: echo (node wasm)" "exit $rc"; fi
    # The same in a browser: headless Chromium runs the emulator in a Worker
    # with the in-memory WASI host of web/ (sleeps with Atomics.wait, which
    # needs the page to be cross-origin isolated).
    if command -v "${C2W_CHROMIUM:-chromium}" >/dev/null; then
      timeout 300 python3 "$HERE/../web/page/chromium-run.py" --boot "$BOOT" \
        --append "console=hvc0 quiet -- /bin/echo hello from c2w" >"$BOOT/chromium.out" 2>&1; rc=$?
      if [ $rc = 0 ] && grep -qx 'hello from c2w' <(tr -d '\r' <"$BOOT/chromium.out") &&
         ! grep -q 'not cross-origin isolated' "$BOOT/chromium.out"; then ok "boot to init: echo (chromium wasm)"
      else tail -5 "$BOOT/chromium.out"; bad "boot to init: echo (chromium wasm)" "exit $rc"; fi
    fi
    # An idle guest sleeps in the host instead of spinning: a 3 s guest sleep
    # must end in few host waits and few guest instructions.
    timeout 120 "$EMU" --stats --initrd "$BOOT/initrd.cpio" --append "console=hvc0 quiet -- /bin/sleep 3" \
      "$BOOT/Image" </dev/null >"$BOOT/idle.out" 2>&1; rc=$?
    waits=$(sed -n 's/.* \([0-9]*\) idle waits.*/\1/p' "$BOOT/idle.out")
    insns=$(sed -n 's/^c2w-emu: \([0-9]*\) instructions.*/\1/p' "$BOOT/idle.out")
    if [ $rc = 0 ] && [ -n "$waits" ] && [ "$waits" -gt 0 ] && [ "$waits" -lt 2000 ] && [ "$insns" -lt 200000000 ]; then
      ok "idle guest waits in the host ($waits waits, $insns instructions)"
    else tail -3 "$BOOT/idle.out"; bad "idle guest waits in the host" "exit $rc, waits=$waits, insns=$insns"; fi
    # Debian's riscv64 busybox-static (glibc, uses the FPU): a shell command
    # whose exit status becomes the emulator's, and floating point in awk.
    DEBS=${C2W_DEBS_CACHE:-$HOME/.cache/c2w-java/debs}
    BB=$DEBS/root/usr/bin/busybox
    if [ ! -x "$BB" ]; then
      "$HERE/tools/fetch-riscv64-debs.sh" "$DEBS" busybox-static >"$BOOT/fetch.log" 2>&1 &&
        dpkg-deb -x "$DEBS"/debs/busybox-static_*.deb "$DEBS/root" >>"$BOOT/fetch.log" 2>&1
    fi
    if [ -x "$BB" ] && python3 "$HERE/tools/mkinitramfs.py" "$BOOT/bb.cpio" dir:/dev dev:/dev/console=c,5,1 \
         dir:/bin dir:/proc dir:/sys dir:/tmp dir:/run dir:/etc file:/init="$BOOT/init" \
         file:/bin/busybox="$BB" link:/bin/sh=busybox; then
      BBARGS=(--max-insns 400000000 --initrd "$BOOT/bb.cpio" "$BOOT/Image")
      timeout 120 "$EMU" --append 'console=hvc0 quiet -- /bin/sh -c "echo hello from busybox; exit 7"' \
        "${BBARGS[@]}" </dev/null >"$BOOT/bb1.out" 2>&1; rc=$?
      if [ $rc = 7 ] && grep -qx 'hello from busybox' <(tr -d '\r' <"$BOOT/bb1.out"); then ok "busybox sh, exit status 7 reaches the host (native)"
      else tail -5 "$BOOT/bb1.out"; bad "busybox sh, exit status 7 reaches the host (native)" "exit $rc"; fi
      C2W_PREOPENS="$BOOT" timeout 300 node --no-warnings "$NODE_RUN" "$WASM" \
        --append 'console=hvc0 quiet -- /bin/sh -c "echo hello from busybox; exit 7"' \
        "${BBARGS[@]}" </dev/null >"$BOOT/bb1n.out" 2>&1; rc=$?
      if [ $rc = 7 ] && grep -qx 'hello from busybox' <(tr -d '\r' <"$BOOT/bb1n.out"); then ok "busybox sh, exit status 7 reaches the host (node wasm)"
      else tail -5 "$BOOT/bb1n.out"; bad "busybox sh, exit status 7 reaches the host (node wasm)" "exit $rc"; fi
      timeout 120 "$EMU" --append 'console=hvc0 quiet -- /bin/busybox awk BEGIN{printf("%.17g,%d,%s,%.3f\n",1/3,int(7.9),2.5*4,-1e300*1e10)}' \
        "${BBARGS[@]}" </dev/null >"$BOOT/bb2.out" 2>&1; rc=$?
      if [ $rc = 0 ] && grep -qx '0.33333333333333331,7,10,-inf' <(tr -d '\r' <"$BOOT/bb2.out"); then ok "busybox awk floating point"
      else tail -5 "$BOOT/bb2.out"; bad "busybox awk floating point" "exit $rc"; fi
      # Console input: stdin reaches the guest's console (SBI getchar path).
      echo "typed text" | timeout 120 "$EMU" --append 'console=hvc0 quiet -- /bin/sh -c "read x; echo got:$x"' \
        "${BBARGS[@]}" >"$BOOT/stdin.out" 2>&1; rc=$?
      if [ $rc = 0 ] && grep -qx 'got:typed text' <(tr -d '\r' <"$BOOT/stdin.out"); then ok "console input from stdin (native)"
      else tail -5 "$BOOT/stdin.out"; bad "console input from stdin (native)" "exit $rc"; fi
      echo "typed text" | C2W_PREOPENS="$BOOT" timeout 120 node --no-warnings "$NODE_RUN" "$WASM" \
        --append 'console=hvc0 quiet -- /bin/sh -c "read x; echo got:$x"' "${BBARGS[@]}" >"$BOOT/stdin-node.out" 2>&1; rc=$?
      if [ $rc = 0 ] && grep -qx 'got:typed text' <(tr -d '\r' <"$BOOT/stdin-node.out"); then ok "console input from stdin (node wasm)"
      else tail -5 "$BOOT/stdin-node.out"; bad "console input from stdin (node wasm)" "exit $rc"; fi
      # Console input in the browser page: text typed into the page reaches a read in the guest
      # (the page's keyboard goes through the shared stdin ring of web/node/ to the Worker).
      if command -v "${C2W_CHROMIUM:-chromium}" >/dev/null; then
        timeout 300 python3 "$HERE/../web/page/chromium-run.py" --boot "$BOOT" --initrd bb.cpio --stdin $'typed text\n' \
          --append 'console=hvc0 quiet -- /bin/sh -c "read x; echo got:$x"' >"$BOOT/stdin-chromium.out" 2>&1; rc=$?
        if [ $rc = 0 ] && grep -qx 'got:typed text' <(tr -d '\r' <"$BOOT/stdin-chromium.out"); then ok "console input from the page (chromium wasm)"
        else tail -5 "$BOOT/stdin-chromium.out"; bad "console input from the page (chromium wasm)" "exit $rc"; fi
      fi
      # virtio-9p: a host directory shared through 9P2000.L, read and changed
      # by the guest (checked on the host), and a read-only share.
      p9_share() {
        rm -rf "$1"; mkdir -p "$1/sub"
        echo "hello from the host" >"$1/hello.txt"; echo x >"$1/sub/a"; ln -s hello.txt "$1/link"
      }
      P9MNT='mkdir -p /mnt && mount -t 9p -o trans=virtio,version=9p2000.L share /mnt'
      P9CMD="console=hvc0 quiet -- /bin/sh -c \"$P9MNT && cat /mnt/hello.txt /mnt/sub/a && readlink /mnt/link && ls -1 /mnt && echo written >/mnt/new.txt && mkdir /mnt/d && mv /mnt/new.txt /mnt/d/moved.txt && echo more >>/mnt/d/moved.txt && rm /mnt/sub/a && truncate -s 3 /mnt/hello.txt && sync && echo done\""
      P9WANT=$'hello from the host\nx\nhello.txt\nhello.txt\nlink\nsub\ndone'
      p9_check() { # $1 = share, $2 = output, $3 = exit status
        [ "$3" = 0 ] && [ "$(tr -d '\r' <"$2" | grep -v '^reboot:')" = "$P9WANT" ] &&
          [ "$(cat "$1/d/moved.txt")" = $'written\nmore' ] && [ ! -e "$1/sub/a" ] && [ "$(cat "$1/hello.txt")" = hel ]
      }
      SHARE=$BOOT/share; p9_share "$SHARE"
      timeout 120 "$EMU" --9p "share=$SHARE" --append "$P9CMD" "${BBARGS[@]}" </dev/null >"$BOOT/p9.out" 2>&1; rc=$?
      if p9_check "$SHARE" "$BOOT/p9.out" $rc; then ok "virtio-9p share read and written (native)"
      else tail -8 "$BOOT/p9.out"; bad "virtio-9p share read and written (native)" "exit $rc"; fi
      p9_share "$SHARE"
      timeout 300 "$ASAN" --9p "share=$SHARE" --append "$P9CMD" "${BBARGS[@]}" </dev/null >"$BOOT/p9a.out" 2>&1; rc=$?
      if p9_check "$SHARE" "$BOOT/p9a.out" $rc; then ok "virtio-9p share read and written (asan)"
      else tail -8 "$BOOT/p9a.out"; bad "virtio-9p share read and written (asan)" "exit $rc"; fi
      p9_share "$SHARE"
      C2W_PREOPENS="$BOOT" timeout 300 node --no-warnings "$NODE_RUN" "$WASM" --9p "share=$SHARE" --append "$P9CMD" \
        "${BBARGS[@]}" </dev/null >"$BOOT/p9n.out" 2>&1; rc=$?
      if p9_check "$SHARE" "$BOOT/p9n.out" $rc; then ok "virtio-9p share read and written (node wasm)"
      else tail -8 "$BOOT/p9n.out"; bad "virtio-9p share read and written (node wasm)" "exit $rc"; fi
      p9_share "$SHARE"; rm -rf "$BOOT/share2"; mkdir -p "$BOOT/share2"; echo second >"$BOOT/share2/f"
      timeout 120 "$EMU" --9p "share=$SHARE" --9p "two=$BOOT/share2" --append \
        'console=hvc0 quiet -- /bin/sh -c "mkdir -p /a /b && mount -t 9p -o trans=virtio share /a && mount -t 9p -o trans=virtio two /b && cat /a/sub/a /b/f"' \
        "${BBARGS[@]}" </dev/null >"$BOOT/p9two.out" 2>&1; rc=$?
      if [ $rc = 0 ] && [ "$(tr -d '\r' <"$BOOT/p9two.out" | grep -v '^reboot:')" = $'x\nsecond' ]; then ok "two 9p shares"
      else tail -8 "$BOOT/p9two.out"; bad "two 9p shares" "exit $rc"; fi
      # Run configuration from the host (device tree "info", read by init):
      # environment, clock, a 9p share mounted by init, entrypoint + arguments
      # with spaces and backslashes, PATH lookup.
      rm -rf "$BOOT/share3"; mkdir -p "$BOOT/share3"; echo shared-file >"$BOOT/share3/f"
      RCARGS=(--append 'console=hvc0 quiet' --env 'GREETING=hello world' --env 'BS=a\b' --9p "data=$BOOT/share3"
        --mount data=/srv/data --entrypoint sh --max-insns 400000000 --initrd "$BOOT/bb.cpio" "$BOOT/Image"
        -- -c 'echo "[$GREETING][$BS]"; echo "t=$(date +%s)"; cat /srv/data/f; printf "<%s>" "$@"; echo' x 'a b' 'c\d')
      rc_check() { # $1 = output, $2 = exit status, $3 = host time before the run
        local t; t=$(tr -d '\r' <"$1" | sed -n 's/^t=//p')
        [ "$2" = 0 ] && [ -n "$t" ] && [ "$t" -ge "$3" ] && [ "$t" -le $(( $(date +%s) + 1 )) ] &&
          [ "$(tr -d '\r' <"$1" | grep -v '^t=' | grep -v '^reboot:')" = $'[hello world][a\\b]\nshared-file\n<a b><c\\d>' ]
      }
      t0=$(date +%s); timeout 120 "$EMU" "${RCARGS[@]}" </dev/null >"$BOOT/rc.out" 2>&1; rc=$?
      if rc_check "$BOOT/rc.out" $rc "$t0"; then ok "run configuration: env, clock, mount, command (native)"
      else tail -8 "$BOOT/rc.out"; bad "run configuration: env, clock, mount, command (native)" "exit $rc"; fi
      t0=$(date +%s); C2W_PREOPENS="$BOOT" timeout 300 node --no-warnings "$NODE_RUN" "$WASM" "${RCARGS[@]}" </dev/null >"$BOOT/rcn.out" 2>&1; rc=$?
      if rc_check "$BOOT/rcn.out" $rc "$t0"; then ok "run configuration: env, clock, mount, command (node wasm)"
      else tail -8 "$BOOT/rcn.out"; bad "run configuration: env, clock, mount, command (node wasm)" "exit $rc"; fi
      # Container root filesystem (/dev/vda = erofs image, init's overlay,
      # /c2w/image.conf): image A runs as user 1000 in /work/dir with an
      # entrypoint and a cmd; image B (same erofs) as root with only a cmd.
      RF=$BOOT/rootfs; rm -rf "$RF"; mkdir -p "$RF/bin" "$RF/etc" "$RF/home/user"
      for d in proc sys dev tmp run; do mkdir -p "$RF/$d"; done
      cp "$BB" "$RF/bin/busybox"
      for l in sh echo id hostname cat pwd env test ls mkdir; do ln -s busybox "$RF/bin/$l"; done
      printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$RF/etc/passwd"
      printf '%s\n' 'entrypoint: /bin/sh -c' 'cmd: echo\ default-cmd-ran\ in\ $(pwd)' 'env: IMG_VAR=from image' \
        'env: OVERRIDE=image' 'workdir: /work/dir' 'user: 1000 1000 1000,27' 'home: /home/user' 'hostname: testhost' >"$BOOT/imageA.conf"
      printf '%s\n' 'cmd: /bin/sh -c echo\ b-default' 'hostname: hostb' >"$BOOT/imageB.conf"
      for v in A B; do
        python3 "$HERE/tools/mkinitramfs.py" "$BOOT/rootfs$v.cpio" dir:/dev dev:/dev/console=c,5,1 dir:/proc dir:/sys \
          dir:/tmp dir:/run dir:/mnt dir:/c2w file:/init="$BOOT/init" file:/c2w/image.conf="$BOOT/image$v.conf" || bad "rootfs initramfs $v"
      done
      if mkfs.erofs --quiet --all-root "$BOOT/rootfs.erofs" "$RF" >"$BOOT/mkfs.log" 2>&1; then ok "erofs rootfs built"
      else cat "$BOOT/mkfs.log"; bad "erofs rootfs built"; fi
      rf_run() { # $1 = A or B, $2 = output name, then: emulator arguments after the kernel
        local v=$1 name=$2; shift 2
        timeout 180 "${RF_EMU:-$EMU}" --max-insns 800000000 --blk "$BOOT/rootfs.erofs" --initrd "$BOOT/rootfs$v.cpio" \
          --append 'console=hvc0 quiet' "${RF_PRE[@]}" "$BOOT/Image" "$@" </dev/null >"$BOOT/rf-$name.out" 2>&1
      }
      busybox_free_filter() { sed 's/^\(MemTotal: [0-9]\)[0-9]* kB$/\1/'; } # MemTotal: first digit only (~250 or ~120 MB)
      rf_out() { tr -d '\r' <"$BOOT/rf-$1.out" | grep -v '^reboot:' | grep -v '^init: '; }
      rf_check() { # $1 = name, $2 = exit status, $3 = expected exit status, $4 = expected output, $5 = description
        if [ "$2" = "$3" ] && [ "$(rf_out "$1")" = "$4" ]; then ok "rootfs: $5"
        else tail -8 "$BOOT/rf-$1.out"; bad "rootfs: $5" "exit $2"; fi
      }
      RF_PRE=()
      rf_run A default; rf_check default $? 0 'default-cmd-ran in /work/dir' "image entrypoint + cmd run by default (user 1000, workdir)"
      rf_run A hello -- 'echo hello'; rf_check hello $? 0 'hello' "run-time args replace the image cmd: echo hello"
      rf_run A exit3 -- 'exit 3'; rf_check exit3 $? 3 '' "exit status 3 of sh -c 'exit 3'"
      RF_PRE=(--env OVERRIDE=runtime --env 'RT=run time')
      rf_run A env -- 'echo "[$IMG_VAR][$OVERRIDE][$RT][$HOME][$PATH]"'
      rf_check env $? 0 '[from image][runtime][run time][/home/user][/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin]' \
        "image env, run-time env overriding it, HOME from image.conf, default PATH"
      RF_PRE=()
      rf_run A ids -- 'id -u; id -g; id -G; pwd; hostname; cat /etc/hostname; test -f /etc/resolv.conf && echo resolv-ok; cat /etc/hosts | busybox grep testhost'
      rf_check ids $? 0 $'1000\n1000\n1000 27\n/work/dir\ntesthost\ntesthost\nresolv-ok\n127.0.1.1\ttesthost' \
        "user/groups, workdir, hostname, /etc/hostname, /etc/resolv.conf, /etc/hosts"
      rf_run A entry --entrypoint /bin/echo --entrypoint only-entry
      rf_check entry $? 0 'only-entry' "run-time entrypoint replaces the image's and drops its cmd"
      rf_run B rootw -- /bin/sh -c 'echo data >/newfile && cat /newfile && echo more >>/etc/passwd && busybox tail -n 1 /etc/passwd && mkdir /newdir && ls -d /newdir && id -u'
      rf_check rootw $? 0 $'data\nmore\n/newdir\n0' "writing to / and changing an image file (overlay), root by default"
      rf_run B bdefault; rf_check bdefault $? 0 'b-default' "image cmd without entrypoint"
      rm -rf "$BOOT/rfshare"; mkdir -p "$BOOT/rfshare"; echo host-data >"$BOOT/rfshare/f"
      RF_PRE=(--9p "data=$BOOT/rfshare" --mount data=/srv/data)
      rf_run B share -- /bin/sh -c 'cat /srv/data/f && echo from-guest >/srv/data/g && ls -1 /srv/data'
      if [ $? = 0 ] && [ "$(rf_out share)" = $'host-data\nf\ng' ] && [ "$(cat "$BOOT/rfshare/g" 2>/dev/null)" = from-guest ]; then
        ok "rootfs: 9p share mounted inside the root, read and written"
      else tail -8 "$BOOT/rf-share.out"; bad "rootfs: 9p share mounted inside the root, read and written"; fi
      RF_PRE=()
      # upstream module argv (--as-module: the native emulator parses the rest as a converted module would)
      rf_run B m1 --as-module echo hello world; rf_check m1 $? 0 'hello world' "module argv: COMMAND ARG..."
      rf_run B m2 --as-module -- ls -d /bin; rf_check m2 $? 0 '/bin' "module argv: -- ends the options"
      rf_run B m3 --as-module --no-stdin -entrypoint /bin/echo x -y; rf_check m3 $? 0 'x -y' "module argv: -entrypoint CMD, --no-stdin, options stop at COMMAND"
      rf_run B m4 --as-module --entrypoint=/bin/echo; rf_check m4 $? 0 '' "module argv: --entrypoint=CMD drops the image cmd"
      rf_run B m5 --as-module no-such-command; rf_check m5 $? 127 '' "command not found: status 127"
      rf_run B m6 --as-module /etc/passwd; rf_check m6 $? 126 '' "command not executable: status 126"
      rf_run B m7 --as-module --bogus; rc=$?
      if [ $rc = 2 ] && grep -q 'unknown or incomplete option --bogus' "$BOOT/rf-m7.out"; then ok "module argv: unknown option rejected"
      else tail -3 "$BOOT/rf-m7.out"; bad "module argv: unknown option rejected" "exit $rc"; fi
      RF_EMU=$ASAN rf_run A asan -- 'id -u; cat /etc/hostname'; rf_check asan $? 0 $'1000\ntesthost' "boot from the erofs disk (asan)"
      C2W_PREOPENS="$BOOT" timeout 300 node --no-warnings "$NODE_RUN" "$WASM" --max-insns 800000000 --blk "$BOOT/rootfs.erofs" \
        --initrd "$BOOT/rootfsA.cpio" --append 'console=hvc0 quiet' "$BOOT/Image" -- 'echo "$IMG_VAR"; exit 5' </dev/null >"$BOOT/rf-node.out" 2>&1
      rf_check node $? 5 'from image' "boot from the erofs disk, env and exit status (node wasm)"
      # Converted modules: tests/bundle_patch.py fills the bundle and appends the kernel, initrd and
      # rootfs as the converter does; the module then takes upstream's argv, WASI env and pre-opens.
      rm -rf "$BOOT/pack" "$BOOT/mshare"; mkdir -p "$BOOT/pack" "$BOOT/mshare"; echo preopened >"$BOOT/mshare/f"; chmod 0777 "$BOOT/mshare"
      cp "$BOOT/rootfs.erofs" "$BOOT/pack/rootfs.erofs"
      MODCMD=(-c 'echo "[$OVERRIDE][$IMG_VAR]"; id -u; cat /srv/data/f; echo w >/srv/data/w; ls /pack 2>/dev/null || echo no-pack; busybox grep MemTotal /proc/meminfo | busybox tr -s " "; exit 6')
      if python3 "$HERE/tests/bundle_patch.py" "$WASM" "$BOOT/mod.wasm" --kernel "$BOOT/Image" --initrd "$BOOT/rootfsA.cpio" \
           --rootfs "$BOOT/rootfs.erofs" --cmdline 'console=hvc0 quiet' &&
         python3 "$HERE/tests/bundle_patch.py" "$WASM" "$BOOT/modx.wasm" --kernel "$BOOT/Image" --initrd "$BOOT/rootfsA.cpio" \
           --external rootfs.erofs --cmdline 'console=hvc0 quiet' --memory 128; then
        timeout 300 node --no-warnings "$NODE_RUN" --preopen "$BOOT/mshare::/srv/data" --env OVERRIDE=wasi-env "$BOOT/mod.wasm" \
          --no-stdin --entrypoint /bin/sh -- "${MODCMD[@]}" </dev/null >"$BOOT/rf-mod.out" 2>&1; rc=$?
        if [ $rc = 6 ] && [ "$(rf_out mod | busybox_free_filter)" = $'[wasi-env][from image]\n1000\npreopened\nno-pack\nMemTotal: 2' ] &&
           [ -f "$BOOT/mshare/w" ]; then ok "converted module: bundle kernel/initrd/rootfs in memory, argv, WASI env, pre-open share (node wasm)"
        else tail -8 "$BOOT/rf-mod.out"; bad "converted module: bundle kernel/initrd/rootfs in memory, argv, WASI env, pre-open share (node wasm)" "exit $rc"; fi
        timeout 300 node --no-warnings "$NODE_RUN" --preopen "$BOOT/pack::/pack" --preopen "$BOOT/mshare::/srv/data" "$BOOT/modx.wasm" \
          -entrypoint /bin/sh -- "${MODCMD[@]}" </dev/null >"$BOOT/rf-modx.out" 2>&1; rc=$?
        if [ $rc = 6 ] && [ "$(rf_out modx | busybox_free_filter)" = $'[image][from image]\n1000\npreopened\nno-pack\nMemTotal: 1' ]; then
          ok "converted module: external rootfs from a pre-open (not shared), memory_mib (node wasm)"
        else tail -8 "$BOOT/rf-modx.out"; bad "converted module: external rootfs from a pre-open (not shared), memory_mib (node wasm)" "exit $rc"; fi
      else bad "converted module: bundle_patch.py"; fi
      timeout 120 "$EMU" --9p-ro "share=$SHARE" --append "console=hvc0 quiet -- /bin/sh -c \"$P9MNT && cat /mnt/hello.txt && (echo y >/mnt/new) 2>/dev/null && echo WRITE-OK || echo WRITE-REFUSED\"" \
        "${BBARGS[@]}" </dev/null >"$BOOT/p9ro.out" 2>&1; rc=$?
      if [ $rc = 0 ] && [ "$(tr -d '\r' <"$BOOT/p9ro.out" | grep -v '^reboot:')" = $'hello from the host\nWRITE-REFUSED' ] && [ ! -e "$SHARE/new" ]; then
        ok "virtio-9p read-only share refuses writes"
      else tail -8 "$BOOT/p9ro.out"; bad "virtio-9p read-only share refuses writes" "exit $rc"; fi
    else
      cat "$BOOT/fetch.log" 2>/dev/null | tail -5; bad "busybox-static (riscv64) fetched and packed"
    fi
    # virtio-net with QEMU stream framing, and init's DHCP client (native;
    # Node's WASI has no sockets)
    BBINIT=(); [ -f "$BOOT/bb.cpio" ] && BBINIT=("$BOOT/bb.cpio") # adds the DHCP checks
    timeout 240 python3 "$HERE/tests/net_test.py" "$EMU" "$BOOT/Image" "$BOOT/initrd.cpio" "${BBINIT[@]}" >"$BOOT/net.out" 2>&1
    while IFS= read -r line; do
      case "$line" in
        "PASS "*) ok "net: ${line#PASS }" ;;
        "FAIL "*) bad "net: ${line#FAIL }" ;;
      esac
    done <"$BOOT/net.out"
    grep -q '^PASS ' "$BOOT/net.out" || { tail -20 "$BOOT/net.out"; bad "net test ran"; }
    if [ -x "$ASAN" ]; then # the same on the sanitizer build (no DHCP part)
      timeout 300 python3 "$HERE/tests/net_test.py" "$ASAN" "$BOOT/Image" "$BOOT/initrd.cpio" >"$BOOT/net-asan.out" 2>&1
      if [ $? = 0 ] && grep -q '^PASS ' "$BOOT/net-asan.out"; then ok "net test (asan)"
      else tail -20 "$BOOT/net-asan.out"; bad "net test (asan)"; fi
    fi
  else
    bad "boot test: build init/initramfs"
  fi
else
  tail -5 "$OUT/kernel-build.log" 2>/dev/null; bad "boot tests: no kernel (guest/kernel/build.sh failed)"
fi

echo "$passed passed, $failed failed"
[ $failed = 0 ]
