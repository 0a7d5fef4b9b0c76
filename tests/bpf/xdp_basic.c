// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_basic.c - the smallest XDP programs, in the style of the XDP tutorial's
 * first lessons.
 *
 * Exercises:
 *   - several programs in one ELF section ("xdp"): the loader must split the
 *     section by function symbol (xdp_pass_func, xdp_drop_func, xdp_stats);
 *   - a BTF-defined map in ".maps" (BPF_MAP_TYPE_PERCPU_ARRAY of
 *     struct datarec), referenced by one ld_imm64 (R_BPF_64_64);
 *   - a static __always_inline helper (inlined: no sub-program);
 *   - packet length computed from ctx->data_end - ctx->data.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* One slot per XDP action: XDP_ABORTED .. XDP_REDIRECT. */
#ifndef XDP_ACTION_MAX
#define XDP_ACTION_MAX (XDP_REDIRECT + 1)
#endif

/* Shorter than an Ethernet header: not worth passing up the stack. */
#define MIN_FRAME_LEN 14

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
} xdp_stats_map SEC(".maps");

static __always_inline __u32 stats_record(struct xdp_md *ctx, __u32 action)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct datarec *rec;

	if (action >= XDP_ACTION_MAX)
		return XDP_ABORTED;

	rec = bpf_map_lookup_elem(&xdp_stats_map, &action);
	if (!rec)
		return XDP_ABORTED;

	/* Per-CPU value: no other CPU writes this slot, no atomics needed. */
	rec->rx_packets++;
	rec->rx_bytes += data_end - data;

	return action;
}

SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int xdp_drop_func(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_stats(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u32 action = XDP_PASS;

	if (data + MIN_FRAME_LEN > data_end)
		action = XDP_DROP;

	return stats_record(ctx, action);
}

char _license[] SEC("license") = "GPL";
