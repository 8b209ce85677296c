#!/usr/bin/env bash
# make bench-policy: decisions/s and p50/p99 per decision for the example
# bundle (examples/policies) and a generated 1,000-rule bundle, each beside a
# linear scan of the same rules (no index). Last stdout line: one JSON object.
# Env: BUILD (build dir, default build), POLICY_BENCH_SECONDS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$(find "$BUILD/bench/policy" -name policy_bench -type f -executable 2>/dev/null | head -1)
if [[ -z "$BIN" ]]; then
  cmake --build "$BUILD" --target policy_bench >&2
  BIN="$BUILD/bench/policy/policy_bench"
fi
exec "$BIN" --seconds "${POLICY_BENCH_SECONDS:-2}" --example examples/policies
