//! (j) Objects nobody in this project wrote (`bpfkit_testkit::real_objects`: the scx
//! schedulers, the objects of Debian's libbpf-tools, xdp-tools, libxdp and suricata): per
//! object, the user-space instructions of one open + load + close in a fresh process (its first
//! load: one-time costs such as parsing vmlinux BTF included, process start-up and reading the
//! file subtracted), counted by callgrind, and the process's peak RSS, bpfkit vs libbpf. An
//! object this kernel cannot load with either loader (the schedulers need sched_ext, some tools
//! a size set by their user space or a function this kernel lacks) is measured opening only.

use std::path::Path;

use bpfkit_testkit::real_objects::RealObject;

use crate::child;
use crate::instructions::{count, loads};
use crate::libbpf::LibbpfObject;
use crate::table::Table;

/// Whether both loaders load `object` here (tried once in this process, not measured).
fn loads_here(object: &RealObject, pin_root: &Path) -> Result<bool, String> {
    let bytes = std::fs::read(&object.path).map_err(|e| format!("{}: {e}", object.path.display()))?;
    let name = child::object_name(&object.path);
    let cname = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
    let pin_c = std::ffi::CString::new(pin_root.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    let ours = crate::load::bpfkit_load(name, &bytes, pin_root).is_ok();
    let theirs = LibbpfObject::open_and_load(&bytes, &cname, &pin_c).is_ok();
    Ok(ours && theirs)
}

/// (j) over `objects`.
pub fn table(objects: &[RealObject], pin_root: &Path) -> Result<Table, String> {
    let header = ["object", "size", "measured", "bpfkit", "libbpf", "libbpf/bpfkit", "peak RSS bpfkit / libbpf", "RSS"];
    let mut table = Table::new(
        "(j) real objects: user-space instructions of one open + load + close (callgrind), and peak RSS",
        &header,
    );
    let mega = |n: u64| format!("{:.2} M", n as f64 / 1e6);
    let (mut fewer, mut smaller, mut n) = (0, 0, 0);
    for object in objects {
        let path = object.path.as_path();
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        let load = loads_here(object, pin_root)?;
        let (ours, theirs, what) =
            if load { ("bpfkit", "libbpf", "load") } else { ("bpfkit-open", "libbpf-open", "open") };
        let work = |loader: &str| -> Result<u64, String> {
            Ok(count(loader, path, 1, pin_root)?.saturating_sub(count(loader, path, 0, pin_root)?))
        };
        let (a, b) = (work(ours)?, work(theirs)?);
        let (ra, rb) =
            (child::peak_rss(&loads(ours, path, 1, pin_root))?, child::peak_rss(&loads(theirs, path, 1, pin_root))?);
        n += 1;
        fewer += usize::from(a <= b);
        smaller += usize::from(ra <= rb);
        table.row(vec![
            object.name.clone(),
            format!("{} KiB", size.div_ceil(1024)),
            what.into(),
            mega(a),
            mega(b),
            if a > 0 { format!("{:.1}x", b as f64 / a as f64) } else { "-".into() },
            format!("{ra} / {rb} KiB"),
            if ra <= rb { "ok".into() } else { format!("+{} KiB", ra - rb) },
        ]);
    }
    table.note(format!(
        "bpfkit does at most libbpf's user-space work on {fewer} of {n} objects, and peaks at most libbpf's RSS on {smaller} of {n}."
    ));
    table.note(
        "load: open + load + close in a fresh process (vmlinux BTF parsed in it); open: open + close, no kernel.",
    );
    table.note("peak RSS: VmHWM of a process doing it (outside valgrind), binary and libraries included.");
    Ok(table)
}
