//! The oracle on `bpf/core.bpf.o` (every CO-RE relocation kind) against the host kernel's BTF
//! and the three corpus kernels: libbpf relocates it, links the same instructions bpfkit-obj
//! links, and changes exactly the instructions that carry CO-RE relocations (plus the map
//! `ld_imm64`s, which are checked against bpfkit-obj's relocation table). Needs root
//! (`bpf_object__prepare` creates maps); skipped with the reason printed otherwise. The corpus
//! kernels are fetched on first use (skipped the same way under `BPFKIT_SKIP_CORPUS`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bpfkit_obj::{Object, RelocTarget};
use bpfkit_oracle::{LD_IMM64, POISON_CODE, POISON_IMM, PSEUDO_MAP_FD, PSEUDO_MAP_VALUE, Relocation};
use bpfkit_testkit::{cache, skip};

fn core_object() -> (Vec<u8>, Object) {
    let path = cache::repo_root().join("bpf/core.bpf.o");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let object = Object::parse("core", &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (bytes, object)
}

/// `Some(())` when this process may relocate (root), else the skip is reported.
fn can_run(test: &str) -> Option<()> {
    if skip::is_root() {
        return Some(());
    }
    skip::skip(test, "needs root (libbpf's bpf_object__prepare probes the kernel and creates maps)")
        .unwrap_or_else(|fail| panic!("{fail}"));
    None
}

fn corpus(kernel: &str) -> Result<PathBuf, String> {
    bpfkit_testkit::corpus::vmlinux(kernel)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| bpfkit_testkit::corpus::SKIPPED.to_owned())
}

/// Where libbpf's log says it patched (or poisoned) an instruction: (function, index from the
/// function's start) -> whether the instruction changed.
fn patched(log: &str) -> BTreeMap<(String, usize), bool> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix("libbpf: prog '") else { continue };
        let Some((func, rest)) = rest.split_once("': relo #") else { continue };
        let Some((_, rest)) = rest.split_once(": ") else { continue };
        if let Some(rest) = rest.strip_prefix("patched insn #") {
            // "19 (ALU/ALU64) imm 1 -> 1", "135 (LDIMM64) imm64 364 -> 114", "4 (LDX/ST/STX) off 8 -> 16"
            let index: usize = rest.split_whitespace().next().and_then(|n| n.parse().ok()).expect(line);
            let (before, after) = rest.rsplit_once(" -> ").expect(line);
            let before = before.rsplit(' ').next().expect(line);
            let after = after.split_whitespace().next().expect(line);
            out.insert((func.to_owned(), index), before != after);
        } else if let Some(rest) = rest.strip_prefix("substituting insn #") {
            let index: usize = rest.split_whitespace().next().and_then(|n| n.parse().ok()).expect(line);
            out.insert((func.to_owned(), index), true);
        }
    }
    out
}

