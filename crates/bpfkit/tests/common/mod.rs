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

/// Open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
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
