// SPDX-License-Identifier: GPL-2.0
/*
 * One program per attach kind the loader links, each counting into .bss
 * what it saw, so a test can check that attaching worked and detaching
 * stopped it. Syscall-driven programs count only the process whose tgid is
 * in `target_tgid` (.rodata, set before load; 0 = any process). No CO-RE:
 * vmlinux.h is included with BPF_NO_PRESERVE_ACCESS_INDEX and only
 * context fields with fixed UAPI layouts are read.
 *
 * Expected behaviour, per program:
 *   raw_tp/sys_enter                      raw_tp_hits += 1 per syscall
 *   kprobe/__x64_sys_getppid              kprobe_hits += 1 per getppid()
 *   kretprobe/__x64_sys_getppid           kretprobe_hits += 1 per getppid()
 *   kprobe.multi/__task_pid_nr_ns         multi_hits += 1 per call (getppid()
 *                                         calls it once; syscall wrappers are
 *                                         not in ftrace, which kprobe.multi uses)
 *   ksyscall/getppid                      ksyscall_hits += 1 per getppid()
 *   tracepoint/syscalls/sys_enter_getppid emits struct getppid_event
 *                                         { tgid, seq } on perf_events
 *                                         (perf event array, current CPU),
 *                                         seq = 0, 1, 2, ...
 *   xdp                                   xdp_packets += 1 per packet, XDP_PASS
 *   tc/ingress (tcx)                      tcx_packets += 1 per packet, TC_ACT_OK
 *   cgroup_skb/egress                     cgroup_packets += 1 per packet, allow
 *   socket                                socket_packets += 1 per packet, keeps
 *                                         the whole packet
 * The packet programs count every packet (no filter): a test sends its own
 * traffic and checks that the count grew. The kprobe programs need a kernel
 * with kprobes (the VM), the others run on the host.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile u32 target_tgid = 0;

u64 raw_tp_hits;
u64 kprobe_hits;
u64 kretprobe_hits;
u64 multi_hits;
u64 ksyscall_hits;
u64 xdp_packets;
u64 tcx_packets;
u64 cgroup_packets;
u64 socket_packets;
u64 perf_seq;

struct getppid_event {
	u32 tgid;
	u32 pad;
	u64 seq;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

static __always_inline bool mine(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !target_tgid || tgid == target_tgid;
}

SEC("raw_tp/sys_enter")
int on_sys_enter(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&raw_tp_hits, 1);
	return 0;
}

SEC("kprobe/__x64_sys_getppid")
int on_getppid_kprobe(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kprobe_hits, 1);
	return 0;
}

SEC("kretprobe/__x64_sys_getppid")
int on_getppid_kretprobe(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&kretprobe_hits, 1);
	return 0;
}

SEC("kprobe.multi/__task_pid_nr_ns")
int on_getppid_multi(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&multi_hits, 1);
	return 0;
}

SEC("ksyscall/getppid")
int on_getppid_ksyscall(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&ksyscall_hits, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int emit_getppid(void *ctx)
{
	struct getppid_event e = {};

	if (!mine())
		return 0;
	e.tgid = bpf_get_current_pid_tgid() >> 32;
	e.seq = __sync_fetch_and_add(&perf_seq, 1);
	bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return 0;
}

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&xdp_packets, 1);
	return XDP_PASS;
}

SEC("tc/ingress")
int count_tcx(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&tcx_packets, 1);
	return 0; /* TC_ACT_OK */
}

SEC("cgroup_skb/egress")
int count_cgroup(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&cgroup_packets, 1);
	return 1;
}

SEC("socket")
int count_socket(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&socket_packets, 1);
	return skb->len;
}
