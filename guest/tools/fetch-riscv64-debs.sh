#!/bin/bash
# Downloads Debian 13 (trixie) riscv64 packages with a private apt
# configuration (own sources list, lists and cache under the output
# directory); the system's apt sources are not touched. The archive URL is
# the one this machine's apt already uses.
#   fetch-riscv64-debs.sh OUTDIR PKG...
set -euo pipefail
OUT=$1; shift
mkdir -p "$OUT/apt/lists/partial" "$OUT/apt/cache/archives/partial" "$OUT/apt/etc/preferences.d" "$OUT/debs"
MIRROR=$( { grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
           grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep '/debian$' | head -1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
cat >"$OUT/apt/etc/sources.list" <<EOS
deb [arch=riscv64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main
EOS
touch "$OUT/apt/status"
OPTS=(-o "Dir::Etc::SourceList=$OUT/apt/etc/sources.list" -o "Dir::Etc::SourceParts=-"
      -o "Dir::Etc::Preferences=$OUT/apt/etc/preferences" -o "Dir::Etc::PreferencesParts=$OUT/apt/etc/preferences.d"
      -o "Dir::State::Lists=$OUT/apt/lists" -o "Dir::State::Status=$OUT/apt/status"
      -o "Dir::Cache=$OUT/apt/cache" -o "APT::Architecture=riscv64" -o "APT::Architectures=riscv64"
      -o "Debug::NoLocking=1")
apt-get "${OPTS[@]}" update -qq
cd "$OUT/debs" && apt-get "${OPTS[@]}" download "$@"
ls "$OUT/debs"
