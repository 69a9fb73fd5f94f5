//! (d) Peak memory of one parse, each parser in a fresh child process (this binary re-executed
//! as `bpfkit-bench mem <parser> <file>`).
//!
//! The child reads the BTF into memory first, then resets the kernel's peak-RSS counter
//! (`echo 5 > /proc/self/clear_refs` resets VmHWM to the current RSS), reads VmHWM as the
//! baseline, parses and keeps the result alive, and reads VmHWM again. The increase is what the
//! parse cost on top of the bytes every parser starts from. The parent checks once that the
//! reset works on this kernel; if it does not, the baseline is the peak after reading the bytes,
//! which can only understate a parse's cost (and the table says so).

use std::path::Path;
use std::process::Command;

use crate::corpus::Blob;
use crate::table::{Table, times};

pub const PARSERS: [&str; 3] = ["bpfkit", "libbpf", "aya-obj"];

fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| format!("/proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}

/// Whether writing 5 to `/proc/self/clear_refs` resets VmHWM here (run in the parent, whose
/// memory is not measured): raise the peak with a touched, freed 64 MiB buffer, reset, and check
/// that the peak fell back to the resident size.
fn peak_reset_works() -> bool {
    let probe = vec![1u8; 64 << 20];
    std::hint::black_box(&probe);
    drop(probe);
    let raised = matches!((status_kib("VmHWM"), status_kib("VmRSS")), (Ok(h), Ok(r)) if h >= r + (60 << 10));
    raised
        && std::fs::write(CLEAR_REFS, "5").is_ok()
        && matches!((status_kib("VmHWM"), status_kib("VmRSS")), (Ok(h), Ok(r)) if h <= r + 64)
}

const CLEAR_REFS: &str = "/proc/self/clear_refs";

/// Runs in the child: parses `path` with `parser` and prints
/// `<peak increase KiB> <process peak KiB>`. A directory is a corpus kernel: its vmlinux and
/// every module under `modules/` as split BTF on it, all kept at once (as (c) parses them;
/// aya-obj has no split BTF and is refused).
pub fn child(parser: &str, path: &Path) -> Result<(), String> {
    if path.is_dir() {
        return child_modules(parser, path);
    }
    let bytes = crate::corpus::load(path, "mem")?.bytes;
    report_peak(|| {
        Ok(match parser {
            "bpfkit" => Box::new(bpfkit_btf::Btf::parse(bytes).map_err(|e| format!("bpfkit: {e}"))?),
            "libbpf" => Box::new(crate::libbpf::LibbpfBtf::parse(bytes)?),
            "aya-obj" => Box::new(crate::suite::aya_parse(bytes)?),
            other => return Err(format!("unknown parser {other} (one of {})", PARSERS.join(", "))),
        })
    })
}

/// In the child, once the input is in memory: resets the peak, runs `parse` and keeps what it
/// made alive, and prints `<peak increase KiB> <process peak KiB>`.
fn report_peak(parse: impl FnOnce() -> Result<Box<dyn std::any::Any>, String>) -> Result<(), String> {
    // Without a working reset (checked by the parent), the baseline is the peak so far.
    let _ = std::fs::write(CLEAR_REFS, "5");
    let baseline = status_kib("VmHWM")?;
    let kept = parse()?;
    let peak = status_kib("VmHWM")?;
    std::hint::black_box(&kept);
    println!("{} {peak}", peak.saturating_sub(baseline));
    Ok(())
}

/// [`child`] for a corpus kernel directory.
fn child_modules(parser: &str, dir: &Path) -> Result<(), String> {
    let base = crate::corpus::load(&dir.join("vmlinux"), "vmlinux")?.bytes;
    let modules = crate::corpus::modules(&dir.join("modules"))?
        .iter()
        .map(|p| crate::corpus::load(p, "module").map(|b| b.bytes))
        .collect::<Result<Vec<_>, _>>()?;
    report_peak(|| {
        Ok(match parser {
            "bpfkit" => {
                let base = std::sync::Arc::new(bpfkit_btf::Btf::parse(base).map_err(|e| format!("bpfkit: {e}"))?);
                let split = modules.iter().map(|m| bpfkit_btf::Btf::parse_split(*m, base.clone()));
                Box::new(split.collect::<Result<Vec<_>, _>>().map_err(|e| format!("bpfkit: {e}"))?)
            }
            "libbpf" => {
                // The splits borrow their base: both are leaked for the child's short life.
                let base: &'static crate::libbpf::LibbpfBtf<'static> =
                    Box::leak(Box::new(crate::libbpf::LibbpfBtf::parse(base)?));
                let split = modules.iter().map(|m| crate::libbpf::LibbpfBtf::parse_split(m, base));
                Box::new(split.collect::<Result<Vec<_>, _>>()?)
            }
            other => return Err(format!("{other} has no split BTF")),
        })
    })
}

struct Usage {
    delta: u64,
    total: u64,
}

/// Runs the child for `parser` on `path`.
fn measure(parser: &str, path: &Path) -> Result<Usage, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable to re-run it: {e}"))?;
    let out = Command::new(&exe)
        .arg("mem")
        .arg(parser)
        .arg(path)
        .output()
        .map_err(|e| format!("running {} mem: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("memory child for {parser} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let fields: Vec<&str> = stdout.split_whitespace().collect();
    match fields.as_slice() {
        [delta, total] => Ok(Usage {
            delta: delta.parse().map_err(|e| format!("memory child for {parser}: {e}"))?,
            total: total.parse().map_err(|e| format!("memory child for {parser}: {e}"))?,
        }),
        _ => Err(format!("memory child for {parser}: unexpected output {stdout:?}")),
    }
}

/// (d) for each input, and for `modules` (a corpus kernel directory: (c)'s input) if given.
pub fn table(inputs: &[&Blob], modules: Option<(&str, &Path)>) -> Result<Table, String> {
    let mut table = Table::new(
        "(d) peak memory of parse + validate, fresh process per parser   [KiB: peak RSS increase (process peak)]",
        &["input", "BTF KiB", "bpfkit", "libbpf", "aya-obj", "libbpf/bpfkit", "aya/bpfkit"],
    );
    let reset_works = peak_reset_works();
    for blob in inputs {
        let [ours, libbpf, aya] = [PARSERS[0], PARSERS[1], PARSERS[2]].map(|p| measure(p, &blob.path));
        let (ours, libbpf, aya) = (ours?, libbpf?, aya?);
        let cell = |u: &Usage| format!("{} ({})", u.delta, u.total);
        table.row(vec![
            blob.label.clone(),
            (blob.bytes.len() / 1024).to_string(),
            cell(&ours),
            cell(&libbpf),
            cell(&aya),
            times(libbpf.delta as f64, ours.delta as f64),
            times(aya.delta as f64, ours.delta as f64),
        ]);
    }
    if let Some((label, dir)) = modules {
        let (ours, libbpf) = (measure(PARSERS[0], dir)?, measure(PARSERS[1], dir)?);
        let cell = |u: &Usage| format!("{} ({})", u.delta, u.total);
        table.row(vec![
            format!("{label}: vmlinux + every module, split"),
            "-".into(),
            cell(&ours),
            cell(&libbpf),
            "no split support".into(),
            times(libbpf.delta as f64, ours.delta as f64),
            "-".into(),
        ]);
    }
    if reset_works {
        table.note("Peak reset with /proc/self/clear_refs after reading the bytes (verified to work on this kernel),");
        table.note("so the increase is the parse alone; the process peak includes the bytes and the binary.");
    } else {
        table.note(
            "/proc/self/clear_refs could not reset the peak here: the baseline is VmHWM after reading the bytes.",
        );
    }
    table.note("Ratios: times less memory than bpfkit (increase over increase).");
    Ok(table)
}
