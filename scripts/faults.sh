#!/usr/bin/env bash
# Fault injection (issue #6), three cases, each printing PASS/FAIL lines:
#  1. PostgreSQL stopped and started again during an intake load run: /readyz says not
#     ready while it is down and ready again by itself; failures are 503
#     SERVICE_UNAVAILABLE ErrorResponse bodies (never hangs or dropped connections);
#     201s after recovery; invariants hold (counters = assignment rows, one owner, nothing
#     half-written).
#  2. `ldbds import` killed with SIGKILL part-way (SQLite and PostgreSQL), then re-run:
#     no lead twice, the earlier rows counted as duplicates, invariants hold.
#  3. SIGTERM while requests are in flight: they complete with 2xx, new connections are
#     refused, the server exits 0 within its shutdown timeout.
# PostgreSQL is a throwaway cluster (initdb/pg_ctl, free port, temp dir); the shared
# server on 5432 is never touched. Builds `ldbds` (debug; FAULTS_PROFILE=release). Needs
# curl, psql, python3 and PostgreSQL's server binaries. FAULTS_CASES="1 3" runs a subset.
# Exits non-zero when any check fails; about 1.5 minutes once built.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

PROFILE=${FAULTS_PROFILE:-debug}
LOOPS=${FAULTS_LOOPS:-6}                 # concurrent intake loops in case 1
OUTAGE=${FAULTS_OUTAGE_SECS:-5}          # how long PostgreSQL stays down
ROWS=${FAULTS_IMPORT_ROWS:-20000}        # CSV rows in case 2 (1 bad row in 1,000)
SHUTDOWN_TIMEOUT=${FAULTS_SHUTDOWN_TIMEOUT_SECS:-10}
CASES=${FAULTS_CASES:-1 2 3}             # which cases to run

case $PROFILE in
  debug) cargo build -q -p ldbds ;;
  release) cargo build -q --release -p ldbds ;;
  *) echo "FAULTS_PROFILE must be debug or release" >&2; exit 2 ;;
esac
BIN=$PWD/target/$PROFILE/ldbds
for tool in curl psql python3; do
  command -v "$tool" >/dev/null || { echo "faults.sh needs $tool" >&2; exit 2; }
done
initdb=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
[ -n "$initdb" ] && [ -x "$initdb" ] || { echo "faults.sh needs PostgreSQL's initdb/pg_ctl" >&2; exit 2; }
PG_BIN=$(dirname "$initdb")

work=$(mktemp -d /tmp/ldbds-faults.XXXXXX)
pgdir=$(mktemp -d /tmp/ldbds-faults-pg.XXXXXX)
server=""
bg_pids=()
failures=0

cleanup() {
  touch "$work/stop" 2>/dev/null || true
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ -n "$server" ]; then kill -9 "$server" 2>/dev/null || true; fi
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    $RUNAS "$PG_BIN/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work" "$pgdir"
}
RUNAS=""
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# check FLAG MESSAGE...: PASS when FLAG is 1, e.g. `check "$((a == b))" "..."`.
check() { local ok=$1; shift; if [ "$ok" = 1 ]; then pass "$@"; else fail "$@"; fi; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- the throwaway PostgreSQL cluster ------------------------------------------------
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: run the cluster as postgres (or nobody).
  pg_user=postgres
  id "$pg_user" >/dev/null 2>&1 || pg_user=nobody
  chown "$pg_user" "$pgdir"
  RUNAS="runuser -u $pg_user --"
fi
PG_PORT=$(free_port)
PG="postgres://postgres@127.0.0.1:$PG_PORT"
pg_start() {
  $RUNAS "$PG_BIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" \
    -o "-p $PG_PORT -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null
}
pg_stop() { $RUNAS "$PG_BIN/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null; }
$RUNAS "$PG_BIN/initdb" -D "$pgdir/data" -U postgres -A trust >/dev/null
pg_start
psql "$PG/postgres" -qc "CREATE DATABASE faults"
echo "PostgreSQL: throwaway cluster on 127.0.0.1:$PG_PORT"

# --- helpers -------------------------------------------------------------------------
# sql URL QUERY: one value (psql for PostgreSQL, python's sqlite3 for a SQLite file path).
sql() {
  case $1 in
    postgres://*) psql "$1" -Atqc "$2" ;;
    *) python3 - "$1" "$2" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=30)
row = con.execute(sys.argv[2]).fetchone()
print("" if row is None or row[0] is None else row[0])
PY
    ;;
  esac
}

