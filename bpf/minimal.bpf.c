// SPDX-License-Identifier: GPL-2.0
/*
 * The smallest useful libbpf-style object: one tracepoint program, one
 * BTF-defined map and the three kinds of global data.
 *
 * Expected behaviour (attached to syscalls/sys_enter_getpid):
 *   every getpid() by the process whose tgid is in `target_tgid` (set in
 *   .rodata before load; 0 = any process) adds 1 to `hits` (.bss), to
 *   counts[0] (array map), and stores `stamp` (.data, 0x5eed by default)
 *   in `last_stamp` (.bss).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* .rodata: set by the loader before load, constant for the verifier. */
const volatile u32 target_tgid = 0;

/* .data: initialised, writable from both sides. */
u64 stamp = 0x5eed;

/* .bss: zero-initialised. */
u64 hits;
u64 last_stamp;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u32 zero = 0;
	u64 *count;

	if (target_tgid && tgid != target_tgid)
		return 0;
	__sync_fetch_and_add(&hits, 1);
	last_stamp = stamp;
	count = bpf_map_lookup_elem(&counts, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
