// SPDX-License-Identifier: GPL-2.0
/*
 * A TCP congestion control written as struct_ops (vmlinux-defined type
 * struct tcp_congestion_ops), delegating to the kernel's Reno through
 * vmlinux kfuncs.
 *
 * Expected behaviour: registering the `.struct_ops.link` map lists
 * "bpfkit_reno" in /proc/sys/net/ipv4/tcp_available_congestion_control
 * until its link is destroyed. A socket that selects it (setsockopt
 * TCP_CONGESTION) runs init (inits += 1), and ACKs run cong_avoid
 * (acks += 1) and, on loss, ssthresh.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, u32 ack, u32 acked) __ksym;
extern u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

u64 inits;
u64 acks;

SEC("struct_ops")
void BPF_PROG(bpfkit_reno_init, struct sock *sk)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops")
u32 BPF_PROG(bpfkit_reno_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops")
void BPF_PROG(bpfkit_reno_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	__sync_fetch_and_add(&acks, 1);
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
u32 BPF_PROG(bpfkit_reno_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC(".struct_ops.link")
struct tcp_congestion_ops bpfkit_reno = {
	.init = (void *)bpfkit_reno_init,
	.ssthresh = (void *)bpfkit_reno_ssthresh,
	.cong_avoid = (void *)bpfkit_reno_cong_avoid,
	.undo_cwnd = (void *)bpfkit_reno_undo_cwnd,
	.name = "bpfkit_reno",
};
