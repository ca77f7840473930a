# LDBDS tasks. `just` lists them. (Install just with scripts/install-tools.sh.)

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the tasks.
list:
    @just --list --unsorted

# Format the code.
fmt:
    cargo fmt --all

# Lint with every warning an error.
clippy:
    cargo clippy --workspace --all-targets -- -D warnings

# Run the tests on SQLite only (what the README's test command does without PostgreSQL).
test:
    cargo test --workspace

# Run the tests on SQLite and PostgreSQL (local server, or a throwaway cluster).
test-pg:
    source scripts/test-postgres.sh && trap ldbds_pg_cleanup EXIT && cargo test --workspace

# Review changed insta snapshots (needs cargo-insta), or accept them all with `just snap accept`.
snap mode="review":
    if [ "{{mode}}" = accept ]; then INSTA_UPDATE=always cargo test --workspace; else cargo insta review; fi

# Apply, revert or inspect migrations: up | down | status | fresh.
migrate action="up":
    cargo run -q -- migrate {{action}}

# Regenerate docs/openapi.json from the code.
openapi:
    cargo run -q -- openapi > docs/openapi.json

# Fail if the domain crate depends on an I/O crate.
layering:
    scripts/layering.sh

# Everything CI checks, before a commit.
precommit:
    .ci/run

# Run the benchmark harness (performance.md), e.g. `just bench intake --db postgres`.
bench *args:
    cargo run -q --release -p ldbds-bench -- {{args}}

# Fuzz the API with Schemathesis against the OpenAPI document (bounded: FUZZ_MAX_EXAMPLES=10 FUZZ_MAX_TIME=180).
fuzz-api:
    scripts/fuzz-api.sh

# Fault injection: PostgreSQL outage under load, SIGKILL mid-import, SIGTERM with requests in flight.
faults:
    scripts/faults.sh
