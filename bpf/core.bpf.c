// SPDX-License-Identifier: GPL-2.0
/*
 * Every CO-RE relocation kind, against vmlinux.h, for the loader's CO-RE
 * resolver (issue 5) and its differential test against libbpf.
 *
 * SEC("syscall") core_values: run it with BPF_PROG_TEST_RUN (no ctx, no
 * data); it stores every relocated value in its own u64 in .bss (and sets
 * core_runs = 1). SEC("raw_tp/sys_enter") core_sys_enter: attached, it
 * reads the current task through CO-RE on every syscall of the process
 * whose tgid is target_tgid (.rodata, set before load; 0 = no process).
 * Both call the static subprogram task_tgid() (a CO-RE read in .text), so
 * relocations inside linked subprograms are covered too.
 *
 * .rodata knobs: target_tgid (above); take_dead_branch, never set by the
 * tests: the verifier sees 0 (frozen .rodata) and skips the branches that
 * hold the poisoned instructions. Setting it to 1 makes the verifier reject
 * core_values with "invalid func unknown#195896080" (libbpf's 0xbad2310;
 * libbpf rewrites that log line to "<invalid CO-RE relocation>").
 *
 * How a test computes each expected value from the target kernel's BTF (K)
 * and this object's BTF (O). "off(T.m)" is the member's bit offset in T as
 * a name lookup through anonymous members finds it (bpfkit_btf's
 * find_member), in bits; "size(T)" is the byte size of T after typedefs and
 * modifiers; the name after "___" is a flavour and does not count.
 *
 * Field relocations, struct task_struct:
 *   task_pid_offset        FIELD_BYTE_OFFSET  off(task_struct.pid) / 8
 *   task_pid_size          FIELD_BYTE_SIZE    size(type of pid) = 4
 *   task_pid_exists        FIELD_EXISTS       1
 *   task_pid_signed        FIELD_SIGNED       1 (pid_t -> int, signed)
 *   task_flags_signed      FIELD_SIGNED       0 (flags: unsigned int)
 *   pid_links2_pprev_offset FIELD_BYTE_OFFSET off(task_struct.pid_links) / 8
 *                          + 2 * size(struct hlist_node) (16)
 *                          + off(hlist_node.pprev) / 8 (8): arr[2].field
 * Bitfield task_struct.in_iowait (unsigned int :1), b = off(in_iowait),
 * s = 1 (bitfield size), libbpf's rule: byte_sz = size(unsigned int) = 4,
 * byte_off = b / 8 / byte_sz * byte_sz (doubling byte_sz while the field
 * does not fit, not needed here), all little-endian:
 *   in_iowait_byte_offset  FIELD_BYTE_OFFSET  byte_off
 *   in_iowait_byte_size    FIELD_BYTE_SIZE    byte_sz = 4
 *   in_iowait_lshift       FIELD_LSHIFT_U64   64 - (b + s - byte_off * 8)
 *   in_iowait_rshift       FIELD_RSHIFT_U64   64 - s = 63
 *   in_iowait_signed       FIELD_SIGNED       0
 *   in_iowait_value        read of the calling thread's in_iowait with
 *                          BPF_CORE_READ_BITFIELD_PROBED: 0 (it is running)
 * Bitfield perf_event_attr.exclude_hv (__u64 :1, UAPI layout, bit 326),
 * read with BPF_CORE_READ_BITFIELD (direct load) from the .data variable
 * attr_in (initialised here with disabled = exclude_hv = 1, so the read is
 * deterministic; the UAPI layout makes the local and kernel layouts agree):
 *   attr_exclude_hv_byte_offset  byte_off = 326 / 8 / 8 * 8 = 40
 *   attr_exclude_hv_lshift       64 - (326 + 1 - 320) = 57
 *   attr_exclude_hv_rshift       63
 *   attr_exclude_hv_value        1
 *   (the read also carries BYTE_SIZE = 8 and SIGNED = 0 relocations)
 * Flavours (local struct task_struct___new / ___old, both resolve to the
 * kernel's task_struct; 5.14 renamed state to __state):
 *   task_state_new_exists  FIELD_EXISTS  task_struct___new.__state: 1
 *   task_state_old_exists  FIELD_EXISTS  task_struct___old.state: 0
 *   task_state_offset      FIELD_BYTE_OFFSET off(task_struct.__state) / 8
 *   task_state_value       the thread's __state, read in the branch that
 *                          task_state_new_exists selects: 0 (TASK_RUNNING).
 *                          The ___old read in the other branch is poisoned
 *                          (dead once FIELD_EXISTS is 1).
 *   task_new_type_id_kernel TYPE_ID_TARGET for task_struct___new: the id of
 *                          K's struct task_struct
 * Field in nested anonymous members: sk_buff.protocol sits in an anonymous
 * struct inside an anonymous union (struct_group headers):
 *   skb_protocol_offset    FIELD_BYTE_OFFSET off(sk_buff.protocol) / 8
 *   skb_protocol_size      FIELD_BYTE_SIZE   2 (__be16)
 * Type relocations:
 *   task_type_id_local     TYPE_ID_LOCAL   id of struct task_struct in O
 *   task_type_id_kernel    TYPE_ID_TARGET  id of struct task_struct in K
 *   task_type_exists       TYPE_EXISTS     1
 *   task_type_size         TYPE_SIZE       size(K's struct task_struct)
 *   hlist_node_matches     TYPE_MATCHES    1 (same members, same types)
 *   hlist_node_bad_matches TYPE_MATCHES    0 (hlist_node___bad: next is an
 *                          int locally, a pointer in K)
 *   task_min_matches       TYPE_MATCHES    1 (task_struct___min: just pid and
 *                          tgid as pid_t; a subset of K's members matches)
 * A local type no kernel has (struct bpfkit_missing):
 *   missing_type_exists    TYPE_EXISTS     0
 *   missing_field_exists   FIELD_EXISTS    0 (bpfkit_missing.x)
 *   missing_field_value    only written under take_dead_branch: stays 0.
 *                          Its unguarded BPF_CORE_READ has a FIELD_BYTE_OFFSET
 *                          relocation that no candidate resolves: poisoned.
 * Enum relocations, enum cgroup_subsys_id:
 *   subsys_count_exists    ENUMVAL_EXISTS  CGROUP_SUBSYS_COUNT: 1
 *   subsys_count_value     ENUMVAL_VALUE   value of CGROUP_SUBSYS_COUNT in K
 *                          (config-dependent: 12 on the host's 6.18, 14 on
 *                          Debian 6.1, 6.12 and 7.2)
 *   rdma_cgrp_id_exists    ENUMVAL_EXISTS  rdma_cgrp_id: 0 on the host, 1 on
 *                          the Debian kernels
 *   missing_enumval_exists ENUMVAL_EXISTS  bpfkit_missing_cgrp_id, a value
 *                          only the local enum cgroup_subsys_id___bpfkit has: 0
 *   missing_enumval_value  only written under take_dead_branch: stays 0 (its
 *                          ENUMVAL_VALUE relocation is poisoned)
 * Real reads (probe reads at relocated offsets) of the calling thread:
 *   syscall_tgid           task->tgid (through task_tgid()): the process id
 *                          of the BPF_PROG_TEST_RUN caller
 *   syscall_pid            task->pid: its thread id
 *   core_runs              1 after a run
 * core_sys_enter, per syscall of target_tgid:
 *   sys_enter_hits         += 1
 *   sys_enter_tgid         task->tgid (through task_tgid()) = target_tgid
 *   sys_enter_parent_tgid  task->real_parent->tgid = the process's getppid()
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* Flavours: both match the kernel's struct task_struct by name. */
struct task_struct___new {
	unsigned int __state;
} __attribute__((preserve_access_index));

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

