//! Fault tests: a kernel error in the middle of a load (a map the kernel refuses, a program the
//! verifier rejects, a pin that cannot be made, a struct_ops registration the kernel refuses)
//! leaves nothing behind: no fds in this process, no maps, programs or links in the kernel, no
//! pins. And loads from several threads at once share one kernel BTF registry. Needs root.
//!
//! (A module unloaded between discovery and load is the VM test `loader_core_modules`, which
//! unloads btrfs between two loads.)

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bpfkit::sys::{ObjectKind, fd_by_id, map_info, next_id};
use bpfkit::{Error, OpenObject};
use common::{fixture, open_fds, ready, serial};

/// Ids of every kernel object of `kind`.
fn ids(kind: ObjectKind) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut id = 0;
    while let Ok(Some(next)) = next_id(kind, id) {
        out.insert(next);
        id = next;
    }
    out
}

/// What this process and the kernel hold, to compare before and after.
struct Snapshot {
    fds: common::FdSnapshot,
    maps: BTreeSet<u32>,
    progs: BTreeSet<u32>,
    links: BTreeSet<u32>,
}

impl Snapshot {
    fn take() -> Snapshot {
        Snapshot {
            fds: open_fds(),
            maps: ids(ObjectKind::Map),
            progs: ids(ObjectKind::Prog),
            links: ids(ObjectKind::Link),
        }
    }

