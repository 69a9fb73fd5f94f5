//! Finding attach points in the running kernel: tracepoint ids in tracefs, the kprobe PMU, and
//! kernel function names for kprobe_multi globs and syscall probes. Errors are plain text for
//! [`crate::Error::Attach`], which adds the program and target.

use std::ffi::CString;
use std::os::fd::OwnedFd;

use crate::sys;

/// Where tracefs is usually mounted (the second one on older systems).
const TRACEFS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The id of tracepoint `category/name` (`events/<category>/<name>/id` in tracefs).
pub(crate) fn tracepoint_id(category: &str, name: &str) -> Result<u64, String> {
    if category.is_empty() || name.is_empty() || category.contains("..") || name.contains("..") {
        return Err(format!("not a tracepoint name: {category:?}/{name:?}"));
    }
    let mut tried = Vec::new();
    for root in TRACEFS {
        let path = format!("{root}/events/{category}/{name}/id");
        match std::fs::read_to_string(&path) {
            Ok(text) => return text.trim().parse().map_err(|_| format!("{path}: not a number: {text:?}")),
            Err(e) => tried.push(format!("{path}: {e}")),
        }
    }
    let hint = if std::path::Path::new("/sys/kernel/tracing/events").exists() {
        ""
    } else {
        " (tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing)"
    };
    Err(format!("no such tracepoint{hint}: {}", tried.join("; ")))
}

/// A number from a sysfs file.
fn sysfs_number(path: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    text.trim().parse().map_err(|_| format!("{path}: not a number: {text:?}"))
}

/// The config bit of the kprobe PMU's `retprobe` format (`config:N`).
fn retprobe_bit() -> Result<u64, String> {
    let path = "/sys/bus/event_source/devices/kprobe/format/retprobe";
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let bit = text.trim().strip_prefix("config:").and_then(|b| b.parse::<u32>().ok()).filter(|&b| b < 64);
    bit.map(|b| 1u64 << b).ok_or_else(|| format!("{path}: unexpected format {text:?}"))
}

/// A perf event for a kprobe on `function+offset` through the kprobe PMU (Linux 4.17+).
pub(crate) fn kprobe_event(function: &str, offset: u64, retprobe: bool) -> Result<OwnedFd, String> {
    let pmu = sysfs_number("/sys/bus/event_source/devices/kprobe/type")
        .map_err(|e| format!("no kprobe PMU (kernel without kprobes?): {e}"))?;
    let pmu = u32::try_from(pmu).map_err(|_| format!("kprobe PMU type {pmu} out of range"))?;
    let config = if retprobe { retprobe_bit()? } else { 0 };
    let name = CString::new(function).map_err(|_| "function name contains NUL".to_owned())?;
    let attr = sys::PerfEventAttr {
        type_: pmu,
        config,
        name: Some(&name),
        offset,
        sample_period: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    sys::perf_event_open(&attr, -1, 0).map_err(|e| format!("perf_event_open (kprobe PMU): {e}"))
}

/// The kernel function behind syscall `name` on this architecture (`__x64_sys_openat`).
pub(crate) fn syscall_function(name: &str) -> String {
    let prefix = match std::env::consts::ARCH {
        "x86_64" => "__x64_",
        "aarch64" => "__arm64_",
        "s390x" => "__s390x_",
        "riscv64" => "__riscv_",
        "powerpc64" => "",
        _ => "",
    };
    format!("{prefix}sys_{name}")
}

/// Kernel functions a kprobe can attach to (tracefs `available_filter_functions`) that match
/// glob `pattern` (`*` and `?`), without duplicates.
pub(crate) fn matching_functions(pattern: &str) -> Result<Vec<CString>, String> {
    let mut tried = Vec::new();
    for root in TRACEFS {
        let path = format!("{root}/available_filter_functions");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                tried.push(format!("{path}: {e}"));
                continue;
            }
        };
        let mut names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| glob_match(pattern.as_bytes(), name.as_bytes()))
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Err(format!("no kernel function matches {pattern:?} in {path}"));
        }
        return names.into_iter().map(|n| CString::new(n).map_err(|_| format!("{path}: bad name"))).collect();
    }
    Err(format!("cannot list kernel functions: {}", tried.join("; ")))
}

/// Glob match with `*` (any run) and `?` (any byte), iterative with one backtrack point.
pub(crate) fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"tcp_*", b"tcp_v4_rcv"));
        assert!(!glob_match(b"tcp_*", b"udp_rcv"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(glob_match(b"*_rcv", b"tcp_v4_rcv"));
        assert!(!glob_match(b"*_rcv", b"tcp_v4_rcvx"));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"abc", b"ab"));
    }
}
