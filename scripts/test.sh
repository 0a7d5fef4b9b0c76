#!/usr/bin/env bash
# Runs every test CI runs: the workspace's unit, integration, property and doc
# tests. .ci/run calls exactly this after its formatting and clippy checks.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets
cargo test --workspace --doc
