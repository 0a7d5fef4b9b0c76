// The target side of the CO-RE tests: the same types as core_local.c with
// another layout, standing in for a kernel's BTF. Only its .BTF is used.
typedef unsigned int u32;

// No CORE_BLUE; other values.
enum core_color { CORE_RED = 10, CORE_GREEN = 20 };

// Members reordered: b at 8, a at 12; 16 bytes.
struct core_inner {
    long pad;
    int b;
    int a;
};

// Target layout (byte offsets): extra 0, name 8, id 16, pad bits 160..170,
// level bits 170..177 (7 bits), flags bits 177..180, an anonymous struct at
// 24 holding arr (24..72, 6 elements) and an anonymous union (72..80),
// inner 80..96, narrow 96..100, snarrow 100..104; no `gone`; 104 bytes.
struct core_obj {
    long extra;
    char *name;
    int id;
    unsigned int pad : 10;
    int level : 7;
    unsigned int flags : 3;
    struct {
        long arr[6];
        union {
            char u_bytes[8];
            int u_int;
        };
    };
    struct core_inner inner;
    unsigned int narrow;
    int snarrow;
};

struct core_mismatch {
    long x;
};

// b first: offset 0.
struct core_v2 {
    long b;
    int a;
};

// Globals make clang emit the types.
struct core_obj target_obj;
struct core_mismatch target_mismatch;
struct core_v2 target_v2;
enum core_color target_color;
