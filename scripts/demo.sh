#!/usr/bin/env bash
# make demo: starts steward-sim and `steward serve` with the embedded default
# configuration, creates a demo key and prints a curl line that works.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
# The embedded default keeps its data in ./var.
DEMO_DIR=./var
mkdir -p "$DEMO_DIR"
port_busy() { (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null; }
for p in 8080 8081 9000; do
  if port_busy $p; then echo "demo: port $p is in use; stop whatever listens there first" >&2; exit 2; fi
done
# The embedded default configuration, with the regulated-deployment example
# policy bundle (examples/policies) in force.
CONFIG="$DEMO_DIR/demo.yaml"
"$BUILD/steward" config default > "$CONFIG"
printf 'policy:\n  dir: examples/policies\n' >> "$CONFIG"
"$BUILD/steward" policy check examples/policies >/dev/null
"$BUILD/steward-sim" --listen 127.0.0.1:9000 >"$DEMO_DIR/sim.log" 2>&1 &
SIM_PID=$!
trap 'kill $SIM_PID $GW_PID 2>/dev/null; wait 2>/dev/null; echo; echo "demo: stopped"' EXIT INT TERM
KEY=$("$BUILD/steward" keys create --name demo --role user --config "$CONFIG")
ADMIN_KEY=$("$BUILD/steward" keys create --name demo-admin --role admin --config "$CONFIG")
"$BUILD/steward" serve --config "$CONFIG" &
GW_PID=$!
for _ in $(seq 100); do port_busy 8080 && break; sleep 0.1; done
cat <<MSG

Steward is running in front of steward-sim, with the example policy bundle
in examples/policies (config: $CONFIG).
  data plane   http://127.0.0.1:8080  (OpenAI-compatible)
  admin plane  http://127.0.0.1:8081  (dashboard at /, metrics at /metrics)

Demo key:  $KEY
Admin key: $ADMIN_KEY

Try:
  curl -s http://127.0.0.1:8080/v1/chat/completions \\
    -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\
    -d '{"model":"sim-small","messages":[{"role":"user","content":"Hello, my email is jane@example.com"}]}'

Ctrl-C stops both.
MSG
wait $GW_PID
