//! What a compiled BPF object defines, as a libbpf-style loader sees it: sections, programs,
//! subprograms, maps, global variables, externs and the license. `cargo xtask build-bpf --check`
//! compares a committed object with one rebuilt from its source through this, and host tests use
//! it to know how many programs a fixture must load.
//!
//! The comparison is by definition, not by bytes: a clang point release may change the code it
//! emits without changing what the object defines, which must not fail CI. Code sizes are kept so
//! such drift can still be reported.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use object::{Object, ObjectSection, ObjectSymbol, SectionKind, SymbolKind, SymbolSection};

/// The definitions of one BPF ELF object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectDefinitions {
    /// Section names, without the ones that only carry relocations, symbols or debug info.
    pub sections: BTreeSet<String>,
    /// Programs: function symbols in executable sections other than `.text`, as (section, name).
    pub programs: BTreeSet<(String, String)>,
    /// Subprograms: function symbols in `.text` (static and global functions called by programs).
    pub subprograms: BTreeSet<String>,
    /// Maps: symbols in the map sections (`.maps`, legacy `maps`, `.struct_ops*`), as (section, name).
    pub maps: BTreeSet<(String, String)>,
    /// Global and static variables in data sections (`.data*`, `.rodata*`, `.bss*`, `license`,
    /// ...), as (section, name).
    pub variables: BTreeSet<(String, String)>,
    /// Undefined symbols the loader must resolve (kfuncs, ksyms, kconfig values).
    pub externs: BTreeSet<String>,
    /// The string in the `license` section, if any.
    pub license: Option<String>,
    /// Size in bytes of every executable section: reported when it differs, never compared.
    pub code_sizes: BTreeMap<String, u64>,
}

/// Sections that carry no definition: the symbol and string tables, relocations, debug info and
/// LLVM's address-significance table (removed or rewritten by stripping).
fn is_bookkeeping(name: &str) -> bool {
    name.is_empty()
        || matches!(name, ".symtab" | ".strtab" | ".shstrtab" | ".llvm_addrsig")
        || name.starts_with(".rel")
        || name.starts_with(".debug")
}

/// Sections whose symbols are maps in libbpf's conventions.
fn is_map_section(name: &str) -> bool {
    name == ".maps" || name == "maps" || name == ".struct_ops" || name.starts_with(".struct_ops.")
}

impl ObjectDefinitions {
    /// Reads the definitions of the ELF object `data`; the error says what is malformed.
    pub fn parse(data: &[u8]) -> Result<ObjectDefinitions, String> {
        let file = object::File::parse(data).map_err(|e| format!("not an ELF object: {e}"))?;
        if file.architecture() != object::Architecture::Bpf {
            return Err(format!("not a BPF object (architecture {:?})", file.architecture()));
        }
        let mut defs = ObjectDefinitions::default();
        let mut executable = BTreeSet::new();
        let mut names = BTreeMap::new();
        for section in file.sections() {
            let name = section.name().map_err(|e| format!("section {}: bad name: {e}", section.index().0))?;
            names.insert(section.index().0, name.to_owned());
            if is_bookkeeping(name) {
                continue;
            }
            defs.sections.insert(name.to_owned());
            if section.kind() == SectionKind::Text {
                executable.insert(section.index().0);
                defs.code_sizes.insert(name.to_owned(), section.size());
            }
            if name == "license" {
                let bytes = section.data().map_err(|e| format!("section license: {e}"))?;
                let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
                defs.license = Some(String::from_utf8_lossy(text).into_owned());
            }
        }
        for symbol in file.symbols() {
            let name = symbol.name().map_err(|e| format!("symbol {}: bad name: {e}", symbol.index().0))?;
            if name.is_empty() || matches!(symbol.kind(), SymbolKind::Section | SymbolKind::File) {
                continue;
            }
            let index = match symbol.section() {
                SymbolSection::Section(index) => index,
                SymbolSection::Undefined => {
                    if symbol.is_global() || symbol.is_weak() {
                        defs.externs.insert(name.to_owned());
                    }
                    continue;
                }
                _ => continue,
            };
            let Some(section) = names.get(&index.0) else {
                return Err(format!("symbol {name}: section index {} does not exist", index.0));
            };
            if is_bookkeeping(section) {
                continue;
            }
            let entry = (section.clone(), name.to_owned());
            if executable.contains(&index.0) {
                if symbol.kind() != SymbolKind::Text {
                    continue; // labels inside code, not functions
                }
                if section == ".text" {
                    defs.subprograms.insert(name.to_owned());
                } else {
                    defs.programs.insert(entry);
                }
            } else if is_map_section(section) {
                defs.maps.insert(entry);
            } else if symbol.kind() == SymbolKind::Data {
                defs.variables.insert(entry);
            }
        }
        Ok(defs)
    }

