// SPDX-License-Identifier: GPL-2.0
/*
 * A global FIFO sched_ext scheduler: every runnable task goes into one
 * shared dispatch queue, and each CPU takes the oldest when it needs work.
 * Written against the kernel's sched_ext interface directly (vmlinux.h types
 * and kfuncs), in the style of the scx project's schedulers: rodata knobs,
 * stats in .bss, and user exit info recorded by ops.exit.
 *
 * .rodata knobs (set before load):
 *   slice_ns       time slice; 0 = the kernel's SCX_SLICE_DFL, read from
 *                  kernel BTF at load time into __SCX_SLICE_DFL (the C
 *                  tooling's SCX_ENUM_INIT pattern)
 *   bad_dsq        0, or a dispatch queue id that does not exist: dispatch
 *                  then moves tasks from there, and the kernel aborts the
 *                  scheduler with an error naming it
 * .bss stats: enqueued (ops.enqueue calls), dispatched (tasks moved to a
 * CPU's local queue by ops.dispatch), inits (ops.init calls).
 * .bss uei: the exit info the kernel passes to ops.exit (kind, exit_code,
 * reason and message), for user space to print when the scheduler ends:
 * SCX_EXIT_UNREG (64) "unregistered from user space" after a detach, an
 * error kind (1024) with the kernel's reason after an abort.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpfkit_uei.h"

char LICENSE[] SEC("license") = "GPL";

#define SHARED_DSQ 0

const volatile u64 slice_ns = 0;
const volatile u64 bad_dsq = 0;
/* Filled from kernel BTF at load time (enum scx_public_consts). */
const volatile u64 __SCX_SLICE_DFL = 0;

u64 enqueued;
u64 dispatched;
u64 inits;

BPFKIT_UEI_DEFINE();

static u64 slice(void)
{
	return slice_ns ? slice_ns : __SCX_SLICE_DFL;
}

SEC("struct_ops.s/fifo_init")
s32 BPF_PROG(fifo_init)
{
	__sync_fetch_and_add(&inits, 1);
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

SEC("struct_ops/fifo_enqueue")
void BPF_PROG(fifo_enqueue, struct task_struct *p, u64 enq_flags)
{
	__sync_fetch_and_add(&enqueued, 1);
	scx_bpf_dsq_insert(p, SHARED_DSQ, slice(), enq_flags);
}

SEC("struct_ops/fifo_dispatch")
void BPF_PROG(fifo_dispatch, s32 cpu, struct task_struct *prev)
{
	if (scx_bpf_dsq_move_to_local(bad_dsq ? bad_dsq : SHARED_DSQ))
		__sync_fetch_and_add(&dispatched, 1);
}

SEC("struct_ops/fifo_exit")
void BPF_PROG(fifo_exit, struct scx_exit_info *ei)
{
	BPFKIT_UEI_RECORD(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops fifo_ops = {
	.enqueue = (void *)fifo_enqueue,
	.dispatch = (void *)fifo_dispatch,
	.init = (void *)fifo_init,
	.exit = (void *)fifo_exit,
	.name = "bpfkit_fifo",
};
