//! The timed measurements (a) to (c), each preceded by a cross-check of the parsers' answers:
//! the benchmark fails if they disagree.

use std::ffi::CString;
use std::sync::Arc;

use aya_obj::btf::BtfKind;
use bpfkit_btf::{Btf, Kind};

use crate::corpus::Blob;
use crate::libbpf::LibbpfBtf;
use crate::table::{Table, ms, ratio};
use crate::timing::Plan;

/// The structs looked up in (b).
pub const STRUCTS: [&str; 10] =
    ["task_struct", "sk_buff", "file", "inode", "mm_struct", "bpf_prog", "sock", "net_device", "page", "cred"];

const TIME_HEADER: [&str; 7] = ["input", "types", "bpfkit", "libbpf", "aya-obj", "libbpf/bpfkit", "aya/bpfkit"];

/// aya-obj takes the byte order from its caller: read it from the BTF magic (0xeb9f).
fn aya_endianness(bytes: &[u8]) -> object::Endianness {
    if bytes.starts_with(&[0xeb, 0x9f]) { object::Endianness::Big } else { object::Endianness::Little }
}

/// `aya_obj::btf::Btf::parse` on raw BTF.
pub fn aya_parse(bytes: &[u8]) -> Result<aya_obj::btf::Btf, String> {
    aya_obj::btf::Btf::parse(bytes, aya_endianness(bytes)).map_err(|e| format!("aya-obj: {e}"))
}

/// A vmlinux blob whose answers were cross-checked.
pub struct Vmlinux {
    pub blob: Blob,
    /// Number of type records (void excluded).
    pub types: u32,
    pub sorted: bool,
    /// Ids of [`STRUCTS`], as all three parsers found them.
    ids: [u32; 10],
}

impl Vmlinux {
    /// Parses `blob` with all three parsers and checks that bpfkit and libbpf agree on the type
    /// count and that all three find every one of [`STRUCTS`] at the same id.
    pub fn check(blob: Blob) -> Result<Vmlinux, String> {
        let label = blob.label.clone();
        let ours = Btf::parse(blob.bytes).map_err(|e| format!("{label}: bpfkit: {e}"))?;
        let libbpf = LibbpfBtf::parse(blob.bytes).map_err(|e| format!("{label}: {e}"))?;
        let aya = aya_parse(blob.bytes).map_err(|e| format!("{label}: {e}"))?;
        if ours.type_count() != libbpf.type_count() {
            return Err(format!(
                "{label}: type counts differ: bpfkit {}, libbpf {}",
                ours.type_count(),
                libbpf.type_count()
            ));
        }
        let mut ids = [0; 10];
        for (name, slot) in STRUCTS.iter().zip(&mut ids) {
            let a = ours.find_by_name_kind(name, Kind::Struct);
            let b = libbpf.find_by_name_kind(name, libbpf_sys::BTF_KIND_STRUCT);
            let c = aya.id_by_type_name_kind(name, BtfKind::Struct).ok();
            match (a, b, c) {
                (Some(a), Some(b), Some(c)) if a == b && a == c => *slot = a,
                _ => {
                    return Err(format!(
                        "{label}: parsers disagree on struct {name}: bpfkit {a:?}, libbpf {b:?}, aya-obj {c:?} \
                         (all must find it, at the same id)"
                    ));
                }
            }
        }
        let (types, sorted) = (ours.type_count() - 1, ours.is_sorted_by_name());
        drop(ours);
        Ok(Vmlinux { blob, types, sorted, ids })
    }

    fn row(&self, cells: [String; 5]) -> Vec<String> {
        let [bpfkit, libbpf, aya, r1, r2] = cells;
        let order = if self.sorted { "sorted" } else { "unsorted" };
        vec![format!("{} ({order})", self.blob.label), self.types.to_string(), bpfkit, libbpf, aya, r1, r2]
    }
}

/// (a) parse + validate each vmlinux, result dropped.
pub fn parse(inputs: &[Vmlinux], plan: Plan) -> Result<Table, String> {
    let mut table = Table::new("(a) parse + validate vmlinux BTF   [ms, median (min)]", &TIME_HEADER);
    for input in inputs {
        let bytes = input.blob.bytes;
        let what = |who: &str| format!("(a) {who}, {}", input.blob.label);
        let ours = plan.time(&what("bpfkit"), || Btf::parse(bytes).is_ok())?;
        let libbpf = plan.time(&what("libbpf"), || LibbpfBtf::parse(bytes).is_ok())?;
        let aya = plan.time(&what("aya-obj"), || aya_parse(bytes).is_ok())?;
        table.row(input.row([
            ms(&ours),
            ms(&libbpf),
            ms(&aya),
            ratio(libbpf.median, ours.median),
            ratio(aya.median, ours.median),
        ]));
    }
    table.note("bpfkit: Btf::parse(&'static [u8]) (zero-copy); libbpf: btf__new + btf__free (copies the bytes);");
    table
        .note("aya-obj: Btf::parse (copies strings, decodes every type into a Vec). Ratios: times faster than bpfkit.");
    Ok(table)
}