    /// What differs between `self` and `other`, one line per definition present on only one side,
    /// naming the side as `ours` or `theirs` ("committed", "rebuilt"); empty when they define the
    /// same things. Code sizes are not compared (see [`ObjectDefinitions::code_drift`]).
    pub fn differences(&self, other: &ObjectDefinitions, ours: &str, theirs: &str) -> Vec<String> {
        let mut out = Vec::new();
        let sides = (ours, theirs);
        diff_sets(&mut out, sides, "section", &self.sections, &other.sections, |s| s.clone());
        diff_sets(&mut out, sides, "program", &self.programs, &other.programs, |(sec, name)| {
            format!("{name} (SEC(\"{sec}\"))")
        });
        diff_sets(&mut out, sides, "subprogram", &self.subprograms, &other.subprograms, |s| s.clone());
        diff_sets(&mut out, sides, "map", &self.maps, &other.maps, |(sec, name)| format!("{name} (in {sec})"));
        diff_sets(&mut out, sides, "variable", &self.variables, &other.variables, |(sec, name)| {
            format!("{name} (in {sec})")
        });
        diff_sets(&mut out, sides, "extern", &self.externs, &other.externs, |s| s.clone());
        if self.license != other.license {
            out.push(format!("license: {ours} {:?}, {theirs} {:?}", self.license, other.license));
        }
        out
    }

    /// Executable sections whose size differs between `self` and `other`, as
    /// "section: N -> M bytes" lines: code drift that changes no definition.
    pub fn code_drift(&self, other: &ObjectDefinitions) -> Vec<String> {
        self.code_sizes
            .iter()
            .filter_map(|(name, size)| {
                let theirs = other.code_sizes.get(name)?;
                (theirs != size).then(|| format!("{name}: {size} -> {theirs} bytes"))
            })
            .collect()
    }
}

fn diff_sets<T: Ord>(
    out: &mut Vec<String>,
    (ours_name, theirs_name): (&str, &str),
    what: &str,
    ours: &BTreeSet<T>,
    theirs: &BTreeSet<T>,
    show: impl Fn(&T) -> String,
) {
    for only in ours.difference(theirs) {
        out.push(format!("{what} {} only in the {ours_name} object", show(only)));
    }
    for only in theirs.difference(ours) {
        out.push(format!("{what} {} only in the {theirs_name} object", show(only)));
    }
}

