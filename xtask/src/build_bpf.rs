//! `cargo xtask build-bpf [--check] [--vmlinux-h]`: compiles `bpf/*.bpf.c` with Debian's clang-19
//! and libbpf-dev headers in the sid chroot, and commits the objects next to their sources so
//! that `cargo test` needs no clang. `--check` rebuilds into a scratch directory and fails when a
//! committed object and its source disagree in what they define (programs, maps, sections,
//! variables, externs, license); byte differences alone are reported, not fatal, because a
//! clang point release may change code without changing definitions.
//!
//! Objects are built with the scratch directory mapped to a fixed name (`-ffile-prefix-map`) and
//! stripped of DWARF (`llvm-strip -g`; BTF and `.BTF.ext` stay), so the bytes do not depend on
//! where the checkout or the chroot lives: the same source and clang give the same object.

use std::fs;
use std::path::{Path, PathBuf};

use bpfkit_testkit::chroot::SidRoot;
use bpfkit_testkit::definitions::ObjectDefinitions;
use bpfkit_testkit::kernel::SidKernel;

/// clang flags for every fixture: CO-RE objects against `bpf/include/vmlinux.h`. A vmlinux.h
/// from 7.x kernels declares tagged anonymous struct members, which clang drops without
/// `-fms-extensions`.
const CFLAGS: &str = "-target bpf -g -O2 -Wall -Werror -fms-extensions -Wno-microsoft-anon-tag -D__TARGET_ARCH_x86 \
                      -I bpf/include";

/// The directory the objects' debug info (`.BTF.ext` line info) names as the build directory,
/// whatever the scratch directory was: sources then appear as `/bpfkit/bpf/NAME.bpf.c`.
const STABLE_DIR: &str = "/bpfkit";

/// What `build-bpf` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Compile and replace the committed objects that changed.
    Build,
    /// Compile into scratch and compare with the committed objects.
    Check,
}

/// Builds (or checks) every fixture under `repo/bpf` in chroot `root`; with `vmlinux_h`, first
/// regenerates `bpf/include/vmlinux.h` from the cached sid kernel with bpfkit's generator.
pub fn run(root: &SidRoot, repo: &Path, mode: Mode, vmlinux_h: bool) -> Result<(), String> {
    let dir = repo.join("bpf");
    if vmlinux_h {
        regenerate_vmlinux_h(&dir)?;
    }
    let sources = sources(&dir)?;
    let scratch = Scratch::create(root)?;
    copy_inputs(&dir, &scratch.host.join("bpf"), &sources)?;
    for stem in &sources {
        let script = format!(
            "set -e; cd {inside}; clang-19 {CFLAGS} -ffile-prefix-map={inside}={STABLE_DIR} -c bpf/{stem}.bpf.c \
             -o bpf/{stem}.bpf.o; llvm-strip-19 -g bpf/{stem}.bpf.o",
            inside = scratch.inside
        );
        root.sh(&script).map_err(|e| format!("compiling bpf/{stem}.bpf.c: {e}"))?;
    }
    match mode {
        Mode::Build => install(&dir, &scratch.host.join("bpf"), &sources),
        Mode::Check => check(&dir, &scratch.host.join("bpf"), &sources),
    }
}

/// The stems of `dir/*.bpf.c`, sorted.
fn sources(dir: &Path) -> Result<Vec<String>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut stems = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        if let Some(stem) = entry.file_name().to_str().and_then(|n| n.strip_suffix(".bpf.c")) {
            stems.push(stem.to_owned());
        }
    }
    if stems.is_empty() {
        return Err(format!("no *.bpf.c in {}", dir.display()));
    }
    stems.sort();
    Ok(stems)
}

/// A build directory inside the chroot, removed when dropped.
struct Scratch {
    /// Its path on the host.
    host: PathBuf,
    /// Its path inside the chroot.
    inside: String,
}

impl Scratch {
    fn create(root: &SidRoot) -> Result<Scratch, String> {
        let inside = format!("/build/bpf-{}", std::process::id());
        let host = root.path().join(inside.trim_start_matches('/'));
        let _ = fs::remove_dir_all(&host);
        fs::create_dir_all(host.join("bpf")).map_err(|e| format!("create {}: {e}", host.display()))?;
        Ok(Scratch { host, inside })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.host);
    }
}

