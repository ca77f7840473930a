#!/usr/bin/env bash
# Finds or starts a PostgreSQL server for the test suite; meant to be sourced.
#
# After sourcing, either LDBDS_TEST_POSTGRES_URL and LDBDS_TEST_REQUIRE_POSTGRES=1 are
# exported (the PostgreSQL variants of the storage tests run, and fail if they cannot),
# or LDBDS_PG_STATUS=absent and a loud warning was printed (SQLite only).
#
# Order: an LDBDS_TEST_POSTGRES_URL already set; the server on 127.0.0.1:5432 (user
# postgres, database test); a throwaway cluster made with initdb/pg_ctl in a temporary
# directory (stopped by ldbds_pg_cleanup); nothing.
# LDBDS_PG_FORCE_THROWAWAY=1 skips the first two (to test the throwaway path).

ldbds_pg_try() {
  local url=$1
  if command -v psql >/dev/null 2>&1; then
    psql "$url" -Atqc 'select 1' >/dev/null 2>&1
  elif command -v pg_isready >/dev/null 2>&1; then
    pg_isready -d "$url" >/dev/null 2>&1
  else
    # No client tools: trust the port and let the tests report a failure clearly.
    (exec 3<>/dev/tcp/127.0.0.1/5432) >/dev/null 2>&1
  fi
}

ldbds_pg_cleanup() {
  if [ -n "${LDBDS_PG_THROWAWAY_DIR:-}" ] && [ -d "$LDBDS_PG_THROWAWAY_DIR" ]; then
    ${LDBDS_PG_RUNAS:-} "$LDBDS_PG_BIN/pg_ctl" -D "$LDBDS_PG_THROWAWAY_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$LDBDS_PG_THROWAWAY_DIR"
    echo "PostgreSQL: throwaway cluster stopped and removed"
  fi
}

ldbds_pg_throwaway() {
  local initdb
  initdb=$(command -v initdb 2>/dev/null || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)
  [ -n "$initdb" ] && [ -x "$initdb" ] || return 1
  LDBDS_PG_BIN=$(dirname "$initdb")
  LDBDS_PG_RUNAS=""
  LDBDS_PG_THROWAWAY_DIR=$(mktemp -d /tmp/ldbds-pg.XXXXXX)
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: run the cluster as the postgres (or nobody) user.
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$LDBDS_PG_THROWAWAY_DIR"
    LDBDS_PG_RUNAS="runuser -u $user --"
  fi
  local port=${LDBDS_PG_THROWAWAY_PORT:-55432}
  $LDBDS_PG_RUNAS "$LDBDS_PG_BIN/initdb" -D "$LDBDS_PG_THROWAWAY_DIR/data" -U postgres -A trust >/dev/null || return 1
  $LDBDS_PG_RUNAS "$LDBDS_PG_BIN/pg_ctl" -D "$LDBDS_PG_THROWAWAY_DIR/data" -l "$LDBDS_PG_THROWAWAY_DIR/log" \
    -o "-p $port -k $LDBDS_PG_THROWAWAY_DIR -c listen_addresses=127.0.0.1 -c fsync=off" -w start >/dev/null || return 1
  export LDBDS_PG_BIN LDBDS_PG_RUNAS LDBDS_PG_THROWAWAY_DIR
  LDBDS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL: started a throwaway cluster on 127.0.0.1:$port ($LDBDS_PG_THROWAWAY_DIR)"
}

LDBDS_PG_STATUS=absent
if [ "${LDBDS_PG_FORCE_THROWAWAY:-0}" != 1 ] && [ -n "${LDBDS_TEST_POSTGRES_URL:-}" ] && ldbds_pg_try "$LDBDS_TEST_POSTGRES_URL"; then
  LDBDS_PG_STATUS=given
elif [ "${LDBDS_PG_FORCE_THROWAWAY:-0}" != 1 ] && ldbds_pg_try "postgres://postgres@127.0.0.1:5432/test"; then
  LDBDS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:5432/test"
  LDBDS_PG_STATUS=local
elif ldbds_pg_throwaway; then
  LDBDS_PG_STATUS=throwaway
fi

if [ "$LDBDS_PG_STATUS" = absent ]; then
  unset LDBDS_TEST_POSTGRES_URL LDBDS_TEST_REQUIRE_POSTGRES
  cat >&2 <<'WARN'
################################################################################
##  WARNING: NO POSTGRESQL AVAILABLE. The storage tests run on SQLITE ONLY.   ##
##  Nothing answered on 127.0.0.1:5432 and no initdb/pg_ctl was found.        ##
##  PostgreSQL is the production database: install it to test it.            ##
################################################################################
WARN
else
  export LDBDS_TEST_POSTGRES_URL
  export LDBDS_TEST_REQUIRE_POSTGRES=1
  echo "PostgreSQL: tests use $LDBDS_TEST_POSTGRES_URL ($LDBDS_PG_STATUS)"
fi
export LDBDS_PG_STATUS
