/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User exit info for the project's sched_ext schedulers: ops.exit copies what
 * the kernel says about the end of the scheduler (struct scx_exit_info) into
 * a global that user space reads (bpfkit::sched_ext::Scheduler::exit_info).
 * The layout matches the scx project's struct user_exit_info: kind at 0,
 * exit_code at 8, reason[128] at 16, msg[1024] at 144.
 */
#ifndef BPFKIT_UEI_H
#define BPFKIT_UEI_H

struct bpfkit_uei {
	s32 kind;
	s32 exit_cpu;
	s64 exit_code;
	char reason[128];
	char msg[1024];
};

/* Defines the exit info global `uei`. */
#define BPFKIT_UEI_DEFINE() struct bpfkit_uei uei

/* Records `ei` (a struct scx_exit_info *) into `uei`; call it from ops.exit. */
#define BPFKIT_UEI_RECORD(ei)                                                             \
	do {                                                                              \
		uei.kind = BPF_CORE_READ(ei, kind);                                       \
		uei.exit_cpu = BPF_CORE_READ(ei, exit_cpu);                               \
		uei.exit_code = BPF_CORE_READ(ei, exit_code);                             \
		bpf_probe_read_kernel_str(uei.reason, sizeof(uei.reason), BPF_CORE_READ(ei, reason)); \
		bpf_probe_read_kernel_str(uei.msg, sizeof(uei.msg), BPF_CORE_READ(ei, msg));          \
	} while (0)

#endif
