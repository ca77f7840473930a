#!/usr/bin/env bash
# Contract fuzzing: runs Schemathesis with every check against a fresh server (embedded
# SQLite in a temp data dir, demo data, rate limits raised: scripts/test-server.sh),
# seeded by scripts/fuzz-seed.py with users, leads, orders, an AS claim, a counsel queue,
# member and cases whose ids the config feeds to the path parameters. Each operation is
# sent with the key that may call it: the operator's API key for the operator's
# operations (counsel, orgs, AS decisions), the demo partner's (org mohom, source TCB)
# for the rest. Exit 0 when Schemathesis reports no failure, 1 when it does (or the
# server did not start or could not be seeded), 3 when Schemathesis cannot be installed
# (not checked).
#
#   scripts/fuzz-api.sh                                   full run (500 cases per operation and phase, ~3 min)
#   FUZZ_PROFILE=debug FUZZ_MAX_EXAMPLES=10 FUZZ_MAX_TIME=180 scripts/fuzz-api.sh   bounded (CI, ~3 min)
#
# Schemathesis settings (which key for which operation, the users member-scoped calls act
# for, the seeded ids, the source header, the rules a schema cannot state) are in
# scripts/fuzz-api.toml.
#
# Environment:
#   FUZZ_PROFILE=release|debug   which build of ldbds to run (default release)
#   FUZZ_MAX_EXAMPLES=N          test cases per operation and phase (default 500)
#   FUZZ_MAX_TIME=SECONDS        time budget of the whole Schemathesis run (default none)
#   FUZZ_SEED=N                  Schemathesis seed, to reproduce a run (default random)
#   FUZZ_PHASES=a,b              phases (default all: examples,coverage,fuzzing,stateful)
#   FUZZ_WORKERS=N               concurrent Schemathesis workers (default 1: with more, Python 3.11's
#                                ast module fails in Hypothesis now and then)
#   FUZZ_PORT=N                  port of the server (default a free one)
#   FUZZ_REPORT_DIR=DIR          JUnit report and server log (default target/fuzz-report)
#   FUZZ_ARGS='...'              more arguments for `st run` (e.g. --include-path-regex users)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
PROFILE=${FUZZ_PROFILE:-release}
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-500}
WORKERS=${FUZZ_WORKERS:-1}
REPORT_DIR=${FUZZ_REPORT_DIR:-target/fuzz-report}
venv=target/fuzz-venv

case "$PROFILE" in
  release) cargo build -q --release -p ldbds ;;
  debug) cargo build -q -p ldbds ;;
  *) echo "fuzz-api: FUZZ_PROFILE must be release or debug" >&2; exit 2 ;;
esac
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE/ldbds

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

# shellcheck source=test-server.sh
source scripts/test-server.sh
mkdir -p "$REPORT_DIR"
REPORT_DIR=$(cd "$REPORT_DIR" && pwd)
LDBDS_SERVER_PORT=${FUZZ_PORT:-} ldbds_server_start "$BIN" "$REPORT_DIR/server.log" || exit 1
BASE=$LDBDS_BASE
# The rows scripts/fuzz-api.toml points path ids at (FUZZ_LEAD_ID, FUZZ_ORDER_ID, ...).
seed_env=$(python3 scripts/fuzz-seed.py "$(pwd)") || { echo "fuzz-api: seeding failed" >&2; exit 1; }
eval "$seed_env"
export FUZZ_PARTNER_KEY=$LDBDS_PARTNER_KEY FUZZ_OPERATOR_KEY=$LDBDS_OPERATOR_KEY
export SCHEMATHESIS_HOOKS="$(pwd)/scripts/fuzz-hooks.py"

root=$(pwd)
args=(--config-file "$root/scripts/fuzz-api.toml" run "$BASE/api-docs/openapi.json" --checks all --max-examples "$MAX_EXAMPLES"
  --workers "$WORKERS" --no-color --report junit --report-junit-path "$REPORT_DIR/junit.xml"
  --generation-database none --request-timeout 30 --request-retries 2)
[ -n "${FUZZ_MAX_TIME:-}" ] && args+=(--max-time "$FUZZ_MAX_TIME")
[ -n "${FUZZ_SEED:-}" ] && args+=(--seed "$FUZZ_SEED")
[ -n "${FUZZ_PHASES:-}" ] && args+=(--phases "$FUZZ_PHASES")
# shellcheck disable=SC2206 # FUZZ_ARGS is split on purpose
[ -n "${FUZZ_ARGS:-}" ] && args+=(${FUZZ_ARGS})

echo "fuzz-api: schemathesis $SCHEMATHESIS_VERSION against $BASE ($PROFILE build, partner and operator keys, max examples $MAX_EXAMPLES${FUZZ_MAX_TIME:+, max time ${FUZZ_MAX_TIME}s})"
status=0
# From the report directory: Schemathesis keeps its cache (.schemathesis/) in the working directory.
(cd "$REPORT_DIR" && "$root/$venv/bin/st" "${args[@]}") || status=$?
if grep -qE "internal error|panicked" "$REPORT_DIR/server.log"; then
  echo "fuzz-api: the server logged internal errors or panics (see $REPORT_DIR/server.log)" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
