//! Host-kernel tests of CO-RE relocations with the `core` fixture: every relocation kind's value,
//! as the program stored it after the kernel ran it, against the value computed here from the
//! running kernel's BTF; real reads at relocated offsets; poisoned dead code accepted and the
//! same poison rejected when reachable; and a program needing only vmlinux types never looks
//! for module BTF. Needs root.

mod common;

use std::sync::Arc;

use bpfkit::{Error, Object, OpenObject, TestRun};
use bpfkit_btf::{Btf, Kind, TypeDetails};
use common::{fixture, ready, serial};

fn kernel() -> Arc<Btf> {
    bpfkit::kernel_btf::vmlinux().expect("vmlinux BTF")
}

fn struct_id(btf: &Btf, name: &str) -> u32 {
    btf.find_by_name_kind(name, Kind::Struct).unwrap_or_else(|| panic!("no struct {name}"))
}

/// Byte offset of `member` in struct `name` (through anonymous members).
fn offset(btf: &Btf, name: &str, member: &str) -> u64 {
    btf.find_member(struct_id(btf, name), member).unwrap().unwrap_or_else(|| panic!("no {name}.{member}")).bit_offset
        / 8
}

fn bit_offset(btf: &Btf, name: &str, member: &str) -> u64 {
    btf.find_member(struct_id(btf, name), member).unwrap().unwrap().bit_offset
}

fn enum_value(btf: &Btf, enum_name: &str, value: &str) -> Option<i64> {
    let id = btf.find_by_name_kind(enum_name, Kind::Enum)?;
    let TypeDetails::Enum(values) = btf.type_by_id(id).ok()?.details() else { return None };
    values.into_iter().find(|v| btf.str_at(v.name_off).ok() == Some(value)).map(|v| v.value())
}

fn run(obj: &Object) -> u32 {
    obj.program("core_values").unwrap().test_run(&mut TestRun::default()).expect("run core_values").retval
}

#[test]
fn every_relocation_kind_matches_the_kernels_btf() {
    if !ready("every_relocation_kind_matches_the_kernels_btf") {
        return;
    }
    let _serial = serial();
    let k = kernel();
    let obj = OpenObject::open(fixture("core")).unwrap().load().expect("load core");
    run(&obj);
    let got = |name: &str| obj.global_as::<u64>(name).unwrap();
    let local = OpenObject::open(fixture("core")).unwrap();
    let local_btf = local.model().btf.clone().unwrap();

    let task = struct_id(&k, "task_struct");
    let iowait = bit_offset(&k, "task_struct", "in_iowait");
    let iowait_off = iowait / 8 / 4 * 4;
    let expected: Vec<(&str, u64)> = vec![
        ("task_pid_offset", offset(&k, "task_struct", "pid")),
        ("task_pid_size", 4),
        ("task_pid_exists", 1),
        ("task_pid_signed", 1),
        ("task_flags_signed", 0),
        (
            "pid_links2_pprev_offset",
            offset(&k, "task_struct", "pid_links")
                + 2 * k.size_of(struct_id(&k, "hlist_node")).unwrap()
                + offset(&k, "hlist_node", "pprev"),
        ),
        ("in_iowait_byte_offset", iowait_off),
        ("in_iowait_byte_size", 4),
        ("in_iowait_lshift", 64 - (iowait + 1 - iowait_off * 8)),
        ("in_iowait_rshift", 63),
        ("in_iowait_signed", 0),
        ("in_iowait_value", 0),
        ("attr_exclude_hv_byte_offset", 40),
        ("attr_exclude_hv_lshift", 57),
        ("attr_exclude_hv_rshift", 63),
        ("attr_exclude_hv_value", 1),
        ("task_state_new_exists", 1),
        ("task_state_old_exists", 0),
        ("task_state_offset", offset(&k, "task_struct", "__state")),
        ("task_state_value", 0),
        ("task_new_type_id_kernel", u64::from(task)),
        ("skb_protocol_offset", offset(&k, "sk_buff", "protocol")),
        ("skb_protocol_size", 2),
        ("task_type_id_local", u64::from(struct_id(&local_btf, "task_struct"))),
        ("task_type_id_kernel", u64::from(task)),
        ("task_type_exists", 1),
        ("task_type_size", k.size_of(task).unwrap()),
        ("hlist_node_matches", 1),
        ("hlist_node_bad_matches", 0),
        ("task_min_matches", 1),
        ("missing_type_exists", 0),
        ("missing_field_exists", 0),
        ("missing_field_value", 0),
        ("subsys_count_exists", 1),
        ("subsys_count_value", enum_value(&k, "cgroup_subsys_id", "CGROUP_SUBSYS_COUNT").unwrap() as u64),
        ("rdma_cgrp_id_exists", enum_value(&k, "cgroup_subsys_id", "rdma_cgrp_id").is_some() as u64),
        ("missing_enumval_exists", 0),
        ("missing_enumval_value", 0),
        ("syscall_tgid", u64::from(std::process::id())),
        ("core_runs", 1),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(name, want)| got(name) != *want)
        .map(|(name, want)| format!("{name}: got {}, kernel BTF says {want}", got(name)))
        .collect();
    assert!(wrong.is_empty(), "{} of {} values differ:\n{}", wrong.len(), expected.len(), wrong.join("\n"));
    // The thread id of the caller: this test's thread.
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as u64;
    assert_eq!(got("syscall_pid"), tid);
}

