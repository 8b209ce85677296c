#!/usr/bin/env bash
# make bench-scan: Steward's scanner (pattern path, with PERSON/LOCATION,
# 4 KB scan_input stage latency) on a generated >= 50 MB mixed corpus, and
# the npm libraries redact-pii and @openredaction/openredaction on the same
# paragraphs with a time budget each (they stall on large inputs, so they
# get ~0.8 KB paragraphs, and a budget). Last stdout line: one JSON object.
# Env: BUILD (default build), SCAN_BENCH_MB (default 64),
#      SCAN_BENCH_BUDGET (seconds per npm library, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MB=${SCAN_BENCH_MB:-64}
BUDGET=${SCAN_BENCH_BUDGET:-20}
BIN=$(find "$BUILD/bench/scan" -name scan_bench -type f -executable 2>/dev/null | head -1)
if [[ -z "$BIN" ]]; then
  echo "scan_bench not built (run make build)" >&2
  exit 1
fi
NODE_DIR="$BUILD/bench-node"
mkdir -p "$NODE_DIR"
CORPUS="$(realpath "$NODE_DIR")/scan_corpus.txt"
STEWARD_JSON=$("$BIN" --mb "$MB" --corpus-out "$CORPUS" | tail -1)
echo "steward: $STEWARD_JSON" >&2

BASE_JSON='{"redact_pii":{"error":"node or npm unavailable"},"openredaction":{"error":"node or npm unavailable"}}'
if command -v npm >/dev/null && command -v node >/dev/null; then
  if [[ ! -d "$NODE_DIR/node_modules/redact-pii" || ! -d "$NODE_DIR/node_modules/@openredaction/openredaction" ]]; then
    (cd "$NODE_DIR" && npm install --no-audit --no-fund --silent redact-pii @openredaction/openredaction >&2) || true
  fi
  BASE_JSON=$(cd "$NODE_DIR" && NODE_PATH="$PWD/node_modules" timeout $((BUDGET * 3 + 60)) \
    node "$OLDPWD/bench/scan/baseline.js" "$CORPUS" "$BUDGET" | tail -1) || true
  echo "baselines: $BASE_JSON" >&2
fi

python3 - "$STEWARD_JSON" "$BASE_JSON" <<'PY'
import json, sys
s = json.loads(sys.argv[1])
try:
    b = json.loads(sys.argv[2])
except Exception:
    b = {}
out = {"bench": "scan", "steward": s, "baselines": b, "ratios": {}, "targets": {
    "patterns_mbps": 300, "with_names_mbps": 50, "stage_4kb_added_us": 50, "x_redact_pii": 50}}
for key, name in (("redact_pii", "redact_pii"), ("openredaction", "openredaction")):
    mbps = b.get(key, {}).get("mbps")
    if mbps:
        out["ratios"][f"patterns_vs_{name}"] = round(s["paragraph_patterns_mbps"] / mbps, 1)
        out["ratios"][f"with_names_vs_{name}"] = round(s["paragraph_with_names_mbps"] / mbps, 1)
print(json.dumps(out, separators=(",", ":")))
PY
