#!/usr/bin/env bash
# Build the wasm package the inspector page loads: web-demo/pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p pageflate-wasm --target wasm32-unknown-unknown
wasm-bindgen --target web --no-typescript --out-dir web-demo/pkg \
  target/wasm32-unknown-unknown/release/pageflate_wasm.wasm
echo "web-demo/pkg built ($(du -h web-demo/pkg/pageflate_wasm_bg.wasm | cut -f1) wasm)"
