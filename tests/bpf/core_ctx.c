// SPDX-License-Identifier: GPL-2.0
/*
 * core_ctx.c - a tc program that declares struct __sk_buff itself, as a
 * program built on a vmlinux.h-style header would, with
 * preserve_access_index and its members in another order than the uapi
 * header (protocol, mark, len at 0, 4, 8 here; len 0, mark 8, protocol 16
 * in linux/bpf.h).
 *
 * Exercises: CO-RE relocations of context accesses. Clang records a
 * byte-offset relocation for each of the three loads; a loader must
 * resolve them against the kernel's struct __sk_buff (fake_kernel.btf has
 * the uapi layout) before the context access is checked, or the program
 * reads the wrong fields.
 */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#define MARK_DROP 0x42
#define MAX_LEN 1500

struct __sk_buff {
	__u32 protocol;
	__u32 mark;
	__u32 len;
} __attribute__((preserve_access_index));

SEC("tc")
int core_ctx_prog(struct __sk_buff *skb)
{
	if (skb->mark == MARK_DROP)
		return TC_ACT_SHOT;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	return skb->len > MAX_LEN ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
