#!/bin/sh
# Rebuilds the raw BTF inputs of bpfbox-abi's BTF tests (abi/tests/btf.rs).
#
# Needs LLVM 19 and the libbpf headers:
#     apt-get install clang-19 llvm-19 libbpf-dev
#
# Writes, next to this script:
#   fixtures/NAME.btf, fixtures/NAME.btf.ext
#       the .BTF and .BTF.ext sections of the committed objects in
#       tests/fixtures/ (built by tests/fixtures/build.sh), as they are.
#   NAME.btf, NAME.btf.ext, NAME.SECTION.bin
#       for each src/NAME.c here, compiled with clang -O2 -g -target bpf:
#       its .BTF, its .BTF.ext (when it has one) and the raw bytes of each
#       program section (so tests can check relocated instructions).
set -eu

cd "$(dirname "$0")"
CLANG=${CLANG:-clang-19}
OBJCOPY=${OBJCOPY:-llvm-objcopy-19}
OBJDUMP=${OBJDUMP:-llvm-objdump-19}

# Whether object $1 has a section called $2.
has_section() {
    "$OBJDUMP" -h "$1" | awk '{ print $2 }' | grep -qx -- "$2"
}

mkdir -p fixtures
for object in ../../../tests/fixtures/*.o; do
    name=$(basename "$object" .o)
    has_section "$object" .BTF || continue
    "$OBJCOPY" --dump-section ".BTF=fixtures/$name.btf" \
        --dump-section ".BTF.ext=fixtures/$name.btf.ext" "$object" /dev/null
    echo "fixtures/$name: .BTF and .BTF.ext"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for source in src/*.c; do
    name=$(basename "$source" .c)
    # The prefix map keeps the build directory out of the debug info.
    "$CLANG" -O2 -g -target bpf -Wall -Werror \
        -fdebug-prefix-map="$(pwd)"=. -c "$source" -o "$tmp/$name.o"
    "$OBJCOPY" --dump-section ".BTF=$name.btf" "$tmp/$name.o" /dev/null
    if has_section "$tmp/$name.o" .BTF.ext; then
        "$OBJCOPY" --dump-section ".BTF.ext=$name.btf.ext" "$tmp/$name.o" /dev/null
    fi
    # Program sections: non-empty code sections.
    for section in $("$OBJDUMP" -h "$tmp/$name.o" |
        awk '$NF == "TEXT" && $3 != "00000000" { print $2 }'); do
        "$OBJCOPY" --dump-section "$section=$name.$section.bin" "$tmp/$name.o" /dev/null
    done
    echo "$name: done"
done
"$OBJDUMP" --version | grep -m 1 "LLVM version" | sed "s/^ *//" >llvm-version.txt
