#!/usr/bin/env bash
# Runs every test CI runs: the workspace's unit, integration, property and doc
# tests. .ci/run calls exactly this after its formatting and clippy checks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --all-targets
cargo test --workspace --doc

# The interpreter's speed target, counted (not timed) with callgrind: the
# dispatch loop's code generation shifts with unrelated edits, so guard it.
if command -v valgrind >/dev/null 2>&1; then
    w1=$(bash benches/callgrind.sh W1 2>/dev/null | sed -n 's/^W1: \([0-9.]*\) .*/\1/p')
    echo "interpreter W1: ${w1:-?} host instructions per eBPF instruction (target 20)"
    awk -v v="$w1" 'BEGIN { exit !(v != "" && v <= 20) }'
else
    echo "valgrind not installed: interpreter instruction-count check skipped" >&2
    exit 1
fi

# Fuzz smoke run: each target for a short while from its seed corpus (the
# seeds stay untouched: new inputs go to a scratch directory). A finding
# fails the run; fuzz/README.md says how to reproduce it.
bash fuzz/smoke.sh 30