/// (b) parse, then look up the 10 structs by name; every answer is checked.
pub fn lookups(inputs: &[Vmlinux], plan: Plan) -> Result<Table, String> {
    let mut table = Table::new("(b) parse + 10 struct lookups by name   [ms, median (min)]", &TIME_HEADER);
    for input in inputs {
        let (bytes, ids) = (input.blob.bytes, input.ids);
        let what = |who: &str| format!("(b) {who}, {}", input.blob.label);
        let ours = plan.time(&what("bpfkit"), || {
            Btf::parse(bytes).is_ok_and(|btf| {
                STRUCTS.iter().zip(ids).all(|(name, id)| btf.find_by_name_kind(name, Kind::Struct) == Some(id))
            })
        })?;
        // As a C caller has them: NUL-terminated, so libbpf's time has no string conversion in it.
        let c_names: Vec<CString> =
            STRUCTS.iter().map(|n| CString::new(*n)).collect::<Result<_, _>>().map_err(|e| e.to_string())?;
        let libbpf = plan.time(&what("libbpf"), || {
            LibbpfBtf::parse(bytes).is_ok_and(|btf| {
                c_names
                    .iter()
                    .zip(ids)
                    .all(|(name, id)| btf.find_by_c_name_kind(name, libbpf_sys::BTF_KIND_STRUCT) == Some(id))
            })
        })?;
        let aya = plan.time(&what("aya-obj"), || {
            aya_parse(bytes).is_ok_and(|btf| {
                STRUCTS
                    .iter()
                    .zip(ids)
                    .all(|(name, id)| btf.id_by_type_name_kind(name, BtfKind::Struct).ok() == Some(id))
            })
        })?;
        table.row(input.row([
            ms(&ours),
            ms(&libbpf),
            ms(&aya),
            ratio(libbpf.median, ours.median),
            ratio(aya.median, ours.median),
        ]));
    }
    table.note(format!("structs: {}", STRUCTS.join(", ")));
    table.note(
        "bpfkit: find_by_name_kind (binary search if sorted, else scans that stop at the first match, until they",
    );
    table.note("have cost as much as a per-kind hash index would, then that index);");
    table.note("libbpf: btf__find_by_name_kind (binary search if sorted, else a linear scan); aya-obj: linear scan.");
    table.note("All three found all 10 at the same ids (checked before timing and in every timed iteration).");
    Ok(table)
}

/// (e) bpfkit's one-time name index against libbpf's whole parse: the issue asks that lookups
/// be O(1)/O(log n) after an index that costs less than libbpf's parse. Each bpfkit cell times a
/// fresh parse plus the index, minus the median of (a) for the same input.
pub fn index_cost(inputs: &[Vmlinux], plan: Plan) -> Result<Table, String> {
    let header = ["input", "types", "struct index", "all-kinds index", "libbpf parse", "parse/struct", "parse/all"];
    let mut table = Table::new("(e) bpfkit name index build vs libbpf parse   [ms, median (min)]", &header);
    for input in inputs {
        let bytes = input.blob.bytes;
        let what = |who: &str| format!("(e) {who}, {}", input.blob.label);
        let parse = plan.time(&what("bpfkit parse"), || Btf::parse(bytes).is_ok())?;
        let structs = plan.time(&what("bpfkit parse + struct index"), || {
            Btf::parse(bytes).is_ok_and(|btf| !btf.find_all_by_name_kind("task_struct", Kind::Struct).is_empty())
        })?;
        let all = plan.time(&what("bpfkit parse + all-kinds index"), || {
            Btf::parse(bytes).is_ok_and(|btf| !btf.find_all_by_name("task_struct").is_empty())
        })?;
        let libbpf = plan.time(&what("libbpf parse"), || LibbpfBtf::parse(bytes).is_ok())?;
        let minus = |t: &crate::timing::Sample| crate::timing::Sample {
            median: t.median.saturating_sub(parse.median),
            min: t.min.saturating_sub(parse.min),
        };
        let (structs, all) = (minus(&structs), minus(&all));
        // Sorted BTF whose order the parse proved builds nothing: only the lookup is left, and
        // a ratio against timer noise means nothing.
        let index_ratio = |t: &crate::timing::Sample| {
            if t.median * 100 < libbpf.median { "none built".to_string() } else { ratio(libbpf.median, t.median) }
        };
        table.row(input.row([ms(&structs), ms(&all), ms(&libbpf), index_ratio(&structs), index_ratio(&all)]));
    }
    table.note(
        "struct index: what find_all_by_name_kind(_, Struct) builds (sorted BTF builds nothing: its name order was",
    );
    table.note("proved during the parse, or is checked once here when the parse could not tell);");
    table.note("all-kinds index: what find_all_by_name builds. Ratios: libbpf's parse time over the index time");
    table.note("(\"none built\": under 1% of it, that is, only the lookup itself).");
    Ok(table)
}

