#!/usr/bin/env bash
# Starts steward-sim and steward on free ports, installs the official
# `openai` npm client (cached under the build dir) and runs the node test.
set -euo pipefail
BUILD=${STEWARD_BUILD_DIR:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
NODE_DIR="$BUILD/test-node/openai"
mkdir -p "$NODE_DIR"
if [[ ! -d "$NODE_DIR/node_modules/openai" ]]; then
  (cd "$NODE_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent openai@7 >/dev/null)
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
SIM_PORT=$(free_port); PORT=$(free_port); ADMIN_PORT=$(free_port)
DIR=$(mktemp -d /tmp/steward-openai-XXXX)
cleanup() { kill $SIM_PID $GW_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
cat > "$DIR/steward.yaml" <<YAML
listen: 127.0.0.1:$PORT
admin_listen: 127.0.0.1:$ADMIN_PORT
data_dir: $DIR/var
upstreams:
  - name: local
    url: http://127.0.0.1:$SIM_PORT
    models: ["*"]
registry:
  enforce: false   # the simulator's models are not registered
YAML
"$BUILD/steward-sim" --listen 127.0.0.1:$SIM_PORT --threads 1 >"$DIR/sim.log" 2>&1 & SIM_PID=$!
KEY=$("$BUILD/steward" keys create --name openai-test --role user --config "$DIR/steward.yaml")
"$BUILD/steward" serve --config "$DIR/steward.yaml" >"$DIR/gw.log" 2>&1 & GW_PID=$!
for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
cp "$HERE/openai_client_test.mjs" "$NODE_DIR/"
STEWARD_URL="http://127.0.0.1:$PORT" STEWARD_KEY="$KEY" node --test "$NODE_DIR/openai_client_test.mjs" || { cat "$DIR/gw.log"; exit 1; }
