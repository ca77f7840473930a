#!/usr/bin/env bash
# Validates docs/openapi.json against the OpenAPI 3.1 schema with openapi-spec-validator
# (from PyPI, in a virtualenv under target/). Exit 0 valid, 1 invalid, 3 validator
# unavailable (no python3 or no package index), so CI can tell "invalid" from "not checked".
set -uo pipefail
cd "$(dirname "$0")/.."
venv=target/openapi-venv
if ! command -v python3 >/dev/null 2>&1; then
  echo "validate-openapi: python3 not found; not checked" >&2
  exit 3
fi
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
  python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q 'openapi-spec-validator>=0.7,<0.9' >/dev/null 2>&1 || {
    echo "validate-openapi: could not install openapi-spec-validator; not checked" >&2
    exit 3
  }
fi
"$venv/bin/openapi-spec-validator" docs/openapi.json
