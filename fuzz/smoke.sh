#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 30) from its seed corpus, with
# the target's dictionary; new corpus entries go to a scratch directory so
# the committed seeds stay as they are. Exits non-zero on any finding (or
# build failure), after printing the end of libFuzzer's report.
# Needs a nightly toolchain and cargo-fuzz (scripts/setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Seeds per target: committed corpora, and for `elf` the test objects
# themselves (no copies to keep in step).
seeds() {
    case "$1" in
        elf) echo ../tests/bpf ../tests/fixtures artifacts-found ;;
        *) [ -d "corpus/$1" ] && echo "corpus/$1" ;;
    esac
}
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$work/$target"
    dict=()
    if [ -f "$target.dict" ]; then dict=("-dict=$target.dict"); fi
    log="$work/$target.log"
    # shellcheck disable=SC2046 # the seed directories are words
    if ! cargo +nightly fuzz run "$target" "$work/$target" $(seeds "$target") -- \
        "${dict[@]}" -max_total_time="$seconds" -max_len=20000 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        echo "fuzz smoke: $target failed (reproducers in fuzz/artifacts/$target/)" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz smoke: $target ran ${runs:-?} inputs in ${seconds}s, no finding"
done
