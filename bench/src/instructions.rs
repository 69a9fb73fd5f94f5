//! (h) The user-space share of a load, exactly: instructions executed in user space per open +
//! load + close, bpfkit vs libbpf, counted by valgrind's callgrind (which sees only user-space
//! instructions: the verifier and everything else in the kernel are not counted, and the count
//! does not depend on what else the machine is doing).
//!
//! Each loader runs in a child process under callgrind three times: 0 loads (process start), 1
//! load (the first, with one-time costs: bpfkit parses vmlinux BTF once per process, libbpf per
//! object) and 1 + K loads; the differences give the first load's and each further load's count.
//! Needs root and valgrind; skipped with the reason otherwise.

use std::ffi::{CString, OsString};
use std::path::Path;
use std::process::Command;

use crate::child;
use crate::libbpf::{self, LibbpfObject};
use crate::table::Table;

/// The child: `rounds` open + load + close of `object` with `loader`, nothing else.
pub fn child(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> Result<(), String> {
    let bytes = std::fs::read(object).map_err(|e| format!("{}: {e}", object.display()))?;
    let name = child::object_name(object);
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
    child::print_peak_rss();
    Ok(())
}

/// The child's arguments for `rounds` loads.
fn loads(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> [OsString; 5] {
    ["loads".into(), loader.into(), object.into(), rounds.to_string().into(), pin_root.into()]
}

/// User-space instructions of `rounds` loads in a child under callgrind.
fn count(loader: &str, object: &Path, rounds: usize, pin_root: &Path) -> Result<u64, String> {
    child::instructions(&loads(loader, object, rounds, pin_root)).map(|(n, _)| n)
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
        let rss = |loader| child::peak_rss(&loads(loader, path, 1 + extra, pin_root));
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
