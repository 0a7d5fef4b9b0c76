#!/usr/bin/env bash
# Installs what the test command needs beyond stable Rust, when missing:
# valgrind (the interpreter's instruction-count check), and a nightly
# toolchain with cargo-fuzz (the fuzz smoke run). Debian packages need root
# (CI runs as root); everything else comes from rustup and crates.io.
set -euo pipefail

if ! command -v valgrind >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
    fi
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