/// (c) parse every module's BTF as split BTF on `base` (parsed once, outside the timed region).
pub fn modules(base: &Vmlinux, modules: &[Blob], plan: Plan) -> Result<Table, String> {
    let ours_base = Arc::new(Btf::parse(base.blob.bytes).map_err(|e| format!("bpfkit: {}: {e}", base.blob.label))?);
    let libbpf_base = LibbpfBtf::parse(base.blob.bytes).map_err(|e| format!("{}: {e}", base.blob.label))?;

    // Cross-check: both accept every module with the same type count and find each module's
    // first named struct at the same id. These probes also test aya-obj below.
    let mut probes = Vec::new();
    let mut own_types = 0usize;
    for (index, m) in modules.iter().enumerate() {
        let ours =
            Btf::parse_split(m.bytes, ours_base.clone()).map_err(|e| format!("bpfkit: {}: {e}", m.path.display()))?;
        let libbpf = LibbpfBtf::parse_split(m.bytes, &libbpf_base).map_err(|e| format!("{}: {e}", m.path.display()))?;
        if ours.type_count() != libbpf.type_count() {
            return Err(format!(
                "{}: type counts differ: bpfkit {}, libbpf {}",
                m.path.display(),
                ours.type_count(),
                libbpf.type_count()
            ));
        }
        own_types += ours.own_type_count();
        let first_struct = ours.types().find(|t| t.kind() == Kind::Struct && t.name().is_ok_and(|n| !n.is_empty()));
        if let Some(name) = first_struct.and_then(|t| t.name().ok()) {
            let a = ours.find_by_name_kind(name, Kind::Struct);
            let b = libbpf.find_by_name_kind(name, libbpf_sys::BTF_KIND_STRUCT);
            if a.is_none() || a != b {
                return Err(format!("{}: struct {name}: bpfkit {a:?}, libbpf {b:?}", m.path.display()));
            }
            probes.push((index, name.to_string(), a));
        }
    }

    // aya-obj has no base parameter: try its standalone parser on each module and check whether
    // it can answer the probe lookups. It cannot resolve names or ids that refer into vmlinux,
    // and aya-obj 0.3 even panics on such a name offset (out-of-bounds slice index in
    // `Btf::string_at`): count those panics instead of dying, with the panic message silenced.
    let aya_accepted = modules.iter().filter(|m| aya_parse(m.bytes).is_ok()).count();
    let (mut aya_correct, mut aya_panics) = (0, 0);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for (i, name, id) in &probes {
        let lookup = || {
            aya_parse(modules[*i].bytes).is_ok_and(|btf| btf.id_by_type_name_kind(name, BtfKind::Struct).ok() == *id)
        };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(lookup)) {
            Ok(true) => aya_correct += 1,
            Ok(false) => {}
            Err(_) => aya_panics += 1,
        }
    }
    std::panic::set_hook(hook);

    let what = |who: &str| format!("(c) {who}, modules of {}", base.blob.label);
    let ours =
        plan.time(&what("bpfkit"), || modules.iter().all(|m| Btf::parse_split(m.bytes, ours_base.clone()).is_ok()))?;
    let libbpf =
        plan.time(&what("libbpf"), || modules.iter().all(|m| LibbpfBtf::parse_split(m.bytes, &libbpf_base).is_ok()))?;

    let bytes: usize = modules.iter().map(|m| m.bytes.len()).sum();
    let mut table = Table::new(
        format!("(c) parse all module BTFs as split BTF on {} vmlinux   [ms, median (min)]", base.blob.label),
        &TIME_HEADER,
    );
    table.row(vec![
        format!("{} modules, {:.1} MiB of BTF", modules.len(), bytes as f64 / (1 << 20) as f64),
        own_types.to_string(),
        ms(&ours),
        ms(&libbpf),
        "n/a".to_string(),
        ratio(libbpf.median, ours.median),
        "n/a".to_string(),
    ]);
    let per_module = |d: std::time::Duration| d.as_secs_f64() * 1e6 / modules.len().max(1) as f64;
    table.note(format!(
        "per module: bpfkit {:.1} us, libbpf {:.1} us. bpfkit: Btf::parse_split(bytes, base.clone()); \
         libbpf: btf__new_split + btf__free.",
        per_module(ours.median),
        per_module(libbpf.median)
    ));
    table.note(format!(
        "aya-obj: n/a (no split BTF support: Btf::parse has no base parameter). Standalone, it returned Ok for {aya_accepted}/{}",
        modules.len()
    ));
    table.note(format!(
        "modules, but looking up each module's first struct by name found it at the right id for {aya_correct}/{} and",
        probes.len()
    ));
    table.note(format!(
        "panicked for {aya_panics}/{} (the modules' names and type ids refer into vmlinux).",
        probes.len()
    ));
    Ok(table)
}