/// Checks libbpf's relocation of core.bpf.o against bpfkit-obj's view of the same object.
/// Returns the number of changed CO-RE instructions.
fn check(target: &str, object: &Object, relocation: &Relocation) -> usize {
    let log_patches = patched(&relocation.log);
    assert!(!log_patches.is_empty(), "{target}: no `relo #N: patched insn` lines in libbpf's log:\n{}", relocation.log);
    let mut changed_core = 0;
    assert_eq!(
        relocation.programs.len(),
        object.programs.len(),
        "{target}: libbpf has programs {:?}",
        relocation.programs.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    let bpfkit_maps: Vec<&str> = object.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        relocation.maps.len(),
        bpfkit_maps.len(),
        "{target}: libbpf maps {:?}, bpfkit-obj {bpfkit_maps:?}",
        relocation.maps
    );
    for (index, program) in object.programs.iter().enumerate() {
        let ours = &object.link(index).expect("link");
        let theirs = relocation.programs.iter().find(|p| p.name == ours.name).unwrap_or_else(|| {
            panic!("{target}: libbpf has no program {}", ours.name);
        });
        let what = format!("{target}: program {}", ours.name);
        assert_eq!(theirs.section, program.section, "{what}: section");
        assert_eq!(
            theirs.insns.len(),
            ours.insns.len(),
            "{what}: libbpf linked {} instructions, bpfkit-obj {} (functions {:?})",
            theirs.insns.len(),
            ours.insns.len(),
            ours.functions
        );

        // CO-RE instructions (both halves of an ld_imm64), and what libbpf's log says happened
        // to each, mapped from (function, index in function) to the linked program.
        let mut core = BTreeSet::new();
        for relo in &ours.core_relos {
            let at = relo.insn_off as usize;
            core.insert(at);
            if ours.insns[at].is_ld_imm64() {
                core.insert(at + 1);
            }
        }
        let mut expect_changed = BTreeSet::new();
        let mut logged = BTreeSet::new();
        for (start, func) in &ours.functions {
            let end = ours.functions.iter().map(|(s, _)| *s).filter(|s| s > start).min().unwrap_or(ours.insns.len());
            for ((f, index), changed) in &log_patches {
                if f == func && start + index < end {
                    logged.insert(start + index);
                    if *changed {
                        expect_changed.insert(start + index);
                    }
                }
            }
        }
        let first_halves: BTreeSet<usize> = ours.core_relos.iter().map(|r| r.insn_off as usize).collect();
        assert!(
            first_halves.is_subset(&logged),
            "{what}: CO-RE instructions without a libbpf `patched`/`substituting` line: {:?}",
            first_halves.difference(&logged).collect::<Vec<_>>()
        );

        // Map and global data references: masked, but checked against bpfkit-obj's table.
        let mut maps = BTreeSet::new();
        for reloc in &ours.relocs {
            let insn = theirs.insns[reloc.insn];
            let (want_src, map) = match &reloc.target {
                RelocTarget::Map { map } => (PSEUDO_MAP_FD, *map),
                RelocTarget::MapValue { map, .. } => (PSEUDO_MAP_VALUE, *map),
                RelocTarget::Extern { name, .. } => panic!("{what}: unexpected extern {name}"),
            };
            assert_eq!(insn[0], LD_IMM64, "{what}: instruction {} should be an ld_imm64", reloc.insn);
            assert_eq!(insn[1] >> 4, want_src, "{what}: src_reg of the map ld_imm64 at {}", reloc.insn);
            let index = i32::from_le_bytes(insn[4..8].try_into().unwrap()) as usize;
            let libbpf_name = &relocation.maps[index];
            let bpfkit_name = &object.maps[map].name;
            assert!(
                libbpf_name == bpfkit_name || libbpf_name.ends_with(bpfkit_name.as_str()),
                "{what}: ld_imm64 at {} refers to libbpf's map {libbpf_name}, bpfkit-obj says {bpfkit_name}",
                reloc.insn
            );
            if let RelocTarget::MapValue { offset, .. } = &reloc.target {
                let second = i32::from_le_bytes(theirs.insns[reloc.insn + 1][4..8].try_into().unwrap());
                assert_eq!(second as i64, *offset as i64, "{what}: value offset of the ld_imm64 at {}", reloc.insn);
            }
            maps.insert(reloc.insn);
            maps.insert(reloc.insn + 1);
        }

        let mut differ = BTreeSet::new();
        for (i, (a, b)) in ours.insns.iter().zip(&theirs.insns).enumerate() {
            if a.to_le_bytes() != *b && !maps.contains(&i) {
                differ.insert(i);
            }
        }
        let outside: Vec<_> = differ.difference(&core).collect();
        assert!(
            outside.is_empty(),
            "{what}: libbpf changed instructions that carry no CO-RE relocation: {}",
            outside
                .iter()
                .map(|&&i| format!("#{i}: {:02x?} -> {:02x?}", ours.insns[i].to_le_bytes(), theirs.insns[i]))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Every CO-RE instruction libbpf's log says it changed did change, and no other.
        let changed_first: BTreeSet<usize> = differ.iter().copied().filter(|i| expect_changed.contains(i)).collect();
        assert_eq!(
            differ.iter().copied().filter(|i| logged.contains(i)).collect::<BTreeSet<_>>(),
            expect_changed,
            "{what}: changed CO-RE instructions vs those libbpf's log reports as changed"
        );
        changed_core += changed_first.len();

        // Poisoned instructions are libbpf's `call 0xbad2310`.
        for &i in &differ {
            let insn = theirs.insns[i];
            if insn[0] == POISON_CODE && i32::from_le_bytes(insn[4..8].try_into().unwrap()) == POISON_IMM {
                assert_eq!(&insn[1..4], &[0, 0, 0], "{what}: poisoned #{i} has registers or offset set");
            }
        }
        println!(
            "{what}: {} instructions, {} CO-RE relocations, {} instructions changed by CO-RE, {} map references",
            ours.insns.len(),
            ours.core_relos.len(),
            differ.len(),
            maps.len() / 2
        );
    }
    changed_core
}

/// The poisoned instructions of `core_values` on any kernel: the `task_struct___old.state` read
/// (no kernel since 5.14 has `state`), the `bpfkit_missing.x` read and (both halves) the
/// `bpfkit_missing_cgrp_id` enum value.
fn poisoned(relocation: &Relocation) -> usize {
    let prog = relocation.programs.iter().find(|p| p.name == "core_values").expect("core_values");
    prog.insns
        .iter()
        .filter(|insn| insn[0] == POISON_CODE && i32::from_le_bytes(insn[4..8].try_into().unwrap()) == POISON_IMM)
        .count()
}

fn run(target: &str, btf: &Path) {
    let (bytes, object) = core_object();
    let relocation = bpfkit_oracle::relocate_full(&bytes, "core", btf).unwrap_or_else(|e| panic!("{target}: {e}"));
    let changed = check(target, &object, &relocation);
    assert!(changed > 10, "{target}: only {changed} CO-RE instructions changed");
    assert_eq!(poisoned(&relocation), 4, "{target}: poisoned instructions in core_values");
    println!("{target}: libbpf relocated core.bpf.o; {changed} CO-RE instructions changed, 4 poisoned");
}

#[test]
fn host_vmlinux() {
    if can_run("host_vmlinux").is_none() {
        return;
    }
    let btf = Path::new("/sys/kernel/btf/vmlinux");
    if !btf.exists() {
        skip::skip("host_vmlinux", "the running kernel has no /sys/kernel/btf/vmlinux")
            .unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    run("host", btf);
}

fn corpus_test(test: &str, kernel: &str) {
    if can_run(test).is_none() {
        return;
    }
    match corpus(kernel) {
        Ok(btf) => run(kernel, &btf),
        Err(why) => skip::skip(test, &why).unwrap_or_else(|e| panic!("{e}")),
    }
}

#[test]
fn corpus_6_1() {
    corpus_test("corpus_6_1", "6.1");
}

#[test]
fn corpus_6_12() {
    corpus_test("corpus_6_12", "6.12");
}

#[test]
fn corpus_sid() {
    corpus_test("corpus_sid", "sid");
}

#[test]
fn log_names_every_relocation_and_api_agrees() {
    if can_run("log_names_every_relocation_and_api_agrees").is_none() {
        return;
    }
    let (bytes, object) = core_object();
    let btf = Path::new("/sys/kernel/btf/vmlinux");
    let (programs, log) = bpfkit_oracle::relocate_with_log(&bytes, "core", btf).expect("relocate_with_log");
    let plain = bpfkit_oracle::relocate(&bytes, "core", btf).expect("relocate");
    assert_eq!(programs, plain, "relocate and relocate_with_log disagree");
    let relos: usize = (0..object.programs.len()).map(|i| object.link(i).expect("link").core_relos.len()).sum();
    assert!(relos > 40, "core.bpf.o has {relos} CO-RE relocations");
    assert!(log.contains("libbpf: prog 'core_values': relo #0: "), "no CO-RE debug lines in the log:\n{log}");
    assert!(log.contains("substituting insn #"), "no poisoned relocation in the log");
}

#[test]
fn missing_btf_is_an_error() {
    let (bytes, _) = core_object();
    let err = bpfkit_oracle::relocate(&bytes, "core", Path::new("/nonexistent/vmlinux")).unwrap_err();
    assert!(err.contains("/nonexistent/vmlinux"), "{err}");
}
