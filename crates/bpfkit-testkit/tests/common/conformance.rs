//! Loading real objects with libbpf (through bpftool) and with bpfkit, one object at a time,
//! and the table of both results. Shared by the host test (`real_objects.rs`) and the VM's
//! guest test (`vm.rs`).

use std::path::Path;
use std::process::Command;

/// What one loader made of one object.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Every program and map of the object is in the kernel.
    Loaded,
    /// Refused, with the first line of the reason.
    Failed(String),
}

impl Outcome {
    pub fn loaded(&self) -> bool {
        matches!(self, Outcome::Loaded)
    }

    fn cell(&self) -> &'static str {
        if self.loaded() { "loads" } else { "fails" }
    }

    fn reason(&self) -> &str {
        match self {
            Outcome::Loaded => "",
            Outcome::Failed(why) => why,
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub origin: String,
    pub libbpf: Outcome,
    pub bpfkit: Outcome,
}

/// libbpf's verdict: `bpftool prog loadall OBJECT PIN_DIR`, run as `bpftool` (its program and
/// leading arguments) makes it, with `pin_dir` on a bpffs.
pub fn libbpf(mut bpftool: Command, object: &Path, pin_dir: &str) -> Outcome {
    bpftool.args(["prog", "loadall"]).arg(object).arg(pin_dir);
    match bpftool.output() {
        Ok(out) if out.status.success() => Outcome::Loaded,
        // bpftool pins every program after libbpf loaded the object, and refuses to pin the
        // ones that were not to be loaded (`SEC("?...")`): the object did load.
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("can't pin program that wasn't loaded") => {
            Outcome::Loaded
        }
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stderr);
            // libbpf prints its reasons as "libbpf: ..." lines: the last one that is not a
            // list of what it supports says most.
            let why = text
                .lines()
                .rfind(|l| l.contains("libbpf:") && !l.contains("supported section"))
                .or_else(|| text.lines().rfind(|l| !l.trim().is_empty()))
                .unwrap_or("failed without a message");
            Outcome::Failed(short(why.trim()))
        }
        Err(e) => Outcome::Failed(format!("cannot run bpftool: {e}")),
    }
}

/// bpfkit's verdict: open and load with pins under `pin_root`.
pub fn bpfkit(object: &Path, pin_root: &Path) -> Outcome {
    let loaded = bpfkit::OpenObject::open(object).and_then(|mut open| {
        open.set_pin_root(pin_root);
        open.load()
    });
    match loaded {
        Ok(_) => Outcome::Loaded,
        Err(e) => {
            // The first line, and the one after it when the first only introduces a list.
            let text = e.to_string();
            let mut lines = text.lines().map(str::trim);
            let first = lines.next().unwrap_or_default();
            let why = match lines.next() {
                Some(next) if first.ends_with(':') => format!("{first} {next}"),
                _ => first.to_owned(),
            };
            Outcome::Failed(short(&why))
        }
    }
}

/// `text` cut to a table cell's length.
fn short(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Prints the table and returns the objects libbpf loads and bpfkit does not.
pub fn report(title: &str, rows: &[Row]) -> Vec<String> {
    let both = rows.iter().filter(|r| r.libbpf.loaded() && r.bpfkit.loaded()).count();
    let libbpf = rows.iter().filter(|r| r.libbpf.loaded()).count();
    let bpfkit = rows.iter().filter(|r| r.bpfkit.loaded()).count();
    println!("{title}: {} objects; libbpf loads {libbpf}, bpfkit loads {bpfkit}, both {both}", rows.len());
    println!("| object | origin | libbpf | bpfkit | reason |");
    println!("|---|---|---|---|---|");
    let mut gaps = Vec::new();
    for r in rows {
        let reason = match (r.libbpf.loaded(), r.bpfkit.loaded()) {
            (true, true) => String::new(),
            (true, false) => {
                gaps.push(format!("{}: {}", r.name, r.bpfkit.reason()));
                format!("bpfkit: {}", r.bpfkit.reason())
            }
            (false, true) => format!("libbpf: {}", r.libbpf.reason()),
            (false, false) => format!("libbpf: {} / bpfkit: {}", r.libbpf.reason(), r.bpfkit.reason()),
        };
        println!("| {} | {} | {} | {} | {} |", r.name, r.origin, r.libbpf.cell(), r.bpfkit.cell(), reason);
    }
    gaps
}
