// SPDX-License-Identifier: GPL-2.0
/*
 * spinlock.c - map values guarded by struct bpf_spin_lock.
 *
 * Exercises:
 *   - map values whose BTF struct holds a struct bpf_spin_lock at a nonzero
 *     offset (8); the kernel (and a loader checking BTF) finds the lock by
 *     its type, so these maps need BTF;
 *   - bpf_spin_lock / bpf_spin_unlock (helpers 93 and 94) around plain
 *     read-modify-write updates of several fields;
 *   - a hash map (created on first use with BPF_NOEXIST) from tc and an
 *     array map from XDP.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct flow_acct {
	__u64 packets;
	struct bpf_spin_lock lock;	/* offset 8 */
	__u32 last_len;			/* offset 12 */
	__u64 bytes;			/* offset 16 */
	__u64 max_len;			/* offset 24 */
};

/* By ingress interface index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct flow_acct);
	__uint(max_entries, 64);
} acct_by_ifindex SEC(".maps");

/* One global record in slot 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct flow_acct);
	__uint(max_entries, 1);
} acct_total SEC(".maps");

static __always_inline void account(struct flow_acct *a, __u32 len)
{
	bpf_spin_lock(&a->lock);
	a->packets++;
	a->bytes += len;
	a->last_len = len;
	if (len > a->max_len)
		a->max_len = len;
	bpf_spin_unlock(&a->lock);
}

SEC("tc")
int tc_account(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex;
	struct flow_acct zero = {}, *a;

	a = bpf_map_lookup_elem(&acct_by_ifindex, &ifindex);
	if (!a) {
		bpf_map_update_elem(&acct_by_ifindex, &ifindex, &zero,
				    BPF_NOEXIST);
		a = bpf_map_lookup_elem(&acct_by_ifindex, &ifindex);
		if (!a)
			return TC_ACT_OK;
	}
	account(a, skb->len);
	return TC_ACT_OK;
}

SEC("xdp")
int xdp_account(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct flow_acct *a;

	a = bpf_map_lookup_elem(&acct_total, &key);
	if (!a)
		return XDP_ABORTED;
	account(a, ctx->data_end - ctx->data);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
