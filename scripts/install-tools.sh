#!/usr/bin/env bash
# Installs the developer tools the justfile uses, from crates.io, if missing.
set -euo pipefail
command -v just >/dev/null 2>&1 || cargo install just --locked
cargo insta --version >/dev/null 2>&1 || cargo install cargo-insta --locked
