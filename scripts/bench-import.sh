#!/usr/bin/env bash
# `ldbds import` throughput: a generated CSV of ROWS leads (default 100,000; unique
# phones, 17 Korean regions, 1 bad row in 1,000) imported into INS-HEALTH, on SQLite and
# on PostgreSQL (127.0.0.1:5432, skipped when it does not answer), then the same file
# again (every row a duplicate). Release build. Prints the importer's summary lines.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
cargo build -q --release -p ldbds
BIN=$PWD/target/release/ldbds
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 scripts/gen-leads-csv.py "$work/leads.csv" "$ROWS"
export LDBDS__LOG__LEVEL=error
one() {
  echo "--- $1: $ROWS rows"
  "$BIN" seed --demo >/dev/null
  "$BIN" import "$work/leads.csv" --source TCB --product INS-HEALTH 2>/dev/null
  echo "--- $1: the same file again"
  "$BIN" import "$work/leads.csv" --source TCB --product INS-HEALTH 2>/dev/null
}
LDBDS__DATA_DIR="$work/sqlite" one SQLite
if psql "$PG/postgres" -Atqc 'select 1' >/dev/null 2>&1; then
  db=ldbds_bench_import
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  LDBDS__DATA_DIR="$work/pg" LDBDS__DATABASE__URL="$PG/$db" one PostgreSQL
  psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"
else
  echo "PostgreSQL does not answer at $PG: SQLite only" >&2
fi
