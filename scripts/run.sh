#!/usr/bin/env bash
# The main job: build pageflate and run it on its embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --run
cargo run --release -q -p pageflate -- "${@:-demo}"
