// SPDX-License-Identifier: GPL-2.0
/*
 * tailcalls.c - tail calls through a BPF_MAP_TYPE_PROG_ARRAY that the ELF
 * itself fills.
 *
 * Exercises:
 *   - a BTF-defined program array, jmp_table, with libbpf's declarative
 *     initialisation `.values = { [0] = &prog_a, [2] = &prog_c }`: the
 *     initialiser becomes R_BPF_64_ABS64 relocations in ".maps" against the
 *     program symbols, at byte offsets that give the slot (the values array
 *     starts right after the map's other members);
 *   - bpf_tail_call() with a slot chosen from the packet (xdp_dispatch), with
 *     a constant empty slot (xdp_tail_empty), and falling through when the
 *     slot is empty or out of range;
 *   - tail-call targets that are ordinary programs of the same type.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SLOTS 4
#define EMPTY_SLOT 1
#define FELL_THROUGH 42		/* xdp_tail_empty's "no tail call happened" */

/* Runs per tail-call target, by slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTS);
} hits SEC(".maps");

static __always_inline void hit(__u32 slot)
{
	__u64 *count = bpf_map_lookup_elem(&hits, &slot);

	if (count)
		__sync_fetch_and_add(count, 1);
}

SEC("xdp")
int prog_a(struct xdp_md *ctx)
{
	hit(0);
	return XDP_DROP;
}

SEC("xdp")
int prog_c(struct xdp_md *ctx)
{
	hit(2);
	return XDP_TX;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = {
		[0] = (void *)&prog_a,
		[2] = (void *)&prog_c,
	},
};

/* The first byte of the packet picks the slot. */
SEC("xdp")
int xdp_dispatch(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *data = (void *)(long)ctx->data;

	if ((void *)(data + 1) > data_end)
		return XDP_ABORTED;

	bpf_tail_call(ctx, &jmp_table, data[0]);
	/* Only reached when the slot is empty or out of range. */
	return XDP_PASS;
}

SEC("xdp")
int xdp_tail_empty(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp_table, EMPTY_SLOT);
	return FELL_THROUGH;
}

char _license[] SEC("license") = "GPL";
