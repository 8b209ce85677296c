#!/usr/bin/env bash
# Model hashing throughput (registry::Sha256File, OpenSSL EVP) against
# `sha256sum` on the same 2 GiB file in the same run, both from a warm page
# cache, best of 3 each; then the registry lookup cost on the request path.
# Last stdout line: one JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$(find "$BUILD/bench" -name bench_hash -type f -executable | head -1)
[[ -x "$BIN" ]] || { echo "bench_hash not built in $BUILD" >&2; exit 1; }
MB=${HASH_BENCH_MB:-2048}
FILE=$(mktemp /tmp/steward-hash-bench.XXXXXX)
trap 'rm -f "$FILE"' EXIT

"$BIN" genfile "$FILE" "$MB"   # real bytes, not a sparse file
cat "$FILE" > /dev/null         # warm the page cache for both contenders
BYTES=$(stat -c %s "$FILE")

best_sha=999999; best_ours=999999; sha_digest=""; our_digest=""
for i in 1 2 3; do
  t0=$(date +%s%N)
  sha_digest=$(sha256sum "$FILE" | cut -d' ' -f1)
  t1=$(date +%s%N)
  sha_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')
  best_sha=$(awk -v a="$best_sha" -v b="$sha_s" 'BEGIN{print (b<a)?b:a}')
  out=$("$BIN" hash "$FILE")
  s=$(echo "$out" | sed -E 's/.*"seconds":([0-9.]+).*/\1/')
  our_digest=$(echo "$out" | sed -E 's/.*"sha256":"([0-9a-f]+)".*/\1/')
  best_ours=$(awk -v a="$best_ours" -v b="$s" 'BEGIN{print (b<a)?b:a}')
  echo "run $i: sha256sum ${sha_s}s, steward ${s}s" >&2
done
LOOKUP=$("$BIN" lookup)

awk -v bytes="$BYTES" -v sha="$best_sha" -v ours="$best_ours" -v match_="$([[ "$sha_digest" == "$our_digest" ]] && echo true || echo false)" -v lookup="$LOOKUP" 'BEGIN{
  gs = bytes / sha / 1e9; go = bytes / ours / 1e9;
  r = lookup; sub(/^\{/, "", r); sub(/\}$/, "", r);
  printf "{\"bench\":\"hash\",\"file_bytes\":%.0f,\"steward_seconds\":%s,\"sha256sum_seconds\":%s,", bytes, ours, sha;
  printf "\"steward_gb_per_s\":%.3f,\"sha256sum_gb_per_s\":%.3f,\"ratio_vs_sha256sum\":%.3f,\"target_ratio\":0.9,", go, gs, go / gs;
  printf "\"digest_match\":%s,\"lookup\":{%s},\"lookup_target_ns\":1000}\n", match_, r;
}'