/// (f) Opening the project's BPF objects: bpfkit-obj's `Object::parse` (ELF, BTF, maps,
/// relocations and subprogram linking) against libbpf's `bpf_object__open_mem` +
/// `bpf_object__close` (ELF, BTF, maps, relocation records; libbpf links subprograms later, at
/// load). Both must find the same number of programs and maps.
pub fn objects(objects: &[(String, Vec<u8>)], plan: Plan) -> Result<Table, String> {
    let mut table = Table::new(
        "(f) open a BPF object (bpfkit-obj Object::parse vs libbpf bpf_object__open_mem + close vs aya-obj \
         Object::parse)   [us, median (min)]",
        &["object", "bytes", "programs", "maps", "bpfkit", "libbpf", "aya-obj", "libbpf/bpfkit", "aya/bpfkit"],
    );
    let mut aya_failures = Vec::new();
    for (name, bytes) in objects {
        let c_name = std::ffi::CString::new(name.as_str()).map_err(|e| e.to_string())?;
        let ours = bpfkit_obj::Object::parse(name, bytes).map_err(|e| format!("{name}: bpfkit-obj: {e}"))?;
        let theirs = crate::libbpf::LibbpfObject::open_mem(bytes, &c_name).map_err(|e| format!("{name}: {e}"))?;
        let counts = (ours.programs.len(), ours.maps.len());
        if counts != (theirs.program_count(), theirs.map_count()) {
            return Err(format!(
                "{name}: bpfkit-obj found {} programs and {} maps, libbpf {} and {}",
                counts.0,
                counts.1,
                theirs.program_count(),
                theirs.map_count()
            ));
        }
        drop(theirs);
        let a = plan.time(&format!("{name} bpfkit"), || {
            bpfkit_obj::Object::parse(name, bytes).is_ok_and(|o| (o.programs.len(), o.maps.len()) == counts)
        })?;
        let b = plan.time(&format!("{name} libbpf"), || {
            crate::libbpf::LibbpfObject::open_mem(bytes, &c_name).is_ok_and(|o| o.program_count() == counts.0)
        })?;
        // aya-obj parses what it supports; an object it refuses is reported, not timed.
        let (aya_cell, aya_ratio) = match aya_obj::Object::parse(bytes) {
            Ok(_) => {
                let c = plan.time(&format!("{name} aya-obj"), || aya_obj::Object::parse(bytes).is_ok())?;
                (us(c), ratio(c.median, a.median))
            }
            Err(e) => {
                aya_failures.push(format!("{name}: {e}"));
                ("refused".to_owned(), "-".to_owned())
            }
        };
        table.row(vec![
            name.clone(),
            bytes.len().to_string(),
            counts.0.to_string(),
            counts.1.to_string(),
            us(a),
            us(b),
            aya_cell,
            ratio(b.median, a.median),
            aya_ratio,
        ]);
    }
    table.note("bpfkit-obj completes the BTF's DATASECs here (libbpf at load); both link subprograms at load.");
    for failure in aya_failures {
        table.note(format!("aya-obj refused {failure}"));
    }
    Ok(table)
}

fn us(s: crate::timing::Sample) -> String {
    format!("{:.1} ({:.1})", s.median.as_secs_f64() * 1e6, s.min.as_secs_f64() * 1e6)
}
