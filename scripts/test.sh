#!/usr/bin/env bash
# Every test: lint, native tests (incl. real QEMU captures), wasm tests under Node and
# headless Chromium, the inspector page in Chromium, and a fuzz smoke run.
#   FUZZ_SECONDS=N   seconds per fuzz target (default 30; 0 skips the smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PAGEFLATE_SHARED="${PAGEFLATE_SHARED:-$(cd .. && pwd)/shared}"
step() { printf '\n=== %s\n' "$*"; }

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings

step "native tests"
cargo test --workspace -q

step "wasm tests under Node (incl. the conformance vectors)"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test -p pageflate-wasm --target wasm32-unknown-unknown
cargo test -p pageflate-conformance --target wasm32-unknown-unknown --test vectors

step "wasm tests under headless Chromium"
WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test -p pageflate-wasm --target wasm32-unknown-unknown
WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER=/usr/bin/chromedriver \
  cargo test -p pageflate-conformance --target wasm32-unknown-unknown --test vectors

step "inspector page in headless Chromium"
scripts/build-web.sh
(cd tests/web && node --test)

step "decode throughput: WebAssembly in Node vs native (printed, not asserted)"
scripts/bench-wasm.sh

step "fuzz smoke run"
scripts/fuzz.sh "${FUZZ_SECONDS:-30}"

echo
echo "all tests passed"
