//! Side-by-side benchmark: bpfkit-btf vs libbpf (`libbpf-sys`) vs aya-obj on the same bytes.
//!
//! `cargo run --release -p bpfkit-bench [-- --quick] [--corpus DIR]`
//!
//! Measures (a) parse + validate vmlinux, (b) parse + 10 struct lookups by name, (c) parse every
//! module of the Debian sid corpus as split BTF, (d) peak memory of (a), and (e) the one-time
//! cost of bpfkit's full name index against libbpf's parse. Answers are cross-checked: the
//! benchmark fails if the parsers disagree on a lookup.

mod corpus;
mod libbpf;
mod memory;
mod timing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bpfkit_btf::{Btf, Kind};
use corpus::Blob;
use libbpf::LibbpfBtf;
use timing::{Row, Table};

const STRUCTS: [&str; 10] =
    ["task_struct", "sk_buff", "file", "inode", "mm_struct", "bpf_prog", "sock", "net_device", "page", "cred"];

fn aya_parse(bytes: &[u8]) -> Option<aya_obj::btf::Btf> {
    aya_obj::btf::Btf::parse(bytes, object::Endianness::Little).ok()
}

fn bench_vmlinux(blob: &Blob, iters: usize, table: &mut Table) -> Result<(), String> {
    let bytes = blob.bytes;
    // (a) parse + validate.
    let row = Row::new(format!("(a) parse {}", blob.name))
        .time("bpfkit", iters, || Btf::parse(bytes).is_ok())
        .time("libbpf", iters, || LibbpfBtf::parse(bytes).is_some())
        .time("aya", iters, || aya_parse(bytes).is_some());
    table.push(row);

    // Cross-check the answers of (b) once, outside the timed loops.
    let ours = Btf::parse(bytes).map_err(|e| e.to_string())?;
    let theirs = LibbpfBtf::parse(bytes).ok_or("libbpf cannot parse")?;
    if theirs.type_count() != ours.type_count() {
        return Err(format!("type counts differ: libbpf {} bpfkit {}", theirs.type_count(), ours.type_count()));
    }
    let aya = aya_parse(bytes).ok_or("aya cannot parse")?;
    for name in STRUCTS {
        let a = ours.find_by_name_kind(name, Kind::Struct);
        let b = theirs.find_by_name_kind(name, libbpf_sys::BTF_KIND_STRUCT);
        let c = aya.id_by_type_name_kind(name, aya_obj::btf::BtfKind::Struct).ok();
        if a.is_none() || a != b || a != c {
            return Err(format!("struct {name}: bpfkit {a:?}, libbpf {b:?}, aya {c:?}"));
        }
    }

    // (b) parse + 10 lookups.
    let row = Row::new(format!("(b) parse + 10 lookups {}", blob.name))
        .time("bpfkit", iters, || {
            Btf::parse(bytes).is_ok_and(|btf| STRUCTS.iter().all(|n| btf.find_by_name_kind(n, Kind::Struct).is_some()))
        })
        .time("libbpf", iters, || {
            LibbpfBtf::parse(bytes).is_some_and(|btf| {
                STRUCTS.iter().all(|n| btf.find_by_name_kind(n, libbpf_sys::BTF_KIND_STRUCT).is_some())
            })
        })
        .time("aya", iters, || {
            aya_parse(bytes).is_some_and(|btf| {
                STRUCTS.iter().all(|n| btf.id_by_type_name_kind(n, aya_obj::btf::BtfKind::Struct).is_ok())
            })
        });
    table.push(row);

    // (e) bpfkit's full name index (all kinds) vs libbpf's parse alone.
    let row = Row::new(format!("(e) bpfkit parse + full name index vs libbpf parse, {}", blob.name))
        .time("bpfkit", iters, || Btf::parse(bytes).is_ok_and(|btf| !btf.find_all_by_name("task_struct").is_empty()))
        .time("libbpf", iters, || LibbpfBtf::parse(bytes).is_some());
    table.push(row);
    Ok(())
}

