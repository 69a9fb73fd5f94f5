//! Bad input meets the kernel: definitions the object model accepts but the kernel refuses, and
//! objects that cannot be loaded as they are, each reported with the map, program or section by
//! name. (Malformed ELF and BTF are covered without a kernel in bpfkit-obj's tests and fuzz
//! target.) Needs root.

mod common;

use bpfkit::{Error, OpenObject};
use common::{fixture, open_fds, ready, serial};

#[test]
fn impossible_maps_are_named_with_a_hint() {
    if !ready("impossible_maps_are_named_with_a_hint") {
        return;
    }
    let _serial = serial();
    let fds = open_fds();
    let mut open = OpenObject::open(fixture("maps")).unwrap();
    open.map_mut("hash").unwrap().def.max_entries = 0;
    let e = open.load().unwrap_err();
    assert!(matches!(&e, Error::MapDefinition { map, .. } if map == "hash"), "{e}");
    assert!(e.to_string().contains("max_entries is 0, and a HASH map needs a size"), "{e}");

    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    open.map_mut("counts").unwrap().def.key_size = 3;
    let e = open.load().unwrap_err().to_string();
    assert!(e.contains("map counts") && e.contains("key 3 bytes"), "{e}");
    // Everything created before the failure was closed again.
    let leaked = fds.leaked_since();
    assert!(leaked.is_empty(), "fds left behind: {leaked:?}");
}

#[test]
fn ring_buffer_sizes_are_rounded_as_libbpf_rounds_them() {
    if !ready("ring_buffer_sizes_are_rounded_as_libbpf_rounds_them") {
        return;
    }
    let _serial = serial();
    let page = bpfkit::sys::page_size() as u32;
    let bpffs = bpfkit_testkit::reference::BpfFs::mount("ringbuf").expect("mount a private bpffs");
    for (asked, made) in [(1000, page), (page + 1, 2 * page), (3 * page, 4 * page), (8 * page, 8 * page)] {
        let mut open = OpenObject::open(fixture("maps")).unwrap();
        open.set_pin_root(bpffs.path());
        open.map_mut("events").unwrap().def.max_entries = asked;
        let obj = open.load().unwrap_or_else(|e| panic!("ring buffer of {asked} bytes: {e}"));
        assert_eq!(obj.map("events").unwrap().max_entries(), made, "asked for {asked}");
    }
}

#[test]
fn unloadable_programs_are_named() {
    if !ready("unloadable_programs_are_named") {
        return;
    }
    let _serial = serial();
    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    open.program_mut("count_getpid").unwrap().kind = None;
    let e = open.load().unwrap_err().to_string();
    assert!(e.contains("count_getpid") && e.contains("tracepoint/syscalls/sys_enter_getpid"), "{e}");

    // A tp_btf target the kernel does not have.
    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    let prog = open.program_mut("count_getpid").unwrap();
    prog.kind = bpfkit_obj::ProgramSection::parse("tp_btf/no_such_tracepoint_anywhere");
    let e = open.load().unwrap_err().to_string();
    assert!(e.contains("btf_trace_no_such_tracepoint_anywhere"), "{e}");
}

#[test]
fn corrupted_objects_give_object_errors() {
    let _serial = serial();
    let bytes = std::fs::read(fixture("maps")).unwrap();
    for cut in [0, 16, 64, bytes.len() / 2, bytes.len() - 1] {
        match OpenObject::from_bytes("maps", &bytes[..cut]) {
            Err(Error::Object(e)) => assert!(!e.to_string().is_empty()),
            Err(other) => panic!("cut at {cut}: unexpected error kind {other}"),
            Ok(_) => panic!("cut at {cut}: a truncated object was accepted"),
        }
    }
}

/// `minimal.bpf.o` with an invalid identifier in its BTF (typedef `__u64` renamed `-_u64`): the
/// parser takes it, the kernel's BTF checks refuse it.
fn minimal_with_btf_the_kernel_refuses() -> Vec<u8> {
    let mut bytes = std::fs::read(fixture("minimal")).unwrap();
    let needle = b"\0__u64\0";
    let mut patched = 0;
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(needle.len()).position(|w| w == needle) {
        bytes[at + pos + 1] = b'-';
        at += pos + needle.len();
        patched += 1;
    }
    assert!(patched > 0, "no __u64 in the fixture's strings");
    bytes
}

#[test]
fn an_object_whose_btf_the_kernel_refuses_loads_without_it() {
    if !ready("an_object_whose_btf_the_kernel_refuses_loads_without_it") {
        return;
    }
    let _serial = serial();
    let bytes = minimal_with_btf_the_kernel_refuses();
    // As libbpf: loaded without BTF, and the refusal is told, with the kernel's reason.
    let mut open = OpenObject::from_bytes("minimal", &bytes).unwrap();
    open.set_global_as("target_tgid", &std::process::id()).unwrap();
    let obj = open.load().expect("loads without its BTF");
    assert!(obj.btf_fd().is_none());
    let warning = obj.warnings().join("\n");
    assert!(warning.contains("rejected its BTF") && warning.contains("Invalid name"), "{warning}");
    // And it works: the tracepoint counts this process's getpid() calls.
    let link = obj.program("count_getpid").unwrap().attach().unwrap();
    for _ in 0..3 {
        common::getpid();
    }
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 3);
    drop(link);

    // The strict option fails instead, with the kernel's log.
    let mut open = OpenObject::from_bytes("minimal", &bytes).unwrap();
    open.require_btf(true);
    let e = open.load().unwrap_err();
    assert!(matches!(&e, Error::BtfLoad { log, .. } if log.contains("Invalid name")), "{e}");
}