# invariants URL LABEL: the storage invariants after a fault. Blind indexes are truncated
# to 22 bits by design (ADR 0003), so equal phone indexes alone do not prove a duplicate;
# every lead here has its own email too, and phone + email indexes (44 bits) do.
invariants() {
  local db=$1 label=$2 n
  local -a checks=(
    "order lines whose delivered differs from their assignment rows|SELECT COUNT(*) FROM order_lines l WHERE l.delivered <> (SELECT COUNT(*) FROM assignments a WHERE a.order_line_id = l.id)"
    "sum(order_lines.delivered) - delivery assignment rows|SELECT (SELECT COALESCE(SUM(delivered), 0) FROM order_lines) - (SELECT COUNT(*) FROM assignments WHERE order_line_id IS NOT NULL)"
    "orders whose delivered differs from the sum of their lines|SELECT COUNT(*) FROM orders o WHERE o.delivered <> (SELECT COALESCE(SUM(l.delivered), 0) FROM order_lines l WHERE l.order_id = o.id)"
    "over-delivered order lines|SELECT COUNT(*) FROM order_lines WHERE delivered > quantity"
    "leads with more than one open assignment|SELECT COUNT(*) FROM (SELECT lead_id FROM assignments WHERE ended_at IS NULL GROUP BY lead_id HAVING COUNT(*) > 1) x"
    "leads with an owner but no matching open assignment|SELECT COUNT(*) FROM leads l WHERE l.owner_user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.id = l.assignment_id AND a.lead_id = l.id AND a.ended_at IS NULL AND a.owner_user_id = l.owner_user_id)"
    "open assignments whose lead does not point back|SELECT COUNT(*) FROM assignments a LEFT JOIN leads l ON l.id = a.lead_id WHERE a.ended_at IS NULL AND (l.id IS NULL OR l.assignment_id IS NULL OR l.assignment_id <> a.id)"
    "leads whose status disagrees with their owner|SELECT COUNT(*) FROM leads WHERE (status = 'ASSIGNED') <> (owner_user_id IS NOT NULL)"
    "leads stored twice (same product, phone and email index)|SELECT COUNT(*) FROM (SELECT product_id, phone_bidx, email_bidx FROM leads GROUP BY product_id, phone_bidx, email_bidx HAVING COUNT(*) > 1) x"
  )
  local bad=0 entry
  for entry in "${checks[@]}"; do
    n=$(sql "$db" "${entry#*|}")
    if [ "$n" != 0 ]; then fail "$label invariant: ${entry%%|*} = $n"; bad=1; fi
  done
  [ $bad = 1 ] || pass "$label invariants (9 checks: line/order counters = assignment rows, one owner per lead, nothing half-written, no lead stored twice; $(sql "$db" "SELECT COUNT(*) FROM leads") leads, $(sql "$db" "SELECT COUNT(*) FROM assignments") assignments)"
}

server_env() { # DB_URL DATA_DIR PORT
  export LDBDS__DATABASE__URL=$1 LDBDS__DATA_DIR=$2 LDBDS__SERVER__BIND="127.0.0.1:$3"
  export LDBDS__RATE_LIMIT__PER_SECOND=1000000 LDBDS__RATE_LIMIT__BURST=1000000 LDBDS__LOG__LEVEL=warn
  export LDBDS__SERVER__SHUTDOWN_TIMEOUT_SECS=$SHUTDOWN_TIMEOUT LDBDS__SERVER__WORKERS=2
  URL="http://127.0.0.1:$3"
}

start_server() { # LOG
  "$BIN" serve >"$1" 2>&1 &
  server=$!
  local _
  for _ in $(seq 150); do
    curl -sf --max-time 2 "$URL/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$server" 2>/dev/null || break
    sleep 0.2
  done
  echo "the server did not become ready:" >&2
  tail -n 30 "$1" >&2
  return 1
}

