#!/usr/bin/env bash
# Install what pageflate's build and tests need, skipping whatever is already there.
# Safe to run again and again; as root on a fresh Debian machine it needs nothing done by hand.
#   scripts/setup.sh          everything (tests: wasm32 target, wasm-bindgen-cli, Chromium, cargo-fuzz)
#   scripts/setup.sh --run    only what `pageflate demo` needs (a Rust toolchain)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130
say() { printf '[setup] %s\n' "$*"; }

command -v cargo >/dev/null || { echo "cargo not found: install Rust with rustup first" >&2; exit 1; }
[ "${1:-}" = "--run" ] && exit 0

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v zstd >/dev/null || missing+=(zstd)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3)
# ISA-L, a peer of `pageflate bench` (its test requires it; the main job does not).
[ -e /usr/include/isa-l/igzip_lib.h ] || missing+=(libisal-dev)
# Intel QPL, the bench's other Intel peer (scripts/fetch-qpl.sh): fetching and unpacking it
# takes curl, xz and dpkg-deb; linking its static C++ archive takes libstdc++'s dev files.
command -v curl >/dev/null || missing+=(curl)
command -v xz >/dev/null || missing+=(xz-utils)
[ -e "$(gcc -print-file-name=libstdc++.so 2>/dev/null)" ] || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# QEMU 10.0.2 for the real-migration tests: Debian's qemu-system-x86 from bookworm-backports,
# taken from the same mirror the machine's other Debian sources use.
if ! qemu-system-x86_64 --version 2>/dev/null | grep -q 'version 10\.0\.2'; then
  mirror=$(grep -rhoE 'https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -v security | head -n1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "adding bookworm-backports from $mirror"
  echo "deb ${mirror%/} bookworm-backports main" > /etc/apt/sources.list.d/pageflate-bookworm-backports.list
  apt_updated=
  apt_install -t bookworm-backports --no-install-recommends qemu-system-x86
  qemu-system-x86_64 --version | head -n1
fi

bash scripts/fetch-qpl.sh

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # Compiled from source (about 4 minutes); --locked does not resolve here, so it is not used.
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install -q --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "the nightly toolchain (for cargo fuzz) is missing: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "cargo install cargo-fuzz"
  cargo install -q cargo-fuzz
fi

if [ ! -d tests/web/node_modules/playwright-core ]; then
  say "npm ci (tests/web: playwright-core, which drives Debian's /usr/bin/chromium)"
  (cd tests/web && npm ci --no-audit --no-fund --silent)
fi
say "ready"
