//! Distilling and relocating every module of a Debian 6.12 kernel: back onto its own vmlinux
//! (the result must equal the original type by type), then onto the vmlinux of the previous
//! 6.12 point release, where the relocated BTF is compared with that release's own build of the
//! same module. The figures are printed; the thresholds are the (99%).
//!
//! The corpus (`6.12` and `6.12-prev`, vmlinux plus all modules) is fetched on first use by
//! `scripts/fetch-btf-corpus.sh`; `BPFKIT_SKIP_CORPUS=1` skips this test offline.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bpfkit_btf::{Btf, BtfError, Equivalence, Kind, ModuleFile, Type, TypeId, distill, relocate};

/// Modules by path relative to `modules/kernel`.
fn modules(kernel: &Path) -> BTreeMap<PathBuf, PathBuf> {
    let root = kernel.join("modules/kernel");
    let paths = bpfkit_testkit::corpus::module_files(&root).unwrap_or_else(|e| panic!("{e}"));
    paths.into_iter().map(|p| (p.strip_prefix(&root).unwrap().to_owned(), p)).collect()
}

/// How a type refers to another, for comparing one type at a time: named types by kind, name
/// and (for aggregates and scalars) whether they are vmlinux's or the module's; typedefs by name
/// wherever they are (relocation copies some of vmlinux's into the module); anonymous types by
/// what they refer to in turn, two levels deep.
fn reference(btf: &Btf, id: TypeId, base_count: TypeId, depth: u32) -> String {
    if id == 0 {
        return "void".into();
    }
    let Ok(t) = btf.type_by_id(id) else { return format!("bad {id}") };
    let name = t.name().unwrap_or("?");
    let place = if id < base_count { "vmlinux" } else { "module" };
    match t.kind() {
        Kind::Typedef => format!("typedef {name}"),
        k if !name.is_empty() => format!("{place} {k} {name}"),
        k if depth == 0 => format!("{k}"),
        k => {
            let refs: Vec<String> =
                t.to_record().data.type_ids().into_iter().map(|r| reference(btf, r, base_count, depth - 1)).collect();
            format!("{k}({})", refs.join(","))
        }
    }
}

/// One type's own definition: its record with names spelled out and references described by
/// [`reference`], so that a type compares equal to its counterpart in another build unless the
/// type itself differs (the deep comparison, [`Equivalence`], also fails for every type that
/// reaches a changed one).
fn definition(t: &Type<'_>, base_count: TypeId) -> String {
    let btf = t.btf();
    let mut record = t.to_record();
    let refs: Vec<String> = record.data.type_ids().into_iter().map(|r| reference(btf, r, base_count, 2)).collect();
    let mut names = Vec::new();
    let _ = record.try_for_each_string(|off| {
        names.push(btf.str_at(*off).unwrap_or("?").to_owned());
        *off = 0;
        Ok::<(), ()>(())
    });
    let _ = record.data.try_for_each_type_id(|id| {
        *id = 0;
        Ok::<(), ()>(())
    });
    format!("{record:?} {names:?} {refs:?}")
}

#[derive(Default)]
struct Figures {
    modules: usize,
    round_trip_types: usize,
    round_trip_equal: usize,
    round_trip_failures: Vec<String>,
    relocated: usize,
    relocation_failures: Vec<(PathBuf, String)>,
    compared_modules: usize,
    compared_types: usize,
    equal_types: usize,
    deep_equal_types: usize,
    seconds_distill: f64,
    seconds_relocate: f64,
}