api() { curl -sf --max-time 30 -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$@"; }

# intake ONE_LOG TAG N [EXTRA CURL ARGS...]: one intake request with a unique phone; appends
# "start end http_code curl_exit body_kind connected_at error_code" to ONE_LOG (body_kind:
# ok, ErrorResponse, raw; connected_at 0 when no connection was made).
intake() {
  local log=$1 tag=$2 n=$3
  shift 3
  local body="{\"name\":\"Nguyen Van A\",\"mobileNumber\":\"$(printf '03%02d%06d' "$tag" "$n")\",\"email\":\"a$tag.$n@example.vn\",\"regionCode\":\"79\",\"projectCode\":\"FAULTS\"}"
  local out="$work/body.$tag" t0 t1 code rc=0 kind connected
  t0=$(now)
  code=$(curl -sS -o "$out" -w '%{http_code} %{time_connect}' --max-time 30 -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    -H 'source: TCB' "$@" --data-binary "$body" "$URL/lead-platform/v1/leads/create" 2>/dev/null) || rc=$?
  t1=$(now)
  read -r code connected <<<"${code:-000 0}"
  connected=$(awk -v a="$t0" -v c="${connected:-0}" 'BEGIN { printf "%.6f", (c > 0 ? a + c : 0) }')
  if [ "${code:-000}" = 201 ]; then kind=ok
  elif grep -q '"error":{"code":"' "$out" 2>/dev/null && grep -q '"requestId"' "$out"; then kind=ErrorResponse
  else kind=raw; fi
  echo "$t0 $t1 ${code:-000} $rc $kind $connected $(grep -o '"code":"[A-Z_]*"' "$out" 2>/dev/null | head -n 1 | cut -d'"' -f4)" >>"$log"
}

load_loop() { # TAG LOG: intake requests until $work/stop exists
  local tag=$1 log=$2 n=0
  while [ ! -e "$work/stop" ]; do
    n=$((n + 1))
    intake "$log" "$tag" "$n"
  done
}

# ======================================================================================
want() { [[ " $CASES " == *" $1 "* ]]; }

# Demo data and open orders on PostgreSQL (used by every case).
server_env "$PG/faults" "$work/data-pg" "$(free_port)"
KEY=$("$BIN" seed --demo | awk '/for org mohom/ {print $NF}')
[ -n "$KEY" ] || { echo "seed --demo printed no partner key" >&2; exit 1; }
start_server "$work/server0.log"
apt=$(sql "$PG/faults" "SELECT id FROM products WHERE code = 'RE-HCM-APT'")
health=$(sql "$PG/faults" "SELECT id FROM products WHERE code = 'INS-HEALTH'")
for i in 1 2; do
  api "$URL/api/v1/users" -d "{\"mohomId\":\"f-$i\",\"name\":\"Buyer\",\"phone\":\"010-2100-000$i\",\"email\":\"f$i@x.kr\",\"role\":\"MEMBER\"}" >/dev/null
done
# Two lines on the intake's pool (one small, so it fills up), and INS-HEALTH lines for case 2.
api "$URL/api/v1/orders" -d "{\"mohomId\":\"f-1\",\"productId\":\"$apt\",\"regions\":[{\"region\":\"79\",\"quantity\":50}]}" >/dev/null
api "$URL/api/v1/orders" -d "{\"mohomId\":\"f-2\",\"productId\":\"$apt\",\"regions\":[{\"region\":\"79\",\"quantity\":100000}]}" >/dev/null
api "$URL/api/v1/orders" -d "{\"mohomId\":\"f-1\",\"productId\":\"$health\",\"regions\":[{\"region\":\"서울\",\"quantity\":300},{\"region\":\"부산\",\"quantity\":300}]}" >/dev/null
kill "$server"; wait "$server" || true; server=""
pg_key=$KEY

# ======================================================================================
if want 1; then
echo "=== case 1: PostgreSQL stopped for ${OUTAGE}s and started again during an intake load"
start_server "$work/server1.log"
: >"$work/load.log"
rm -f "$work/stop"
for t in $(seq 1 "$LOOPS"); do
  load_loop "$((10 + t))" "$work/load.log" &
  bg_pids+=($!)
done
sleep 3
t_stop=$(now)
pg_stop
t_down=$(now)
# While PostgreSQL is down, /readyz must answer, and answer "not ready".
ready_down=0 ready_up_while_down=0 ready_slowest=0
while awk -v a="$t_down" -v b="$(now)" -v o="$OUTAGE" 'BEGIN { exit !(b - a < o) }'; do
  r0=$(now)
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$URL/readyz" 2>/dev/null) || true
  r1=$(now)
  ready_slowest=$(awk -v s="$ready_slowest" -v d="$(elapsed "$r0" "$r1")" 'BEGIN { print (d > s ? d : s) }')
  if [ "$code" = 503 ]; then ready_down=$((ready_down + 1)); else ready_up_while_down=$((ready_up_while_down + 1)); fi
  sleep 0.3
done
t_start=$(now)
pg_start
t_ready=""
for _ in $(seq 300); do
  if curl -sf --max-time 10 "$URL/readyz" >/dev/null 2>&1; then t_ready=$(now); break; fi
  sleep 0.1
done
sleep 4
touch "$work/stop"
for pid in "${bg_pids[@]}"; do wait "$pid" || true; done
bg_pids=()

check "$((ready_down > 0 && ready_up_while_down == 0))" \
  "case 1: /readyz while PostgreSQL was down: $ready_down x 503, $ready_up_while_down x other (slowest answer ${ready_slowest}s)"
if [ -n "$t_ready" ]; then
  pass "case 1: ready again by itself $(elapsed "$t_start" "$t_ready")s after PostgreSQL started (outage $(elapsed "$t_stop" "$t_start")s, server not restarted)"
else
  fail "case 1: /readyz did not become ready within 30s after PostgreSQL started"
  t_ready=$(now)
fi
read -r total ok_before in_outage failed_outage failed_bad after_recovery ok_after hangs other_fail codes < <(
  awk -v stop="$t_stop" -v start="$t_start" -v ready="$t_ready" '
    { total++
      s = $1; e = $2; code = $3; rc = $4; kind = $5; err = $7
      if (e < stop && code == 201) ok_before++
      outage = (s < ready && e > stop)
      if (outage) in_outage++
      if (code != 201) {
        if (outage) { failed_outage++; codes[code "/" err]++ } else other_fail++
        if (code != 503 || kind != "ErrorResponse" || err != "SERVICE_UNAVAILABLE") failed_bad++
        if (rc != 0) hangs++
      }
      if (s > ready) { after++; if (code == 201) ok_after++ }
    }
    END {
      list = ""
      for (c in codes) list = list (list == "" ? "" : ",") c "x" codes[c]
      printf "%d %d %d %d %d %d %d %d %d %s\n", total, ok_before, in_outage, failed_outage, failed_bad, after, ok_after, hangs, other_fail, (list == "" ? "-" : list)
    }' "$work/load.log")
echo "    $total intake requests by $LOOPS loops: $ok_before x 201 before the stop; $in_outage overlapping the outage, $failed_outage of them failed ($codes); $after_recovery started after recovery, $ok_after x 201"
check "$((hangs == 0))" "case 1: no request hung or lost its connection (curl errors/timeouts: $hangs)"
check "$((failed_bad == 0))" "case 1: every failed request was a 503 SERVICE_UNAVAILABLE ErrorResponse (others: $failed_bad)"
if [ "$failed_bad" -gt 0 ]; then grep -m 3 -A 3 'internal error' "$work/server1.log" | sed 's/^/    server: /' || true; fi
check "$((other_fail == 0))" "case 1: no failures outside the outage ($other_fail)"
check "$((after_recovery > 0 && ok_after == after_recovery))" "case 1: 201s after recovery ($ok_after of $after_recovery)"
leads=$(sql "$PG/faults" "SELECT COUNT(*) FROM leads WHERE product_id = '$apt'")
created=$(awk '$3 == 201' "$work/load.log" | wc -l)
check "$((leads >= created && leads <= created + failed_outage))" \
  "case 1: leads stored ($leads) between the 201s ($created) and the 201s plus the outage's failures (commits whose answer was lost)"
invariants "$PG/faults" "case 1"
kill "$server"; wait "$server" || true; server=""
fi

# ======================================================================================
if want 2; then
echo "=== case 2: ldbds import killed with SIGKILL part-way, then run again"
python3 scripts/gen-leads-csv.py "$work/leads.csv" "$ROWS"
valid=$((ROWS - ROWS / 1000))

import_case() { # LABEL DB_URL_FOR_SQL (server_env already exported for the database)
  local label=$1 db=$2 count=0 pid t0 before summary imported duplicates rejected final
  local health_id
  health_id=$(sql "$db" "SELECT id FROM products WHERE code = 'INS-HEALTH'")
  local count_q="SELECT COUNT(*) FROM leads WHERE product_id = '$health_id'"
  "$BIN" import "$work/leads.csv" --source TCB --product INS-HEALTH --errors "$work/errors-$label.csv" \
    >"$work/import1-$label.log" 2>&1 &
  pid=$!
  bg_pids+=("$pid")
  t0=$(now)
  # Kill once a few batches are in, well before the end.
  while kill -0 "$pid" 2>/dev/null; do
    count=$(sql "$db" "$count_q" 2>/dev/null || echo 0)
    [ "${count:-0}" -ge $((valid / 5)) ] && break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  bg_pids=()
  before=$(sql "$db" "$count_q")
  if [ "$before" -gt 0 ] && [ "$before" -lt "$valid" ]; then
    pass "case 2 $label: import killed with SIGKILL after $(elapsed "$t0" "$(now)")s with $before of $valid leads in"
  else
    fail "case 2 $label: could not kill the import part-way ($before of $valid leads in when killed)"
  fi
  summary=$("$BIN" import "$work/leads.csv" --source TCB --product INS-HEALTH --errors "$work/errors-$label.csv" 2>/dev/null) \
    || fail "case 2 $label: the second import failed"
  imported=$(awk '/imported:/ {print $2}' <<<"$summary")
  duplicates=$(awk '/duplicates:/ {print $2}' <<<"$summary")
  rejected=$(awk '/rejected:/ {print $2}' <<<"$summary")
  final=$(sql "$db" "$count_q")
  echo "    second run: $(head -n 1 <<<"$summary"); imported $imported, duplicates $duplicates, rejected $rejected"
  check "$((final == valid))" "case 2 $label: $final leads after the second run = $valid distinct valid rows"
  check "$((duplicates == before && imported == valid - before))" \
    "case 2 $label: the second run counted the $before earlier rows as duplicates ($duplicates) and imported the rest ($imported)"
  check "$((rejected == ROWS - valid))" "case 2 $label: bad rows rejected ($rejected)"
  local distinct
  distinct=$(sql "$db" "SELECT COUNT(*) FROM (SELECT DISTINCT phone_bidx, email_bidx FROM leads WHERE product_id = '$health_id') x")
  check "$((distinct == final))" "case 2 $label: one lead per row ($distinct distinct phone+email indexes)"
  invariants "$db" "case 2 $label"
}

server_env "" "$work/data-sqlite" "$(free_port)"
KEY=$("$BIN" seed --demo | awk '/for org mohom/ {print $NF}')
# Open INS-HEALTH lines on SQLite too, so the import delivers some leads.
start_server "$work/server2.log"
health=$(sql "$work/data-sqlite/ldbds.db" "SELECT id FROM products WHERE code = 'INS-HEALTH'")
api "$URL/api/v1/users" -d '{"mohomId":"f-1","name":"Buyer","phone":"010-2100-0001","email":"f1@x.kr","role":"MEMBER"}' >/dev/null
api "$URL/api/v1/orders" -d "{\"mohomId\":\"f-1\",\"productId\":\"$health\",\"regions\":[{\"region\":\"서울\",\"quantity\":300},{\"region\":\"부산\",\"quantity\":300}]}" >/dev/null
kill "$server"; wait "$server" || true; server=""
import_case SQLite "$work/data-sqlite/ldbds.db"
server_env "$PG/faults" "$work/data-pg" "$(free_port)"
import_case PostgreSQL "$PG/faults"
fi

# ======================================================================================
if want 3; then
echo "=== case 3: SIGTERM with requests in flight"
KEY=$pg_key
server_env "$PG/faults" "$work/data-pg" "$(free_port)"
start_server "$work/server3.log"
: >"$work/term.log"
: >"$work/term-slow.log"
# Hold the intake pool's lock for 4 s, so the burst below is surely inside its handlers
# (waiting on the database) when SIGTERM arrives 1.5 s in.
psql "$PG/faults" -Atq -c "BEGIN" \
  -c "SELECT picks FROM allocation_pools WHERE product_id = '$apt' AND region = '79' FOR UPDATE" \
  -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null &
bg_pids+=($!)
sleep 0.5
for t in $(seq 1 12); do
  intake "$work/term.log" "$((50 + t))" 1 &
  bg_pids+=($!)
done
# And slow uploads (about 3 s each): in flight while their request is still arriving.
pad=$(printf '%*s' 3000 '')
for t in $(seq 1 6); do
  (
    body="{\"name\":\"Nguyen Van B\",$pad\"mobileNumber\":\"$(printf '07%02d%06d' "$t" 1)\",\"email\":\"b$t@example.vn\",\"regionCode\":\"79\",\"projectCode\":\"FAULTS\"}"
    t0=$(now)
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 --limit-rate 1000 -H "X-API-Key: $KEY" \
      -H 'Content-Type: application/json' -H 'source: TCB' --data-binary "$body" \
      "$URL/lead-platform/v1/leads/create" 2>/dev/null) || true
    echo "$t0 $(now) ${code:-000}" >>"$work/term-slow.log"
  ) &
  bg_pids+=($!)
done
sleep 1
t_term=$(now)
kill -TERM "$server"
sleep 0.3
refused_rc=0
curl -s -o /dev/null --max-time 3 "$URL/healthz" 2>/dev/null || refused_rc=$?
for pid in "${bg_pids[@]}"; do wait "$pid" || true; done
bg_pids=()
server_rc=0
wait "$server" || server_rc=$?
t_exit=$(now)
server=""
slow_ok=$(awk '$3 == 201' "$work/term-slow.log" | wc -l)
slow_after=$(awk -v t="$t_term" '$2 > t' "$work/term-slow.log" | wc -l)
read -r burst_in burst_in_ok burst_after < <(awk -v t="$t_term" '
  $6 > 0 && $6 < t { n++; if ($3 ~ /^2/) ok++; if ($2 > t) after++ }
  END { printf "%d %d %d\n", n, ok, after }' "$work/term.log")
check "$((burst_in == 12 && burst_in_ok == 12 && burst_after == 12))" \
  "case 3: 12 intakes waiting on the database at SIGTERM: $burst_in connected before it, $burst_in_ok x 2xx, $burst_after answered after it"
if [ "$burst_in_ok" != 12 ]; then
  awk -v t="$t_term" '$3 !~ /^2/ { printf "    failed: started %+.3fs, connected %+.3fs, ended %+.3fs after SIGTERM: http %s, curl exit %s %s\n", $1 - t, ($6 > 0 ? $6 - t : 0), $2 - t, $3, $4, $7 }' "$work/term.log"
  tail -n 5 "$work/server3.log" | sed 's/^/    server: /'
fi
check "$((slow_after == 6 && slow_ok == 6))" \
  "case 3: 6 slow uploads still arriving at SIGTERM: $slow_ok x 201, $slow_after answered after it"
check "$((refused_rc == 7))" "case 3: a new connection after SIGTERM was refused (curl exit $refused_rc, 7 = refused)"
shutdown_secs=$(elapsed "$t_term" "$t_exit")
check "$((server_rc == 0))" "case 3: the server exited with status $server_rc"
check "$(awk -v s="$shutdown_secs" -v m="$SHUTDOWN_TIMEOUT" 'BEGIN { print (s < m) ? 1 : 0 }')" \
  "case 3: the server exited ${shutdown_secs}s after SIGTERM (shutdown timeout ${SHUTDOWN_TIMEOUT}s)"
invariants "$PG/faults" "case 3"
fi

echo "==="
if [ "$failures" -gt 0 ]; then
  echo "faults.sh: $failures check(s) FAILED"
  exit 1
fi
echo "faults.sh: all checks passed"
