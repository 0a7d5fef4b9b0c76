// SPDX-License-Identifier: GPL-2.0
/*
 * subprogs.c - BPF-to-BPF calls and callbacks.
 *
 * Exercises:
 *   - a global (non-static) __noinline function in .text, mix(), called
 *     from programs in two different sections ("xdp" and "tc"): the loader
 *     must append .text to each program and fix up both calls
 *     (R_BPF_64_32 against the function symbol);
 *   - static __noinline functions in .text forming a call chain three deep
 *     (level1 -> level2 -> level3); the calls between them are relocated
 *     against the .text section symbol. (libbpf refuses static functions
 *     inside program sections, so sub-programs live in .text as usual.)
 *   - bpf_loop() with a static callback: the callback's address is an
 *     ld_imm64 with an R_BPF_64_64 relocation against .text (libbpf turns
 *     it into BPF_PSEUDO_FUNC, src_reg 4);
 *   - bpf_for_each_map_elem() over an array map, with a callback that stops
 *     the walk early.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

enum result_slot {
	SLOT_CHAIN = 0,		/* xdp_chain: level1(len) */
	SLOT_MIX_XDP = 1,	/* xdp_chain: mix(chain, len) */
	SLOT_MIX_TC = 2,	/* tc_mix: mix(len, protocol) */
	SLOT_LOOP = 3,		/* xdp_loop: sum of i*i + len over bpf_loop */
	SLOT_EACH_SUM = 4,	/* xdp_each: sum of weights before the stop */
	SLOT_EACH_SEEN = 5,	/* xdp_each: bpf_for_each_map_elem's return */
	NR_SLOTS = 8,
};

#define LOOP_ROUNDS 10
#define WEIGHT_STOP 1000	/* the walk stops at a weight above this */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, NR_SLOTS);
} results SEC(".maps");

/* Filled by the host; walked by xdp_each. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} weights SEC(".maps");

static __always_inline void store(__u32 slot, __u64 value)
{
	bpf_map_update_elem(&results, &slot, &value, BPF_ANY);
}

/* Global function: verified on its own by the kernel, linked into every
 * program that calls it. */
__noinline int mix(__u32 a, __u32 b)
{
	return (a * 31) ^ b;
}

static __noinline __u32 level3(__u32 x)
{
	return x * 3 + 1;
}

static __noinline __u32 level2(__u32 x)
{
	return level3(x + 2) * 2;
}

static __noinline __u32 level1(__u32 x)
{
	return level2(x) + 5;
}

SEC("xdp")
int xdp_chain(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 chain = level1(len);

	store(SLOT_CHAIN, chain);
	store(SLOT_MIX_XDP, (__u32)mix(chain, len));
	return XDP_PASS;
}

SEC("tc")
int tc_mix(struct __sk_buff *skb)
{
	store(SLOT_MIX_TC, (__u32)mix(skb->len, skb->protocol));
	return TC_ACT_OK;
}

struct loop_ctx {
	__u64 sum;
	__u32 len;
};

static int loop_step(__u32 index, void *data)
{
	struct loop_ctx *lc = data;

	lc->sum += (__u64)index * index + lc->len;
	return 0;	/* 0: go on, 1: stop */
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	struct loop_ctx lc = { .sum = 0, .len = ctx->data_end - ctx->data };

	bpf_loop(LOOP_ROUNDS, loop_step, &lc, 0);
	store(SLOT_LOOP, lc.sum);
	return XDP_PASS;
}

struct bpf_map;

struct each_ctx {
	__u64 sum;
};

static __u64 each_weight(struct bpf_map *map, __u32 *key, __u64 *value,
			 struct each_ctx *ec)
{
	if (*value > WEIGHT_STOP)
		return 1;	/* stop; this element still counts as visited */
	ec->sum += *value;
	return 0;
}

SEC("xdp")
int xdp_each(struct xdp_md *ctx)
{
	struct each_ctx ec = { .sum = 0 };
	long seen;

	seen = bpf_for_each_map_elem(&weights, each_weight, &ec, 0);
	store(SLOT_EACH_SUM, ec.sum);
	store(SLOT_EACH_SEEN, seen);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
