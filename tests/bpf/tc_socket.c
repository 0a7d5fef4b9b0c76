// SPDX-License-Identifier: GPL-2.0
/*
 * tc_socket.c - tc classifiers and socket filters over struct __sk_buff.
 *
 * Exercises:
 *   - SEC("tc") and the older SEC("classifier") name: both
 *     BPF_PROG_TYPE_SCHED_CLS;
 *   - __sk_buff context reads (protocol, len, data, data_end) and writes
 *     (mark, priority, cb[0]);
 *   - direct packet access from a tc program;
 *   - SEC("socket") filters: one with legacy LD_ABS loads, one with
 *     bpf_skb_load_bytes().
 *
 * The LD_ABS loads: clang 19 has no __builtin_bpf_load_byte/half/word, but
 * it still lowers calls to the LLVM intrinsics llvm.bpf.load.byte/half/word
 * into BPF_LD | BPF_ABS instructions when they are declared by asm label,
 * as the kernel's old samples did. The loaded value is in host order (the
 * instruction converts from network order).
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* TC_PRIO_INTERACTIVE from linux/pkt_sched.h. */
#define PRIO_INTERACTIVE 6
#define IPV4_MARK 0x42

unsigned long long load_byte(void *skb, unsigned long long off)
	asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off)
	asm("llvm.bpf.load.half");

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		skb->mark = IPV4_MARK;
		skb->priority = PRIO_INTERACTIVE;
		return TC_ACT_OK;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

/* Old section name for the same program type; drops ARP with direct
 * packet access and leaves the length in cb[0] for a later program. */
SEC("classifier")
int tc_drop_arp(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;

	skb->cb[0] = skb->len;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return TC_ACT_SHOT;
	return TC_ACT_UNSPEC;
}

/* Keeps UDP over IPv4 or IPv6 whole, drops everything else. */
SEC("socket")
int sock_filter_udp(struct __sk_buff *skb)
{
	__u64 proto = load_half(skb, offsetof(struct ethhdr, h_proto));

	if (proto == ETH_P_IP) {
		if (load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)) ==
		    IPPROTO_UDP)
			return skb->len;
	} else if (proto == ETH_P_IPV6) {
		if (load_byte(skb, ETH_HLEN + offsetof(struct ipv6hdr, nexthdr)) ==
		    IPPROTO_UDP)
			return skb->len;
	}
	return 0;
}

/* The same filter through bpf_skb_load_bytes(). */
SEC("socket")
int sock_filter_udp_helper(struct __sk_buff *skb)
{
	__be16 proto;
	__u8 next;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &proto,
			       sizeof(proto)) < 0)
		return 0;
	if (proto == bpf_htons(ETH_P_IP)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol),
				       &next, 1) < 0)
			return 0;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, nexthdr),
				       &next, 1) < 0)
			return 0;
	} else {
		return 0;
	}
	return next == IPPROTO_UDP ? skb->len : 0;
}

char _license[] SEC("license") = "GPL";
