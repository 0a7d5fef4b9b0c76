#!/usr/bin/env bash
# Host instructions per executed eBPF instruction of the bpfbox interpreter,
# measured with callgrind (deterministic, unlike wall-clock timings).
#
# Builds the `interpreter` bench binary (bench profile: release + line debug
# info) and runs its callgrind mode (BPFBOX_CALLGRIND=<workload>, see
# benches/interpreter.rs) twice per workload: once at full size and once with
# a single loop iteration. Both runs do the same setup (process start, Vm::new,
# RunState, input buffer), so
#     (Ir(full) - Ir(small)) / (eBPF insns(full) - eBPF insns(small))
# is the cost of the loop alone, per executed (budget-charged) eBPF
# instruction.
#
# W0 (return a constant) is measured per call instead: 1,001 calls against 1.
#
# Usage: benches/callgrind.sh [W0 W1 W2]      (default: W1 W2 W0)
# Env:   CARGO_TARGET_DIR (default /tmp/target-bench),
#        KEEP=dir to keep the callgrind.out files there (for callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-bench}"

bin=$(cargo bench --bench interpreter --no-run 2>&1 |
    sed -n 's/^ *Executable .*(\(.*\/interpreter-[0-9a-f]*\))$/\1/p' | tail -n1)
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "could not build or find the interpreter bench binary" >&2
    exit 1
fi

out="${KEEP:-$(mktemp -d)}"
mkdir -p "$out"

# run WORKLOAD ITERS -> prints "<Ir> <eBPF instructions>"
run() {
    local file="$out/callgrind.out.$1.$2"
    local line
    line=$(BPFBOX_CALLGRIND=$1 BPFBOX_ITERS=$2 valgrind --tool=callgrind \
        --callgrind-out-file="$file" "$bin" 2>/dev/null)
    local insns=${line##*instructions=}
    insns=${insns%% *}
    local calls=${line##*calls=}
    local ir
    ir=$(sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$file" | head -n1)
    echo "$ir $insns $calls"
}

workloads=("$@")
[[ ${#workloads[@]} -eq 0 ]] && workloads=(W1 W2 W0)
for w in "${workloads[@]}"; do
    case $w in
        W0) full=1001 ;;    # calls
        W1) full=65536 ;;   # iterations
        W2) full=8192 ;;    # u64 words (64 KiB)
        *) echo "unknown workload $w (W0, W1 or W2)" >&2; exit 1 ;;
    esac
    read -r ir_full n_full c_full < <(run "$w" "$full")
    read -r ir_one n_one c_one < <(run "$w" 1)
    if [[ $w == W0 ]]; then
        echo "W0: full run $ir_full Ir for $c_full calls; 1-call run $ir_one Ir" >&2
        awk -v a="$ir_full" -v b="$ir_one" -v x="$c_full" -v y="$c_one" \
            'BEGIN { printf "W0: %.1f host instructions per call (Vm::execute of mov r0, 0; exit)\n", (a - b) / (x - y) }'
        continue
    fi
    echo "$w: full run $ir_full Ir for $n_full eBPF insns; 1-iteration run $ir_one Ir for $n_one" >&2
    awk -v w="$w" -v a="$ir_full" -v b="$ir_one" -v x="$n_full" -v y="$n_one" \
        'BEGIN { printf "%s: %.2f host instructions per eBPF instruction\n", w, (a - b) / (x - y) }'
done
[[ -n "${KEEP:-}" ]] || rm -rf "$out"
