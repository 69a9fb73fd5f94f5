//! Differential test of CO-RE: for every program of every fixture with CO-RE relocations, and
//! for each target BTF (the host kernel's and the three corpus kernels'), bpfkit's resolver
//! (`bpfkit_obj::core`, pure, no kernel) and libbpf (`bpf_object__prepare` through the oracle)
//! must produce the same instructions. Map `ld_imm64`s are compared as libbpf leaves them
//! (map index and value offset) against bpfkit's relocation table. On a difference the test
//! prints both instructions, bpfkit's decision and libbpf's log line for that relocation.
//! Needs root (libbpf's prepare probes the kernel); skipped with the reason otherwise.

use std::path::{Path, PathBuf};

use bpfkit_btf::Btf;
use bpfkit_obj::core::{self, CandidateCache};
use bpfkit_obj::{Insn, Object};
use bpfkit_testkit::{cache, skip};

fn targets() -> Vec<(String, PathBuf)> {
    let mut out = vec![("host".to_owned(), PathBuf::from("/sys/kernel/btf/vmlinux"))];
    for k in ["6.1", "6.12", "sid"] {
        match bpfkit_testkit::corpus::vmlinux(k) {
            Ok(Some(path)) => out.push((k.to_owned(), path)),
            Ok(None) => println!("skipping target {k}: {}", bpfkit_testkit::corpus::SKIPPED),
            Err(e) => panic!("corpus kernel {k}: {e}"),
        }
    }
    out
}

/// Fixtures whose programs carry CO-RE relocations.
fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = cache::repo_root().join("bpf");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.o")) else {
            continue;
        };
        let bytes = std::fs::read(&path).unwrap();
        let obj = Object::parse(stem, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Objects with externs: libbpf's prepare resolves them against the running kernel and
        // refuses the whole object when one is missing on purpose (externs, externs_modules) or
        // lives in a module the host lacks (testmod_ops); their CO-RE is checked by loading.
        if !(0..obj.programs.len()).any(|i| obj.link(i).is_ok_and(|p| !p.core_relos.is_empty())) {
            continue;
        }
        if obj.externs.is_empty() {
            out.push((stem.to_owned(), bytes));
        } else {
            println!("not compared: {stem} (has {} externs libbpf must resolve first)", obj.externs.len());
        }
    }
    out.sort();
    out
}

fn hex(i: &Insn) -> String {
    i.to_le_bytes().iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Compares one object against one target; returns (relocations compared, differences).
fn compare(stem: &str, bytes: &[u8], label: &str, path: &Path) -> (usize, Vec<String>) {
    let libbpf = bpfkit_oracle::relocate_full(bytes, stem, path).unwrap_or_else(|e| panic!("{stem} on {label}: {e}"));
    // A BTF file is the only target (no modules), like libbpf's `btf_custom_path`.
    let target = Btf::open(path, None).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = Object::parse(stem, bytes).unwrap();
    let local = obj.btf.clone().expect("object BTF");
    let mut cache = CandidateCache::new();
    let mut relocations = 0;
    let mut diffs = Vec::new();
    for index in 0..obj.programs.len() {
        let prog = &mut obj.link(index).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let original = prog.insns.clone();
        let resolutions = core::relocate(prog, &local, &target, &mut cache)
            .unwrap_or_else(|e| panic!("{stem} on {label}: bpfkit: {e}"));
        relocations += resolutions.len();
        let theirs = libbpf
            .programs
            .iter()
            .find(|p| p.name == prog.name)
            .unwrap_or_else(|| panic!("libbpf lacks {}", prog.name));
        assert_eq!(theirs.insns.len(), prog.insns.len(), "{stem}/{} on {label}: instruction counts differ", prog.name);
        // Instructions that refer to maps: libbpf leaves map indexes there, bpfkit nothing yet.
        let map_slots: Vec<usize> = prog.relocs.iter().flat_map(|r| [r.insn, r.insn + 1]).collect();
        for (i, (ours, raw)) in prog.insns.iter().zip(&theirs.insns).enumerate() {
            if map_slots.contains(&i) {
                continue;
            }
            let theirs = Insn::decode(*raw, bpfkit_obj::Endian::Little);
            if *ours != theirs {
                let ours_said = resolutions.iter().find(|r| r.insn == i || r.insn + 1 == i);
                diffs.push(format!(
                    "{stem}/{} on {label}: insn {i}: bpfkit {} | libbpf {} | was {}\n    bpfkit: {:?}",
                    prog.name,
                    hex(ours),
                    hex(&theirs),
                    hex(&original[i]),
                    ours_said
                ));
            }
        }
    }
    if !diffs.is_empty() {
        let relo_lines: Vec<&str> = libbpf.log.lines().filter(|l| l.contains(": relo #")).collect();
        diffs.push(format!("libbpf's decisions for {stem} on {label}:\n{}", relo_lines.join("\n")));
    }
    (relocations, diffs)
}

#[test]
fn bpfkit_and_libbpf_relocate_every_fixture_alike() {
    if !skip::is_root() {
        skip::skip("bpfkit_and_libbpf_relocate_every_fixture_alike", "needs root (libbpf's prepare probes the kernel)")
            .unwrap_or_else(|fail| panic!("{fail}"));
        return;
    }
    let fixtures = fixtures();
    assert!(fixtures.iter().any(|(s, _)| s == "core"), "bpf/core.bpf.o must be among the CO-RE fixtures");
    let mut all = Vec::new();
    let mut total = 0;
    for (label, path) in targets() {
        for (stem, bytes) in &fixtures {
            let (n, diffs) = compare(stem, bytes, &label, &path);
            println!(
                "{stem} on {label}: {n} CO-RE relocations, {} instructions differ from libbpf",
                diffs.len().saturating_sub(1)
            );
            total += n;
            all.extend(diffs);
        }
    }
    assert!(all.is_empty(), "bpfkit and libbpf disagree:\n{}", all.join("\n"));
    println!("{total} relocations compared, all equal to libbpf's");
}
