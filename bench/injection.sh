#!/usr/bin/env bash
# Injection screening cost per 4 KB prompt on one core: signature path alone,
# full detector (signatures + linear model), the normaliser alone, and a naive
# lower-case + find() baseline; target <= 100 us per 4 KB prompt.
# Last stdout line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$(find "$BUILD/bench" -name bench_injection -type f -executable | head -1)
[[ -x "$BIN" ]] || { echo "bench_injection not built in $BUILD" >&2; exit 1; }
if command -v taskset >/dev/null 2>&1; then
  taskset -c 0 "$BIN"
else
  "$BIN"
fi