/// Copies the sources and everything under `include/` (headers they share) into `to`.
fn copy_inputs(from: &Path, to: &Path, sources: &[String]) -> Result<(), String> {
    for stem in sources {
        let name = format!("{stem}.bpf.c");
        copy(&from.join(&name), &to.join(&name))?;
    }
    copy_tree(&from.join("include"), &to.join("include"))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    if !from.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    for entry in fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let path = entry.map_err(|e| format!("{}: {e}", from.display()))?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() { copy_tree(&path, &target)? } else { copy(&path, &target)? }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to).map(drop).map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn definitions(path: &Path, bytes: &[u8]) -> Result<ObjectDefinitions, String> {
    ObjectDefinitions::parse(bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Replaces the committed objects whose bytes changed.
fn install(dir: &Path, built: &Path, sources: &[String]) -> Result<(), String> {
    for stem in sources {
        let name = format!("{stem}.bpf.o");
        let new = read(&built.join(&name))?;
        let defs = definitions(&built.join(&name), &new)?;
        let target = dir.join(&name);
        if fs::read(&target).is_ok_and(|old| old == new) {
            println!("bpf/{name}: unchanged ({defs})");
            continue;
        }
        fs::write(&target, &new).map_err(|e| format!("write {}: {e}", target.display()))?;
        println!("bpf/{name}: written, {} bytes ({defs})", new.len());
    }
    Ok(())
}

/// Compares every committed object with its rebuild; one error listing every disagreement.
fn check(dir: &Path, built: &Path, sources: &[String]) -> Result<(), String> {
    let mut problems = Vec::new();
    for stem in sources {
        let name = format!("{stem}.bpf.o");
        let committed_path = dir.join(&name);
        let Ok(committed) = fs::read(&committed_path) else {
            problems.push(format!("bpf/{name} is missing: run `cargo xtask build-bpf` and commit it"));
            continue;
        };
        let rebuilt = read(&built.join(&name))?;
        let ours = match definitions(&committed_path, &committed) {
            Ok(defs) => defs,
            Err(why) => {
                problems.push(why);
                continue;
            }
        };
        let theirs = definitions(&built.join(&name), &rebuilt)?;
        let differences = ours.differences(&theirs, "committed", "rebuilt");
        if !differences.is_empty() {
            problems.push(format!("bpf/{name} does not match bpf/{stem}.bpf.c:\n  {}", differences.join("\n  ")));
        } else if committed == rebuilt {
            println!("bpf/{name}: matches its source, byte for byte ({ours})");
        } else {
            let drift = ours.code_drift(&theirs);
            let drift = if drift.is_empty() { String::new() } else { format!("; code size {}", drift.join(", ")) };
            println!("bpf/{name}: same definitions as its source ({ours}), bytes differ{drift}");
        }
    }
    // An object whose source is gone is stale: nothing can rebuild it.
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let name = entry.map_err(|e| format!("{}: {e}", dir.display()))?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".bpf.o")) else { continue };
        if !sources.iter().any(|s| s == stem) {
            problems.push(format!("bpf/{stem}.bpf.o has no source bpf/{stem}.bpf.c"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// bpfkit's own C header generator (bpftool's `btf dump ... format c` output, see
/// `bpfkit_btf::c_header`) on the cached sid kernel, into `bpf/include/vmlinux.h`.
fn regenerate_vmlinux_h(dir: &Path) -> Result<(), String> {
    let kernel = SidKernel::fetch().map_err(|e| e.to_string())?;
    let vmlinux = kernel.vmlinux();
    let btf = bpfkit_btf::Btf::open(&vmlinux, None).map_err(|e| format!("{}: {e}", vmlinux.display()))?;
    let options = bpfkit_btf::c_header::CHeaderOptions::default();
    let header =
        bpfkit_btf::c_header::to_c_header(&btf, &options).map_err(|e| format!("{}: {e}", vmlinux.display()))?;
    let target = dir.join("include/vmlinux.h");
    fs::write(&target, header.as_bytes()).map_err(|e| format!("write {}: {e}", target.display()))?;
    println!("bpf/include/vmlinux.h: generated by bpfkit from {} ({} bytes)", vmlinux.display(), header.len());
    Ok(())
}
