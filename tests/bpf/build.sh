#!/bin/sh
# Rebuilds the eBPF ELF objects the ELF loader's tests load (see README.md
# beside this script for what each holds and how each program behaves).
#
# Needs LLVM 19, the libbpf headers and the kernel's uapi headers:
#     apt-get install -y clang-19 llvm-19 libbpf-dev linux-libc-dev
# The committed objects were built with LLVM 19.1.7 (Debian bookworm),
# libbpf-dev 1.1.2 and linux-libc-dev 6.1; llvm-version.txt records the
# LLVM version of the last run.
#
# What it writes, all in this directory:
#     NAME.o            for every NAME.c, with the flags below (-mcpu=v3)
#                       plus the per-file flags of extra_flags
#     cpu_v1.o..cpu_v4.o
#                       cpu_versions.c, once per -mcpu=v1..v4 (it is not
#                       built as cpu_versions.o)
#     fake_kernel.btf   the raw .BTF section of fake_kernel.o: the "kernel"
#                       BTF that core_kernel.o and core_ctx.o are relocated
#                       against
#     llvm-version.txt  the LLVM version that built them
#
# The build is deterministic: the prefix map keeps the build directory out
# of the debug info, so two runs produce identical bytes.
set -eu

cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
OBJCOPY=${OBJCOPY:-llvm-objcopy-19}
OBJDUMP=${OBJDUMP:-llvm-objdump-19}
ARCH_INCLUDE=/usr/include/$(uname -m)-linux-gnu

# Flags a file needs beyond the common ones.
extra_flags() {
    case "$1" in
        # bpf_tracing.h's PT_REGS_* and BPF_KPROBE need the target
        # architecture (x86_64's struct pt_regs).
        ringbuf_trace | maps_legacy | maps_legacy_ext)
            echo "-D__TARGET_ARCH_x86" ;;
    esac
}

compile() {
    # $1 source, $2 output, $3 cpu, $4 extra flags (may be empty)
    # shellcheck disable=SC2086 # $4 is a list of flags
    "$CLANG" -O2 -g -target bpf -mcpu="$3" -Wall -Werror \
        -fdebug-prefix-map="$(pwd)"=. -I"$ARCH_INCLUDE" $4 \
        -c "$1" -o "$2"
}

for source in *.c; do
    name=${source%.c}
    case "$name" in
        cpu_versions)
            for v in 1 2 3 4; do
                compile "$source" "cpu_v$v.o" "v$v" ""
                echo "cpu_v$v.o"
            done
            ;;
        *)
            compile "$source" "$name.o" v3 "$(extra_flags "$name")"
            echo "$name.o"
            ;;
    esac
done

"$OBJCOPY" --dump-section .BTF=fake_kernel.btf fake_kernel.o
echo "fake_kernel.btf"

"$OBJDUMP" --version | grep -m 1 "LLVM version" | sed "s/^ *//" >llvm-version.txt