fn bench_modules(vmlinux: &Blob, modules: &[Blob], iters: usize, table: &mut Table) -> Result<(), String> {
    let base = Arc::new(Btf::parse(vmlinux.bytes).map_err(|e| e.to_string())?);
    let lbase = LibbpfBtf::parse(vmlinux.bytes).ok_or("libbpf cannot parse the base")?;
    // Both must accept every module.
    for m in modules {
        Btf::parse_split(m.bytes, base.clone()).map_err(|e| format!("bpfkit: {}: {e}", m.name))?;
        LibbpfBtf::parse_split(m.bytes, &lbase).ok_or_else(|| format!("libbpf: {} rejected", m.name))?;
    }
    let aya_ok = modules.iter().filter(|m| aya_parse(m.bytes).is_some()).count();
    let mut row = Row::new(format!("(c) parse {} module BTFs (split)", modules.len()))
        .time("bpfkit", iters, || modules.iter().all(|m| Btf::parse_split(m.bytes, base.clone()).is_ok()))
        .time("libbpf", iters, || modules.iter().all(|m| LibbpfBtf::parse_split(m.bytes, &lbase).is_some()));
    row.note(format!("aya: n/a (no split BTF support; standalone parse accepted {aya_ok}/{})", modules.len()));
    table.push(row);
    Ok(())
}

fn run(quick: bool, corpus: Option<PathBuf>) -> Result<(), String> {
    let iters = if quick { 3 } else { 30 };
    let root = corpus::root(corpus);
    let uname = std::process::Command::new("uname").arg("-r").output().map(|o| o.stdout).unwrap_or_default();
    println!("bpfkit-btf benchmark, kernel {}", String::from_utf8_lossy(&uname).trim());
    println!("comparing against libbpf-sys 1.7 (libbpf v1.7) and aya-obj 0.3; {iters} iterations, median (min)\n");

    let mut table = Table::default();
    let mut vmlinuxes = Vec::new();
    let host = Path::new("/sys/kernel/btf/vmlinux");
    if host.exists() {
        vmlinuxes.push(corpus::load(host, "host vmlinux (unsorted)")?);
    } else {
        println!("skipping host vmlinux: {} does not exist", host.display());
    }
    let sid = root.join("sid");
    let sid_version = std::fs::read_to_string(sid.join("VERSION")).unwrap_or_default();
    if sid.join(".complete").exists() {
        vmlinuxes.push(corpus::load(&sid.join("vmlinux"), &format!("{} vmlinux (sorted)", sid_version.trim()))?);
    } else {
        println!("skipping sid kernel: no corpus at {} (run scripts/fetch-btf-corpus.sh)", sid.display());
    }
    for blob in &vmlinuxes {
        bench_vmlinux(blob, iters, &mut table)?;
    }
    if let Some(sid_vmlinux) = vmlinuxes.iter().find(|b| b.name.contains("sorted)") && !b.name.contains("unsorted")) {
        let paths = corpus::modules(&sid.join("modules"));
        let modules = paths.iter().map(|p| corpus::load(p, &p.display().to_string())).collect::<Result<Vec<_>, _>>()?;
        bench_modules(sid_vmlinux, &modules, if quick { 1 } else { 5 }, &mut table)?;
    }
    table.print();

    if host.exists() {
        let path = host.to_str().unwrap_or("/sys/kernel/btf/vmlinux");
        let (ours, libbpf, aya) =
            (memory::measure("bpfkit", path)?, memory::measure("libbpf", path)?, memory::measure("aya", path)?);
        println!("\n(d) peak memory of parsing host vmlinux ({} KiB of BTF), above the bytes already in memory:", {
            std::fs::metadata(path).map(|m| m.len() / 1024).unwrap_or(0)
        });
        println!("    bpfkit {ours:>8} KiB");
        println!("    libbpf {libbpf:>8} KiB   ({:.1}x bpfkit)", libbpf as f64 / ours.max(1) as f64);
        println!("    aya    {aya:>8} KiB   ({:.1}x bpfkit)", aya as f64 / ours.max(1) as f64);
        if ours >= libbpf {
            return Err("bpfkit used more memory than libbpf".into());
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("mem") if args.len() == 3 => memory::child(&args[1], &args[2]),
        _ => {
            let quick = args.iter().any(|a| a == "--quick");
            let corpus = args.iter().position(|a| a == "--corpus").and_then(|i| args.get(i + 1)).map(PathBuf::from);
            run(quick, corpus)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bpfkit-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
