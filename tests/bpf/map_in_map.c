// SPDX-License-Identifier: GPL-2.0
/*
 * map_in_map.c - maps of maps with BTF-described inner maps and a slot
 * filled by the ELF.
 *
 * Exercises:
 *   - BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS whose values
 *     are described by `__array(values, struct inner_map)`: the loader
 *     takes the inner map's definition from the BTF of struct inner_map;
 *   - declarative initialisation of outer slots (`.values = { [1] =
 *     &inner_a }`): R_BPF_64_ABS64 relocations in ".maps" against the inner
 *     maps' symbols (which are maps of their own, also in ".maps");
 *   - a two-level lookup: outer map, then the inner map it returns.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_arr SEC(".maps") = {
	.values = { [1] = &inner_a },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer_hash SEC(".maps") = {
	.values = { [5] = &inner_b },
};

#define HASH_OUTER_KEY 5

static __always_inline int bump_inner(void *inner, __u32 key)
{
	__u64 *count = bpf_map_lookup_elem(inner, &key);

	if (!count)
		return -1;
	__sync_fetch_and_add(count, 1);
	return 0;
}

/* Packet byte 0: outer_arr slot; byte 1: inner slot. */
SEC("xdp")
int count_in_inner(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *data = (void *)(long)ctx->data;
	__u32 outer_key;
	void *inner;

	if ((void *)(data + 2) > data_end)
		return XDP_ABORTED;
	outer_key = data[0];
	inner = bpf_map_lookup_elem(&outer_arr, &outer_key);
	if (!inner)
		return XDP_DROP;
	if (bump_inner(inner, data[1]) < 0)
		return XDP_ABORTED;
	return XDP_PASS;
}

/* Packet byte 0: inner slot of the map at outer_hash[5]. */
SEC("xdp")
int count_in_hash_inner(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *data = (void *)(long)ctx->data;
	__u32 outer_key = HASH_OUTER_KEY;
	void *inner;

	if ((void *)(data + 1) > data_end)
		return XDP_ABORTED;
	inner = bpf_map_lookup_elem(&outer_hash, &outer_key);
	if (!inner)
		return XDP_DROP;
	if (bump_inner(inner, data[0]) < 0)
		return XDP_ABORTED;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
