#!/usr/bin/env bash
# Fetch Intel QPL (the software library QEMU's `multifd-compression qpl` calls) for
# `pageflate bench`, which measures it as a peer: Debian's libqpl-dev, unpacked into
# .deps/qpl/ (headers and the static libqpl.a). Nothing is installed system-wide.
#
# Debian packages QPL only from trixie on, built against a newer glibc than bookworm's, so
# the shared library would not load here; the static archive links (native/csrc/qpl_peer.c
# supplies the two glibc 2.38 symbols it names). The pinned package comes from Debian's
# unstable pool on the machine's Debian mirror; if the mirror has moved on to a newer
# build, the current one is looked up in unstable's package index and checked against the
# SHA-256 the index gives.
#
#   scripts/fetch-qpl.sh        (run by scripts/setup.sh; safe to run again)
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=.deps/qpl
PINNED_FILE=pool/main/i/intel-qpl/libqpl-dev_1.9.0-1_amd64.deb
PINNED_SHA256=8a09b9106ef7aace666528e43de8b2d4da6ed1010b3edd0113dd230200dd1bfd
say() { printf '[fetch-qpl] %s\n' "$*"; }

if [ -e "$DEST/lib/libqpl.a" ] && [ -e "$DEST/include/qpl/qpl.h" ]; then
  exit 0
fi

configured=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
         | grep -v security | head -n1 | tr -d ' ' || true)
configured=${configured%/}
# The machine's own mirror first; Debian's main one too, in case that mirror carries no
# unstable.
mirrors=()
[ -n "$configured" ] && mirrors+=("$configured")
[ "$configured" != http://deb.debian.org/debian ] && mirrors+=(http://deb.debian.org/debian)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Fetch the pinned package from `$1`; if it is gone, the one unstable's index lists now.
# Sets `file` and `sha`; fails if the mirror has neither.
fetch_from() {
  local mirror=$1 entry
  file=$PINNED_FILE
  sha=$PINNED_SHA256
  curl -fsS -m 300 -o "$work/qpl.deb" "$mirror/$file" 2>/dev/null && return 0
  say "$mirror/$file is not there; looking up unstable's current libqpl-dev"
  curl -fsS -m 300 -o "$work/Packages.xz" "$mirror/dists/sid/main/binary-amd64/Packages.xz" 2>/dev/null \
    || { say "$mirror has no index of unstable"; return 1; }
  entry=$(xz -dc "$work/Packages.xz" | awk '/^Package: libqpl-dev$/,/^$/')
  file=$(printf '%s\n' "$entry" | sed -n 's/^Filename: //p')
  sha=$(printf '%s\n' "$entry" | sed -n 's/^SHA256: //p')
  [ -n "$file" ] && [ -n "$sha" ] || { say "unstable on $mirror lists no libqpl-dev"; return 1; }
  curl -fsS -m 300 -o "$work/qpl.deb" "$mirror/$file"
}

fetched=
for mirror in "${mirrors[@]}"; do
  if fetch_from "$mirror"; then fetched=1; break; fi
done
if [ -z "$fetched" ]; then
  echo "fetch-qpl: no Debian mirror served libqpl-dev (tried: ${mirrors[*]})" >&2
  exit 1
fi
echo "$sha  $work/qpl.deb" | sha256sum -c --quiet - || {
  echo "fetch-qpl: $file does not match its SHA-256 $sha" >&2
  exit 1
}

dpkg-deb -x "$work/qpl.deb" "$work/root"
rm -rf "$DEST"
mkdir -p "$DEST/lib" "$DEST/include"
cp -r "$work/root/usr/include/qpl" "$DEST/include/"
cp "$work/root/usr/lib/x86_64-linux-gnu/libqpl.a" "$DEST/lib/"
basename "$file" > "$DEST/PACKAGE"
# native/build.rs watches its C shim: touching it makes a build made before QPL was here
# run the build script again and link QPL in.
touch native/csrc/qpl_peer.c
say "unpacked $(basename "$file") into $DEST"
