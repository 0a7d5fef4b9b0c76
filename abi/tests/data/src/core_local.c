// The program side of the CO-RE tests (abi/tests/btf.rs): types as the
// program was compiled against them. Every access to a preserve_access_index
// type, and every CO-RE builtin, makes clang record a relocation in
// .BTF.ext; the test resolves them against core_target.c's types.
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

typedef unsigned int u32;

enum core_color { CORE_RED = 1, CORE_GREEN = 2, CORE_BLUE = 4 };

struct core_inner {
    int a;
    int b;
} __attribute__((preserve_access_index));

// Local layout (byte offsets): id 0, flags bits 32..35, level bits 35..40,
// arr 8..40, the anonymous union 40..44, inner 44..52, name 56..64,
// gone 64..68, narrow 68..70, snarrow 70..72; 72 bytes.
struct core_obj {
    int id;
    unsigned int flags : 3;
    int level : 5;
    long arr[4];
    union {
        int u_int;
        char u_bytes[4];
    };
    struct core_inner inner;
    char *name;
    u32 gone;
    unsigned short narrow;
    short snarrow;
} __attribute__((preserve_access_index));

// Absent from the target.
struct core_gone {
    int x;
} __attribute__((preserve_access_index));

// Present in the target with an 8-byte x: exists, but does not match.
struct core_mismatch {
    int x;
} __attribute__((preserve_access_index));

// A flavour: the target calls it core_v2.
struct core_v2___v2 {
    int a;
    long b;
} __attribute__((preserve_access_index));

SEC("tp")
int core_prog(void *ctx)
{
    struct core_obj *o = ctx;
    long sum = 0;

    sum += o->id;
    sum += o->arr[2];
    sum += o->u_int;
    sum += o->inner.b;
    sum += BPF_CORE_READ_BITFIELD(o, level);
    sum += bpf_core_field_exists(o->gone);
    sum += bpf_core_field_size(o->arr);
    sum += o->narrow;
    sum += o->snarrow;
    sum += bpf_core_type_exists(struct core_gone);
    sum += bpf_core_type_exists(struct core_mismatch);
    sum += bpf_core_type_matches(struct core_mismatch);
    sum += bpf_core_type_matches(struct core_inner);
    sum += bpf_core_type_size(struct core_obj);
    sum += bpf_core_type_id_kernel(struct core_obj);
    sum += bpf_core_type_id_local(struct core_obj);
    sum += bpf_core_enum_value_exists(enum core_color, CORE_BLUE);
    sum += bpf_core_enum_value(enum core_color, CORE_GREEN);

    struct core_v2___v2 *v = (void *)o->name;
    sum += v->b;
    return sum;
}

char LICENSE[] SEC("license") = "GPL";
