// SPDX-License-Identifier: GPL-2.0
/*
 * A weighted virtual-time sched_ext scheduler: runnable tasks wait in one
 * shared dispatch queue ordered by virtual time; a task's virtual time
 * advances by the time it ran scaled by 100 / its weight (nice 0 = 100), so
 * heavier tasks get proportionally more CPU. A task that slept may not bank
 * more than one slice of credit. Like scx_fifo: __SCX_SLICE_DFL filled from
 * kernel BTF, stats in .bss (enqueued, dispatched), exit info in uei. The
 * task fields (p->scx.dsq_vtime, slice, weight) are read and written
 * through CO-RE.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpfkit_uei.h"

char LICENSE[] SEC("license") = "GPL";

#define SHARED_DSQ 0

const volatile u64 __SCX_SLICE_DFL = 0;

u64 vtime_now;
u64 enqueued;
u64 dispatched;

BPFKIT_UEI_DEFINE();

static bool before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

SEC("struct_ops.s/vtime_init")
s32 BPF_PROG(vtime_init)
{
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

SEC("struct_ops/vtime_enqueue")
void BPF_PROG(vtime_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 vtime = p->scx.dsq_vtime;

	__sync_fetch_and_add(&enqueued, 1);
	/* At most one slice of credit for a task that slept. */
	if (before(vtime, vtime_now - __SCX_SLICE_DFL))
		vtime = vtime_now - __SCX_SLICE_DFL;
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, __SCX_SLICE_DFL, vtime, enq_flags);
}

SEC("struct_ops/vtime_dispatch")
void BPF_PROG(vtime_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_bpf_dsq_move_to_local(SHARED_DSQ))
		__sync_fetch_and_add(&dispatched, 1);
}

SEC("struct_ops/vtime_running")
void BPF_PROG(vtime_running, struct task_struct *p)
{
	if (before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
}

SEC("struct_ops/vtime_stopping")
void BPF_PROG(vtime_stopping, struct task_struct *p, bool runnable)
{
	p->scx.dsq_vtime += (__SCX_SLICE_DFL - p->scx.slice) * 100 / p->scx.weight;
}

SEC("struct_ops/vtime_enable")
void BPF_PROG(vtime_enable, struct task_struct *p)
{
	p->scx.dsq_vtime = vtime_now;
}

SEC("struct_ops/vtime_exit")
void BPF_PROG(vtime_exit, struct scx_exit_info *ei)
{
	BPFKIT_UEI_RECORD(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops vtime_ops = {
	.enqueue = (void *)vtime_enqueue,
	.dispatch = (void *)vtime_dispatch,
	.running = (void *)vtime_running,
	.stopping = (void *)vtime_stopping,
	.enable = (void *)vtime_enable,
	.init = (void *)vtime_init,
	.exit = (void *)vtime_exit,
	.name = "bpfkit_vtime",
};
