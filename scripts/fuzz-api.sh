#!/usr/bin/env bash
# Contract fuzzing (issue 6): runs Schemathesis with every check against a fresh server
# (embedded SQLite in a temp data dir, demo data, rate limit raised), authenticated with
# the demo partner's API key (org mohom, source TCB) or, with FUZZ_KEY=operator, the
# demo operator's. Exit 0 when Schemathesis reports no failure, 1 when it does (or the
# server did not start), 3 when Schemathesis cannot be installed (not checked).
#
#   scripts/fuzz-api.sh                                   full run (500 cases per operation and phase, ~3 min)
#   FUZZ_PROFILE=debug FUZZ_MAX_EXAMPLES=10 FUZZ_MAX_TIME=180 scripts/fuzz-api.sh   bounded (CI, ~3 min)
#
# Schemathesis settings (the users member-scoped calls act for, the source header, the
# rules a schema cannot state) are in scripts/fuzz-api.toml.
#
# Environment:
#   FUZZ_PROFILE=release|debug   which build of ldbds to run (default release)
#   FUZZ_MAX_EXAMPLES=N          test cases per operation and phase (default 500)
#   FUZZ_MAX_TIME=SECONDS        time budget of the whole Schemathesis run (default none)
#   FUZZ_SEED=N                  Schemathesis seed, to reproduce a run (default random)
#   FUZZ_PHASES=a,b              phases (default all: examples,coverage,fuzzing,stateful)
#   FUZZ_WORKERS=N               concurrent Schemathesis workers (default 1: with more, Python 3.11's
#                                ast module fails in Hypothesis now and then)
#   FUZZ_KEY=partner|operator    whose API key (default partner)
#   FUZZ_PORT=N                  port of the server (default a free one)
#   FUZZ_REPORT_DIR=DIR          JUnit report and server log (default target/fuzz-report)
#   FUZZ_ARGS='...'              more arguments for `st run` (e.g. --include-path-regex users)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
PROFILE=${FUZZ_PROFILE:-release}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-500}
WORKERS=${FUZZ_WORKERS:-1}
KEY_KIND=${FUZZ_KEY:-partner}
REPORT_DIR=${FUZZ_REPORT_DIR:-target/fuzz-report}
venv=target/fuzz-venv

case "$PROFILE" in
  release) cargo build -q --release -p ldbds ;;
  debug) cargo build -q -p ldbds ;;
  *) echo "fuzz-api: FUZZ_PROFILE must be release or debug" >&2; exit 2 ;;
esac
BIN=target/$PROFILE/ldbds

if ! command -v python3 >/dev/null 2>&1; then
  echo "fuzz-api: python3 not found; not checked" >&2
  exit 3
fi
if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $SCHEMATHESIS_VERSION" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null && "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >/dev/null || {
    echo "fuzz-api: could not install schemathesis $SCHEMATHESIS_VERSION; not checked" >&2
    exit 3
  }
fi

PORT=${FUZZ_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE="http://127.0.0.1:$PORT"
data_dir=$(mktemp -d)
mkdir -p "$REPORT_DIR"
REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
server=
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$data_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

unset LDBDS__DATABASE__URL LDBDS_CONFIG_FILE
export LDBDS_ENV=dev LDBDS__DATA_DIR="$data_dir" LDBDS__SERVER__BIND="127.0.0.1:$PORT"
export LDBDS__RATE_LIMIT__PER_SECOND=1000000 LDBDS__RATE_LIMIT__BURST=1000000 LDBDS__LOG__LEVEL=warn LDBDS__SERVER__WORKERS=2
# The per-action and per-address buckets too: the fuzzer searches, reveals and fails auth at full speed.
export LDBDS__RATE_LIMIT__SEARCH__PER_SECOND=1000000 LDBDS__RATE_LIMIT__SEARCH__BURST=1000000
export LDBDS__RATE_LIMIT__REVEAL__PER_SECOND=1000000 LDBDS__RATE_LIMIT__REVEAL__BURST=1000000
export LDBDS__RATE_LIMIT__AUTH_FAILURE__PER_SECOND=1000000 LDBDS__RATE_LIMIT__AUTH_FAILURE__BURST=1000000
export LDBDS__RATE_LIMIT__SSO__PER_SECOND=1000000 LDBDS__RATE_LIMIT__SSO__BURST=1000000
seed_out=$("$BIN" seed --demo)
case "$KEY_KIND" in
  partner) KEY=$(awk '/for org mohom / {print $NF}' <<<"$seed_out") roles=(LEADER MEMBER) ;;
  operator) KEY=$(awk '/for org ldbds-operator / {print $NF}' <<<"$seed_out") roles=(ADMIN CS_MANAGER) ;;
  *) echo "fuzz-api: FUZZ_KEY must be partner or operator" >&2; exit 2 ;;