impl fmt::Display for ObjectDefinitions {
    /// A short summary: "3 programs, 1 subprogram, 4 maps, 5 variables, 2 externs, license GPL".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        write!(
            f,
            "{}, {}, {}, {}, {}, license {}",
            count(self.programs.len(), "program"),
            count(self.subprograms.len(), "subprogram"),
            count(self.maps.len(), "map"),
            count(self.variables.len(), "variable"),
            count(self.externs.len(), "extern"),
            self.license.as_deref().unwrap_or("none")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(stem: &str) -> ObjectDefinitions {
        let path = crate::cache::repo_root().join("bpf").join(format!("{stem}.bpf.o"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        ObjectDefinitions::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn pair(section: &str, name: &str) -> (String, String) {
        (section.to_owned(), name.to_owned())
    }

    #[test]
    fn maps_fixture_definitions() {
        let defs = fixture("maps");
        assert_eq!(defs.programs, BTreeSet::from([pair("syscall", "exercise")]));
        assert_eq!(defs.subprograms, BTreeSet::from(["scaled_value".to_owned(), "store".to_owned()]));
        let maps: Vec<&str> = defs.maps.iter().map(|(_, name)| name.as_str()).collect();
        assert_eq!(maps, ["array", "bpfkit_pinned", "events", "hash", "inner_a", "inner_b", "lru", "outer", "percpu"]);
        for variable in
            [pair(".rodata", "scale"), pair(".data", "bias"), pair(".bss", "runs"), pair(".data.stats", "last_scaled")]
        {
            assert!(defs.variables.contains(&variable), "{variable:?} missing from {:?}", defs.variables);
        }
        assert!(defs.sections.contains(".BTF") && defs.sections.contains(".BTF.ext"), "{:?}", defs.sections);
        assert!(!defs.sections.iter().any(|s| s.starts_with(".rel") || s.starts_with(".debug")), "{:?}", defs.sections);
        assert!(defs.externs.is_empty(), "{:?}", defs.externs);
        assert_eq!(defs.license.as_deref(), Some("GPL"));
        assert!(defs.code_sizes.get("syscall").is_some_and(|&n| n > 0 && n % 8 == 0), "{:?}", defs.code_sizes);
    }

    #[test]
    fn struct_ops_fixture_definitions() {
        let defs = fixture("tcp_cc");
        assert_eq!(defs.maps, BTreeSet::from([pair(".struct_ops.link", "bpfkit_reno")]));
        assert_eq!(defs.programs.len(), 4, "{:?}", defs.programs);
        assert!(defs.programs.iter().all(|(section, _)| section == "struct_ops"), "{:?}", defs.programs);
        let externs: Vec<&str> = defs.externs.iter().map(String::as_str).collect();
        assert_eq!(externs, ["tcp_reno_cong_avoid", "tcp_reno_ssthresh", "tcp_reno_undo_cwnd"]);
    }

    #[test]
    fn differences_name_both_sides() {
        let maps = fixture("maps");
        assert!(maps.differences(&maps, "a", "b").is_empty());
        let mut renamed = maps.clone();
        renamed.maps.remove(&pair(".maps", "lru"));
        renamed.maps.insert(pair(".maps", "lru2"));
        renamed.license = Some("Dual BSD/GPL".into());
        renamed.code_sizes.insert("syscall".into(), 8);
        let diff = maps.differences(&renamed, "committed", "rebuilt");
        assert_eq!(
            diff,
            [
                "map lru (in .maps) only in the committed object",
                "map lru2 (in .maps) only in the rebuilt object",
                "license: committed Some(\"GPL\"), rebuilt Some(\"Dual BSD/GPL\")",
            ]
        );
        let drift = maps.code_drift(&renamed);
        assert_eq!(drift.len(), 1);
        assert!(drift[0].starts_with("syscall: ") && drift[0].ends_with(" -> 8 bytes"), "{drift:?}");
    }

    #[test]
    fn rejects_what_is_not_a_bpf_object() {
        assert!(ObjectDefinitions::parse(b"").unwrap_err().contains("not an ELF object"));
        assert!(ObjectDefinitions::parse(&[0x7f, b'E', b'L', b'F', 2, 1, 1]).is_err());
        let exe = std::fs::read("/proc/self/exe").expect("read the test binary");
        let why = ObjectDefinitions::parse(&exe).unwrap_err();
        assert!(why.contains("not a BPF object"), "{why}");
        // Every truncation of a real object is an error or a subset, never a panic.
        let bytes = std::fs::read(crate::cache::repo_root().join("bpf/maps.bpf.o")).expect("read maps.bpf.o");
        for len in (0..bytes.len()).step_by(97) {
            let _ = ObjectDefinitions::parse(&bytes[..len]);
        }
    }
}
