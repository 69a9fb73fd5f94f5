// SPDX-License-Identifier: GPL-2.0
/*
 * Packet programs run with BPF_PROG_RUN (BPF_PROG_TEST_RUN) on packets a
 * test builds: an XDP program with direct packet access and a socket filter
 * reading the packet with bpf_skb_load_bytes(). No CO-RE: the packet
 * headers are UAPI layouts, so vmlinux.h is included with
 * BPF_NO_PRESERVE_ACCESS_INDEX.
 *
 * Expected behaviour of xdp_udp_drop (input: an Ethernet frame):
 *   IPv4 + UDP with destination port `drop_port` (.rodata, host order,
 *   default 7777)              -> XDP_DROP (1)
 *   any other complete frame   -> XDP_PASS (2) (other port, TCP, IPv6, ARP)
 *   Ethernet type IPv4 but the IPv4 or UDP header is cut short (or IHL < 5)
 *                              -> XDP_ABORTED (0)
 *   each run adds 1 to verdicts[verdict] (per-CPU array, 5 slots indexed
 *   by XDP action; sum the CPUs) and sets last_dport (.bss) to the UDP
 *   destination port in host order (unchanged when there is no UDP header).
 *   The packet is not modified.
 *
 * Expected behaviour of socket_udp_len (input: an Ethernet frame; as for a
 * socket, the program sees the packet from the IPv4 header on):
 *   IPv4 + UDP -> returns the UDP length field minus 8 (the payload length
 *                 the header claims), e.g. 32 for 32 payload bytes
 *   otherwise  -> returns 0 (drop)
 *   each run adds 1 to filter_runs and sets last_skb_len to skb->len, the
 *   frame length minus 14 (.bss).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define IPPROTO_UDP_NUM 17

char LICENSE[] SEC("license") = "GPL";

/* .rodata: UDP destination port (host order) that XDP drops. */
const volatile u16 drop_port = 7777;

/* .bss */
u32 last_dport;
u64 filter_runs;
u32 last_skb_len;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, u32);
	__type(value, u64);
} verdicts SEC(".maps");

static __always_inline int verdict(u32 action)
{
	u64 *count = bpf_map_lookup_elem(&verdicts, &action);

	if (count)
		*count += 1;
	return action;
}

SEC("xdp")
int xdp_udp_drop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	u32 ihl;

	if ((void *)(eth + 1) > end)
		return verdict(XDP_ABORTED);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return verdict(XDP_PASS);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return verdict(XDP_ABORTED);
	ihl = ip->ihl;
	if (ihl < 5)
		return verdict(XDP_ABORTED);
	if (ip->protocol != IPPROTO_UDP_NUM)
		return verdict(XDP_PASS);
	udp = (void *)ip + ihl * 4;
	if ((void *)(udp + 1) > end)
		return verdict(XDP_ABORTED);
	last_dport = bpf_ntohs(udp->dest);
	if (udp->dest == bpf_htons(drop_port))
		return verdict(XDP_DROP);
	return verdict(XDP_PASS);
}

SEC("socket")
int socket_udp_len(struct __sk_buff *skb)
{
	u8 ver_ihl, proto;
	u16 udp_len;
	u32 ihl;

	__sync_fetch_and_add(&filter_runs, 1);
	last_skb_len = skb->len;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, 0, &ver_ihl, 1))
		return 0;
	if (bpf_skb_load_bytes(skb, offsetof(struct iphdr, protocol), &proto, 1))
		return 0;
	ihl = ver_ihl & 0xf;
	if ((ver_ihl >> 4) != 4 || ihl < 5 || proto != IPPROTO_UDP_NUM)
		return 0;
	if (bpf_skb_load_bytes(skb, ihl * 4 + offsetof(struct udphdr, len), &udp_len, 2))
		return 0;
	udp_len = bpf_ntohs(udp_len);
	if (udp_len < sizeof(struct udphdr))
		return 0;
	return udp_len - sizeof(struct udphdr);
}
