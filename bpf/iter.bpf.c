// SPDX-License-Identifier: GPL-2.0
/*
 * A BPF iterator (iter/task) writing one text line per task with
 * BPF_SEQ_PRINTF, read from the iterator's fd (BPF_LINK_CREATE, then
 * BPF_ITER_CREATE and read(2)), or from its file once the link is pinned.
 *
 * No CO-RE: vmlinux.h is included with BPF_NO_PRESERVE_ACCESS_INDEX. The
 * context (struct bpf_iter__task: meta at 0, task at 8) and struct
 * bpf_iter_meta (seq at 0, seq_num at 16) have the same layout on every
 * kernel, but task_struct does not (tgid is at byte 1268 on the host's
 * 6.18, 2812 on Debian's 7.2), so the loader passes the running kernel's
 * byte offsets of task_struct.tgid and task_struct.comm in .rodata
 * (`task_tgid_offset`, `task_comm_offset`, from /sys/kernel/btf/vmlinux)
 * and the program reads them with bpf_probe_read_kernel() and %s.
 *
 * Expected output (one iteration visits every thread of every process):
 *   both offsets set (non-zero): one line per thread, "<tgid> <comm>\n",
 *     e.g. "1234 host_fixtures-\n"; a test finds a line with its own
 *     getpid() and /proc/self/comm;
 *   either offset 0 (the default): one line per thread, "task <n>\n", with
 *     n = 0, 1, 2, ... (the iterator's seq_num).
 *   tasks_seen (.bss) += 1 per line printed.
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* .rodata: byte offsets in the running kernel's struct task_struct. */
const volatile u32 task_tgid_offset = 0;
const volatile u32 task_comm_offset = 0;

/* .bss */
u64 tasks_seen;

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	u64 seq_num = ctx->meta->seq_num;
	s32 tgid = 0;

	if (!task)
		return 0; /* end of the iteration */
	__sync_fetch_and_add(&tasks_seen, 1);
	if (!task_tgid_offset || !task_comm_offset) {
		BPF_SEQ_PRINTF(seq, "task %llu\n", seq_num);
		return 0;
	}
	bpf_probe_read_kernel(&tgid, sizeof(tgid), (void *)task + task_tgid_offset);
	BPF_SEQ_PRINTF(seq, "%d %s\n", tgid, (void *)task + task_comm_offset);
	return 0;
}
