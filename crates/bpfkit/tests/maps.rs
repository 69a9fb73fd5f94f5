//! Host-kernel tests of the `maps` fixture, run with `BPF_PROG_TEST_RUN` of its syscall program:
//! hash, array, per-CPU, LRU, ring buffer (consumed here), a pinned-by-name map, an array of
//! maps filled by its `__array` initializer, a static and a global subprogram, and global data
//! in `.data`, `.rodata`, `.bss` and `.data.stats`. Needs root.

mod common;

use bpfkit::{OpenObject, TestRun};
use bpfkit_testkit::reference::BpfFs;
use common::{fixture, ready};

/// `struct exercise_args` of maps.bpf.c.
fn args(key: u32, value: u64) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend_from_slice(&key.to_ne_bytes());
    a.extend_from_slice(&0u32.to_ne_bytes());
    a.extend_from_slice(&value.to_ne_bytes());
    a
}

#[test]
fn every_map_kind_through_a_syscall_program() {
    if !ready("every_map_kind_through_a_syscall_program") {
        return;
    }
    let bpffs = BpfFs::mount("maps").expect("mount a private bpffs");
    let mut open = OpenObject::open(fixture("maps")).expect("open maps.bpf.o");
    open.set_pin_root(bpffs.path());
    open.set_global_as("scale", &5u64).unwrap();
    let obj = open.load().expect("load maps");
    let prog = obj.program("exercise").unwrap();

    let mut ctx = args(7, 11);
    let run = prog.test_run(&mut TestRun { ctx_in: &mut ctx, ..Default::default() }).expect("test run");
    // The kernel copied the context back: args->pad holds the run count.
    assert_eq!(ctx[4..8], 1u32.to_ne_bytes(), "context after the run: {ctx:?}");
    // scaled_value(): value * scale (rodata, set to 5) + bias (.data, 7).
    assert_eq!(run.retval, 11 * 5 + 7);
    assert_eq!(obj.map("hash").unwrap().lookup_as::<u32, u64>(&7).unwrap(), Some(11));
    assert_eq!(obj.map("lru").unwrap().lookup_as::<u32, u64>(&7).unwrap(), Some(11));
    assert_eq!(obj.map("array").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(11));
    assert_eq!(obj.map("bpfkit_pinned").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(11));
    // outer[0] holds inner_a: the initializer was applied.
    assert_eq!(obj.map("inner_a").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(11));
    assert_eq!(obj.map("inner_b").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(0));
    let per_cpu: Vec<u64> = obj.map("percpu").unwrap().lookup_per_cpu(&0u32).unwrap().unwrap();
    assert_eq!(per_cpu.len(), bpfkit::sys::possible_cpus().unwrap());
    assert_eq!(per_cpu.iter().sum::<u64>(), 11);
    assert_eq!(obj.global_as::<u64>("runs").unwrap(), 1);
    assert_eq!(obj.global_as::<u64>("last_scaled").unwrap(), 62);

    // The ring buffer event, consumed in Rust.
    let mut ring = obj.map("events").unwrap().ring_buffer().unwrap();
    let mut events = Vec::new();
    ring.consume(|e| {
        events.push(e.to_vec());
        true
    })
    .unwrap();
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.len(), 24);
    assert_eq!(u32::from_ne_bytes(e[0..4].try_into().unwrap()), 7);
    assert_eq!(u64::from_ne_bytes(e[8..16].try_into().unwrap()), 11);
    assert_eq!(u64::from_ne_bytes(e[16..24].try_into().unwrap()), 62);

    // .data changed after load is what the next run uses; hash keys iterate.
    obj.set_global_as("bias", &100u64).unwrap();
    let mut ctx = args(9, 2);
    let run = prog.test_run(&mut TestRun { ctx_in: &mut ctx, ..Default::default() }).unwrap();
    assert_eq!(ctx[4..8], 2u32.to_ne_bytes(), "context after the second run: {ctx:?}");
    assert_eq!(run.retval, 2 * 5 + 100);
    let mut keys: Vec<u32> = obj.map("hash").unwrap().keys_as().unwrap();
    keys.sort();
    assert_eq!(keys, vec![7, 9]);
    assert_eq!(obj.map("array").unwrap().lookup_as::<u32, u64>(&0).unwrap(), Some(13));
    assert_eq!(obj.global_as::<u64>("runs").unwrap(), 2);

    // User-space writes and deletes.
    let hash = obj.map("hash").unwrap();
    hash.update_as(&1u32, &99u64, bpfkit::BPF_NOEXIST).unwrap();
    assert!(hash.update_as(&1u32, &98u64, bpfkit::BPF_NOEXIST).is_err());
    assert!(hash.delete_as(&1u32).unwrap());
    assert!(!hash.delete_as(&1u32).unwrap());
    assert!(hash.lookup_as::<u32, u32>(&1).is_err(), "a 4-byte value type for 8-byte values must be refused");

    // The pinned map is in the bpffs, and a second load reuses it (with its contents).
    assert!(bpffs.path().join("bpfkit_pinned").exists());
    let mut again = OpenObject::open(fixture("maps")).unwrap();
    again.set_pin_root(bpffs.path());
    let second = again.load().expect("second load");
    let pinned = second.map("bpfkit_pinned").unwrap();
    assert!(pinned.is_reused());
    assert_eq!(pinned.lookup_as::<u32, u64>(&0).unwrap(), Some(2));
}

#[test]
fn a_pinned_map_of_another_shape_is_refused() {
    if !ready("a_pinned_map_of_another_shape_is_refused") {
        return;
    }
    let bpffs = BpfFs::mount("maps-shape").expect("mount a private bpffs");
    let mut open = OpenObject::open(fixture("maps")).unwrap();
    open.set_pin_root(bpffs.path());
    drop(open.load().unwrap());
    let mut other = OpenObject::open(fixture("maps")).unwrap();
    other.set_pin_root(bpffs.path());
    other.map_mut("bpfkit_pinned").unwrap().def.max_entries = 2;
    let e = other.load().unwrap_err().to_string();
    assert!(e.contains("bpfkit_pinned") && e.contains("differs"), "{e}");
}
