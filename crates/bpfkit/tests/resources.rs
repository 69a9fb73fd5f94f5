//! Resource test: opening, loading, attaching and dropping the same object 1,000 times leaves
//! the process's fd count where it started and its RSS within a small bound of it. Needs root.

mod common;

use bpfkit::OpenObject;
use common::{fixture, open_fds, ready, rss_kib};

const ROUNDS: usize = 1000;
const THREADS: usize = 10;

fn round(path: &std::path::Path) {
    let mut open = OpenObject::open(path).expect("open");
    open.set_global_as("target_tgid", &u32::MAX).unwrap();
    let obj = open.load().expect("load");
    let link = obj.program("count_getpid").unwrap().attach().expect("attach");
    assert_eq!(obj.global_as::<u64>("hits").unwrap(), 0);
    drop(link);
    drop(obj);
}

#[test]
fn a_thousand_load_attach_drop_rounds_leak_nothing() {
    if !ready("a_thousand_load_attach_drop_rounds_leak_nothing") {
        return;
    }
    let path = fixture("minimal");
    // Detaching a tracepoint waits for an RCU grace period in the kernel (~70 ms here), not
    // CPU: rounds run on several threads at once, which also shares the kernel BTF registry.
    let rounds_on_threads = |rounds: usize| {
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..rounds / THREADS {
                        round(&path);
                    }
                });
            }
        })
    };
    // Warm up the same way: the shared vmlinux BTF, the allocator's per-thread arenas, the
    // fixture in the page cache.
    rounds_on_threads(5 * THREADS);
    let (fds, rss) = (open_fds(), rss_kib());
    let start = std::time::Instant::now();
    rounds_on_threads(ROUNDS);
    let rss_after = rss_kib();
    let leaked = fds.leaked_since();
    let fds_after = open_fds();
    println!(
        "{ROUNDS} rounds in {:.2?}: fds {} -> {}, RSS {rss} KiB -> {rss_after} KiB",
        start.elapsed(),
        fds.len(),
        fds_after.len()
    );
    assert!(leaked.is_empty(), "file descriptors leaked: {leaked:?}");
    // A leak of even one small allocation per round would show as several hundred KiB.
    assert!(rss_after <= rss + 256, "RSS grew from {rss} KiB to {rss_after} KiB over {ROUNDS} rounds");
}