esac
[ -n "$KEY" ] || { echo "fuzz-api: no $KEY_KIND key in the output of ldbds seed --demo:" >&2; echo "$seed_out" >&2; exit 1; }

"$BIN" serve >"$REPORT_DIR/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -sf "$BASE/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$BASE/readyz" >/dev/null || { echo "fuzz-api: the server did not start:" >&2; tail -20 "$REPORT_DIR/server.log" >&2; exit 1; }
# The users scripts/fuzz-api.toml makes member-scoped calls act for.
for user in "fuzz-leader:${roles[0]}:1001" "fuzz-member:${roles[1]}:1002"; do
  IFS=: read -r mohom role digits <<<"$user"
  curl -sf -o /dev/null -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$BASE/api/v1/users" \
    -d "{\"mohomId\":\"$mohom\",\"name\":\"Fuzz $role\",\"phone\":\"010-9999-$digits\",\"email\":\"$mohom@example.com\",\"role\":\"$role\"}" \
    || { echo "fuzz-api: could not create the user $mohom" >&2; exit 1; }
done
# A lead each, so the lists have rows and the users cannot be deleted (409 USER_OWNS_LEADS).
product=$(curl -sf -H "X-API-Key: $KEY" "$BASE/api/v1/products?limit=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["data"][0]["id"])')
for user in fuzz-leader:3001 fuzz-member:3002; do
  IFS=: read -r mohom digits <<<"$user"
  curl -sf -o /dev/null -H "X-API-Key: $KEY" -H 'Content-Type: application/json' "$BASE/api/v1/leads" \
    -d "{\"mohomId\":\"$mohom\",\"productId\":\"$product\",\"name\":\"Lead $mohom\",\"phone\":\"010-8888-$digits\",\"region\":\"서울\"}" \
    || { echo "fuzz-api: could not register a lead for $mohom" >&2; exit 1; }
done

root=$(pwd)
args=(--config-file "$root/scripts/fuzz-api.toml" run "$BASE/api-docs/openapi.json" --checks all -H "X-API-Key: $KEY" --max-examples "$MAX_EXAMPLES"
  --workers "$WORKERS" --no-color --report junit --report-junit-path "$REPORT_DIR/junit.xml"
  --generation-database none --request-timeout 30 --request-retries 2)
[ -n "${FUZZ_MAX_TIME:-}" ] && args+=(--max-time "$FUZZ_MAX_TIME")
[ -n "${FUZZ_SEED:-}" ] && args+=(--seed "$FUZZ_SEED")
[ -n "${FUZZ_PHASES:-}" ] && args+=(--phases "$FUZZ_PHASES")
# shellcheck disable=SC2206 # FUZZ_ARGS is split on purpose
[ -n "${FUZZ_ARGS:-}" ] && args+=(${FUZZ_ARGS})

echo "fuzz-api: schemathesis $SCHEMATHESIS_VERSION against $BASE ($PROFILE build, $KEY_KIND key, max examples $MAX_EXAMPLES${FUZZ_MAX_TIME:+, max time ${FUZZ_MAX_TIME}s})"
status=0
# From the report directory: Schemathesis keeps its cache (.schemathesis/) in the working directory.
(cd "$REPORT_DIR" && "$root/$venv/bin/st" "${args[@]}") || status=$?
if grep -qE "internal error|panicked" "$REPORT_DIR/server.log"; then
  echo "fuzz-api: the server logged internal errors or panics (see $REPORT_DIR/server.log)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
