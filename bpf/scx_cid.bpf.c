// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest cid-form sched_ext scheduler (struct sched_ext_ops_cid, Linux
 * 7.2): every runnable task goes to the global dispatch queue, which the
 * kernel consumes by itself. It exists because no published scheduler uses
 * the cid form yet; bpfkit must register whichever ops type an object
 * defines.
 *
 * scx_lib_init_probe: the scx library's prolog probe, declared as scx's
 * common.bpf.h declares it (fentry on bpf_scx_reg, the cpu form's
 * registration). A cid-form scheduler registers through bpf_scx_reg_cid, so
 * the loader must retarget it there (bpfkit::sched_ext::prepare does, as
 * scx_ops_cid_open! does); when it fires, probe_fired becomes 1.
 * The kernel takes a cid-form scheduler only if its programs use a BPF arena
 * (it keeps its per-CPU cid state there, so the arena needs room):
 * this one counts its enqueues in an __arena global too (in_arena, starting
 * at 1000: its initial value is placed in the arena by the loader).
 * .bss stats: enqueued (ops.enqueue calls); uei: the exit info.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "bpfkit_uei.h"

char LICENSE[] SEC("license") = "GPL";

/* Filled from kernel BTF at load time (enum scx_public_consts). */
const volatile u64 __SCX_SLICE_DFL = 0;

u64 enqueued;
u64 probe_fired;

struct {
	__uint(type, BPF_MAP_TYPE_ARENA);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1 << 14); /* pages: the kernel keeps its cid state in it */
} arena SEC(".maps");

u64 __attribute__((address_space(1))) in_arena = 1000;

BPFKIT_UEI_DEFINE();

SEC("fentry/bpf_scx_reg")
int scx_lib_init_probe(void *ctx)
{
	probe_fired = 1;
	return 0;
}

SEC("struct_ops/cid_enqueue")
void BPF_PROG(cid_enqueue, struct task_struct *p, u64 enq_flags)
{
	__sync_fetch_and_add(&enqueued, 1);
	in_arena += 1;
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, __SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/cid_exit")
void BPF_PROG(cid_exit, struct scx_exit_info *ei)
{
	BPFKIT_UEI_RECORD(ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops_cid cid_ops = {
	.enqueue = (void *)cid_enqueue,
	.exit = (void *)cid_exit,
	.name = "bpfkit_cid",
};
