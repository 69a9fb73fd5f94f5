//! Host-kernel tests of the `minimal` fixture: a tracepoint fired by the test's own `getpid()`
//! calls, an array map, and the three kinds of global data read and written before and after
//! load. Needs root (skipped with the reason otherwise).

mod common;

use bpfkit::{Error, OpenObject};
use common::{fixture, getpid, ready, serial};

#[test]
fn tracepoint_counts_getpid_and_globals_round_trip() {
    if !ready("tracepoint_counts_getpid_and_globals_round_trip") {
        return;
    }
    let _lock = serial();
    let mut open = OpenObject::open(fixture("minimal")).expect("open minimal.bpf.o");
    let pid = std::process::id();
    // Before load: the object's initial values, then the knob set for the verifier.
    assert_eq!(open.model().global("stamp").unwrap(), &0x5eedu64.to_ne_bytes());
    open.set_global_as("target_tgid", &pid).unwrap();
    assert!(open.set_global_as("target_tgid", &1u64).is_err(), "wrong size must be refused");
    let obj = open.load().expect("load minimal");

    // After load: rodata reads back what was set and is frozen.
    assert_eq!(obj.global_as::<u32>("target_tgid").unwrap(), pid);
    let frozen = obj.set_global_as("target_tgid", &0u32).unwrap_err();
    assert!(matches!(frozen, Error::MapOp { .. }), "{frozen}");
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 0);

    let link = obj.program("count_getpid").unwrap().attach().expect("attach tracepoint");
    for _ in 0..5 {
        getpid();
    }
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 5);
    assert_eq!(obj.global_as::<u64>("last_stamp").unwrap(), 0x5eed);
    assert_eq!(obj.map("counts").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(5));

    // .data written while the program runs is what it sees next.
    obj.set_global_as("stamp", &0xabcdu64).unwrap();
    getpid();
    assert_eq!(obj.global_as::<u64>("last_stamp").unwrap(), 0xabcd);
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 6);

    // Detached: no more counting.
    drop(link);
    getpid();
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 6);
    assert_eq!(obj.map("counts").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(6));
}

#[test]
fn other_processes_are_filtered_by_the_rodata_knob() {
    if !ready("other_processes_are_filtered_by_the_rodata_knob") {
        return;
    }
    let _lock = serial();
    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    // A tgid no process has: the program must ignore every getpid().
    open.set_global_as("target_tgid", &u32::MAX).unwrap();
    let obj = open.load().unwrap();
    let _link = obj.program("count_getpid").unwrap().attach().unwrap();
    getpid();
    getpid();
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 0);
}

#[test]
fn unknown_names_are_reported_with_what_exists() {
    if !ready("unknown_names_are_reported_with_what_exists") {
        return;
    }
    let mut open = OpenObject::open(fixture("minimal")).unwrap();
    let e = open.map_mut("nope").unwrap_err().to_string();
    assert!(e.contains("nope") && e.contains("counts"), "{e}");
    let obj = open.load().unwrap();
    let e = obj.program("nope").unwrap_err().to_string();
    assert!(e.contains("count_getpid"), "{e}");
    let e = obj.global("nope").unwrap_err().to_string();
    assert!(e.contains("stamp"), "{e}");
}
