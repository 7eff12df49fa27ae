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
#   scripts/bench-http.sh            # DURATION=10s CONNS=64 ROUNDS=7 override
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
SVC_PID=$!
PORT=$GW USER_SERVICE_URL=http://127.0.0.1:$SVC USER_SERVICE_2_4_0_RC_1_URL=http://127.0.0.1:$SVC \
  JWT_SECRET=bench ACCESS_LOG=off "$BIN/api_gateway" 2>/dev/null & pids+=($!)
GW_PID=$!
# The same gateway on one tokio worker thread, the budget of nginx's `worker_processes 1`.
TOKIO_WORKER_THREADS=1 PORT=$GW1 USER_SERVICE_URL=http://127.0.0.1:$SVC \
  USER_SERVICE_2_4_0_RC_1_URL=http://127.0.0.1:$SVC JWT_SECRET=bench ACCESS_LOG=off \
  "$BIN/api_gateway" 2>/dev/null & pids+=($!)
GW1_PID=$!
sleep 1
# One row to read: created through the service, then read once so it is in the cache.
ID=$(curl -s -X POST -H 'content-type: application/json' -d '{"email":"a@example.com","name":"Ada"}' \
  "http://127.0.0.1:$SVC/api/v2/users" | sed -E 's/.*"id":"?([0-9A-Za-z-]+)"?.*/\1/')
PATH_READ=/api/v2/users/$ID/profile
curl -s "http://127.0.0.1:$SVC$PATH_READ" >"$OUT/body.json"
"$ROOT/target/release/examples/bare_axum" "$BARE" "$OUT/body.json" & pids+=($!)
BARE_PID=$!

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
NGX_PID=$(pgrep -P "$(cat "$OUT/nginx.pid")" nginx | head -1)

# The gateway's per_ip limit (100/min) would refuse a load test; the example allow-lists
# 198.51.100.0/24, so the load carries a forwarded address from it (nginx ignores it).
XFF="X-Forwarded-For: 198.51.100.7"
# CPU time a process has used so far, in clock ticks (user + system, /proc/PID/stat).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
# One wrk run against a URL served by process PID:
# "<req/s> <p99 in ms> <non-2xx> <CPU µs of PID per request>".
measure() { # url pid
  local before after
  before=$(ticks "$2")
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency -H "$XFF" "$1" >"$OUT/wrk.txt"
  after=$(ticks "$2")
  awk -v cpu=$((after - before)) -v tick="$TICK" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /requests in/ { n = $1 }
    /Requests\/sec/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $5 }
    END { printf "%s %.3f %d %.2f\n", rps, p99, bad, (n > 0 ? cpu / tick * 1e6 / n : 0) }' "$OUT/wrk.txt"
}
NAMES=("bare axum (same bytes)" "generated service (cache hit)" "nginx proxy_pass -> service"
  "generated gateway -> service" "generated gateway, 1 thread -> service")
PIDS=("$BARE_PID" "$SVC_PID" "$NGX_PID" "$GW_PID" "$GW1_PID")
URLS=("http://127.0.0.1:$BARE$PATH_READ" "http://127.0.0.1:$SVC$PATH_READ"
  "http://127.0.0.1:$NGX$PATH_READ" "http://127.0.0.1:$GW$PATH_READ"
  "http://127.0.0.1:$GW1$PATH_READ")
# The machine's speed drifts between runs (20-40% on shared hosts), so every round runs each
# target once, starting one target further along than the last round, and the verdicts are
# medians over rounds of the ratios taken within a round, where the drift mostly cancels.
ROUNDS=${ROUNDS:-5}
n=${#NAMES[@]}
RAW=$OUT/rounds.txt
: >"$RAW"
for ((r = 0; r < ROUNDS; r++)); do
  for ((k = 0; k < n; k++)); do
    t=$(((r + k) % n))
    echo "$r $t $(measure "${URLS[$t]}" "${PIDS[$t]}")" >>"$RAW"
  done
done

echo "wrk -t1 -c$CONNS -d$DURATION, GET $PATH_READ, $(nproc) cores, $ROUNDS interleaved rounds"
echo "(medians over rounds; the raw figures are in target/bench-http/rounds.txt; server CPU is"
echo " the answering process's own: for the proxies, not the service behind them, the same for both)"
echo "| target | req/s | p99 (ms) | non-2xx | server CPU µs/request | req/s per round |"
echo "|---|---|---|---|---|---|"
median() { sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for ((t = 0; t < n; t++)); do
  rps=$(awk -v t=$t '$2 == t {print $3}' "$RAW" | median)
  p99=$(awk -v t=$t '$2 == t {print $4}' "$RAW" | median)
  bad=$(awk -v t=$t '$2 == t {s += $5} END {print s + 0}' "$RAW")
  cpu=$(awk -v t=$t '$2 == t {print $6}' "$RAW" | median)
  each=$(awk -v t=$t '$2 == t {printf "%s%.0f", (c++ ? " " : ""), $3}' "$RAW")
  printf '| %-38s | %9.0f | %6.3f | %d | %6.2f | %s |\n' "${NAMES[$t]}" "$rps" "$p99" "$bad" "$cpu" "$each"
done
# Median over rounds of the ratio of column $3 (3 req/s, 4 p99, 6 CPU per request) of
# target $1 to that of target $2 in the same round, in percent.
per_round() {
  awk -v a="$1" -v b="$2" -v c="$3" '$2 == a {x[$1] = $c} $2 == b {y[$1] = $c}
    END {for (r in x) if (y[r] > 0) print 100 * x[r] / y[r]}' "$RAW" | median
}
ratio() {
  printf '%.1f%% of the req/s, p99 %.1f%% of its p99, CPU per request %.1f%% of its' \
    "$(per_round "$1" "$2" 3)" "$(per_round "$1" "$2" 4)" "$(per_round "$1" "$2" 6)"
}
echo
echo "service / bare axum:           $(ratio 1 0)   (target: >= 85% of the req/s)"
echo "gateway / nginx:               $(ratio 3 2)   (target: >= 100%, p99 <= 100%)"
echo "gateway, 1 thread / nginx:     $(ratio 4 2)"
