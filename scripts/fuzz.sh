#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 60), or for RUNS executions with --runs N.
#   scripts/fuzz.sh 60            smoke run (the test command uses this)
#   scripts/fuzz.sh --runs 10000000 inflate    a long run of one target
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
limit="-max_total_time=${1:-60}"
if [ "${1:-}" = "--runs" ]; then limit="-runs=$2"; shift 2; else shift || true; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
[ "$limit" = "-max_total_time=0" ] && { echo "fuzz smoke run skipped (0 seconds)"; exit 0; }
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  rm -rf "artifacts/$t"
  echo "fuzz target $t ($limit)"
  cargo +nightly fuzz run -s none "$t" "corpus/$t" -- "$limit" -rss_limit_mb=2048 2>&1 \
    | grep -E "^(#[0-9]+ +DONE|Done [0-9]+ runs|INFO: Done)|panicked|ERROR|SUMMARY|Test unit written" || true
  # libFuzzer exits non-zero on a finding; with pipefail the grep above hides it, so check artifacts.
  if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
    echo "fuzz target $t found a failure: see fuzz/artifacts/$t" >&2
    exit 1
  fi
done
