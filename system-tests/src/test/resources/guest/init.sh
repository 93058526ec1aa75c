#!/bin/busybox sh
# /init of the c2w-java guest test initramfs (see dev/c2w/systemtests/README.md).
# It prepares a minimal system, then serves commands read from the serial
# console: each request line is "@@CMD <id> <timeout-seconds> <base64 script>";
# the reply is "@@BEGIN <id>", the script's output, then "@@END <id> <exit status>".
# The initramfs holds /bin/busybox plus a symlink in /bin for each applet.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
dmesg -n 1
for m in $(cat /etc/modules.order); do
  insmod "/lib/modules/$m.ko" || echo "@@WARN insmod $m failed"
done
ip link set lo up
stty -echo 2>/dev/null
echo "@@READY $(uname -r)"
while IFS= read -r line; do
  set -- $line
  [ "$1" = "@@CMD" ] || continue
  id="$2"; secs="$3"
  echo "$4" | base64 -d > /tmp/.cmd
  timeout -s KILL "$secs" sh /tmp/.cmd > /tmp/.out 2>&1 < /dev/null
  rc=$?
  echo "@@BEGIN $id"
  cat /tmp/.out
  echo
  echo "@@END $id $rc"
done
echo "@@EOF console closed"
poweroff -f