/* For TYPE_MATCHES: a subset that matches, and a mismatching member type. */
struct task_struct___min {
	pid_t pid;
	pid_t tgid;
} __attribute__((preserve_access_index));

struct hlist_node___bad {
	int next;
} __attribute__((preserve_access_index));

/* A type no kernel has. */
struct bpfkit_missing {
	int x;
	u64 y;
} __attribute__((preserve_access_index));

/* A local-only value of a kernel enum (flavour of enum cgroup_subsys_id). */
enum cgroup_subsys_id___bpfkit {
	bpfkit_missing_cgrp_id = 77,
};

const volatile u32 target_tgid = 0;
const volatile u32 take_dead_branch = 0;

struct perf_event_attr attr_in = {
	.size = sizeof(struct perf_event_attr),
	.disabled = 1,
	.exclude_hv = 1,
};

u64 task_pid_offset;
u64 task_pid_size;
u64 task_pid_exists;
u64 task_pid_signed;
u64 task_flags_signed;
u64 pid_links2_pprev_offset;
u64 in_iowait_byte_offset;
u64 in_iowait_byte_size;
u64 in_iowait_lshift;
u64 in_iowait_rshift;
u64 in_iowait_signed;
u64 in_iowait_value;
u64 attr_exclude_hv_byte_offset;
u64 attr_exclude_hv_lshift;
u64 attr_exclude_hv_rshift;
u64 attr_exclude_hv_value;
u64 task_state_new_exists;
u64 task_state_old_exists;
u64 task_state_offset;
u64 task_state_value;
u64 task_new_type_id_kernel;
u64 skb_protocol_offset;
u64 skb_protocol_size;
u64 task_type_id_local;
u64 task_type_id_kernel;
u64 task_type_exists;
u64 task_type_size;
u64 hlist_node_matches;
u64 hlist_node_bad_matches;
u64 task_min_matches;
u64 missing_type_exists;
u64 missing_field_exists;
u64 missing_field_value;
u64 subsys_count_exists;
u64 subsys_count_value;
u64 rdma_cgrp_id_exists;
u64 missing_enumval_exists;
u64 missing_enumval_value;
u64 syscall_tgid;
u64 syscall_pid;
u64 core_runs;