    /// Objects created since `self` that still exist; the kernel frees maps and programs after
    /// an RCU grace period, so this waits up to a second for them to go.
    fn leftovers(&self) -> Vec<String> {
        let start = Instant::now();
        loop {
            let now = Snapshot::take();
            let mut left = Vec::new();
            left.extend(self.fds.opened_in(&now.fds).into_iter().map(|fd| format!("fd {fd}")));
            for (what, before, after) in [
                ("map", &self.maps, &now.maps),
                ("program", &self.progs, &now.progs),
                ("link", &self.links, &now.links),
            ] {
                for id in after.difference(before) {
                    let name = match what {
                        "map" => fd_by_id(ObjectKind::Map, *id)
                            .ok()
                            .and_then(|fd| map_info(std::os::fd::AsFd::as_fd(&fd)).ok())
                            .map(|i| i.name),
                        _ => None,
                    };
                    left.push(format!("{what} {id} {}", name.unwrap_or_default()));
                }
            }
            if left.is_empty() || start.elapsed() > Duration::from_secs(1) {
                return left;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Runs `fault` (which must fail the load with an error `check` accepts) and checks that
/// nothing it created survives.
fn leaves_nothing(
    what: &str,
    fault: impl FnOnce() -> Result<bpfkit::Object, Error>,
    check: impl FnOnce(&Error) -> bool,
) {
    let before = Snapshot::take();
    match fault() {
        Ok(_) => panic!("{what}: the load succeeded"),
        Err(e) => assert!(check(&e), "{what}: unexpected error: {e}"),
    }
    let left = before.leftovers();
    assert!(left.is_empty(), "{what} left behind: {left:?}");
    println!("{what}: failed as expected, nothing left behind");
}

#[test]
fn a_map_the_kernel_refuses_mid_load() {
    if !ready("a_map_the_kernel_refuses_mid_load") {
        return;
    }
    let _serial = serial();
    // `outer` is created after the other maps (and the inner-map template): give it an
    // impossible size so that the kernel refuses it with everything before it already made.
    leaves_nothing(
        "maps fixture with `outer` refused",
        || {
            let mut open = OpenObject::open(fixture("maps"))?;
            let fs = bpfkit_testkit::reference::BpfFs::mount("faults-map").expect("bpffs");
            open.set_pin_root(fs.path());
            // An array of maps needs 4-byte keys: only the kernel says no to 3.
            open.map_mut("outer")?.def.key_size = 3;
            open.load()
        },
        |e| matches!(e, Error::MapCreate { map, .. } if map == "outer"),
    );
}

#[test]
fn a_program_the_verifier_rejects_mid_load() {
    if !ready("a_program_the_verifier_rejects_mid_load") {
        return;
    }
    let _serial = serial();
    leaves_nothing(
        "bad fixture (bad_null_deref rejected after its maps and good_checked loaded)",
        || OpenObject::open(fixture("bad"))?.load(),
        |e| matches!(e, Error::ProgramLoad { program, .. } if program == "bad_null_deref"),
    );
}

#[test]
fn a_pin_that_cannot_be_made_at_the_end() {
    if !ready("a_pin_that_cannot_be_made_at_the_end") {
        return;
    }
    let _serial = serial();
    // Pins are made last; a pin root that is not a bpffs fails them after everything loaded.
    let dir = std::env::temp_dir().join(format!("bpfkit-faults-not-bpffs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    leaves_nothing(
        "maps fixture pinned outside a bpffs",
        || {
            let mut open = OpenObject::open(fixture("maps"))?;
            open.set_pin_root(&dir);
            open.load()
        },
        |e| e.to_string().contains("bpfkit_pinned"),
    );
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(entries.is_empty(), "files left in the pin root: {entries:?}");
    std::fs::remove_dir(&dir).unwrap();
}

#[test]
fn a_struct_ops_registration_the_kernel_refuses() {
    if !ready("a_struct_ops_registration_the_kernel_refuses") {
        return;
    }
    let _serial = serial();
    let first = OpenObject::open(fixture("tcp_cc")).unwrap().load().unwrap();
    let link = first.map("bpfkit_reno").unwrap().attach_struct_ops().unwrap();
    // A second congestion control of the same name: the kernel refuses to register it.
    leaves_nothing(
        "tcp_cc registered twice",
        || {
            let second = OpenObject::open(fixture("tcp_cc"))?.load()?;
            let again = second.map("bpfkit_reno")?.attach_struct_ops()?;
            drop(again);
            Ok(second)
        },
        |e| matches!(e, Error::Attach { .. }),
    );
    let available = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_congestion_control").unwrap();
    assert!(available.split_whitespace().any(|n| n == "bpfkit_reno"), "the first registration went too: {available}");
    drop(link);
    drop(first);
}

#[test]
fn concurrent_loads_share_one_kernel_btf_registry() {
    if !ready("concurrent_loads_share_one_kernel_btf_registry") {
        return;
    }
    let _serial = serial();
    let before = Snapshot::take();
    let registry = bpfkit::kernel_btf::registry().unwrap();
    let walks = registry.module_walks();
    const THREADS: usize = 8;
    const ROUNDS: usize = 10;
    let seen: Vec<(Arc<bpfkit::kernel_btf::KernelBtf>, u64)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    let mut offsets = 0u64;
                    for _ in 0..ROUNDS {
                        // `core` has CO-RE relocations against vmlinux types: each load asks the
                        // registry for candidates.
                        let mut open = OpenObject::open(fixture("core")).unwrap();
                        open.program_mut("core_values").unwrap().autoload = false;
                        let obj = open.load().expect("concurrent load");
                        offsets = offsets.wrapping_add(obj.program("core_sys_enter").map(|_| 1).unwrap_or(0));
                    }
                    (bpfkit::kernel_btf::registry().unwrap(), offsets)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    for (other, loaded) in &seen {
        assert!(Arc::ptr_eq(other, &registry), "a thread got its own registry");
        assert!(Arc::ptr_eq(other.vmlinux(), registry.vmlinux()), "vmlinux parsed twice");
        assert_eq!(*loaded, ROUNDS as u64);
    }
    assert_eq!(registry.module_walks(), walks, "vmlinux types alone must not walk module BTF");
    drop(seen);
    let left = before.leftovers();
    assert!(left.is_empty(), "concurrent loads left behind: {left:?}");
    println!("{THREADS} threads x {ROUNDS} loads of `core` shared one registry; nothing left behind");
}