#[test]
fn relocated_reads_follow_the_running_task() {
    if !ready("relocated_reads_follow_the_running_task") {
        return;
    }
    let _serial = serial();
    let mut open = OpenObject::open(fixture("core")).unwrap();
    open.set_global_as("target_tgid", &std::process::id()).unwrap();
    let obj = open.load().unwrap();
    let _link = obj.program("core_sys_enter").unwrap().attach().unwrap();
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() } as u64;
    assert!(obj.global_as::<u64>("sys_enter_hits").unwrap() > 0);
    assert_eq!(obj.global_as::<u64>("sys_enter_tgid").unwrap(), u64::from(std::process::id()));
    assert_eq!(obj.global_as::<u64>("sys_enter_parent_tgid").unwrap(), parent);
}

#[test]
fn a_reachable_poisoned_relocation_is_rejected_by_the_verifier() {
    if !ready("a_reachable_poisoned_relocation_is_rejected_by_the_verifier") {
        return;
    }
    let _serial = serial();
    let mut open = OpenObject::open(fixture("core")).unwrap();
    open.set_global_as("take_dead_branch", &1u32).unwrap();
    open.program_mut("core_sys_enter").unwrap().autoload = false;
    let err = open.load().unwrap_err();
    let Error::ProgramLoad { program, log, .. } = &err else { panic!("expected a verifier rejection, got {err}") };
    assert_eq!(program, "core_values");
    assert!(log.contains("invalid func unknown#195896080"), "{}", &log[log.len().saturating_sub(600)..]);
}

#[test]
fn vmlinux_types_alone_never_look_for_module_btf() {
    if !ready("vmlinux_types_alone_never_look_for_module_btf") {
        return;
    }
    let _serial = serial();
    let registry = bpfkit::kernel_btf::registry().unwrap();
    let before = registry.module_walks();
    let mut open = OpenObject::open(fixture("core")).unwrap();
    open.program_mut("core_values").unwrap().autoload = false;
    let obj = open.load().unwrap();
    assert!(obj.program("core_sys_enter").is_ok());
    assert_eq!(registry.module_walks(), before, "core_sys_enter needs only vmlinux types, yet module BTF was searched");
    // core_values reads struct bpfkit_missing, which vmlinux lacks: that search does go on to
    // the modules (none on this host), so the counter above can see it.
    let mut open = OpenObject::open(fixture("core")).unwrap();
    open.program_mut("core_sys_enter").unwrap().autoload = false;
    drop(open.load().unwrap());
    assert!(registry.module_walks() > before, "a type vmlinux lacks must be looked for in module BTF");
}

#[test]
fn a_custom_kernel_btf_is_what_co_re_relocates_against() {
    if !ready("a_custom_kernel_btf_is_what_co_re_relocates_against") {
        return;
    }
    let path = match bpfkit_testkit::corpus::vmlinux("6.1") {
        Ok(Some(path)) => path,
        Ok(None) => {
            if let Err(fail) = bpfkit_testkit::skip::skip(
                "a_custom_kernel_btf_is_what_co_re_relocates_against",
                bpfkit_testkit::corpus::SKIPPED,
            ) {
                panic!("{fail}");
            }
            return;
        }
        Err(e) => panic!("the Debian 6.1 corpus kernel: {e}"),
    };
    let _serial = serial();
    let other = Btf::open(&path, None).unwrap();
    let mut open = OpenObject::open(fixture("core")).unwrap();
    open.set_kernel_btf(&path);
    let obj = open.load().expect("load core relocated for Debian 6.1");
    run(&obj);
    // Offsets the probe reads use come from the given BTF, not the running kernel's.
    assert_eq!(obj.global_as::<u64>("task_pid_offset").unwrap(), offset(&other, "task_struct", "pid"));
    assert_eq!(
        obj.global_as::<u64>("task_type_size").unwrap(),
        other.size_of(struct_id(&other, "task_struct")).unwrap()
    );
    assert_ne!(
        offset(&other, "task_struct", "pid"),
        offset(&kernel(), "task_struct", "pid"),
        "the test needs kernels that differ"
    );
}
