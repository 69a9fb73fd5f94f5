//! (h) The user-space share of a load, exactly: instructions executed in user space per open +
//! load + close, bpfkit vs libbpf, counted by valgrind's callgrind (which sees only user-space
//! instructions: the verifier and everything else in the kernel are not counted, and the count
//! does not depend on what else the machine is doing).
//!
//! Each loader runs in a child process under callgrind three times: 0 loads (process start), 1
//! load (the first, with one-time costs: bpfkit parses vmlinux BTF once per process, libbpf per
//! object) and 1 + K loads; the differences give the first load's and each further load's count.
//! Needs root and valgrind; skipped with the reason otherwise.

use std::ffi::CString;
use std::path::Path;
use std::process::Command;

use crate::libbpf::{self, LibbpfObject};
use crate::table::Table;

/// The child: `rounds` open + load + close of `object` with `loader`, nothing else.
pub fn child(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> Result<(), String> {
    let bytes = std::fs::read(object).map_err(|e| format!("{}: {e}", object.display()))?;
    let name = object.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.o")).unwrap_or("obj");
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let pin_c = CString::new(pin_root.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    libbpf::silence();
    for _ in 0..rounds {
        match loader {
            "bpfkit" => crate::load::bpfkit_load(name, &bytes, pin_root)?,
            "libbpf" => drop(LibbpfObject::open_and_load(&bytes, &cname, &pin_c)?),
            other => return Err(format!("unknown loader {other}")),
        }
    }
    // The process's peak resident set, for the parent's memory column.
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(str::trim).unwrap_or("? kB");
    println!("peak {peak}");
    Ok(())
}

/// Peak RSS in KiB of a child process doing `rounds` loads (not under valgrind).
fn peak_rss(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> Result<u64, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(&me)
        .args(["loads", loader])
        .arg(object)
        .arg(rounds.to_string())
        .arg(pin_root)
        .output()
        .map_err(|e| format!("{}: {e}", me.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak "))
        .and_then(|v| v.trim_end_matches(" kB").trim().parse().ok())
        .ok_or_else(|| {
            format!("{loader} {}: no peak RSS reported ({})", object.display(), String::from_utf8_lossy(&out.stderr))
        })
}

/// User-space instructions of `rounds` loads in a child under callgrind.
fn count(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> Result<u64, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(&me)
        .args(["loads", loader])
        .arg(object)
        .arg(rounds.to_string())
        .arg(pin_root)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{loader} {} x{rounds} under callgrind failed:\n{stderr}", object.display()));
    }
    stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{stderr}"))
}

/// Whether valgrind can be run.
pub fn available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// (h) as a table, over `objects` (paths), `extra` further loads per object.
pub fn table(objects: &[(String, std::path::PathBuf)], extra: usize, pin_root: &Path) -> Result<Table, String> {
    let header = [
        "object",
        "bpfkit 1st load",
        "bpfkit per load",
        "libbpf 1st load",
        "libbpf per load",
        "per load: libbpf/bpfkit",
        "peak RSS bpfkit / libbpf",
    ];
    let mut table =
        Table::new("(h) user-space instructions per open + load + close (callgrind; kernel not counted)", &header);
    let mega = |n: u64| format!("{:.2} M", n as f64 / 1e6);
    for (name, path) in objects {
        let mut cells = vec![name.clone()];
        let mut per_load = Vec::new();
        for loader in ["bpfkit", "libbpf"] {
            let start = count(loader, path, 0, pin_root)?;
            let first = count(loader, path, 1, pin_root)?;
            let more = count(loader, path, 1 + extra, pin_root)?;
            let each = more.saturating_sub(first) / extra as u64;
            cells.push(mega(first.saturating_sub(start)));
            cells.push(mega(each));
            per_load.push(each);
        }
        let ratio = match per_load.as_slice() {
            [ours, theirs] if *ours > 0 => format!("{:.1}x", *theirs as f64 / *ours as f64),
            _ => "-".into(),
        };
        cells.push(ratio);
        let rss = |loader| peak_rss(loader, path, 1 + extra, pin_root);
        cells.push(format!("{} / {} KiB", rss("bpfkit")?, rss("libbpf")?));
        table.row(cells);
    }
    table.note(format!(
        "1st load: the first load of a process, one-time costs included; per load: each of {extra} more."
    ));
    table.note("bpfkit parses vmlinux BTF once per process (in its 1st load, when the object needs kernel types);");
    table.note("libbpf parses it again for every object that needs it and probes kernel features per object.");
    table.note("peak RSS: VmHWM of a process doing the same loads (outside valgrind), binary and libraries included.");
    Ok(table)
}
