#!/usr/bin/env bash
# HTTP benchmarks of generated code (docs/benchmarks.md, "HTTP"), side by side in one run:
#  (a) a generated service endpoint on its cache-hit path (user_service.get_profile of
#      examples/api-gateway.arch: read-through user_cache, metrics, request id) vs
#      runtime/examples/bare_axum.rs answering the same bytes (access logs off on both
#      generated binaries: the targets name the limit, metrics and request-id layers);
#  (b) the generated api_gateway proxying to that service vs nginx proxy_pass (upstream
#      keepalive) to the same service.
# Release builds, wrk -t1 -c32 -d5s on loopback. Needs wrk, nginx, curl
# (apt-get install -y wrk nginx curl).
#
#   scripts/bench-http.sh            # DURATION=10s CONNS=64 override
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
OUT=$ROOT/target/bench-http
GEN=$OUT/src
TARGET=$ROOT/target/generated
mkdir -p "$OUT"
for tool in wrk nginx curl; do
  command -v $tool >/dev/null || { echo "bench-http: $tool is missing (apt-get install -y wrk nginx curl)" >&2; exit 1; }
done

cargo build --release --bin archc -q
rm -rf "$GEN"
"$ROOT/target/release/archc" generate examples/api-gateway.arch -o "$GEN" >/dev/null
cp Cargo.lock "$GEN/Cargo.lock"
(cd "$GEN" && CARGO_TARGET_DIR=$TARGET cargo build --release -q -p user_service -p api_gateway)
cargo build --release -q -p archc-runtime --example bare_axum
BIN=$TARGET/release

SVC=19081 GW=19080 GW1=19082 BARE=19099 NGX=19088
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$OUT/nginx.pid" ] && kill "$(cat "$OUT/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT

PORT=$SVC ACCESS_LOG=off "$BIN/user_service" 2>/dev/null & pids+=($!)
PORT=$GW USER_SERVICE_URL=http://127.0.0.1:$SVC USER_SERVICE_2_4_0_RC_1_URL=http://127.0.0.1:$SVC \
  JWT_SECRET=bench ACCESS_LOG=off "$BIN/api_gateway" 2>/dev/null & pids+=($!)
# The same gateway on one tokio worker thread, the budget of nginx's `worker_processes 1`.
TOKIO_WORKER_THREADS=1 PORT=$GW1 USER_SERVICE_URL=http://127.0.0.1:$SVC \
  USER_SERVICE_2_4_0_RC_1_URL=http://127.0.0.1:$SVC JWT_SECRET=bench ACCESS_LOG=off \
  "$BIN/api_gateway" 2>/dev/null & pids+=($!)
sleep 1
# One row to read: created through the service, then read once so it is in the cache.
ID=$(curl -s -X POST -H 'content-type: application/json' -d '{"email":"a@example.com","name":"Ada"}' \
  "http://127.0.0.1:$SVC/api/v2/users" | sed -E 's/.*"id":"?([0-9A-Za-z-]+)"?.*/\1/')
PATH_READ=/api/v2/users/$ID/profile
curl -s "http://127.0.0.1:$SVC$PATH_READ" >"$OUT/body.json"
"$ROOT/target/release/examples/bare_axum" "$BARE" "$OUT/body.json" & pids+=($!)

cat >"$OUT/nginx.conf" <<NGINX
worker_processes 1;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream user_service { server 127.0.0.1:$SVC; keepalive 64; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://user_service;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$OUT/nginx.conf" -p "$OUT"
sleep 1

# The gateway's per_ip limit (100/min) would refuse a load test; the example allow-lists
# 198.51.100.0/24, so the load carries a forwarded address from it (nginx ignores it).
XFF="X-Forwarded-For: 198.51.100.7"
run() { # name url
  local res rps p99 non2xx
  res=$(wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "$XFF" "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$res")
  p99=$(awk '$1=="99%" {print $2}' <<<"$res")
  non2xx=$(awk '/Non-2xx/ {print $5}' <<<"$res")
  printf '| %-32s | %12s | %8s | %s |\n' "$1" "$rps" "$p99" "${non2xx:-0}"
}
echo "wrk -t1 -c$CONNS -d$DURATION, GET $PATH_READ, $(nproc) cores"
echo "| target | req/s | p99 | non-2xx |"
echo "|---|---|---|---|"
run "bare axum (same bytes)" "http://127.0.0.1:$BARE$PATH_READ"
run "generated service (cache hit)" "http://127.0.0.1:$SVC$PATH_READ"
run "nginx proxy_pass -> service" "http://127.0.0.1:$NGX$PATH_READ"
run "generated gateway -> service" "http://127.0.0.1:$GW$PATH_READ"
run "generated gateway, 1 thread -> service" "http://127.0.0.1:$GW1$PATH_READ"
