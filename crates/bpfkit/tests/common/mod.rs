//! Shared helpers of the host-kernel tests: skip rules, fixture paths, and a lock for tests that
//! count syscalls or fds of this process (tracepoints fire for every thread of it).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use bpfkit_testkit::{cache, skip};

/// Whether `test` can run here (root, and `bpf(2)` usable); prints why not, or panics under
/// `BPFKIT_NO_SKIP=1`.
pub fn ready(test: &str) -> bool {
    let why = if !skip::is_root() {
        Some("needs root (creates maps and loads programs)".to_owned())
    } else if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        Some("the kernel exposes no BTF (/sys/kernel/btf/vmlinux)".to_owned())
    } else {
        None
    };
    match why {
        None => {
            ensure_tracefs();
            true
        }
        Some(why) => {
            if let Err(fail) = skip::skip(test, &why) {
                panic!("{fail}");
            }
            false
        }
    }
}

/// `bpf/<name>.bpf.o` of this checkout.
pub fn fixture(name: &str) -> PathBuf {
    cache::repo_root().join("bpf").join(format!("{name}.bpf.o"))
}

static SYSCALLS: Mutex<()> = Mutex::new(());

/// Held by tests that count this process's syscalls or open fds, so that tests of the same binary
/// running on other threads do not disturb the count.
pub fn serial() -> MutexGuard<'static, ()> {
    SYSCALLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `getpid()` straight from the kernel (no libc caching).
pub fn getpid() -> i64 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::syscall(libc::SYS_getpid) }
}

/// The file descriptors this process has open, each with what it refers to.
///
/// A count is not enough: a test thread that does not hold [`serial`] (or the test harness) may
/// hold a file open for a moment while the count is taken, and a lower count afterwards would
/// look like a change. A leak is an fd opened since the snapshot that stays open, so
/// [`FdSnapshot::leaked_since`] compares (number, target) pairs and lets brief ones settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdSnapshot(std::collections::BTreeSet<(String, String)>);

/// Takes an [`FdSnapshot`] of this process.
pub fn open_fds() -> FdSnapshot {
    let mut fds = std::collections::BTreeSet::new();
    // The directory stream itself is an fd that shows in the listing; its target is this
    // process's fd directory, which nothing else opens.
    let own_dir = std::fs::canonicalize("/proc/self/fd").unwrap_or_default();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for entry in dir.flatten() {
            let Ok(target) = std::fs::read_link(entry.path()) else { continue }; // closed meanwhile
            if target != own_dir {
                fds.insert((entry.file_name().to_string_lossy().into_owned(), target.to_string_lossy().into_owned()));
            }
        }
    }
    FdSnapshot(fds)
}

impl FdSnapshot {
    /// The fds open now that were not open at `self` ("3 -> anon_inode:bpf-map"), after letting
    /// other threads' short-lived files close (up to a second); empty when nothing leaked.
    pub fn leaked_since(&self) -> Vec<String> {
        let start = std::time::Instant::now();
        loop {
            let new = self.opened_since();
            if new.is_empty() || start.elapsed() > std::time::Duration::from_secs(1) {
                return new;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// The fds open at `later` that were not open at `self`.
    pub fn opened_in(&self, later: &FdSnapshot) -> Vec<String> {
        later.0.difference(&self.0).map(|(fd, target)| format!("{fd} -> {target}")).collect()
    }

    /// The fds open now that were not open at `self`, without waiting.
    fn opened_since(&self) -> Vec<String> {
        self.opened_in(&open_fds())
    }

    /// How many fds the snapshot holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Resident set size of this process in KiB.
pub fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4
}

/// Tracepoints are found by their tracefs ids; this host boots without tracefs mounted, so mount
/// it where systemd would (once, shared by all tests; harmless if it already is).
fn ensure_tracefs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if !std::path::Path::new("/sys/kernel/tracing/events").exists() {
            let status =
                std::process::Command::new("mount").args(["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]).status();
            println!("mounted tracefs on /sys/kernel/tracing: {status:?}");
        }
    });
}
