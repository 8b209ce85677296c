#!/usr/bin/env bash
# make bench-audit: durable appends (group commit vs one transaction per
# record), `audit verify` leaves/s, inclusion-proof latency at 10M leaves,
# audit stage latency. The last stdout line is one JSON object.
# Env: BUILD (build dir, default build), AUDIT_BENCH_DIR (scratch, default
# $BUILD/bench-audit-data; the 10M-leaf store is cached there),
# AUDIT_BENCH_PROOF_LEAVES, AUDIT_BENCH_VERIFY_LEAVES, AUDIT_BENCH_SECONDS,
# AUDIT_BENCH_PARTS (comma list of appends,verify,proof,stage,proxy),
# AUDIT_BENCH_SKIP_WARM=1 (proof part: only the cold, fresh-connection and
# evicted proofs, for profiling).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$(find "$BUILD/bench/audit" -name audit_bench -type f -executable 2>/dev/null | head -1)
if [[ -z "$BIN" ]]; then
  cmake --build "$BUILD" --target audit_bench >&2
  BIN="$BUILD/bench/audit/audit_bench"
fi
DIR=${AUDIT_BENCH_DIR:-$BUILD/bench-audit-data}
mkdir -p "$DIR"
exec "$BIN" --dir "$DIR" \
  --proof-leaves "${AUDIT_BENCH_PROOF_LEAVES:-10000000}" \
  --verify-leaves "${AUDIT_BENCH_VERIFY_LEAVES:-1000000}" \
  --seconds "${AUDIT_BENCH_SECONDS:-4}" \
  --parts "${AUDIT_BENCH_PARTS:-appends,verify,proof,stage,proxy}" \
  --steward "$(realpath "$BUILD")/steward" --sim "$(realpath "$BUILD")/steward-sim"
