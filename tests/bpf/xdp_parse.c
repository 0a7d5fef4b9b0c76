// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_parse.c - header parsing with explicit bounds checks, a per-protocol
 * counter in a hash map, a port filter, and a devmap redirect.
 *
 * Exercises:
 *   - the usual "cursor" parsing style: static __always_inline parse helpers
 *     (Ethernet, one optional 802.1Q/802.1ad tag, IPv4 with options, IPv6,
 *     UDP, TCP), each checking its header against data_end;
 *   - a BTF-defined BPF_MAP_TYPE_HASH (key: IP protocol number, value:
 *     packet count) updated with lookup + atomic add, or insert with
 *     BPF_NOEXIST;
 *   - a BPF_MAP_TYPE_DEVMAP and bpf_redirect_map() with XDP_PASS in the
 *     flags as the action when the slot is empty;
 *   - byte-order conversions (bpf_htons / bpf_ntohs as constants and as
 *     instructions).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DISCARD_PORT 9
#define TELNET_PORT 23
#define TX_PORT_SLOTS 8

/* A VLAN tag as it sits between the MAC addresses and the EtherType. */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/* Where the parser stands in the packet. */
struct hdr_cursor {
	void *pos;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);	/* IPPROTO_* */
	__type(value, __u64);	/* packets seen */
	__uint(max_entries, 256);
} proto_count SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);	/* ifindex */
	__uint(max_entries, TX_PORT_SLOTS);
} tx_port SEC(".maps");

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) ||
	       h_proto == bpf_htons(ETH_P_8021AD);
}

/* Returns the EtherType (network order) after at most one VLAN tag, or -1. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;
	__u16 h_proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	h_proto = eth->h_proto;

	if (proto_is_vlan(h_proto)) {
		struct vlan_hdr *vlh = nh->pos;

		if ((void *)(vlh + 1) > data_end)
			return -1;
		nh->pos = vlh + 1;
		h_proto = vlh->h_vlan_encapsulated_proto;
	}
	return h_proto;
}

/* Returns the IPv4 protocol, or -1 for a short or malformed header. */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return -1;
	hdrsize = iph->ihl * 4;
	if (hdrsize < (int)sizeof(*iph))
		return -1;
	if (nh->pos + hdrsize > data_end)
		return -1;
	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

/* Returns the IPv6 next header, or -1 for a short header. */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end,
					struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}

/* Returns the destination port (host order), or -1. */
static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end)
{
	struct udphdr *udph = nh->pos;

	if ((void *)(udph + 1) > data_end)
		return -1;
	nh->pos = udph + 1;
	return bpf_ntohs(udph->dest);
}

/* Returns the destination port (host order), or -1. */
static __always_inline int parse_tcphdr(struct hdr_cursor *nh, void *data_end)
{
	struct tcphdr *tcph = nh->pos;
	int len;

	if ((void *)(tcph + 1) > data_end)
		return -1;
	len = tcph->doff * 4;
	if (len < (int)sizeof(*tcph))
		return -1;
	if (nh->pos + len > data_end)
		return -1;
	nh->pos += len;
	return bpf_ntohs(tcph->dest);
}

static __always_inline void count_protocol(__u32 protocol)
{
	__u64 one = 1;
	__u64 *count;

	count = bpf_map_lookup_elem(&proto_count, &protocol);
	if (count) {
		__sync_fetch_and_add(count, 1);
		return;
	}
	/* First packet of this protocol (a racing CPU may win the insert). */
	bpf_map_update_elem(&proto_count, &protocol, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_parse_prog(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct iphdr *iph;
	struct ipv6hdr *ip6h;
	int eth_type, ip_proto, dport;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type < 0)
		return XDP_DROP;

	if (eth_type == bpf_htons(ETH_P_IP))
		ip_proto = parse_iphdr(&nh, data_end, &iph);
	else if (eth_type == bpf_htons(ETH_P_IPV6))
		ip_proto = parse_ip6hdr(&nh, data_end, &ip6h);
	else
		return XDP_PASS;	/* ARP and friends */

	if (ip_proto < 0)
		return XDP_DROP;

	count_protocol(ip_proto);

	if (ip_proto == IPPROTO_UDP) {
		dport = parse_udphdr(&nh, data_end);
		if (dport < 0)
			return XDP_DROP;
		if (dport == DISCARD_PORT)
			return XDP_DROP;
	} else if (ip_proto == IPPROTO_TCP) {
		dport = parse_tcphdr(&nh, data_end);
		if (dport < 0)
			return XDP_DROP;
		if (dport == TELNET_PORT)
			return XDP_DROP;
	}
	return XDP_PASS;
}

SEC("xdp")
int xdp_redirect_prog(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct iphdr *iph;
	__u32 slot;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (parse_iphdr(&nh, data_end, &iph) < 0)
		return XDP_PASS;

	/* Last byte of the destination address (network order: byte 3). */
	slot = (bpf_ntohl(iph->daddr) & 0xff) % TX_PORT_SLOTS;
	return bpf_redirect_map(&tx_port, slot, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
