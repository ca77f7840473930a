# shellcheck shell=bash
# A throwaway ldbds server for the scripts that drive the API from outside
# (scripts/fuzz-api.sh, scripts/client-check.sh). Source it, then call
#
#   ldbds_server_start BIN LOG_FILE
#
# It starts BIN (a built `ldbds`) on a free port (or $LDBDS_SERVER_PORT) over the
# embedded SQLite default in a fresh temp data dir, with the demo data (`seed --demo`)
# and every rate limit raised, and waits until /readyz answers. It sets
#
#   LDBDS_BASE          http://127.0.0.1:PORT
#   LDBDS_PARTNER_KEY   the demo partner's API key (org mohom, source TCB)
#   LDBDS_OPERATOR_KEY  the demo operator's API key (org ldbds-operator)
#
# and installs an EXIT trap that stops the server and removes the data dir
# (ldbds_server_stop). Returns non-zero, with the server log's tail, when it did not start.

ldbds_server_pid=
ldbds_server_data=

ldbds_server_stop() {
  if [ -n "$ldbds_server_pid" ]; then
    kill "$ldbds_server_pid" 2>/dev/null || true
    wait "$ldbds_server_pid" 2>/dev/null || true
    ldbds_server_pid=
  fi
  if [ -n "$ldbds_server_data" ]; then
    rm -rf "$ldbds_server_data"
    ldbds_server_data=
  fi
}

ldbds_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ldbds_server_start() {
  local bin=$1 log=$2 port seed_out
  port=${LDBDS_SERVER_PORT:-$(ldbds_free_port)}
  ldbds_server_data=$(mktemp -d)
  trap ldbds_server_stop EXIT
  trap 'exit 130' INT TERM
  unset LDBDS__DATABASE__URL LDBDS_CONFIG_FILE
  export LDBDS_ENV=dev LDBDS__DATA_DIR="$ldbds_server_data" LDBDS__SERVER__BIND="127.0.0.1:$port"
  export LDBDS__RATE_LIMIT__PER_SECOND=1000000 LDBDS__RATE_LIMIT__BURST=1000000 LDBDS__LOG__LEVEL=warn LDBDS__SERVER__WORKERS=2
  # The per-action and per-address buckets too: a fuzzer searches, reveals and fails auth at full speed.
  export LDBDS__RATE_LIMIT__SEARCH__PER_SECOND=1000000 LDBDS__RATE_LIMIT__SEARCH__BURST=1000000
  export LDBDS__RATE_LIMIT__REVEAL__PER_SECOND=1000000 LDBDS__RATE_LIMIT__REVEAL__BURST=1000000
  export LDBDS__RATE_LIMIT__AUTH_FAILURE__PER_SECOND=1000000 LDBDS__RATE_LIMIT__AUTH_FAILURE__BURST=1000000
  export LDBDS__RATE_LIMIT__SSO__PER_SECOND=1000000 LDBDS__RATE_LIMIT__SSO__BURST=1000000
  seed_out=$("$bin" seed --demo) || { echo "test-server: ldbds seed --demo failed" >&2; return 1; }
  LDBDS_PARTNER_KEY=$(awk '/for org mohom / {print $NF}' <<<"$seed_out")
  LDBDS_OPERATOR_KEY=$(awk '/for org ldbds-operator / {print $NF}' <<<"$seed_out")
  if [ -z "$LDBDS_PARTNER_KEY" ] || [ -z "$LDBDS_OPERATOR_KEY" ]; then
    echo "test-server: no demo keys in the output of ldbds seed --demo:" >&2
    echo "$seed_out" >&2
    return 1
  fi
  LDBDS_BASE="http://127.0.0.1:$port"
  export LDBDS_BASE LDBDS_PARTNER_KEY LDBDS_OPERATOR_KEY
  "$bin" serve >"$log" 2>&1 &
  ldbds_server_pid=$!
  for _ in $(seq 150); do
    curl -sf "$LDBDS_BASE/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$ldbds_server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "test-server: the server did not start:" >&2
  tail -20 "$log" >&2
  return 1
}
