// SPDX-License-Identifier: GPL-2.0
/*
 * libbpf's "?" sections: programs in SEC("?...") are not loaded, and maps
 * in SEC("?.struct_ops*") not created, unless the user asks for them; the
 * struct_ops programs of a map that is not created are not loaded either.
 *
 * Expected behaviour: by default only always_on loads (counting getppid()
 * calls of target_tgid in always_hits); optional_on (same, optional_hits)
 * loads when its autoload is set; optional_cc (a tcp_congestion_ops named
 * "bpfkit_opt" whose programs delegate to the tcp_reno_* kfuncs) is created
 * and registrable only when its autocreate is set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

extern u32 tcp_reno_ssthresh(struct sock *sk) __ksym;
extern void tcp_reno_cong_avoid(struct sock *sk, u32 ack, u32 acked) __ksym;
extern u32 tcp_reno_undo_cwnd(struct sock *sk) __ksym;

const volatile u32 target_tgid = 0;
u64 always_hits;
u64 optional_hits;

SEC("tracepoint/syscalls/sys_enter_getppid")
int always_on(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		__sync_fetch_and_add(&always_hits, 1);
	return 0;
}

SEC("?tracepoint/syscalls/sys_enter_getppid")
int optional_on(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target_tgid)
		__sync_fetch_and_add(&optional_hits, 1);
	return 0;
}

SEC("struct_ops")
u32 BPF_PROG(opt_ssthresh, struct sock *sk)
{
	return tcp_reno_ssthresh(sk);
}

SEC("struct_ops")
void BPF_PROG(opt_cong_avoid, struct sock *sk, u32 ack, u32 acked)
{
	tcp_reno_cong_avoid(sk, ack, acked);
}

SEC("struct_ops")
u32 BPF_PROG(opt_undo_cwnd, struct sock *sk)
{
	return tcp_reno_undo_cwnd(sk);
}

SEC("?.struct_ops.link")
struct tcp_congestion_ops optional_cc = {
	.ssthresh = (void *)opt_ssthresh,
	.cong_avoid = (void *)opt_cong_avoid,
	.undo_cwnd = (void *)opt_undo_cwnd,
	.name = "bpfkit_opt",
};
