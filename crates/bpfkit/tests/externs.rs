//! Host-kernel tests of externs with the `externs` fixture: vmlinux kfuncs, flavour selection by
//! prototype, weak externs the kernel lacks, a typeless ksym against `/proc/kallsyms`,
//! `__kconfig` values and overrides, strong missing externs named all at once, and a reachable
//! missing weak kfunc named in the verifier's error. (Typed per-CPU ksyms need a kernel with
//! `CONFIG_KALLSYMS_ALL`, which this host lacks: they run in the VM.) Needs root.

mod common;

use bpfkit::{Error, Object, OpenObject, TestRun};
use common::{fixture, open_fds, ready, serial};

fn open() -> OpenObject {
    let mut open = OpenObject::open(fixture("externs")).expect("open externs.bpf.o");
    open.set_global_as("target_pid", &(std::process::id() as i32)).unwrap();
    open.load_only(&["use_externs"]).unwrap();
    open
}

fn run(obj: &Object) -> impl Fn(&str) -> u64 + '_ {
    obj.program("use_externs").unwrap().test_run(&mut TestRun::default()).expect("run use_externs");
    move |name| obj.global_as::<u64>(name).unwrap()
}

fn kallsyms(name: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let line = text.lines().find(|l| l.split_whitespace().nth(2) == Some(name)).unwrap_or_else(|| panic!("no {name}"));
    u64::from_str_radix(line.split_whitespace().next().unwrap(), 16).unwrap()
}

/// The running kernel's `name`, read by `zcat` (not by the gzip reader under test).
fn config(name: &str) -> Option<String> {
    let out = std::process::Command::new("zcat").arg("/proc/config.gz").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.lines().find_map(|l| l.strip_prefix(&format!("{name}=")).map(str::to_owned))
}

#[test]
fn kfuncs_ksyms_weak_flavours_and_kconfig() {
    if !ready("kfuncs_ksyms_weak_flavours_and_kconfig") {
        return;
    }
    let obj = open().load().expect("load externs");
    let got = run(&obj);
    let pid = u64::from(std::process::id());
    // bpf_task_from_pid + bpf_task_release (vmlinux kfuncs) found this process.
    assert_eq!(got("found_tgid"), pid);
    assert_eq!(got("acquired_tgid"), pid);
    // The flavour with the kernel's prototype resolved, the other did not.
    assert_eq!((got("right_exists"), got("right_tgid"), got("wrong_exists")), (1, pid, 0));
    // Weak externs the kernel lacks are 0; their guarded call was dead code.
    assert_eq!((got("missing_kfunc_exists"), got("missing_var_addr")), (0, 0));
    assert_eq!(got("getpid_addr"), kallsyms("__x64_sys_getpid"));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let nums: Vec<u64> = release.trim().split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse().ok()).collect();
    assert_eq!(got("kernel_version"), (nums[0] << 16) + (nums[1] << 8) + nums[2].min(255));
    assert_eq!(got("bpf_syscall"), 1);
    if let Some(hz) = config("CONFIG_HZ") {
        assert_eq!(got("hz"), hz.parse::<u64>().unwrap());
    }
    assert_eq!(got("jit"), 1);
    assert_eq!(got("no_such_option"), 0);
    assert_eq!(got("runs"), 1);
    // The .kconfig map is read-only once loaded, like .rodata.
    assert!(obj.set_global_as("CONFIG_HZ", &1i32).is_err());
}

#[test]
fn kconfig_overrides_and_bad_values() {
    if !ready("kconfig_overrides_and_bad_values") {
        return;
    }
    let mut o = open();
    o.set_kconfig("CONFIG_HZ", "1000");
    o.set_kconfig("CONFIG_BPFKIT_NO_SUCH_OPTION", "y");
    o.set_kconfig("LINUX_KERNEL_VERSION", "0x050f00");
    let obj = o.load().unwrap();
    let got = run(&obj);
    assert_eq!((got("hz"), got("no_such_option"), got("kernel_version")), (1000, 1, 0x050f00));
    let mut o = open();
    o.set_kconfig("CONFIG_BPF_SYSCALL", "42");
    let e = o.load().unwrap_err().to_string();
    assert!(e.contains("CONFIG_BPF_SYSCALL") && e.contains("42"), "{e}");
}

#[test]
fn strong_missing_externs_are_all_named() {
    if !ready("strong_missing_externs_are_all_named") {
        return;
    }
    let _serial = serial();
    let fds = open_fds();
    let mut o = open();
    o.load_only(&["use_externs", "use_missing"]).unwrap();
    let e = o.load().unwrap_err();
    let Error::Externs { unresolved, .. } = &e else { panic!("expected unresolved externs, got {e}") };
    assert_eq!(unresolved.len(), 2, "{e}");
    let text = e.to_string();
    assert!(text.contains("bpfkit_missing_kfunc") && text.contains("bpfkit_missing_var"), "{text}");
    let leaked = fds.leaked_since();
    assert!(leaked.is_empty(), "a failed load left fds behind: {leaked:?}");
}

#[test]
fn a_reachable_missing_weak_kfunc_is_named() {
    if !ready("a_reachable_missing_weak_kfunc_is_named") {
        return;
    }
    let mut o = open();
    o.load_only(&["use_unguarded_weak"]).unwrap();
    let e = o.load().unwrap_err();
    let Error::ProgramLoad { note, .. } = &e else { panic!("expected a verifier rejection, got {e}") };
    assert!(note.contains("bpfkit_no_such_kfunc"), "{e}");
}

#[test]
fn loading_with_externs_many_times_leaks_no_fds() {
    if !ready("loading_with_externs_many_times_leaks_no_fds") {
        return;
    }
    let _serial = serial();
    drop(open().load().unwrap());
    let fds = open_fds();
    for _ in 0..100 {
        let obj = open().load().unwrap();
        let _ = run(&obj);
    }
    let leaked = fds.leaked_since();
    assert!(leaked.is_empty(), "fds left behind: {leaked:?}");
}

#[test]
fn the_kernels_kfuncs_are_listed_with_prototypes() {
    if !ready("the_kernels_kfuncs_are_listed_with_prototypes") {
        return;
    }
    let kfuncs = bpfkit::kernel_btf::registry().unwrap().kfuncs().unwrap();
    let find = |name: &str| kfuncs.iter().find(|k| k.name == name).unwrap_or_else(|| panic!("no kfunc {name}"));
    assert_eq!(find("bpf_task_from_pid").prototype, "struct task_struct *bpf_task_from_pid(s32 pid)");
    assert_eq!(find("bpf_rcu_read_lock").prototype, "void bpf_rcu_read_lock(void)");
    assert!(find("bpf_task_release").module.is_none());
    assert!(kfuncs.len() > 50, "only {} kfuncs", kfuncs.len());
}
