#!/usr/bin/env bash
# Query plans and latency of the two lead lists on PostgreSQL with ~1,000,000 leads.
#
# Builds the server (release), creates a fresh database `ldbds_explain`, registers real
# leads for one leader through the API (2,000, of which 1,000 distributed to a member and
# 300 used), bulk-inserts 1,000,000 more leads for 5,000 other owners with SQL, runs
# EXPLAIN (ANALYZE, BUFFERS) on the owned-list and distributed-away queries, and times
# 200 requests of each list over HTTP. Needs psql and PostgreSQL on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DB=ldbds_explain
PORT=${PORT:-18181}
EXTRA=${EXTRA:-1000000}
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export LDBDS__DATABASE__URL="$PG/$DB" LDBDS__DATA_DIR=$(mktemp -d) LDBDS__SERVER__BIND="127.0.0.1:$PORT"
export LDBDS__RATE_LIMIT__PER_SECOND=100000 LDBDS__RATE_LIMIT__BURST=100000 LDBDS__LOG__LEVEL=warn
export LDBDS__RATE_LIMIT__REVEAL__PER_SECOND=100000 LDBDS__RATE_LIMIT__REVEAL__BURST=100000
cargo build -q --release -p ldbds
BIN=target/release/ldbds
KEY=$($BIN seed --demo | awk '/for org mohom/ {print $NF}')
$BIN serve >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
api() { curl -sf -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$@"; }
api "http://127.0.0.1:$PORT/api/v1/users" -d '{"mohomId":"leader","name":"팀장","phone":"010-1000-0000","email":"l@mohom.kr","role":"LEADER"}' >/dev/null
api "http://127.0.0.1:$PORT/api/v1/users" -d '{"mohomId":"m-1","name":"설계사","phone":"010-1000-0001","email":"m@mohom.kr","role":"MEMBER"}' >/dev/null
PRODUCT=$(api "http://127.0.0.1:$PORT/api/v1/products?sortBy=name&sortOrder=asc" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
ids=()
for i in $(seq 0 1999); do
  id=$(api "http://127.0.0.1:$PORT/api/v1/leads" -d "{\"mohomId\":\"leader\",\"productId\":\"$PRODUCT\",\"name\":\"홍길동\",\"phone\":\"010-3$(printf %03d $((i/100)))-$(printf %04d $i)\",\"region\":\"서울\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  ids+=("$id")
done
for i in $(seq 0 299); do api -X POST "http://127.0.0.1:$PORT/api/v1/leads/${ids[$i]}/use" -d '{"mohomId":"leader"}' >/dev/null; done
for start in 1000 1500; do
  list=$(printf '"%s",' "${ids[@]:$start:500}")
  api "http://127.0.0.1:$PORT/api/v1/leads/distribute" -d "{\"mohomId\":\"leader\",\"toMohomId\":\"m-1\",\"leadIds\":[${list%,}]}" >/dev/null
done
LEADER=$(psql "$PG/$DB" -Atc "SELECT id FROM users WHERE mohom_id = 'leader'")
echo "bulk-inserting $EXTRA leads for 5,000 other owners..."
psql "$PG/$DB" -q <<SQL
INSERT INTO leads (id, product_id, provider_org_id, region, status, name_enc, phone_enc, name_bidx, phone_bidx,
  phone_last4_bidx, enc_key_id, owner_user_id, owner_org_id, assignment_id, assignment_source, distributor_user_id,
  assigned_at, used_at, last_distributed_at, latest_as_status, created_at, updated_at)
SELECT gen_random_uuid()::text, '$PRODUCT', provider_org_id, '서울', 'ASSIGNED', '\\x00', '\\x00',
  substr(md5(g::text), 1, 6), substr(md5((g * 7)::text), 1, 6), substr(md5((g * 13)::text), 1, 4), 1,
  'owner-' || (g % 5000), provider_org_id, gen_random_uuid()::text, CASE WHEN g % 10 = 0 THEN 'DISTRIBUTED' ELSE 'ORDER' END,
  CASE WHEN g % 10 = 0 THEN 'owner-' || ((g + 1) % 5000) END,
  1700000000000 + g * 1000, CASE WHEN g % 3 = 0 THEN 1700000000000 + g * 1500 END,
  CASE WHEN g % 10 = 0 THEN 1700000000000 + g * 1000 END, CASE WHEN g % 17 = 0 THEN 'REQUESTED' END,
  1700000000000 + g * 1000, 1700000000000 + g * 1000
FROM generate_series(1, $EXTRA) g, (SELECT provider_org_id FROM leads LIMIT 1) p;
ANALYZE leads;
SQL
echo "leads: $(psql "$PG/$DB" -Atc 'SELECT count(*) FROM leads')"
explain() { echo "--- $1"; psql "$PG/$DB" -Atc "EXPLAIN (ANALYZE, BUFFERS) $2"; }
explain "owned list, sortBy=assignedAt desc (page 1)" "SELECT * FROM leads WHERE owner_user_id = '$LEADER' ORDER BY assigned_at DESC, id DESC LIMIT 20"
explain "owned list total" "SELECT COUNT(*) FROM leads WHERE owner_user_id = '$LEADER'"
explain "owned list, used=Y, sortBy=usedAt desc" "SELECT * FROM leads WHERE owner_user_id = '$LEADER' AND used_at IS NOT NULL ORDER BY used_at DESC NULLS LAST, id DESC LIMIT 20"
explain "owned list, hasAs=Y, sortBy=usedAt" "SELECT * FROM leads WHERE owner_user_id = '$LEADER' AND latest_as_status IS NOT NULL AND latest_as_status <> 'CANCELLED' ORDER BY used_at DESC NULLS LAST, id DESC LIMIT 20"
explain "distributed-away, sortBy=distributedAt desc" "SELECT * FROM leads WHERE distributor_user_id = '$LEADER' AND owner_user_id <> '$LEADER' ORDER BY last_distributed_at DESC, id DESC LIMIT 20"
explain "distributed-away total" "SELECT COUNT(*) FROM leads WHERE distributor_user_id = '$LEADER' AND owner_user_id <> '$LEADER'"
timeit() {
  for _ in $(seq 200); do curl -s -o /dev/null -w '%{time_total}\n' -H "X-API-Key: $KEY" "$1"; done | sort -n |
    awk '{a[NR]=$1} END {printf "p50 %.2f ms, p95 %.2f ms, max %.2f ms over %d requests\n", a[int(NR*0.5)]*1000, a[int(NR*0.95)]*1000, a[NR]*1000, NR}'
}
echo "--- latency over HTTP (keep-alive off, 20 leads per page, PII decrypted and masked)"
echo "GET /api/v1/leads: $(timeit "http://127.0.0.1:$PORT/api/v1/leads?mohomId=leader")"
echo "GET /api/v1/leads?used=Y&sortBy=usedAt: $(timeit "http://127.0.0.1:$PORT/api/v1/leads?mohomId=leader&used=Y&sortBy=usedAt")"
echo "GET /api/v1/leads/distributed-away: $(timeit "http://127.0.0.1:$PORT/api/v1/leads/distributed-away?mohomId=leader")"
psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
