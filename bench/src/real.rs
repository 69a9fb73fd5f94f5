//! (j) Objects nobody in this project wrote (`bpfkit_testkit::real_objects`: the scx
//! schedulers, the objects of Debian's libbpf-tools, xdp-tools, libxdp and suricata): per
//! object, the user-space instructions of one open + load + close in a fresh process (its first
//! load: one-time costs such as parsing vmlinux BTF included, process start-up and reading the
//! file subtracted), counted by callgrind, and the process's peak RSS, bpfkit vs libbpf. An
//! object this kernel cannot load with either loader (the schedulers need sched_ext, some tools
//! a size set by their user space or a function this kernel lacks) is measured opening only.
//!
//! Each loader runs in a binary of its own (`bench-load-bpfkit`, `bench-load-libbpf`, built with
//! the benchmark), as an application links one loader: in the benchmark's own binary, which
//! carries both and aya-obj, the kernel maps code pages of the others around the ones a loader
//! runs, and its peak RSS would measure the binary's layout.

use std::path::Path;

use bpfkit_testkit::real_objects::RealObject;

use std::path::PathBuf;

use crate::child;
use crate::libbpf::LibbpfObject;
use crate::table::Table;

/// The child binary of `loader` (`bpfkit`, `libbpf`), next to this one.
fn child_binary(loader: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name(format!("bench-load-{loader}"));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} is missing: `cargo build --release -p bpfkit-bench` builds it", path.display()))
    }
}

/// Builds the child binaries when the benchmark runs under `cargo run` (which builds only the
/// binary it runs), in this binary's profile.
pub fn build_children() -> Result<(), String> {
    let Some(cargo) = std::env::var_os("CARGO") else { return Ok(()) };
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let release = me.parent().and_then(|d| d.file_name()).is_some_and(|n| n == "release");
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "-q", "-p", "bpfkit-bench", "--bin", "bench-load-bpfkit", "--bin", "bench-load-libbpf"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cargo build of the (j) children: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build of the (j) children failed ({status})")) }
}

/// The arguments of a child: `mode` (`open`, `load`) `rounds` times on `object`.
fn args(mode: &str, object: &Path, rounds: usize, pin_root: &Path) -> [std::ffi::OsString; 4] {
    [mode.into(), object.into(), rounds.to_string().into(), pin_root.into()]
}

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
    let header = [
        "object",
        "size",
        "measured",
        "bpfkit",
        "libbpf",
        "libbpf/bpfkit",
        "peak RSS bpfkit / libbpf",
        "RSS",
        "code+libs",
        "data",
    ];
    let mut table = Table::new(
        "(j) real objects: user-space instructions of one open + load + close (callgrind), and peak RSS",
        &header,
    );
    // Small objects cost a tenth of a million: thousands show their differences.
    let count =
        |n: u64| if n < 1_000_000 { format!("{:.1} k", n as f64 / 1e3) } else { format!("{:.2} M", n as f64 / 1e6) };
    let (mut fewer, mut smaller, mut less_data, mut n) = (0, 0, 0, 0);
    let (ours, theirs) = (child_binary("bpfkit")?, child_binary("libbpf")?);
    for object in objects {
        let path = object.path.as_path();
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        let what = if loads_here(object, pin_root)? { "load" } else { "open" };
        let work = |binary: &Path| -> Result<u64, String> {
            let n = |rounds| child::instructions_of(binary, &args(what, path, rounds, pin_root)).map(|(n, _)| n);
            Ok(n(1)?.saturating_sub(n(0)?))
        };
        let (a, b) = (work(&ours)?, work(&theirs)?);
        let rss = |binary: &Path| child::peak_and_file_rss_of(binary, &args(what, path, 1, pin_root));
        let ((ra, fa), (rb, fb)) = (rss(&ours)?, rss(&theirs)?);
        let (da, db) = (ra.saturating_sub(fa), rb.saturating_sub(fb));
        n += 1;
        fewer += usize::from(a <= b);
        smaller += usize::from(ra <= rb);
        less_data += usize::from(da <= db);
        table.row(vec![
            object.name.clone(),
            format!("{} KiB", size.div_ceil(1024)),
            what.into(),
            count(a),
            count(b),
            if a > 0 { format!("{:.2}x", b as f64 / a as f64) } else { "-".into() },
            format!("{ra} / {rb} KiB"),
            if ra <= rb { "ok".into() } else { format!("+{} KiB", ra - rb) },
            format!("{fa} / {fb}"),
            format!("{da} / {db}"),
        ]);
    }
    table.note(format!(
        "bpfkit does at most libbpf's user-space work on {fewer} of {n} objects, and peaks at most libbpf's RSS on {smaller} of {n}."
    ));
    table.note(format!(
        "code+libs: file-backed pages resident at exit (binary, libc, libelf, libz); data: peak less that \
         (heap and stack at their peak); bpfkit's data peaks at most libbpf's on {less_data} of {n}."
    ));
    table.note(
        "load: open + load + close in a fresh process (vmlinux BTF parsed in it); open: open + close, no kernel.",
    );
    table.note("each loader in a binary of its own; peak RSS: VmHWM of that process doing it (outside valgrind),");
    table.note(format!(
        "its binary and libraries included (.text of bench-load-bpfkit: {} KiB, of bench-load-libbpf: {} KiB, \
         each with Rust's std; libbpf's also maps libelf and libz).",
        text_kib(&ours)?,
        text_kib(&theirs)?
    ));
    Ok(table)
}

/// Size of the `.text` section of the executable at `path`, in KiB.
fn text_kib(path: &Path) -> Result<u64, String> {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = file.section_by_name(".text").ok_or_else(|| format!("{}: no .text section", path.display()))?;
    Ok(text.size().div_ceil(1024))
}
