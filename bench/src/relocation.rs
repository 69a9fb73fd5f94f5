//! (i) CO-RE relocation of the project's largest CO-RE fixture (`core`: all 13 relocation
//! kinds) against a vmlinux BTF file, as with libbpf's `btf_custom_path`: user-space
//! instructions (callgrind, as in (h)) of open + read the target BTF + relocate, per run.
//!
//! - bpfkit: `Object::parse`, `Btf::open` of the target, `core::relocate` of every program.
//! - libbpf: `bpf_object__open_mem` with `btf_custom_path`, `bpf_object__prepare`, close. It has
//!   no relocation-only entry point: prepare also loads the object's BTF and creates its maps,
//!   but that work is the kernel's and callgrind counts none of it.
//! - aya-obj (`Object::relocate_btf`) is left out: its `Object::parse` refuses `core.bpf.o`
//!   ("BTF error"), as the note under (f) says.
//!
//! Extern relocation (kfuncs against the running kernel's BTF) is in (g) and (h): `tcp_cc`.

use std::ffi::{CString, OsString};
use std::path::Path;

use bpfkit_btf::Btf;
use bpfkit_obj::core::{self, CandidateCache};

use crate::child;
use crate::libbpf::{self, LibbpfObject};
use crate::table::Table;

/// One bpfkit run: the number of relocations applied.
fn bpfkit_run(name: &str, bytes: &[u8], btf: &Path) -> Result<usize, String> {
    let object = bpfkit_obj::Object::parse(name, bytes).map_err(|e| e.to_string())?;
    // The BTF file alone is the target: no modules.
    let target = Btf::open(btf, None).map_err(|e| e.to_string())?;
    let local = object.btf.as_deref().ok_or("the object has no BTF")?;
    let mut cache = CandidateCache::new();
    let mut applied = 0;
    for index in 0..object.programs.len() {
        let mut program = object.link(index).map_err(|e| e.to_string())?;
        applied += core::relocate(&mut program, local, &target, &mut cache).map_err(|e| e.to_string())?.len();
    }
    Ok(applied)
}

/// The child (under callgrind): `rounds` runs of `loader` on `object` against `btf`.
pub fn child(loader: &str, object: &Path, btf: &Path, rounds: usize) -> Result<(), String> {
    let bytes = std::fs::read(object).map_err(|e| format!("{}: {e}", object.display()))?;
    let name = child::object_name(object);
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let cbtf = CString::new(btf.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    libbpf::silence();
    for _ in 0..rounds {
        match loader {
            "bpfkit" => {
                let applied = bpfkit_run(name, &bytes, btf)?;
                println!("relocations {applied}");
            }
            "libbpf" => drop(LibbpfObject::open_and_prepare(&bytes, &cname, &cbtf)?),
            other => return Err(format!("unknown loader {other}")),
        }
    }
    // The process's peak resident set, for the parent's memory column.
    child::print_peak_rss();
    Ok(())
}

/// The child's arguments for `rounds` runs.
fn runs(loader: &str, object: &Path, btf: &Path, rounds: usize) -> [OsString; 5] {
    ["relocate".into(), loader.into(), object.into(), btf.into(), rounds.to_string().into()]
}

/// (i) as a table: `object` against each `(label, BTF file)`, `extra` further runs per cell.
pub fn table(object: &Path, targets: &[(String, &Path)], extra: usize) -> Result<Table, String> {
    let mut table = Table::new(
        "(i) open + CO-RE relocation of core.bpf.o against a BTF file (callgrind; kernel not counted)",
        &["target", "relocations", "bpfkit per run", "libbpf per run", "libbpf/bpfkit", "peak RSS bpfkit / libbpf"],
    );
    let mega = |n: u64| format!("{:.2} M", n as f64 / 1e6);
    for (label, btf) in targets {
        let mut per_run = Vec::new();
        let mut relocations = String::from("?");
        for loader in ["bpfkit", "libbpf"] {
            let (one, printed) = child::instructions(&runs(loader, object, btf, 1))?;
            let (more, _) = child::instructions(&runs(loader, object, btf, 1 + extra))?;
            per_run.push(more.saturating_sub(one) / extra as u64);
            if let Some(n) = printed.lines().find_map(|l| l.strip_prefix("relocations ")) {
                relocations = n.to_owned();
            }
        }
        let ratio = match per_run.as_slice() {
            [ours, theirs] if *ours > 0 => format!("{:.1}x", *theirs as f64 / *ours as f64),
            _ => "-".into(),
        };
        let rss = format!(
            "{} / {} KiB",
            child::peak_rss(&runs("bpfkit", object, btf, 1 + extra))?,
            child::peak_rss(&runs("libbpf", object, btf, 1 + extra))?
        );
        table.row(vec![label.clone(), relocations, mega(per_run[0]), mega(per_run[1]), ratio, rss]);
    }
    table.note("Each run parses the target BTF (as a load with a custom BTF does); per run: each of the further runs.");
    table.note("aya-obj: left out, its Object::parse refuses core.bpf.o (see (f)).");
    table.note("peak RSS: VmHWM of a process doing the same runs (outside valgrind), binary and libraries included.");
    Ok(table)
}