u64 sys_enter_hits;
u64 sys_enter_tgid;
u64 sys_enter_parent_tgid;

/* A subprogram with its own CO-RE relocation, linked into both programs. */
static __noinline u64 task_tgid(struct task_struct *task)
{
	return (u32)BPF_CORE_READ(task, tgid);
}

SEC("syscall")
int core_values(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	task_pid_offset = bpf_core_field_offset(struct task_struct, pid);
	task_pid_size = bpf_core_field_size(struct task_struct, pid);
	task_pid_exists = bpf_core_field_exists(struct task_struct, pid);
	task_pid_signed = __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED);
	task_flags_signed = __builtin_preserve_field_info(task->flags, BPF_FIELD_SIGNED);
	pid_links2_pprev_offset = bpf_core_field_offset(struct task_struct, pid_links[2].pprev);

	in_iowait_byte_offset = bpf_core_field_offset(struct task_struct, in_iowait);
	in_iowait_byte_size = bpf_core_field_size(struct task_struct, in_iowait);
	in_iowait_lshift = __builtin_preserve_field_info(task->in_iowait, BPF_FIELD_LSHIFT_U64);
	in_iowait_rshift = __builtin_preserve_field_info(task->in_iowait, BPF_FIELD_RSHIFT_U64);
	in_iowait_signed = __builtin_preserve_field_info(task->in_iowait, BPF_FIELD_SIGNED);
	in_iowait_value = BPF_CORE_READ_BITFIELD_PROBED(task, in_iowait);

	attr_exclude_hv_byte_offset = bpf_core_field_offset(struct perf_event_attr, exclude_hv);
	attr_exclude_hv_lshift = __builtin_preserve_field_info(attr_in.exclude_hv, BPF_FIELD_LSHIFT_U64);
	attr_exclude_hv_rshift = __builtin_preserve_field_info(attr_in.exclude_hv, BPF_FIELD_RSHIFT_U64);
	attr_exclude_hv_value = BPF_CORE_READ_BITFIELD(&attr_in, exclude_hv);

	task_state_new_exists = bpf_core_field_exists(struct task_struct___new, __state);
	task_state_old_exists = bpf_core_field_exists(struct task_struct___old, state);
	task_state_offset = bpf_core_field_offset(struct task_struct___new, __state);
	if (bpf_core_field_exists(struct task_struct___new, __state))
		task_state_value = BPF_CORE_READ((struct task_struct___new *)task, __state);
	else
		task_state_value = BPF_CORE_READ((struct task_struct___old *)task, state);
	task_new_type_id_kernel = bpf_core_type_id_kernel(struct task_struct___new);

	skb_protocol_offset = bpf_core_field_offset(struct sk_buff, protocol);
	skb_protocol_size = bpf_core_field_size(struct sk_buff, protocol);

	task_type_id_local = bpf_core_type_id_local(struct task_struct);
	task_type_id_kernel = bpf_core_type_id_kernel(struct task_struct);
	task_type_exists = bpf_core_type_exists(struct task_struct);
	task_type_size = bpf_core_type_size(struct task_struct);
	hlist_node_matches = bpf_core_type_matches(struct hlist_node);
	hlist_node_bad_matches = bpf_core_type_matches(struct hlist_node___bad);
	task_min_matches = bpf_core_type_matches(struct task_struct___min);

	missing_type_exists = bpf_core_type_exists(struct bpfkit_missing);
	missing_field_exists = bpf_core_field_exists(struct bpfkit_missing, x);

	subsys_count_exists = bpf_core_enum_value_exists(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);
	subsys_count_value = bpf_core_enum_value(enum cgroup_subsys_id, CGROUP_SUBSYS_COUNT);
	rdma_cgrp_id_exists = bpf_core_enum_value_exists(enum cgroup_subsys_id, rdma_cgrp_id);
	missing_enumval_exists = bpf_core_enum_value_exists(enum cgroup_subsys_id___bpfkit, bpfkit_missing_cgrp_id);

	if (take_dead_branch) {
		/* Unguarded: poisoned relocations, dead code for the verifier. */
		missing_field_value = BPF_CORE_READ((struct bpfkit_missing *)task, x);
		missing_enumval_value = bpf_core_enum_value(enum cgroup_subsys_id___bpfkit, bpfkit_missing_cgrp_id);
	}

	syscall_tgid = task_tgid(task);
	syscall_pid = (u32)BPF_CORE_READ(task, pid);
	core_runs = 1;
	return 0;
}

SEC("raw_tp/sys_enter")
int core_sys_enter(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 tgid = task_tgid(task);

	if (target_tgid == 0 || tgid != target_tgid)
		return 0;
	sys_enter_hits += 1;
	sys_enter_tgid = tgid;
	sys_enter_parent_tgid = (u32)BPF_CORE_READ(task, real_parent, tgid);
	return 0;
}
