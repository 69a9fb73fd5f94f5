//! (g) Getting the project's BPF objects into the kernel: open from memory + load (maps created,
//! programs verified) + close, bpfkit vs libbpf (`bpf_object__open_mem` + `bpf_object__load` +
//! `bpf_object__close`), on the same bytes, in one run.
//!
//! The verifier runs in the kernel, so the user-space share of a load is the process's *user*
//! CPU time; the kernel's share (verifier, map and program creation, BTF load) is its *system*
//! time. Both come from `getrusage(RUSAGE_THREAD)` over many loads: this kernel accounts CPU time
//! by ticks (4 ms), so each cell runs loads until about `budget` of CPU has passed and divides.
//! Needs root; objects one of the loaders cannot load here are skipped with the reason.

use std::ffi::CString;
use std::time::{Duration, Instant};

use crate::libbpf::{self, LibbpfObject};
use crate::os::thread_cpu;
use crate::table::{Table, ms, ratio};
use crate::timing::Sample;

/// Per-load averages of one loader on one object.
struct Cost {
    wall: Sample,
    user: Duration,
    system: Duration,
}

/// Runs `load` until `budget` of wall time has passed (at least `min` times) and averages.
fn measure(budget: Duration, min: usize, mut load: impl FnMut() -> Result<(), String>) -> Result<Cost, String> {
    load()?; // warm-up: caches, the kernel BTF, page cache
    let (u0, s0) = thread_cpu();
    let start = Instant::now();
    let mut walls = Vec::new();
    while walls.len() < min || start.elapsed() < budget {
        let t = Instant::now();
        load()?;
        walls.push(t.elapsed());
    }
    let (u1, s1) = thread_cpu();
    let n = walls.len() as u32;
    walls.sort_unstable();
    Ok(Cost {
        wall: Sample { median: walls[walls.len() / 2], min: walls[0] },
        user: (u1 - u0) / n,
        system: (s1 - s0) / n,
    })
}

/// One bpfkit open + load + close of `bytes`, pinned-by-name maps under `pin_root`.
pub fn bpfkit_load(name: &str, bytes: &[u8], pin_root: &std::path::Path) -> Result<(), String> {
    let mut open = bpfkit::OpenObject::from_bytes(name, bytes).map_err(|e| e.to_string())?;
    open.set_pin_root(pin_root);
    open.load().map(drop).map_err(|e| format!("bpfkit: {name}: {e}"))
}

/// A private bpffs for the objects' pinned-by-name maps, unmounted on drop.
pub struct PinRoot(std::path::PathBuf);

impl PinRoot {
    /// Mounts it.
    pub fn mount() -> Result<PinRoot, String> {
        let dir = std::env::temp_dir().join(format!("bpfkit-bench-bpffs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let status = std::process::Command::new("mount").args(["-t", "bpf", "bpf"]).arg(&dir).status();
        match status {
            Ok(s) if s.success() => Ok(PinRoot(dir)),
            other => Err(format!("cannot mount a bpffs on {}: {other:?}", dir.display())),
        }
    }
}

impl PinRoot {
    /// The mount point.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for PinRoot {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Objects of the project both loaders can load on this host (the others need a kernel feature
/// the host lacks, or a later bpfkit feature: struct_ops, CO-RE, externs).
pub const OBJECTS: [&str; 7] = ["minimal", "maps", "net", "iter", "attach", "core", "tcp_cc"];

/// (g) as a table.
pub fn table(fixtures: &[(String, Vec<u8>)], budget: Duration) -> Result<Table, String> {
    let header = ["object", "loader", "wall", "user CPU", "system CPU", "user: libbpf/bpfkit"];
    let mut table = Table::new("(g) open + load + close of the project's objects   [ms per load]", &header);
    libbpf::silence();
    let pins = PinRoot::mount()?;
    let pin_c = CString::new(pins.0.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
    for name in OBJECTS {
        let Some((_, bytes)) = fixtures.iter().find(|(stem, _)| stem == name) else {
            table.note(format!("{name}: bpf/{name}.bpf.o not found, skipped"));
            continue;
        };
        let cname = CString::new(name).map_err(|e| e.to_string())?;
        let ours = measure(budget, 20, || bpfkit_load(name, bytes, &pins.0))?;
        let theirs = measure(budget, 20, || {
            LibbpfObject::open_and_load(bytes, &cname, &pin_c).map(drop).map_err(|e| format!("{name}: {e}"))
        })?;
        let fmt = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1e3);
        table.row(vec![
            name.to_owned(),
            "bpfkit".into(),
            ms(&ours.wall),
            fmt(ours.user),
            fmt(ours.system),
            ratio(theirs.user, ours.user),
        ]);
        table.row(vec![
            name.to_owned(),
            "libbpf".into(),
            ms(&theirs.wall),
            fmt(theirs.user),
            fmt(theirs.system),
            String::new(),
        ]);
    }
    table.note(
        "wall: median (min) of one open+load+close; user/system: getrusage(RUSAGE_THREAD) over all loads, per load.",
    );
    table.note(
        "user CPU is the loader's own work (ELF, BTF, relocation, probing); system CPU is the kernel's (verifier,",
    );
    table.note("map and program creation, BTF load). libbpf parses vmlinux BTF and probes kernel features per object;");
    table.note("bpfkit keeps the kernel BTF for the process and probes nothing.");
    Ok(table)
}
