// SPDX-License-Identifier: GPL-2.0
/*
 * BPF trampolines: an fentry and an fexit program on the same kernel
 * function, reading its arguments (and, for fexit, its return value) from
 * the ctx array with BPF_PROG, without CO-RE.
 *
 * The function is `int __sys_listen(int fd, int backlog)` (net/socket.c,
 * a global function with a BTF FUNC in Linux 6.x and 7.x), reached by
 * listen(2) through __x64_sys_listen. listen(-1, backlog) calls it with
 * fd = -1 and returns -EBADF (-9) without touching anything; listen() on a
 * file that is not a socket returns -ENOTSOCK (-88).
 *
 * Expected behaviour (both programs attached), for every listen() by the
 * process whose tgid is in `target_tgid` (.rodata, set before load;
 * 0 = any process):
 *   on_listen_entry: calls[0] += 1 (array map), entry_calls += 1,
 *     last_fd = fd, last_backlog = backlog (.bss);
 *   on_listen_exit:  calls[1] += 1, exit_calls += 1, last_ret = return
 *     value, exit_backlog = backlog as seen at exit (.bss).
 * So after N calls of listen(-1, 4242): calls = [N, N], last_fd = -1,
 * last_backlog = exit_backlog = 4242, last_ret = -9.
 *
 * The host kernel of the project's CI (6.18, lockdown=integrity, no
 * kprobes) refuses every fentry/fexit program: BPF_PROG_LOAD fails with
 * EPERM before the verifier runs, for any target function.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* .rodata: the only process counted (0 = every process). */
const volatile u32 target_tgid = 0;

/* .bss */
u64 entry_calls;
u64 exit_calls;
s32 last_fd;
s32 last_backlog;
s32 exit_backlog;
s32 last_ret;

/* calls[0]: fentry runs, calls[1]: fexit runs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} calls SEC(".maps");

static __always_inline bool counted(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return !target_tgid || tgid == target_tgid;
}

static __always_inline void bump(u32 slot)
{
	u64 *count = bpf_map_lookup_elem(&calls, &slot);

	if (count)
		__sync_fetch_and_add(count, 1);
}

SEC("fentry/__sys_listen")
int BPF_PROG(on_listen_entry, int fd, int backlog)
{
	if (!counted())
		return 0;
	bump(0);
	__sync_fetch_and_add(&entry_calls, 1);
	last_fd = fd;
	last_backlog = backlog;
	return 0;
}

SEC("fexit/__sys_listen")
int BPF_PROG(on_listen_exit, int fd, int backlog, int ret)
{
	if (!counted())
		return 0;
	bump(1);
	__sync_fetch_and_add(&exit_calls, 1);
	exit_backlog = backlog;
	last_ret = ret;
	return 0;
}
