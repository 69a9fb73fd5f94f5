//! Peak memory of one parse, measured in a fresh child process.
//!
//! The child reads the BTF into memory, resets the kernel's peak-RSS counter
//! (`/proc/self/clear_refs` <- 5), parses, and reports how far the peak rose above the resident
//! size before parsing. Both parsers see the same bytes already in memory; bpfkit parses them in
//! place, libbpf and aya copy what they keep.

use std::process::Command;

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
}

/// Runs in the child: parse `path` with `parser`, print `<peak-delta-KiB>`.
pub fn child(parser: &str, path: &str) -> Result<(), String> {
    let blob = crate::corpus::load(std::path::Path::new(path), "mem")?;
    let bytes: Vec<u8> = blob.bytes.to_vec();
    std::fs::write("/proc/self/clear_refs", "5").map_err(|e| format!("reset peak RSS: {e}"))?;
    let before = status_kib("VmRSS:").ok_or("no VmRSS")?;
    let kept: Box<dyn std::any::Any> = match parser {
        "bpfkit" => Box::new(bpfkit_btf::Btf::parse(bytes).map_err(|e| e.to_string())?),
        "libbpf" => {
            let btf = crate::libbpf::LibbpfBtf::parse(&bytes).ok_or("libbpf parse failed")?;
            Box::new((btf, bytes))
        }
        "aya" => {
            Box::new(aya_obj::btf::Btf::parse(&bytes, object::Endianness::Little).map_err(|e| format!("aya: {e}"))?)
        }
        other => return Err(format!("unknown parser {other}")),
    };
    let peak = status_kib("VmHWM:").ok_or("no VmHWM")?;
    std::hint::black_box(&kept);
    println!("{}", peak.saturating_sub(before));
    Ok(())
}

/// Runs the child for `parser` and returns the peak increase in KiB.
pub fn measure(parser: &str, path: &str) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe).args(["mem", parser, path]).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{parser}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|e| format!("{parser}: {e}"))
}