fn one_module(
    rel: &Path,
    path: &Path,
    own: &Arc<Btf>,
    other: &Arc<Btf>,
    other_path: Option<&Path>,
    f: &Mutex<Figures>,
) {
    let what = rel.display();
    let module = ModuleFile::open(path).unwrap_or_else(|e| panic!("{what}: {e}"));
    let split = module.btf_on(Some(own.clone())).unwrap_or_else(|e| panic!("{what}: {e}"));
    let start = Instant::now();
    let d = distill(&split).unwrap_or_else(|e| panic!("{what}: distill: {e}"));
    let distilled = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let back = relocate(&d.split, own.clone());
    let mut relocate_secs = start.elapsed().as_secs_f64();
    let (mut rt_types, mut rt_equal, mut rt_failure) = (0, 0, None);
    match back {
        Ok(back) => {
            let mut eq = Equivalence::new(&split, back.btf());
            for t in split.types() {
                rt_types += 1;
                if eq.equal(t.id(), t.id()).unwrap_or(false) {
                    rt_equal += 1;
                } else if rt_failure.is_none() {
                    rt_failure = Some(format!("{what}: type [{}] {:?} differs after the round trip", t.id(), t.name()));
                }
            }
        }
        Err(e) => rt_failure = Some(format!("{what}: relocating back failed: {e}")),
    }

    let start = Instant::now();
    let moved = relocate(&d.split, other.clone());
    relocate_secs += start.elapsed().as_secs_f64();
    let mut figures = (0, 0, 0);
    let moved = match moved {
        Ok(m) => Some(m.into_btf()),
        Err(e) => {
            assert!(matches!(e, BtfError::Relocate(_)), "{what}: not a relocation error: {e}");
            let mut f = f.lock().unwrap();
            f.relocation_failures.push((rel.to_owned(), e.to_string()));
            None
        }
    };
    if let (Some(moved), Some(other_path)) = (&moved, other_path) {
        let theirs = ModuleFile::open(other_path)
            .and_then(|m| m.btf_on(Some(other.clone())))
            .unwrap_or_else(|e| panic!("{}: {e}", other_path.display()));
        // Their definitions as a multiset: a type of ours equals one of theirs, used once.
        let base_count = other.type_count();
        let mut defined: HashMap<String, usize> = HashMap::new();
        let mut by_name: HashMap<(Kind, &[u8]), Vec<TypeId>> = HashMap::new();
        for t in theirs.types() {
            *defined.entry(definition(&t, base_count)).or_default() += 1;
            by_name.entry((t.kind(), t.name_bytes().unwrap_or_default())).or_default().push(t.id());
        }
        let mut eq = Equivalence::new(moved, &theirs);
        // The module's own types (the copies distilling appended come after them).
        for t in moved.types().take(split.own_type_count()) {
            figures.0 += 1;
            if let Some(n) = defined.get_mut(&definition(&t, base_count)).filter(|n| **n > 0) {
                *n -= 1;
                figures.1 += 1;
            }
            let same_place = t.id() < theirs.type_count() && eq.equal(t.id(), t.id()).unwrap_or(false);
            let mut named = || {
                let ids = by_name.get(&(t.kind(), t.name_bytes().unwrap_or_default()));
                ids.is_some_and(|ids| ids.iter().any(|&id| eq.equal(t.id(), id).unwrap_or(false)))
            };
            if same_place || (t.name_offset() != 0 && named()) {
                figures.2 += 1;
            }
        }
    }
    let mut f = f.lock().unwrap();
    f.modules += 1;
    f.round_trip_types += rt_types;
    f.round_trip_equal += rt_equal;
    f.round_trip_failures.extend(rt_failure);
    f.relocated += moved.is_some() as usize;
    if other_path.is_some() && moved.is_some() {
        f.compared_modules += 1;
        f.compared_types += figures.0;
        f.equal_types += figures.1;
        f.deep_equal_types += figures.2;
    }
    f.seconds_distill += distilled;
    f.seconds_relocate += relocate_secs;
}

#[test]
fn debian_6_12_modules_distill_relocate_and_move_to_another_point_release() {
    let dirs = ["6.12", "6.12-prev"]
        .map(|k| bpfkit_testkit::corpus::kernel_dir(k).unwrap_or_else(|e| panic!("corpus kernel {k}: {e}")));
    let [Some(a), Some(b)] = dirs else {
        println!("skipped: {}", bpfkit_testkit::corpus::SKIPPED);
        return;
    };
    let version = |d: &Path| std::fs::read_to_string(d.join("VERSION")).unwrap_or_default().trim().to_owned();
    let (va, vb) = (version(&a), version(&b));
    let own = Arc::new(Btf::open(a.join("vmlinux"), None).unwrap());
    let other = Arc::new(Btf::open(b.join("vmlinux"), None).unwrap());
    let (ours, theirs) = (modules(&a), modules(&b));
    assert!(ours.len() > 1000, "{va}: only {} modules", ours.len());

    let figures = Mutex::new(Figures::default());
    let work: Vec<_> = ours.iter().collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((rel, path)) = work.get(i) else { break };
                    let other_path = theirs.get(*rel).map(PathBuf::as_path);
                    one_module(rel, path, &own, &other, other_path, &figures);
                }
            });
        }
    });
    let f = figures.into_inner().unwrap();
    let pct = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
    println!(
        "Debian {va}: {} modules distilled and relocated back in {:.1} s ({threads} threads; distill {:.2} s, relocate {:.2} s of CPU)",
        f.modules,
        start.elapsed().as_secs_f64(),
        f.seconds_distill,
        f.seconds_relocate
    );
    println!(
        "  round trip: {}/{} types equal ({:.3}%), {} modules with a difference",
        f.round_trip_equal,
        f.round_trip_types,
        pct(f.round_trip_equal, f.round_trip_types),
        f.round_trip_failures.len()
    );
    println!(
        "  onto {vb}: {}/{} modules relocate ({:.2}%); {} modules also built for {vb}: {}/{} of their types equal that build's ({:.3}%)",
        f.relocated,
        f.modules,
        pct(f.relocated, f.modules),
        f.compared_modules,
        f.equal_types,
        f.compared_types,
        pct(f.equal_types, f.compared_types)
    );
    println!(
        "  (deep equality, every type reached equal too, by position or name: {}/{} ({:.3}%); the rest reach a type the two point releases define differently)",
        f.deep_equal_types,
        f.compared_types,
        pct(f.deep_equal_types, f.compared_types)
    );
    for (rel, why) in f.relocation_failures.iter().take(20) {
        println!("  does not relocate onto {vb}: {}: {why}", rel.display());
    }
    assert!(
        f.round_trip_failures.is_empty(),
        "round trip failures: {:#?}",
        &f.round_trip_failures[..f.round_trip_failures.len().min(10)]
    );
    assert!(pct(f.relocated, f.modules) >= 99.0, "fewer than 99% of modules relocate onto {vb}");
    assert!(pct(f.equal_types, f.compared_types) >= 99.0, "fewer than 99% of types equal {vb}'s own build");
    // Every failure names a distilled type (kind and name in quotes).
    for (rel, why) in &f.relocation_failures {
        assert!(why.contains('\''), "{}: the error names no type: {why}", rel.display());
    }
}
