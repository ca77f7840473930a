#!/usr/bin/env bash
# Generated-client check: a partner generates a Python client from the document the
# server serves (openapi-python-client, from PyPI, unmodified) and drives the partner
# flow and the counsel Excel import and export with it; every JSON response is checked
# against its schema (scripts/client-check.py lists the steps).
#
# The server is a fresh debug build on a free port over the embedded SQLite default in a
# temp dir, with the demo data (scripts/test-server.sh). The tools live in a virtualenv
# under target/ (like scripts/validate-openapi.sh's).
#
# Exit 0 every step passed; 1 a step failed (each is printed with why), or the server or
# the generator failed; 3 the tools could not be installed (not checked).
#
# Environment:
#   CLIENT_CHECK_DIR=DIR   keep the document, the generated client and the server log here
#                          (default target/client-check)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

GENERATOR_VERSION=0.29.1
JSONSCHEMA_VERSION=4.26.0
venv=target/client-venv
out=${CLIENT_CHECK_DIR:-target/client-check}
target_dir=${CARGO_TARGET_DIR:-target}

if ! command -v python3 >/dev/null 2>&1; then
  echo "client-check: python3 not found; not checked" >&2
  exit 3
fi
installed() {
  "$venv/bin/python" - "$GENERATOR_VERSION" "$JSONSCHEMA_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("openapi-python-client"), version("jsonschema")) == tuple(sys.argv[1:3]) else 1)
EOF
}
if ! installed; then
  rm -rf "$venv"
  python3 -m venv "$venv" >/dev/null 2>&1 \
    && "$venv/bin/pip" install -q "openapi-python-client==$GENERATOR_VERSION" "jsonschema[format]==$JSONSCHEMA_VERSION" >/dev/null 2>&1 || {
    echo "client-check: could not install openapi-python-client $GENERATOR_VERSION and jsonschema; not checked" >&2
    exit 3
  }
fi

cargo build -q --locked -p ldbds
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# shellcheck source=test-server.sh
source scripts/test-server.sh
ldbds_server_start "$target_dir/debug/ldbds" "$out/server.log" || { echo "client-check: FAILED: the server did not start" >&2; exit 1; }

curl -sf "$LDBDS_BASE/api-docs/openapi.json" -o "$out/openapi.json" \
  || { echo "client-check: FAILED: GET /api-docs/openapi.json" >&2; exit 1; }
cat >"$out/generator.yml" <<'EOF'
project_name_override: ldbds-client
package_name_override: ldbds_client
post_hooks: []
EOF
# The generator's warnings (an operation or response it could not express) are the
# contract's business too: they are printed, and a step that needs them fails below.
if ! "$venv/bin/openapi-python-client" generate --path "$out/openapi.json" --config "$out/generator.yml" \
  --meta none --output-path "$out/client/ldbds_client" >"$out/generator.log" 2>&1; then
  cat "$out/generator.log" >&2
  echo "client-check: FAILED: openapi-python-client could not generate a client" >&2
  exit 1
fi
if grep -qiE "warning|cannot|unsupported|skipping" "$out/generator.log"; then
  echo "client-check: the generator's warnings (from $out/generator.log):"
  grep -iE "warning|cannot|unsupported|skipping|^[A-Z].*:$" "$out/generator.log" | grep -v "ruff" | sed 's/^/  /' || true
fi

status=0
"$venv/bin/python" scripts/client-check.py "$out/openapi.json" "$out/client" "$root" || status=$?
if grep -qE "internal error|panicked" "$out/server.log"; then
  echo "client-check: FAILED: the server logged internal errors or panics (see $out/server.log)" >&2
  status=1
fi
exit "$status"
