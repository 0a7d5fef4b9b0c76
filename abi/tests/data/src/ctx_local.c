// Programs that read their context through preserve_access_index types, as
// programs built against vmlinux.h do; the test resolves the relocations
// against bpfbox's context BTF (bpfbox_abi::btf::context_btf).
typedef unsigned int __u32;

#define SEC(name) __attribute__((section(name), used))

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
// A subset, in another order than the uapi struct.
struct __sk_buff {
    __u32 mark;
    __u32 cb[5];
    __u32 len;
};

// The kernel's register names, in another order.
struct pt_regs {
    unsigned long si;
    unsigned long di;
};

struct xdp_md {
    __u32 data;
    __u32 data_end;
    __u32 rx_queue_index;
};
#pragma clang attribute pop

SEC("tc")
int skb_prog(struct __sk_buff *skb)
{
    return skb->cb[2] + skb->len + skb->mark;
}

SEC("kprobe")
int kprobe_prog(struct pt_regs *regs)
{
    return regs->di + regs->si;
}

SEC("xdp")
int xdp_prog(struct xdp_md *ctx)
{
    return ctx->rx_queue_index;
}

char LICENSE[] SEC("license") = "GPL";
