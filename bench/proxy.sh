#!/usr/bin/env bash
# make bench-proxy: wrk with 32 connections against, side by side in one run,
#   direct   — steward-sim itself
#   steward  — Steward with its default governance stages in front of it
#   nginx    — nginx as a plain keep-alive reverse proxy (the floor of what a proxy costs)
#   portkey  — Portkey's open-source gateway (npm @portkey-ai/gateway)
# and Steward's idle and loaded RSS. Prints one JSON object as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${BENCH_DURATION:-8}
CONNS=32
ROOT=$(pwd)
WORK=$(mktemp -d /tmp/steward-bench-proxy-XXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_port() { for _ in $(seq 200); do (echo > /dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "bench: port $1 did not open" >&2; return 1; }
cpu_ticks() { awk '{print $14+$15}' /proc/$1/stat; }
rss_kb() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
hwm_kb() { awk '/VmHWM/ {print $2}' /proc/$1/status; }
run_wrk() {  # name port path headers
  local out
  out=$(WRK_HEADERS="$4" wrk -t2 -c$CONNS -d${DURATION}s --latency -s bench/proxy/post.lua "http://127.0.0.1:$2$3" 2>&1)
  echo "$out" | grep '^WRKJSON' | sed 's/^WRKJSON //' > "$WORK/$1.json"
  echo "bench-proxy: $1: $(cat "$WORK/$1.json")" >&2
}
warm() { WRK_HEADERS="$3" wrk -t1 -c8 -d1s -s bench/proxy/post.lua "http://127.0.0.1:$1$2" >/dev/null 2>&1 || true; }

SIM_PORT=$(free_port); GW_PORT=$(free_port); ADMIN_PORT=$(free_port); NGINX_PORT=$(free_port); PK_PORT=$(free_port)
"$BUILD/steward-sim" --listen 127.0.0.1:$SIM_PORT --threads 1 >"$WORK/sim.log" 2>&1 & PIDS+=($!)
wait_port $SIM_PORT

# --- Steward: the default pipeline, a registered and approved model ---
cat > "$WORK/steward.yaml" <<YAML
listen: 127.0.0.1:$GW_PORT
admin_listen: 127.0.0.1:$ADMIN_PORT
data_dir: $WORK/var
server: {workers: 1, access_log: "$WORK/access.log"}
upstreams:
  - name: sim
    url: http://127.0.0.1:$SIM_PORT
    models: ["*"]
registry: {enforce: true}
YAML
# BENCH_PIPELINE="auth,route" measures a reduced pipeline (for profiling).
[[ -n "${BENCH_PIPELINE:-}" ]] && echo "pipeline: [${BENCH_PIPELINE}]" >> "$WORK/steward.yaml"
mkdir -p "$WORK/model" && head -c 1048576 /dev/urandom > "$WORK/model/weights.bin"
KEY=$("$BUILD/steward" keys create --name bench --role user --config "$WORK/steward.yaml")
"$BUILD/steward" models register "$WORK/model" --name sim-small --version 1 --license apache-2.0 --config "$WORK/steward.yaml" >/dev/null
"$BUILD/steward" models approve sim-small@1 --config "$WORK/steward.yaml" >/dev/null
"$BUILD/steward" serve --config "$WORK/steward.yaml" >"$WORK/gw.log" 2>&1 & GW_PID=$!; PIDS+=($GW_PID)
wait_port $GW_PORT
sleep 1
IDLE_RSS=$(rss_kb $GW_PID)
CHECK=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GW_PORT/v1/chat/completions" -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' -d '{"model":"sim-small","messages":[{"role":"user","content":"hello"}]}')
[[ "$CHECK" == 200 ]] || { echo "bench: steward answered $CHECK" >&2; cat "$WORK/gw.log" >&2; exit 1; }

# --- nginx: plain reverse proxy with upstream keep-alive ---
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
  upstream sim { server 127.0.0.1:$SIM_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { proxy_pass http://sim; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
NGINX
NGINX_BIN=$(command -v nginx || echo /usr/sbin/nginx)
"$NGINX_BIN" -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" & PIDS+=($!)
wait_port $NGINX_PORT

# --- Portkey's gateway (Node), pinned to loopback ---
PK_DIR="$BUILD/bench-node/portkey"
PORTKEY_OK=1
if [[ ! -d "$PK_DIR/node_modules/@portkey-ai/gateway" ]]; then
  mkdir -p "$PK_DIR"
  (cd "$PK_DIR" && npm init -y >/dev/null && npm install --no-audit --no-fund --silent @portkey-ai/gateway @hono/node-server@1.13.5 >/dev/null 2>&1) || PORTKEY_OK=0
fi
if [[ $PORTKEY_OK == 1 ]]; then
  (cd "$PK_DIR" && NODE_ENV=production exec node --import "$ROOT/bench/proxy/force_loopback.mjs" node_modules/@portkey-ai/gateway/build/start-server.js --port=$PK_PORT --headless) >"$WORK/portkey.log" 2>&1 & PIDS+=($!)
  wait_port $PK_PORT || PORTKEY_OK=0
fi
PK_HEADERS="x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:$SIM_PORT/v1|Authorization: Bearer sim"

# Each target warms up, then is measured, one after another.
warm $SIM_PORT /v1/chat/completions ""
run_wrk direct $SIM_PORT /v1/chat/completions ""
warm $GW_PORT /v1/chat/completions "Authorization: Bearer $KEY"
SIM_PID=${PIDS[0]}; T0_GW=$(cpu_ticks $GW_PID); T0_SIM=$(cpu_ticks $SIM_PID)
[[ -n "${BENCH_PERF:-}" ]] && { perf record -g -o "${BENCH_PERF}" -p $GW_PID -- sleep 4 >/dev/null 2>&1 & }
run_wrk steward $GW_PORT /v1/chat/completions "Authorization: Bearer $KEY"
LOADED_RSS=$(hwm_kb $GW_PID)
STEWARD_REQS=$(python3 -c "import json;print(json.load(open('$WORK/steward.json'))['requests'])")
GW_CPU_NS=$(( ( $(cpu_ticks $GW_PID) - T0_GW ) * 10000000 / STEWARD_REQS ))
SIM_CPU_NS=$(( ( $(cpu_ticks $SIM_PID) - T0_SIM ) * 10000000 / STEWARD_REQS ))
echo "bench-proxy: cpu per request: steward $GW_CPU_NS ns, sim $SIM_CPU_NS ns" >&2
# One connection, one request at a time: what the gateway adds to a call
# when nothing queues (the 32-connection figures above are mostly queueing).
run_wrk_unloaded() {  # name port headers
  WRK_HEADERS="$3" wrk -t1 -c1 -d4s --latency -s bench/proxy/post.lua "http://127.0.0.1:$2/v1/chat/completions" 2>&1 \
    | grep '^WRKJSON' | sed 's/^WRKJSON //' > "$WORK/$1.json"
  echo "bench-proxy: $1: $(cat "$WORK/$1.json")" >&2
}
run_wrk_unloaded direct_1conn $SIM_PORT ""
run_wrk_unloaded steward_1conn $GW_PORT "Authorization: Bearer $KEY"
warm $NGINX_PORT /v1/chat/completions ""
run_wrk nginx $NGINX_PORT /v1/chat/completions ""
if [[ $PORTKEY_OK == 1 ]]; then
  warm $PK_PORT /v1/chat/completions "$PK_HEADERS"
  run_wrk portkey $PK_PORT /v1/chat/completions "$PK_HEADERS"
else
  echo '{"rps":0,"p50_us":0,"p99_us":0,"error":"portkey could not be installed or started"}' > "$WORK/portkey.json"
fi

STAGES=$(grep -o '[0-9]* stages' "$WORK/gw.log" | head -1)
python3 - "$WORK" "$IDLE_RSS" "$LOADED_RSS" "$STAGES" "$GW_CPU_NS" "$SIM_CPU_NS" <<'PY'
import json, sys
work, idle, loaded, stages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
gw_cpu_ns, sim_cpu_ns = int(sys.argv[5]), int(sys.argv[6])
r = {k: json.load(open(f"{work}/{k}.json")) for k in ("direct", "steward", "nginx", "portkey")}
one = {k: json.load(open(f"{work}/{k}_1conn.json")) for k in ("direct", "steward")}
def ratio(a, b): return round(r[a]["rps"] / r[b]["rps"], 3) if r[b].get("rps") else None
out = {
  "bench": "proxy", "connections": 32, "workers": {"steward": 1, "nginx": 1, "sim_threads": 1},
  "steward_pipeline": stages,
  "rps": {k: v.get("rps") for k, v in r.items()},
  "p50_us": {k: v.get("p50_us") for k, v in r.items()},
  "p99_us": {k: v.get("p99_us") for k, v in r.items()},
  "errors": {k: v.get("socket_errors", 0) + v.get("non_2xx", 0) for k, v in r.items()},
  "ratio_steward_direct": ratio("steward", "direct"),
  "ratio_steward_nginx": ratio("steward", "nginx"),
  "ratio_steward_portkey": ratio("steward", "portkey"),
  "added_p50_ms": round((r["steward"]["p50_us"] - r["direct"]["p50_us"]) / 1000, 3),
  "added_p99_ms": round((r["steward"]["p99_us"] - r["direct"]["p99_us"]) / 1000, 3),
  "cpu_us_per_request": {"steward": round(gw_cpu_ns / 1000, 1), "sim": round(sim_cpu_ns / 1000, 1)},
  "one_connection": {"p50_us": {k: v.get("p50_us") for k, v in one.items()},
                     "p99_us": {k: v.get("p99_us") for k, v in one.items()},
                     "added_p50_ms": round((one["steward"]["p50_us"] - one["direct"]["p50_us"]) / 1000, 3)},
  "steward_idle_rss_mb": round(idle / 1024, 1),
  "steward_loaded_rss_mb": round(loaded / 1024, 1),
}
print(json.dumps(out))
PY
