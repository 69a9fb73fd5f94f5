// SPDX-License-Identifier: GPL-2.0
/*
 * Every map shape a libbpf-style object declares, and the ways programs
 * call code:
 *   - BTF-defined maps: hash, array, per-cpu array, LRU hash, ring buffer,
 *     a map pinned by name (LIBBPF_PIN_BY_NAME, in the loader's pin root),
 *     and an array of maps whose slots are filled by an __array initializer;
 *   - global data in .data, .rodata, .bss and a custom .data.* section;
 *   - a static (noinline) subprogram and a global (BTF-verified) function.
 *
 * Expected behaviour (BPF_PROG_RUN of `exercise`, a syscall program, with a
 * struct exercise_args as context):
 *   hash[key] = value, array[0] += value, percpu[0] += value on this cpu,
 *   lru[key] = value, pinned[0] = value, inner_a[0] = value (through
 *   outer[0]), a struct event { key, value, scaled } is emitted on `events`,
 *   runs (.bss) += 1, last_scaled (.data.stats) = scaled, and the program
 *   returns scaled = value * scale (rodata, default 3) + bias (.data, 7);
 *   it also writes the number of runs so far into args->pad, which the
 *   kernel copies back to the caller's context (syscall programs only).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct exercise_args {
	u32 key;
	u32 pad;
	u64 value;
};

struct event {
	u32 key;
	u32 pad;
	u64 value;
	u64 scaled;
};

const volatile u64 scale = 3;
u64 bias = 7;
u64 runs;
u64 last_scaled SEC(".data.stats");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bpfkit_pinned SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { &inner_a, &inner_b },
};

static __noinline u64 scaled_value(u64 value)
{
	return value * scale + bias;
}

/* A global function: verified once on its own, from its BTF prototype. */
__noinline int store(u32 key, u64 value)
{
	u32 zero = 0;
	void *inner;

	if (bpf_map_update_elem(&hash, &key, &value, BPF_ANY))
		return -1;
	if (bpf_map_update_elem(&lru, &key, &value, BPF_ANY))
		return -2;
	if (bpf_map_update_elem(&bpfkit_pinned, &zero, &value, BPF_ANY))
		return -3;
	inner = bpf_map_lookup_elem(&outer, &zero);
	if (!inner)
		return -4;
	if (bpf_map_update_elem(inner, &zero, &value, BPF_ANY))
		return -5;
	return 0;
}

SEC("syscall")
int exercise(struct exercise_args *args)
{
	u32 key = args->key, zero = 0;
	u64 value = args->value;
	struct event *e;
	u64 *slot;
	int err;

	err = store(key, value);
	if (err)
		return err;
	slot = bpf_map_lookup_elem(&array, &zero);
	if (slot)
		*slot += value;
	slot = bpf_map_lookup_elem(&percpu, &zero);
	if (slot)
		*slot += value;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return -6;
	e->key = key;
	e->pad = 0;
	e->value = value;
	e->scaled = scaled_value(value);
	last_scaled = e->scaled;
	bpf_ringbuf_submit(e, 0);

	runs++;
	args->pad = runs;
	return scaled_value(value);
}
