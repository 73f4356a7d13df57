#!/usr/bin/env bash
# Decode throughput of pageflate's WebAssembly build in Node against the native build, on
# the corpus's non-zero pages, measured in the same run. Needs web-demo/pkg (build-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${PAGEFLATE_SHARED:-../shared}
pages=$(mktemp)
trap 'rm -f "$pages"' EXIT
native=$(cargo run -q --release -p pageflate-wasm --example decode_bench -- "$shared/corpus/guest-ram-a-64M.bin.zst" "$pages")
node tests/web/bench.mjs "$pages" "$native"
