// SPDX-License-Identifier: GPL-2.0
/*
 * Externs the loader resolves against the running kernel: vmlinux kfuncs
 * (bpf_task_from_pid, bpf_task_acquire/bpf_task_release,
 * bpf_rcu_read_lock/unlock), a
 * kfunc with two flavours of which only one matches the kernel's
 * prototype, weak externs the kernel lacks, a typeless ksym (an address
 * from /proc/kallsyms), a typed per-CPU ksym (bpf_prog_active), and
 * __kconfig values.
 *
 * SEC("syscall") use_externs, run with BPF_PROG_TEST_RUN (no ctx), stores
 * in .bss (u64 each):
 *   found_tgid      tgid of the task bpf_task_from_pid(target_pid) finds
 *                   (target_pid: .rodata, set before load), 0 if none
 *   acquired_tgid   the same, through a second reference from
 *                   bpf_task_acquire (released with bpf_task_release)
 *   right_exists    1: bpf_task_from_pid___right has the kernel's prototype
 *   right_tgid      found_tgid again, through that flavour
 *   wrong_exists    0: bpf_task_from_pid___wrong takes an extra argument,
 *                   which the kernel's does not (incompatible = unresolved)
 *   missing_kfunc_exists 0: bpfkit_no_such_kfunc (weak, called only
 *                   behind bpf_ksym_exists(), so the call is dead code)
 *   missing_var_addr 0: &bpfkit_no_such_var (weak)
 *   getpid_addr     &__x64_sys_getpid: its address in /proc/kallsyms
 *   kernel_version  LINUX_KERNEL_VERSION: KERNEL_VERSION(a, b, min(c, 255))
 *                   of the running kernel's release
 *   bpf_syscall     CONFIG_BPF_SYSCALL (bool): 1
 *   hz              CONFIG_HZ (int, weak): the kernel's value
 *   jit             CONFIG_BPF_JIT (enum libbpf_tristate, weak): 1 (y)
 *   no_such_option  CONFIG_BPFKIT_NO_SUCH_OPTION (bool, weak): 0
 *   runs            += 1
 * SEC("syscall") use_missing calls bpfkit_missing_kfunc and reads
 * bpfkit_missing_var, strong externs no kernel has: loading it must fail
 * naming both (tests turn it off otherwise).
 * SEC("syscall") use_unguarded_weak calls the weak bpfkit_no_such_kfunc
 * without a bpf_ksym_exists() guard: the verifier rejects the reachable
 * call, and the loader's error names the kfunc.
 * SEC("syscall") use_percpu reads the typed per-CPU variable
 * bpf_prog_active with bpf_this_cpu_ptr (this_cpu_active) and
 * bpf_per_cpu_ptr(.., 0) (cpu0_seen = 1 when CPU 0's copy exists). The
 * kernel finds a typed ksym's address through kallsyms, so this needs a
 * kernel with CONFIG_KALLSYMS_ALL (the VM's; not the CI host's).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;
extern struct task_struct *bpf_task_from_pid___right(s32 pid) __ksym __weak;
extern struct task_struct *bpf_task_from_pid___wrong(s32 pid, u64 extra) __ksym __weak;
extern void bpfkit_no_such_kfunc(u64 x) __ksym __weak;
extern const int bpfkit_no_such_var __ksym __weak;
extern const void __x64_sys_getpid __ksym;
extern const int bpf_prog_active __ksym;
extern void bpfkit_missing_kfunc(void) __ksym;
extern const int bpfkit_missing_var __ksym;

extern u32 LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern bool CONFIG_BPFKIT_NO_SUCH_OPTION __kconfig __weak;

const volatile s32 target_pid = 0;

u64 found_tgid;
u64 acquired_tgid;
u64 right_exists;
u64 right_tgid;
u64 wrong_exists;
u64 missing_kfunc_exists;
u64 missing_var_addr;
u64 getpid_addr;
u64 kernel_version;
u64 bpf_syscall;
u64 hz;
u64 jit;
u64 no_such_option;
u64 runs;
u64 this_cpu_active;
u64 cpu0_seen;

SEC("syscall")
int use_externs(void *ctx)
{
	struct task_struct *t;

	t = bpf_task_from_pid(target_pid);
	if (t) {
		struct task_struct *again = bpf_task_acquire(t);

		found_tgid = t->tgid;
		if (again) {
			acquired_tgid = again->tgid;
			bpf_task_release(again);
		}
		bpf_task_release(t);
	}
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	right_exists = bpf_ksym_exists(bpf_task_from_pid___right);
	wrong_exists = bpf_ksym_exists(bpf_task_from_pid___wrong);
	if (bpf_ksym_exists(bpf_task_from_pid___right)) {
		t = bpf_task_from_pid___right(target_pid);
		if (t) {
			right_tgid = t->tgid;
			bpf_task_release(t);
		}
	}
	if (bpf_ksym_exists(bpf_task_from_pid___wrong)) {
		t = bpf_task_from_pid___wrong(target_pid, 1);
		if (t)
			bpf_task_release(t);
	}
	missing_kfunc_exists = bpf_ksym_exists(bpfkit_no_such_kfunc);
	if (bpf_ksym_exists(bpfkit_no_such_kfunc))
		bpfkit_no_such_kfunc(1);
	missing_var_addr = (u64)&bpfkit_no_such_var;
	getpid_addr = (u64)&__x64_sys_getpid;
	kernel_version = LINUX_KERNEL_VERSION;
	bpf_syscall = CONFIG_BPF_SYSCALL;
	hz = CONFIG_HZ;
	jit = CONFIG_BPF_JIT;
	no_such_option = CONFIG_BPFKIT_NO_SUCH_OPTION;
	runs++;
	return 0;
}

SEC("syscall")
int use_missing(void *ctx)
{
	bpfkit_missing_kfunc();
	return bpfkit_missing_var;
}

SEC("syscall")
int use_unguarded_weak(void *ctx)
{
	bpfkit_no_such_kfunc(2);
	return 0;
}

SEC("syscall")
int use_percpu(void *ctx)
{
	const int *p;

	p = bpf_this_cpu_ptr(&bpf_prog_active);
	this_cpu_active = *p;
	p = bpf_per_cpu_ptr(&bpf_prog_active, 0);
	if (p)
		cpu0_seen = 1;
	return 0;
}
