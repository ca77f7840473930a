#!/usr/bin/env bash
# Fails when the domain crate depends (normally, not only in dev) on an I/O crate.
set -euo pipefail
cd "$(dirname "$0")/.."
forbidden='^(sea-orm|sea-query|sqlx|sqlx-core|actix-web|actix-rt|actix-http|tokio|ring|reqwest|hyper)$'
deps=$(cargo tree -p domain -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
bad=$(echo "$deps" | grep -E "$forbidden" || true)
if [ -n "$bad" ]; then
  echo "layering: crates/domain depends on I/O crates:" >&2
  echo "$bad" | sed 's/^/  - /' >&2
  exit 1
fi
echo "layering: ok (domain depends on $(echo "$deps" | wc -l | tr -d ' ') crates, none of them I/O)"
