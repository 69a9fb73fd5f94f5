// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE against kernel module BTF: types vmlinux does not have, declared
 * locally with preserve_access_index, resolved by the loader in the BTF of
 * whichever loaded module defines them (btrfs, and the project's own
 * bpfkit_testmod). Checked in the VM, where those modules can be loaded.
 *
 * SEC("syscall") module_types: run with BPF_PROG_TEST_RUN (no ctx). Each
 * group of relocations sits behind its own type-exists check on the
 * relocated constant itself, so when the module is absent the verifier
 * sees 0, drops the branch, and the poisoned field relocations inside it
 * are dead code. Every value lands in .bss (u64); runs += 1 per run.
 *
 * With btrfs loaded (K = /sys/kernel/btf/btrfs, split on vmlinux):
 *   btrfs_inode_exists      TYPE_EXISTS        1 (0 without btrfs)
 *   btrfs_generation_offset FIELD_BYTE_OFFSET  off(btrfs_inode.generation)/8
 *   btrfs_vfs_inode_offset  FIELD_BYTE_OFFSET  off(btrfs_inode.vfs_inode)/8
 *   btrfs_inode_size        TYPE_SIZE          size(K's struct btrfs_inode)
 *   btrfs_inode_id          TYPE_ID_TARGET     its id in K's id space
 * With bpfkit_testmod loaded (layout in testmod/bpfkit_testmod.h):
 *   point_exists            TYPE_EXISTS        1
 *   point_y_offset          FIELD_BYTE_OFFSET  8
 *   point_hi_offset         FIELD_BYTE_OFFSET  22 (half.hi, in an anonymous union)
 *   point_hist2_offset      FIELD_BYTE_OFFSET  32 (hist[2])
 *   point_level_lshift      FIELD_LSHIFT_U64   bitfield level, bits 152..159,
 *                                              u16 load at byte 18: 64 - (152 + 8 - 144) = 48
 *   point_level_rshift      FIELD_RSHIFT_U64   56
 *   point_size              TYPE_SIZE          48
 *   point_id                TYPE_ID_TARGET     its id in the module's BTF
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

/* A few members of btrfs's inode (fs/btrfs/btrfs_inode.h), in any order. */
struct btrfs_inode {
	u64 generation;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

/* testmod/bpfkit_testmod.h */
struct bpfkit_testmod_point {
	s32 x;
	s64 y;
	u8 tag;
	u8 mode;
	u16 kind : 3;
	u16 flags : 5;
	u16 level : 8;
	union {
		u32 raw;
		struct {
			u16 lo;
			u16 hi;
		} half;
	};
	u32 hist[4];
	char label[8];
} __attribute__((preserve_access_index));

u64 btrfs_inode_exists;
u64 btrfs_generation_offset;
u64 btrfs_vfs_inode_offset;
u64 btrfs_inode_size;
u64 btrfs_inode_id;
u64 point_exists;
u64 point_y_offset;
u64 point_hi_offset;
u64 point_hist2_offset;
u64 point_level_lshift;
u64 point_level_rshift;
u64 point_size;
u64 point_id;
u64 runs;

SEC("syscall")
int module_types(void *ctx)
{
	struct bpfkit_testmod_point *p = 0;

	if (bpf_core_type_exists(struct btrfs_inode)) {
		btrfs_inode_exists = 1;
		btrfs_generation_offset = bpf_core_field_offset(struct btrfs_inode, generation);
		btrfs_vfs_inode_offset = bpf_core_field_offset(struct btrfs_inode, vfs_inode);
		btrfs_inode_size = bpf_core_type_size(struct btrfs_inode);
		btrfs_inode_id = bpf_core_type_id_kernel(struct btrfs_inode);
	} else {
		btrfs_inode_exists = 0;
	}
	if (bpf_core_type_exists(struct bpfkit_testmod_point)) {
		point_exists = 1;
		point_y_offset = bpf_core_field_offset(struct bpfkit_testmod_point, y);
		point_hi_offset = bpf_core_field_offset(struct bpfkit_testmod_point, half.hi);
		point_hist2_offset = bpf_core_field_offset(struct bpfkit_testmod_point, hist[2]);
		point_level_lshift = __builtin_preserve_field_info(p->level, BPF_FIELD_LSHIFT_U64);
		point_level_rshift = __builtin_preserve_field_info(p->level, BPF_FIELD_RSHIFT_U64);
		point_size = bpf_core_type_size(struct bpfkit_testmod_point);
		point_id = bpf_core_type_id_kernel(struct bpfkit_testmod_point);
	} else {
		point_exists = 0;
	}
	runs++;
	return 0;
}
