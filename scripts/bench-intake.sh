#!/usr/bin/env bash
# Intake throughput on PostgreSQL with 8 keep-alive connections (wrk), against 1 open
# order line and against 100 open lines of the same product and region. Needs psql, wrk
# (Debian package) and PostgreSQL on 127.0.0.1:5432. Prints requests/s and latency.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18282}
DURATION=${DURATION:-20s}
cargo build -q --release -p ldbds
BIN=target/release/ldbds
run() {
  local lines=$1 db=ldbds_bench_intake
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  export LDBDS__DATABASE__URL="$PG/$db" LDBDS__DATA_DIR=$(mktemp -d) LDBDS__SERVER__BIND="127.0.0.1:$PORT"
  export LDBDS__RATE_LIMIT__PER_SECOND=1000000 LDBDS__RATE_LIMIT__BURST=1000000 LDBDS__LOG__LEVEL=error
  export KEY=$($BIN seed --demo | awk '/for org mohom/ {print $NF}')
  $BIN serve >/dev/null 2>&1 &
  local server=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  api() { curl -sf -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$@"; }
  local product
  product=$(psql "$PG/$db" -Atc "SELECT id FROM products WHERE code = 'RE-HCM-APT'")
  for i in $(seq 1 "$lines"); do
    api "http://127.0.0.1:$PORT/api/v1/users" -d "{\"mohomId\":\"b-$i\",\"name\":\"Buyer\",\"phone\":\"010-2000-$(printf %04d "$i")\",\"email\":\"b$i@x.kr\",\"role\":\"MEMBER\"}" >/dev/null
    api "http://127.0.0.1:$PORT/api/v1/orders" -d "{\"mohomId\":\"b-$i\",\"productId\":\"$product\",\"regions\":[{\"region\":\"79\",\"quantity\":$(( lines == 1 ? 100000 : 1000000 / lines ))}]}" >/dev/null
  done
  echo "--- $lines open line(s), 8 connections, $DURATION"
  wrk -t2 -c8 -d"$DURATION" --latency -s bench/intake.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx|requests in"
  echo "delivered: $(psql "$PG/$db" -Atc "SELECT COALESCE(SUM(delivered),0) FROM orders"), leads: $(psql "$PG/$db" -Atc "SELECT COUNT(*) FROM leads"), over-delivered lines: $(psql "$PG/$db" -Atc "SELECT COUNT(*) FROM order_lines WHERE delivered > quantity")"
  kill $server 2>/dev/null || true; wait $server 2>/dev/null || true
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
}
run 1
run 100
