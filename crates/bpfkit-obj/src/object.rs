//! Reading a BPF ELF object the way libbpf does: code sections and their function symbols
//! become programs and subprograms, `.maps`/`maps`/global data/struct_ops sections become maps,
//! relocations are resolved to maps, data offsets, calls and externs (each call checked), and
//! the code is kept for linking each program with the subprograms it calls when it is asked for.

use std::path::Path;
use std::sync::Arc;

use bpfkit_btf::{Btf, BtfBytes, Endian, TypeDetails};
use object::elf::{R_BPF_64_32, R_BPF_64_64};
use object::{
    Object as _, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget, SectionKind, SymbolKind, SymbolSection,
};

use crate::btf_ext::{BtfExt, ExtSection};
use crate::btf_fixup::{self, KernelBtfFixes, LayoutSymbol, SectionLayouts};
use crate::btf_map;
use crate::datasecs::Datasecs;
use crate::error::{ObjError, Result};
use crate::externs::{self, Extern, ExternKind, KCONFIG_SECTION, KSYMS_SECTION};
use crate::insn::{self, INSN_SIZE, Insn};
use crate::kernel_name::KernelName;
use crate::kernel_types::MapType;
use crate::linker::{self, CodeSection, Func, RawReloc};
use crate::map::{self, BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, DataKind, Map, MapDef, MapKind, OpsFunc, SlotInit};
use crate::map_places::MapPlaces;
use crate::program::Program;
use crate::reloc::RelocTarget;
use crate::section::ProgramSection;

/// `R_BPF_64_ABS64`: a 64-bit absolute address in data (map-in-map and struct_ops initializers).
/// The `object` crate names only the code relocation types.
const R_BPF_64_ABS64: u32 = 2;

/// The section of `__arena` globals (variables in clang's address space 1).
pub const ARENA_SECTION: &str = ".addr_space.1";

/// The largest global data section accepted: the kernel's own bound on an array map's value
/// (`INT_MAX` bytes on current kernels; older ones cap it at `KMALLOC_MAX_SIZE`, 4 MiB on
/// x86-64, which the kernel reports when the map is created). scx_layered's `.bss` is 158 MiB.
const MAX_DATA_SECTION: u32 = i32::MAX as u32;

/// A parsed BPF object: programs, maps and their initial data, BTF and license.
#[derive(Debug, Clone)]
pub struct Object {
    /// The object's name: its file name up to the first `.` (`minimal` for `minimal.bpf.o`).
    pub name: String,
    /// Byte order of the object.
    pub endian: Endian,
    /// The `license` section's string (`GPL` unlocks GPL-only helpers).
    pub license: String,
    /// The `version` section's value, if any (only old kprobe programs need it).
    pub kernel_version: Option<u32>,
    /// Programs, in section order then function order ([`Object::link`] gives their code).
    pub programs: Vec<Program>,
    /// Maps: BTF-defined, legacy, global data and struct_ops.
    pub maps: Vec<Map>,
    /// The object's BTF (`.BTF`), as clang wrote it.
    pub btf: Option<Arc<Btf>>,
    /// Externs (`__ksym`, `__kconfig`) the loader must resolve.
    pub externs: Vec<Extern>,
    /// Global variables by name.
    pub(crate) globals: Vec<GlobalVar>,
    /// What the kernel's copy of the BTF changes: DATASECs completed from the ELF file, hidden
    /// globals made static.
    pub(crate) btf_fixes: KernelBtfFixes,
    /// The `.ksyms` and `.kconfig` DATASECs, which the kernel's copy rewrites.
    pub(crate) extern_datasecs: Vec<(&'static str, bpfkit_btf::TypeId)>,
    /// The code sections, which programs are linked from.
    pub(crate) code: Vec<CodeSection>,
    /// The `.BTF.ext` records of each code section.
    pub(crate) code_ext: Vec<Option<ExtSection>>,
}

/// A global (or static) variable in a global data map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalVar {
    /// Its name.
    pub name: String,
    /// Index of its map in [`Object::maps`].
    pub map: usize,
    /// Byte offset in the map's value.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// Where each `__kconfig` extern lives: (name, index of the `.kconfig` map, offset). A list:
/// objects have a handful of them.
type KconfigSlots = Vec<(String, usize, u32)>;

/// One ELF symbol, as needed here.
#[derive(Debug, Clone)]
struct Sym<'d> {
    name: &'d str,
    section: Option<usize>,
    value: u64,
    size: u64,
    kind: SymbolKind,
    global: bool,
    weak: bool,
    /// Hidden or internal visibility (`__hidden`, `__attribute__((visibility("hidden")))`).
    hidden: bool,
}

impl<'d> Sym<'d> {
    fn layout(&self) -> LayoutSymbol<'d> {
        LayoutSymbol { name: self.name, offset: self.value, global: self.global, hidden: self.hidden }
    }
}

/// What a section is to the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Code,
    Maps,
    LegacyMaps,
    Data(DataKind),
    StructOps {
        link: bool,
    },
    /// `.addr_space.1`: the `__arena` globals (clang's address space 1), placed in the arena.
    Arena,
    Other,
}

impl Object {
    /// Reads the object file at `path`; its name is the file name up to the first `.`.
    pub fn open(path: impl AsRef<Path>) -> Result<Object> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| ObjError::Elf(format!("{}: {e}", path.display())))?;
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
        Object::parse(object_name(file_name), &bytes)
    }

    /// Parses object `bytes`, naming the object `name` (used for global data map names).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Object> {
        Parser::new(bytes)?.run(name)
    }

    /// The program named `name`.
    pub fn program(&self, name: &str) -> Option<&Program> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The program named `name`, to change before load (type, autoload).
    pub fn program_mut(&mut self, name: &str) -> Option<&mut Program> {
        self.programs.iter_mut().find(|p| p.name == name)
    }

    /// The map named `name` (a variable name, or a data section name such as `.rodata`).
    pub fn map(&self, name: &str) -> Option<&Map> {
        self.maps.iter().find(|m| m.name == name)
    }

    /// The map named `name`, to change before load (sizes, flags, initial data).
    pub fn map_mut(&mut self, name: &str) -> Option<&mut Map> {
        self.maps.iter_mut().find(|m| m.name == name)
    }

    /// Global variables of the global data maps.
    pub fn globals(&self) -> &[GlobalVar] {
        &self.globals
    }

    /// Takes the global variables out, for a loader that keeps them once the model is gone.
    pub fn take_globals(&mut self) -> Vec<GlobalVar> {
        std::mem::take(&mut self.globals)
    }

    /// The current (initial) bytes of global variable `name`.
    pub fn global(&self, name: &str) -> Result<&[u8]> {
        let var = self.global_var(name)?;
        let data = &self.maps[var.map].data;
        data.get(var.offset as usize..(var.offset + var.size) as usize)
            .ok_or_else(|| ObjError::Invalid(format!("global {name} lies outside its section's data")))
    }

    /// Sets the initial value of global variable `name` (`.rodata` included: that is how
    /// configuration reaches a program before the verifier sees it). `value` must have the
    /// variable's size.
    pub fn set_global(&mut self, name: &str, value: &[u8]) -> Result<()> {
        let var = self.global_var(name)?.clone();
        if value.len() != var.size as usize {
            return Err(ObjError::Invalid(format!("global {name} is {} bytes, got {}", var.size, value.len())));
        }
        let data = &mut self.maps[var.map].data;
        let slot = data
            .get_mut(var.offset as usize..(var.offset + var.size) as usize)
            .ok_or_else(|| ObjError::Invalid(format!("global {name} lies outside its section's data")))?;
        slot.copy_from_slice(value);
        Ok(())
    }

    fn global_var(&self, name: &str) -> Result<&GlobalVar> {
        GlobalVar::find(&self.globals, name, |map| self.maps.get(map).map_or("?", |m| m.name.as_str()))
    }
}

impl GlobalVar {
    /// The variable named `name` among `globals`. A linked object may hold several statics of
    /// one name (one per source file): asking for such a name is an error listing where each
    /// one is (`map_name` names a map by index), never a guess.
    pub fn find<'g, 'm>(
        globals: &'g [GlobalVar],
        name: &str,
        map_name: impl Fn(usize) -> &'m str,
    ) -> Result<&'g GlobalVar> {
        let mut found = globals.iter().filter(|g| g.name == name);
        let first =
            found.next().ok_or_else(|| ObjError::NotFound { what: "global variable", name: name.to_owned() })?;
        let others: Vec<&GlobalVar> = found.collect();
        if others.is_empty() {
            return Ok(first);
        }
        let places: Vec<String> = std::iter::once(first)
            .chain(others)
            .map(|g| format!("{} bytes at offset {} of {}", g.size, g.offset, map_name(g.map)))
            .collect();
        Err(ObjError::Invalid(format!(
            "global variable {name} is ambiguous: {} variables have that name (statics of several source files \
             linked into one object): {}",
            places.len(),
            places.join(", ")
        )))
    }
}

/// A section or symbol name as text (names are ASCII identifiers in practice).
fn elf_name(bytes: object::Result<&[u8]>) -> std::result::Result<&str, String> {
    bytes.map_err(|e| e.to_string()).and_then(|n| bpfkit_btf::identifier_str(n).map_err(|e| e.to_string()))
}

/// libbpf's object name: the file name up to its first `.`.
fn object_name(file_name: &str) -> &str {
    file_name.split('.').next().filter(|n| !n.is_empty()).unwrap_or(file_name)
}

struct Parser<'d> {
    file: object::File<'d>,
    endian: Endian,
    /// Section names by ELF index (dense: ELF indexes count from 0 without gaps).
    names: Vec<Option<&'d str>>,
    /// Section roles by ELF index.
    roles: Vec<Role>,
    syms: Vec<Sym<'d>>,
    /// ELF symbol index -> position in `syms`.
    sym_index: Vec<Option<usize>>,
    /// Positions in `syms` of the named symbols defined in a section (not section or file
    /// symbols), by section then value: each section's symbols are one run.
    by_section: Vec<u32>,
}

impl<'d> Parser<'d> {
    fn new(bytes: &'d [u8]) -> Result<Parser<'d>> {
        let file = object::File::parse(bytes).map_err(|e| ObjError::Elf(e.to_string()))?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(ObjError::Elf(format!("{:?} file, not ELF", file.format())));
        }
        if file.architecture() != object::Architecture::Bpf {
            return Err(ObjError::NotBpf { machine: format!("{:?}", file.architecture()) });
        }
        let endian = if file.is_little_endian() { Endian::Little } else { Endian::Big };
        let mut parser = Parser {
            file,
            endian,
            names: Vec::new(),
            roles: Vec::new(),
            syms: Vec::new(),
            sym_index: Vec::new(),
            by_section: Vec::new(),
        };
        parser.read_sections()?;
        parser.read_symbols()?;
        Ok(parser)
    }

    fn read_sections(&mut self) -> Result<()> {
        let count = self.file.sections().count() + 1;
        self.names.reserve(count);
        self.roles.reserve(count);
        for section in self.file.sections() {
            let index = section.index().0;
            let name = elf_name(section.name_bytes())
                .map_err(|e| ObjError::section(&format!("#{index}"), format!("unreadable name: {e}")))?;
            let role = if section.kind() == SectionKind::Text {
                Role::Code
            } else if name == ".maps" {
                Role::Maps
            } else if name == "maps" {
                Role::LegacyMaps
            } else if matches!(name.strip_prefix('?').unwrap_or(name), ".struct_ops" | ".struct_ops.link") {
                // `?.struct_ops*`: maps created only when asked for.
                Role::StructOps { link: name.ends_with(".struct_ops.link") }
            } else if name == ARENA_SECTION {
                Role::Arena
            } else if let Some(kind) = data_kind(name, section.kind()) {
                Role::Data(kind)
            } else {
                Role::Other
            };
            if self.names.len() <= index {
                self.names.resize(index + 1, None);
                self.roles.resize(index + 1, Role::Other);
            }
            self.names[index] = Some(name);
            self.roles[index] = role;
        }
        Ok(())
    }

    fn read_symbols(&mut self) -> Result<()> {
        let count = self.file.symbols().count() + 1;
        self.syms.reserve(count);
        self.sym_index.reserve(count);
        for symbol in self.file.symbols() {
            let name = elf_name(symbol.name_bytes())
                .map_err(|e| ObjError::Elf(format!("symbol #{}: unreadable name: {e}", symbol.index().0)))?;
            let section = match symbol.section() {
                SymbolSection::Section(i) => Some(i.0),
                _ => None,
            };
            let sym = Sym {
                name,
                section,
                value: symbol.address(),
                size: symbol.size(),
                kind: symbol.kind(),
                global: symbol.is_global(),
                weak: symbol.is_weak(),
                hidden: matches!(
                    symbol.flags(),
                    object::SymbolFlags::Elf { st_other, .. }
                        if matches!(st_other & 3, object::elf::STV_HIDDEN | object::elf::STV_INTERNAL)
                ),
            };
            let at = symbol.index().0;
            if self.sym_index.len() <= at {
                self.sym_index.resize(at + 1, None);
            }
            self.sym_index[at] = Some(self.syms.len());
            self.syms.push(sym);
        }
        let listed = |s: &Sym<'_>| {
            s.section.is_some() && !s.name.is_empty() && !matches!(s.kind, SymbolKind::Section | SymbolKind::File)
        };
        self.by_section = (0..self.syms.len() as u32).filter(|&i| listed(&self.syms[i as usize])).collect();
        let syms = &self.syms;
        crate::sort::sort_by_key(&mut self.by_section, |&i| {
            let s = &syms[i as usize];
            // Symbols without a section first, then by section and address.
            (s.section.map_or(0, |x| x as u128 + 1) << 64) | u128::from(s.value)
        });
        Ok(())
    }

    fn section_name(&self, index: usize) -> &str {
        self.names.get(index).copied().flatten().unwrap_or("?")
    }

    fn section_data(&self, name: &str) -> Result<Option<&'d [u8]>> {
        // By the names read once (the object crate's lookup by name re-reads every name).
        let index = self.names.iter().position(|n| *n == Some(name));
        match index.and_then(|i| self.file.section_by_index(object::SectionIndex(i)).ok()) {
            Some(s) => s.data().map(Some).map_err(|e| ObjError::section(name, format!("unreadable data: {e}"))),
            None => Ok(None),
        }
    }

    fn run(self, name: &str) -> Result<Object> {
        let license = self.license()?;
        let kernel_version = self.kernel_version()?;
        let btf = self.btf()?;
        let ext = match (&btf, self.section_data(".BTF.ext")?) {
            (Some(btf), Some(bytes)) => BtfExt::parse(bytes, btf)?,
            _ => BtfExt::default(),
        };
        let datasecs = match btf.as_deref() {
            Some(btf) => Datasecs::of(btf)?,
            None => Datasecs::default(),
        };
        let mut maps = Vec::with_capacity(8);
        // (section index, symbol offset) -> map index, for relocations.
        let mut map_at = MapPlaces::default();
        // Global data and the arena: the map each section is.
        let mut data_map = MapPlaces::default();
        let mut layouts = SectionLayouts::default();
        let mut globals = Vec::with_capacity(self.by_section.len());
        let values_offsets = self.btf_maps(btf.as_deref(), &datasecs, &mut maps, &mut map_at)?;
        self.legacy_maps(&mut maps, &mut map_at)?;
        self.data_maps(name, btf.as_deref(), &datasecs, &mut maps, &mut data_map, &mut globals, &mut layouts)?;
        self.struct_ops_maps(btf.as_deref(), &datasecs, &mut maps, &mut map_at)?;
        self.arena_data(&mut maps, &mut data_map, &mut globals, &mut layouts)?;
        let (externs, kconfig) = self.externs(name, btf.as_deref(), &datasecs, &mut maps, &mut globals)?;
        let code = self.code_sections(&map_at, &data_map, &kconfig)?;
        linker::check_calls(&code)?;
        let programs = self.programs(&code)?;
        let mut ext = ext;
        let code_ext = code
            .iter()
            .map(|c| {
                let at = ext.sections.iter().position(|(n, _)| *n == c.name)?;
                Some(ext.sections.swap_remove(at).1)
            })
            .collect();
        self.map_initializers(&mut maps, &map_at, &values_offsets, &programs)?;
        self.struct_ops_funcs(btf.as_deref(), &mut maps, &map_at, &programs)?;
        if let Some(map) = maps.iter().find(|m| m.kind == MapKind::Data(DataKind::Kconfig)) {
            // The offsets the loader gave the `__kconfig` externs.
            let symbols = externs.iter().filter_map(|e| match e.kind {
                ExternKind::Kconfig { offset, .. } => {
                    Some(LayoutSymbol { name: e.name.as_str(), offset: u64::from(offset), global: true, hidden: false })
                }
                _ => None,
            });
            layouts.add(KCONFIG_SECTION, u64::from(map.def.value_size), symbols);
        }
        let hidden_functions = self.hidden_text_functions();
        let (btf_fixes, extern_datasecs) = match btf.as_deref() {
            Some(btf) => (
                btf_fixup::kernel_btf_fixes(btf, &datasecs, &mut layouts, &hidden_functions)?,
                [KSYMS_SECTION, KCONFIG_SECTION].into_iter().filter_map(|s| Some((s, datasecs.get(s)?))).collect(),
            ),
            None => (KernelBtfFixes::default(), Vec::new()),
        };
        Ok(Object {
            name: name.to_owned(),
            endian: self.endian,
            license,
            kernel_version,
            programs,
            maps,
            btf,
            externs,
            globals,
            btf_fixes,
            extern_datasecs,
            code,
            code_ext,
        })
    }

    /// The object's externs; `__kconfig` ones get a `.kconfig` map (and are globals of it).
    /// Returns the externs and, for relocations, each kconfig extern's (map, offset).
    fn externs(
        &self,
        object: &str,
        btf: Option<&Btf>,
        datasecs: &Datasecs<'_>,
        maps: &mut Vec<Map>,
        globals: &mut Vec<GlobalVar>,
    ) -> Result<(Vec<Extern>, KconfigSlots)> {
        // Whether the undefined symbol `name` is weak (the last of that name, if repeated).
        let weak =
            |name: &str| self.syms.iter().rev().find(|s| s.section.is_none() && s.name == name).is_some_and(|s| s.weak);
        let Some(btf) = btf else {
            if let Some(sym) = self.syms.iter().find(|s| s.section.is_none() && s.global && !s.name.is_empty()) {
                return Err(ObjError::Symbol {
                    symbol: sym.name.to_owned(),
                    section: "(undefined)".into(),
                    why: "an extern in an object without BTF: its kind (kfunc, ksym, kconfig) cannot be told".into(),
                });
            }
            return Ok((Vec::new(), Vec::new()));
        };
        let (externs, kconfig_size) = externs::collect(btf, datasecs, &weak)?;
        let mut kconfig = Vec::new();
        if kconfig_size > 0 {
            let map_index = maps.len();
            for e in &externs {
                if let ExternKind::Kconfig { offset, size, .. } = e.kind {
                    kconfig.push((e.name.clone(), map_index, offset));
                    globals.push(GlobalVar { name: e.name.clone(), map: map_index, offset, size });
                }
            }
            maps.push(Map {
                name: KCONFIG_SECTION.to_owned(),
                kernel_name: map::data_map_kernel_name(object, KCONFIG_SECTION),
                kind: MapKind::Data(DataKind::Kconfig),
                def: MapDef {
                    map_type: MapType::ARRAY,
                    key_size: 4,
                    value_size: kconfig_size,
                    max_entries: 1,
                    map_flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG,
                    btf_value_type: datasecs.get(KCONFIG_SECTION),
                    ..MapDef::default()
                },
                inner: None,
                slots: Vec::new(),
                data: vec![0; kconfig_size as usize],
                autocreate: true,
            });
        }
        Ok((externs, kconfig))
    }

    fn license(&self) -> Result<String> {
        let Some(bytes) = self.section_data("license")? else { return Ok(String::new()) };
        let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
        if !bytes.contains(&0) {
            return Err(ObjError::section("license", "not NUL-terminated"));
        }
        String::from_utf8(text.to_vec()).map_err(|_| ObjError::section("license", "not UTF-8"))
    }

    fn kernel_version(&self) -> Result<Option<u32>> {
        let Some(bytes) = self.section_data("version")? else { return Ok(None) };
        let raw: [u8; 4] =
            bytes.try_into().map_err(|_| ObjError::section("version", format!("{} bytes, expected 4", bytes.len())))?;
        Ok(Some(match self.endian {
            Endian::Little => u32::from_le_bytes(raw),
            Endian::Big => u32::from_be_bytes(raw),
        }))
    }

    fn btf(&self) -> Result<Option<Arc<Btf>>> {
        let Some(bytes) = self.section_data(".BTF")? else { return Ok(None) };
        let btf = Btf::parse(BtfBytes::from_vec(bytes.to_vec())).map_err(ObjError::Btf)?;
        Ok(Some(Arc::new(btf)))
    }

    /// Symbols defined in section `index` with a name, sorted by value.
    fn symbols_in(&self, index: usize) -> impl ExactSizeIterator<Item = &Sym<'d>> + '_ {
        let section = |i: &u32| self.syms[*i as usize].section;
        let start = self.by_section.partition_point(|i| section(i) < Some(index));
        let end = start + self.by_section[start..].partition_point(|i| section(i) == Some(index));
        self.by_section[start..end].iter().map(|&i| &self.syms[i as usize])
    }

    /// Global `.text` functions (subprograms) with hidden or internal visibility, which the
    /// kernel's BTF gets as static functions, as libbpf gives them: the verifier then checks
    /// them with their callers' context instead of on their own.
    fn hidden_text_functions(&self) -> Vec<&'d str> {
        let Some(text) = self.names.iter().position(|n| *n == Some(".text")) else { return Vec::new() };
        self.symbols_in(text).filter(|s| s.kind == SymbolKind::Text && s.global && s.hidden).map(|s| s.name).collect()
    }

    /// Whether global data section `index` is memory-mapped, as libbpf decides: only when its
    /// DATASEC declares a variable user space can see, one neither static nor hidden. The
    /// kernel refuses to map a section whose values hold kernel objects (a spin lock, a
    /// `__kptr`, an rbtree root), which is why scx keeps those in `private(NAME)` sections of
    /// hidden variables; and a section without a DATASEC (`.rodata.str1.1`) has nothing to see.
    fn is_mmapable(&self, index: usize, btf: Option<&Btf>, datasec: Option<bpfkit_btf::TypeId>) -> bool {
        let (Some(btf), Some(datasec)) = (btf, datasec) else { return false };
        let Ok(t) = btf.type_by_id(datasec) else { return false };
        let TypeDetails::Datasec(vars) = t.details() else { return false };
        vars.into_iter().any(|v| {
            let Ok(var) = btf.type_by_id(v.ty) else { return false };
            let TypeDetails::Var { linkage, .. } = var.details() else { return false };
            if linkage == bpfkit_btf::linkage::STATIC {
                return false;
            }
            let name = var.name().unwrap_or_default();
            !self.symbols_in(index).any(|s| s.name == name && s.global && s.hidden)
        })
    }

    fn sections_with<'a>(&'a self, want: impl Fn(&Role) -> bool + 'a) -> impl Iterator<Item = usize> + 'a {
        self.roles.iter().enumerate().filter(move |(_, r)| want(r)).map(|(i, _)| i)
    }

    /// BTF-defined maps; returns, by map index, the byte offset of each definition's `values`
    /// member (where `__array` initializers sit).
    fn btf_maps(
        &self,
        btf: Option<&Btf>,
        datasecs: &Datasecs<'_>,
        maps: &mut Vec<Map>,
        map_at: &mut MapPlaces,
    ) -> Result<Vec<(usize, u32)>> {
        // (map index, offset of its `values` member), for map-in-map and program array maps.
        let mut values_offsets = Vec::new();
        for index in self.sections_with(|r| *r == Role::Maps) {
            let symbols = self.symbols_in(index);
            if symbols.len() == 0 {
                continue;
            }
            let btf =
                btf.ok_or_else(|| ObjError::section(".maps", "BTF-defined maps need the object's .BTF section"))?;
            let vars = datasec_vars(btf, datasecs, ".maps")?;
            for sym in symbols {
                let Some(ty) = var_type(&vars, sym.name) else {
                    return Err(ObjError::map(sym.name, "no VAR for it in the .maps DATASEC of the object's BTF"));
                };
                let parsed = btf_map::parse(btf, sym.name, ty, true)?;
                map_at.insert(index, sym.value, maps.len());
                if let Some(offset) = parsed.values_offset {
                    values_offsets.push((maps.len(), offset));
                }
                maps.push(Map {
                    name: sym.name.to_owned(),
                    kernel_name: KernelName::sanitized(sym.name),
                    kind: MapKind::Btf,
                    def: parsed.def,
                    inner: parsed.inner.map(Box::new),
                    slots: Vec::new(),
                    data: Vec::new(),
                    autocreate: true,
                });
            }
        }
        Ok(values_offsets)
    }

    /// `struct bpf_map_def { type, key_size, value_size, max_entries, map_flags }` records.
    fn legacy_maps(&self, maps: &mut Vec<Map>, map_at: &mut MapPlaces) -> Result<()> {
        for index in self.sections_with(|r| *r == Role::LegacyMaps) {
            let name = self.section_name(index).to_owned();
            let data = self.section_data(&name)?.unwrap_or_default();
            let symbols = self.symbols_in(index);
            if symbols.len() == 0 {
                continue;
            }
            let stride = data.len() / symbols.len();
            for sym in symbols {
                let size = if sym.size > 0 { sym.size as usize } else { stride };
                let start = sym.value as usize;
                let Some(raw) = start.checked_add(size).and_then(|end| data.get(start..end)) else {
                    return Err(ObjError::map(
                        sym.name,
                        format!("definition at byte {start} ({size} bytes) is outside section maps"),
                    ));
                };
                if raw.len() < 20 {
                    return Err(ObjError::map(
                        sym.name,
                        format!("legacy definition is {} bytes, at least 20 expected", raw.len()),
                    ));
                }
                if raw[20..].iter().any(|&b| b != 0) {
                    return Err(ObjError::map(
                        sym.name,
                        "legacy definition has fields past map_flags (iproute2 extensions are not supported)",
                    ));
                }
                let word = |i: usize| read_u32(&raw[i * 4..i * 4 + 4], self.endian);
                let def = MapDef {
                    map_type: MapType(word(0)),
                    key_size: word(1),
                    value_size: word(2),
                    max_entries: word(3),
                    map_flags: word(4),
                    ..MapDef::default()
                };
                map_at.insert(index, sym.value, maps.len());
                maps.push(Map {
                    name: sym.name.to_owned(),
                    kernel_name: KernelName::sanitized(sym.name),
                    kind: MapKind::Legacy,
                    def,
                    inner: None,
                    slots: Vec::new(),
                    data: Vec::new(),
                    autocreate: true,
                });
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn data_maps<'s>(
        &'s self,
        object: &str,
        btf: Option<&Btf>,
        datasecs: &Datasecs<'_>,
        maps: &mut Vec<Map>,
        data_map: &mut MapPlaces,
        globals: &mut Vec<GlobalVar>,
        layouts: &mut SectionLayouts<'s>,
    ) -> Result<()> {
        for (index, role) in self.roles.iter().enumerate() {
            let Role::Data(kind) = role else { continue };
            let name = self.section_name(index);
            let section = self
                .file
                .section_by_index(object::SectionIndex(index))
                .map_err(|e| ObjError::section(name, e.to_string()))?;
            let size = section.size();
            let value_size = u32::try_from(size)
                .map_err(|_| ObjError::section(name, format!("{size} bytes is too large for a map value")))?;
            if value_size == 0 {
                continue;
            }
            if value_size > MAX_DATA_SECTION {
                return Err(ObjError::section(
                    name,
                    format!(
                        "{size} bytes exceeds the kernel's limit for an array map value ({MAX_DATA_SECTION} bytes, \
                         INT_MAX), so it cannot be a global data map"
                    ),
                ));
            }
            let data = match kind {
                DataKind::Bss => vec![0; value_size as usize],
                _ => section.data().map_err(|e| ObjError::section(name, e.to_string()))?.to_vec(),
            };
            if data.len() != value_size as usize {
                return Err(ObjError::section(
                    name,
                    format!("holds {} bytes of data for a size of {size}", data.len()),
                ));
            }
            let map_index = maps.len();
            layouts.add(name, size, self.symbols_in(index).map(Sym::layout));
            self.section_globals(index, name, u64::from(value_size), map_index, globals)?;
            let mmapable = if self.is_mmapable(index, btf, datasecs.get(name)) { BPF_F_MMAPABLE } else { 0 };
            let flags = mmapable | if *kind == DataKind::Rodata { BPF_F_RDONLY_PROG } else { 0 };
            data_map.insert(index, 0, map_index);
            maps.push(Map {
                name: name.to_owned(),
                kernel_name: map::data_map_kernel_name(object, name),
                kind: MapKind::Data(*kind),
                def: MapDef {
                    map_type: MapType::ARRAY,
                    key_size: 4,
                    value_size,
                    max_entries: 1,
                    map_flags: flags,
                    btf_value_type: datasecs.get(name),
                    ..MapDef::default()
                },
                inner: None,
                slots: Vec::new(),
                data,
                autocreate: true,
            });
        }
        // `.maps` and `license` layouts are needed for the BTF DATASEC fixups too (only sections
        // the BTF has a DATASEC for).
        for index in self.sections_with(|r| matches!(r, Role::Maps | Role::StructOps { .. } | Role::Other)) {
            let name = self.section_name(index);
            if !datasecs.contains(name) || layouts.contains(name) {
                continue;
            }
            let Ok(section) = self.file.section_by_index(object::SectionIndex(index)) else { continue };
            layouts.add(name, section.size(), self.symbols_in(index).map(Sym::layout));
        }
        Ok(())
    }

    /// The variables (data symbols) of section `index`, `len` bytes long, as globals of map
    /// `map`; each must lie inside the section.
    fn section_globals(
        &self,
        index: usize,
        section: &str,
        len: u64,
        map: usize,
        globals: &mut Vec<GlobalVar>,
    ) -> Result<()> {
        for sym in self.symbols_in(index).filter(|s| s.kind == SymbolKind::Data) {
            let bad = |why: String| ObjError::Symbol { symbol: sym.name.to_owned(), section: section.to_owned(), why };
            let (Ok(offset), Ok(size)) = (u32::try_from(sym.value), u32::try_from(sym.size)) else {
                return Err(bad("offset or size out of range".into()));
            };
            if u64::from(offset) + u64::from(size) > len {
                return Err(bad(format!("{size} bytes at offset {offset} overrun the section ({len} bytes)")));
            }
            globals.push(GlobalVar { name: sym.name.to_owned(), map, offset, size });
        }
        Ok(())
    }

    /// The arena and its `__arena` globals: one arena per object (libbpf supports only one:
    /// its memory is a fixed address range), and `.addr_space.1`, when the object has one,
    /// becomes the arena map's initial data, which the loader places at the arena's end.
    fn arena_data<'s>(
        &'s self,
        maps: &mut [Map],
        data_map: &mut MapPlaces,
        globals: &mut Vec<GlobalVar>,
        layouts: &mut SectionLayouts<'s>,
    ) -> Result<()> {
        let mut arenas = maps.iter().enumerate().filter(|(_, m)| m.def.map_type == MapType::ARENA);
        let arena = arenas.next().map(|(i, _)| i);
        if let (Some(first), Some((_, second))) = (arena, arenas.next()) {
            return Err(ObjError::map(
                &second.name,
                format!("a second arena (map {} is one already): an object has at most one", maps[first].name),
            ));
        }
        let Some(index) = self.sections_with(|r| *r == Role::Arena).next() else { return Ok(()) };
        let section = self
            .file
            .section_by_index(object::SectionIndex(index))
            .map_err(|e| ObjError::section(ARENA_SECTION, e.to_string()))?;
        let data = section.data().map_err(|e| ObjError::section(ARENA_SECTION, format!("unreadable data: {e}")))?;
        layouts.add(ARENA_SECTION, section.size(), self.symbols_in(index).map(Sym::layout));
        if data.is_empty() {
            return Ok(());
        }
        let Some(arena) = arena else {
            return Err(ObjError::section(
                ARENA_SECTION,
                "holds __arena globals, but the object declares no arena map (BPF_MAP_TYPE_ARENA in .maps)",
            ));
        };
        self.section_globals(index, ARENA_SECTION, data.len() as u64, arena, globals)?;
        maps[arena].data = data.to_vec();
        data_map.insert(index, 0, arena);
        Ok(())
    }

    fn struct_ops_maps(
        &self,
        btf: Option<&Btf>,
        datasecs: &Datasecs<'_>,
        maps: &mut Vec<Map>,
        map_at: &mut MapPlaces,
    ) -> Result<()> {
        for index in self.sections_with(|r| matches!(r, Role::StructOps { .. })) {
            let Some(Role::StructOps { link }) = self.roles.get(index) else { continue };
            let name = self.section_name(index).to_owned();
            let symbols = self.symbols_in(index);
            if symbols.len() == 0 {
                continue;
            }
            let btf = btf.ok_or_else(|| ObjError::section(&name, "struct_ops maps need the object's .BTF section"))?;
            let vars = datasec_vars(btf, datasecs, &name)?;
            let data = self.section_data(&name)?.unwrap_or_default();
            for sym in symbols {
                let Some(var_ty) = var_type(&vars, sym.name) else {
                    return Err(ObjError::map(sym.name, format!("no VAR for it in the {name} DATASEC")));
                };
                let btf_err = |e: bpfkit_btf::BtfError| ObjError::map(sym.name, format!("BTF: {e}"));
                let ty = btf.resolve(var_ty).map_err(btf_err)?;
                let t = btf.type_by_id(ty).map_err(btf_err)?;
                if !matches!(t.details(), TypeDetails::Struct(_)) {
                    return Err(ObjError::map(
                        sym.name,
                        format!("struct_ops variable has type {:?}, not a struct", t.kind()),
                    ));
                }
                let type_name = t.name().map_err(btf_err)?.to_owned();
                let size = t.size().unwrap_or(0) as usize;
                let start = sym.value as usize;
                let bytes = start.checked_add(size).and_then(|end| data.get(start..end)).ok_or_else(|| {
                    ObjError::map(sym.name, format!("{size}-byte struct at offset {start} is outside section {name}"))
                })?;
                map_at.insert(index, sym.value, maps.len());
                maps.push(Map {
                    name: sym.name.to_owned(),
                    kernel_name: KernelName::sanitized(sym.name),
                    kind: MapKind::StructOps { link: *link, type_name, funcs: Vec::new() },
                    def: MapDef {
                        map_type: MapType::STRUCT_OPS,
                        key_size: 4,
                        value_size: size as u32,
                        max_entries: 1,
                        btf_value_type: Some(ty),
                        ..MapDef::default()
                    },
                    inner: None,
                    slots: Vec::new(),
                    data: bytes.to_vec(),
                    autocreate: !name.starts_with('?'),
                });
            }
        }
        Ok(())
    }

    fn code_sections(
        &self,
        map_at: &MapPlaces,
        data_map: &MapPlaces,
        kconfig: &KconfigSlots,
    ) -> Result<Vec<CodeSection>> {
        // An empty code section (clang's `.text` when every function has a section of its own)
        // holds nothing to call or load: it is left out.
        let empty = |i: usize| self.file.section_by_index(object::SectionIndex(i)).is_ok_and(|s| s.size() == 0);
        let indexes: Vec<usize> = self.sections_with(|r| *r == Role::Code).filter(|&i| !empty(i)).collect();
        // ELF section index -> position in the output.
        let mut position = vec![None; self.roles.len()];
        for (pos, &i) in indexes.iter().enumerate() {
            position[i] = Some(pos);
        }
        let mut out = Vec::with_capacity(indexes.len());
        let mut scratch = Vec::with_capacity(16);
        for &index in &indexes {
            let name = self.section_name(index).to_owned();
            let section = self
                .file
                .section_by_index(object::SectionIndex(index))
                .map_err(|e| ObjError::section(&name, e.to_string()))?;
            let bytes = section.data().map_err(|e| ObjError::section(&name, format!("unreadable data: {e}")))?;
            if bytes.len() % INSN_SIZE != 0 {
                return Err(ObjError::section(
                    &name,
                    format!("{} bytes is not a whole number of instructions", bytes.len()),
                ));
            }
            let insns = insn::decode_all(bytes, self.endian);
            let mut funcs = Vec::with_capacity(self.symbols_in(index).len());
            for sym in self.symbols_in(index) {
                if sym.kind != SymbolKind::Text {
                    continue;
                }
                let bad = |why: String| ObjError::Symbol { symbol: sym.name.to_owned(), section: name.clone(), why };
                if sym.value % 8 != 0 || sym.size % 8 != 0 || sym.size == 0 {
                    return Err(bad(format!(
                        "function at byte {} of {} bytes is not whole instructions",
                        sym.value, sym.size
                    )));
                }
                let (start, len) = ((sym.value / 8) as usize, (sym.size / 8) as usize);
                if start.checked_add(len).is_none_or(|end| end > insns.len()) {
                    return Err(bad(format!("function at instruction {start} ({len} long) overruns the section")));
                }
                if let Some(prev) = funcs.last().filter(|p: &&Func| p.start + p.len > start) {
                    return Err(bad(format!("overlaps function {}", prev.name)));
                }
                funcs.push(Func { name: sym.name.to_owned(), start, len, global: sym.global });
            }
            // Gathered in one buffer for all sections, then moved into a table of their exact
            // size: an object has a table per section, and most sections have few entries.
            scratch.clear();
            for (offset, reloc) in section.relocations() {
                let raw = self.code_reloc(&name, &insns, offset, &reloc, map_at, data_map, kconfig, &position)?;
                scratch.push(((offset / 8) as usize, raw));
            }
            // By instruction (clang writes them in order); one instruction has at most one.
            crate::sort::sort_by_key(&mut scratch, |&(at, _)| at as u128);
            // (Not `mem::take`: the buffer stays for the next section, the table gets its size.)
            let mut relocs: Vec<(usize, RawReloc)> = Vec::with_capacity(scratch.len());
            relocs.append(&mut scratch);
            if let Some(pair) = relocs.windows(2).find(|pair| pair[0].0 == pair[1].0) {
                let offset = pair[0].0 as u64 * 8;
                return Err(ObjError::Reloc {
                    section: name,
                    offset,
                    symbol: "?".into(),
                    why: "a second relocation for the same instruction".into(),
                });
            }
            out.push(CodeSection::new(name, insns, funcs, relocs));
        }
        Ok(out)
    }

    /// Resolves one relocation of a code section.
    #[allow(clippy::too_many_arguments)]
    fn code_reloc(
        &self,
        section: &str,
        insns: &[Insn],
        offset: u64,
        reloc: &object::Relocation,
        map_at: &MapPlaces,
        data_map: &MapPlaces,
        kconfig: &KconfigSlots,
        code_position: &[Option<usize>],
    ) -> Result<RawReloc> {
        let sym = self.reloc_symbol(section, offset, reloc)?;
        let err =
            |why: String| ObjError::Reloc { section: section.to_owned(), offset, symbol: sym.name.to_owned(), why };
        let r_type = match reloc.flags() {
            RelocationFlags::Elf { r_type } => r_type,
            other => return Err(err(format!("not an ELF relocation ({other:?})"))),
        };
        if offset % 8 != 0 {
            return Err(err("offset is not at an instruction boundary".into()));
        }
        let i = (offset / 8) as usize;
        let insn = insns.get(i).ok_or_else(|| err("offset is past the section's end".into()))?;
        let Some(target_section) = sym.section else {
            // Undefined: an extern. A kconfig value is read from the `.kconfig` map.
            let slot = kconfig.iter().find(|(name, ..)| name == sym.name).map(|&(_, map, offset)| (map, offset));
            if let (Some((map, offset)), insn::LD_IMM64) = (slot, insn.code) {
                return Ok(RawReloc::Target(RelocTarget::MapValue { map, offset }));
            }
            return match (insn.code, r_type) {
                (insn::CALL, R_BPF_64_32) => {
                    Ok(RawReloc::Target(RelocTarget::Extern { name: sym.name.to_owned(), call: true, weak: sym.weak }))
                }
                (insn::LD_IMM64, R_BPF_64_64) => {
                    Ok(RawReloc::Target(RelocTarget::Extern { name: sym.name.to_owned(), call: false, weak: sym.weak }))
                }
                _ => Err(err(format!(
                    "extern used by an instruction with opcode {:#04x} (relocation type {r_type})",
                    insn.code
                ))),
            };
        };
        let role = self.roles.get(target_section).cloned().unwrap_or(Role::Other);
        let target_name = self.section_name(target_section);
        match (insn.code, &role) {
            (insn::CALL, Role::Code) => {
                if insn.src() != insn::PSEUDO_CALL {
                    return Err(err(format!(
                        "call to a function symbol is not a bpf-to-bpf call (src_reg {})",
                        insn.src()
                    )));
                }
                let target = (sym.value / 8) as i64 + insn.imm as i64 + 1;
                let target = usize::try_from(target)
                    .map_err(|_| err(format!("call target {target} is before the section start")))?;
                let section = code_position.get(target_section).copied().flatten();
                let section = section.ok_or_else(|| err("call into a section that is not code".into()))?;
                Ok(RawReloc::Call { section, insn: target })
            }
            (insn::LD_IMM64, Role::Code) => {
                let target = (sym.value as i64 + insn.imm as i64) / 8;
                let target = usize::try_from(target)
                    .map_err(|_| err(format!("function address {target} is before the section start")))?;
                let section = code_position.get(target_section).copied().flatten();
                let section = section.ok_or_else(|| err("address of a function outside code".into()))?;
                Ok(RawReloc::FuncAddr { section, insn: target })
            }
            (insn::LD_IMM64, Role::Maps | Role::LegacyMaps | Role::StructOps { .. }) => {
                match map_at.get(target_section, sym.value) {
                    Some(map) => Ok(RawReloc::Target(RelocTarget::Map { map })),
                    None => Err(err(format!("no map at byte {} of {target_name}", sym.value))),
                }
            }
            (insn::LD_IMM64, Role::Data(_) | Role::Arena) => {
                let map = data_map.get(target_section, 0).ok_or_else(|| err(format!("empty section {target_name}")))?;
                let value = sym.value as i64 + insn.imm as i64;
                let offset = u32::try_from(value)
                    .map_err(|_| err(format!("offset {value} into {target_name} is out of range")))?;
                Ok(RawReloc::Target(RelocTarget::MapValue { map, offset }))
            }
            (insn::LD_IMM64, _) => {
                Err(err(format!("refers to section {target_name}, which is neither code, maps nor global data")))
            }
            _ => Err(err(format!(
                "relocated instruction has opcode {:#04x}: only ld_imm64 and call are relocatable",
                insn.code
            ))),
        }
    }

    fn reloc_symbol(&self, section: &str, offset: u64, reloc: &object::Relocation) -> Result<&Sym<'d>> {
        let err = |why: &str| ObjError::Reloc {
            section: section.to_owned(),
            offset,
            symbol: "?".into(),
            why: why.to_owned(),
        };
        let RelocationTarget::Symbol(index) = reloc.target() else {
            return Err(err("does not refer to a symbol"));
        };
        let pos = self
            .sym_index
            .get(index.0)
            .copied()
            .flatten()
            .ok_or_else(|| err("refers to a symbol index that does not exist"))?;
        self.syms.get(pos).ok_or_else(|| err("refers to a symbol index that does not exist"))
    }

    fn programs(&self, code: &[CodeSection]) -> Result<Vec<Program>> {
        let mut programs = Vec::with_capacity(code.iter().map(|c| c.funcs.len()).sum());
        for (s, section) in code.iter().enumerate() {
            if section.name == ".text" {
                continue;
            }
            if section.funcs.is_empty() && !section.insns.is_empty() {
                return Err(ObjError::section(&section.name, "code without a function symbol"));
            }
            for (f, func) in section.funcs.iter().enumerate() {
                programs.push(Program {
                    name: func.name.clone(),
                    section: section.name.clone(),
                    // `SEC("?name")`: a program loaded only when asked for (libbpf's convention).
                    kind: ProgramSection::parse(section.name.strip_prefix('?').unwrap_or(&section.name)),
                    global: func.global,
                    autoload: !section.name.starts_with('?'),
                    origin: (s, f),
                    replaced: None,
                });
            }
        }
        Ok(programs)
    }

    /// `__array(values, ...)` initializers: relocations in `.maps` at a map's `values` slots.
    /// The `R_BPF_64_ABS64` relocations of data section `index` (`.maps`, `.struct_ops*`), each
    /// with the symbol it points to, the map whose variable holds it, and its byte offset inside
    /// that variable: how map initializers and struct_ops members name other objects.
    fn data_relocs(&self, index: usize, map_at: &MapPlaces, what: &str) -> Result<Vec<(u64, &Sym<'d>, usize, u64)>> {
        let name = self.section_name(index).to_owned();
        let Ok(section) = self.file.section_by_index(object::SectionIndex(index)) else { return Ok(Vec::new()) };
        let starts: Vec<(u64, usize)> = map_at.in_section(index).collect();
        let mut out = Vec::new();
        for (offset, reloc) in section.relocations() {
            let sym = self.reloc_symbol(&name, offset, &reloc)?;
            let err = |why: String| ObjError::Reloc { section: name.clone(), offset, symbol: sym.name.to_owned(), why };
            if !matches!(reloc.flags(), RelocationFlags::Elf { r_type: R_BPF_64_ABS64 }) {
                return Err(err(format!("unexpected relocation type {:?} in {name}", reloc.flags())));
            }
            let pos = starts.partition_point(|(start, _)| *start <= offset);
            let Some(&(start, map)) = pos.checked_sub(1).and_then(|p| starts.get(p)) else {
                return Err(err(format!("not inside any {what}")));
            };
            out.push((offset, sym, map, offset - start));
        }
        Ok(out)
    }

    /// The programs struct_ops variables point to: relocations in the `.struct_ops*` sections,
    /// each at a function pointer member of one variable.
    fn struct_ops_funcs(
        &self,
        btf: Option<&Btf>,
        maps: &mut [Map],
        map_at: &MapPlaces,
        programs: &[Program],
    ) -> Result<()> {
        for index in self.sections_with(|r| matches!(r, Role::StructOps { .. })) {
            let name = self.section_name(index).to_owned();
            for (offset, sym, map, rel) in self.data_relocs(index, map_at, "struct_ops variable")? {
                let err =
                    |why: String| ObjError::Reloc { section: name.clone(), offset, symbol: sym.name.to_owned(), why };
                if !programs.iter().any(|p| p.name == sym.name) {
                    return Err(err(format!("points to {}, which is not a program of the object", sym.name)));
                }
                let rel = u32::try_from(rel).map_err(|_| err("offset out of range".into()))?;
                let btf = btf.ok_or_else(|| err("no BTF".into()))?;
                let ty = maps[map].def.btf_value_type.ok_or_else(|| err("struct_ops map without a type".into()))?;
                let t = btf.type_by_id(ty).map_err(|e| err(e.to_string()))?;
                let member = t
                    .members()
                    .find(|m| u64::from(m.bit_offset()) == u64::from(rel) * 8)
                    .ok_or_else(|| err(format!("byte {rel} of {} is not the start of a member", maps[map].name)))?;
                let member = btf.str_at(member.name_off).map_err(|e| err(e.to_string()))?.to_owned();
                if let MapKind::StructOps { funcs, .. } = &mut maps[map].kind {
                    funcs.push(OpsFunc { member, offset: rel, program: sym.name.to_owned() });
                }
            }
        }
        Ok(())
    }

    fn map_initializers(
        &self,
        maps: &mut [Map],
        map_at: &MapPlaces,
        values_offsets: &[(usize, u32)],
        programs: &[Program],
    ) -> Result<()> {
        for index in self.sections_with(|r| *r == Role::Maps) {
            let name = self.section_name(index).to_owned();
            for (offset, sym, outer, rel) in self.data_relocs(index, map_at, "map definition")? {
                let err =
                    |why: String| ObjError::Reloc { section: name.clone(), offset, symbol: sym.name.to_owned(), why };
                let map = &maps[outer];
                let Some(&(_, values_offset)) = values_offsets.iter().find(|(m, _)| *m == outer) else {
                    return Err(err(format!("initializer for map {} which has no `values` member", map.name)));
                };
                if rel < values_offset as u64 || (rel - values_offset as u64) % 8 != 0 {
                    return Err(err(format!("initializer at byte {rel} of map {} is not a `values` slot", map.name)));
                }
                let slot = u32::try_from((rel - values_offset as u64) / 8)
                    .map_err(|_| err("slot index out of range".into()))?;
                let target = if map.def.map_type == MapType::PROG_ARRAY {
                    if !programs.iter().any(|p| p.name == sym.name) {
                        return Err(err(format!(
                            "program array {} initialised with {}, which is not a program",
                            map.name, sym.name
                        )));
                    }
                    sym.name.to_owned()
                } else {
                    let Some(inner) = sym.section.and_then(|s| map_at.get(s, sym.value)) else {
                        return Err(err(format!(
                            "map-in-map {} initialised with {}, which is not a map",
                            map.name, sym.name
                        )));
                    };
                    maps[inner].name.clone()
                };
                if slot >= maps[outer].def.max_entries {
                    return Err(err(format!(
                        "slot {slot} is beyond max_entries {} of map {}",
                        maps[outer].def.max_entries, maps[outer].name
                    )));
                }
                maps[outer].slots.push(SlotInit { slot, target });
            }
        }
        Ok(())
    }
}

/// The VARs of DATASEC `section`: each name with its VAR type's referenced type (a list: a
/// section has a few, and hashing each name costs more than comparing them).
fn datasec_vars<'b>(
    btf: &'b Btf,
    datasecs: &Datasecs<'_>,
    section: &str,
) -> Result<Vec<(&'b str, bpfkit_btf::TypeId)>> {
    let btf_err = |e: bpfkit_btf::BtfError| ObjError::section(section, format!("BTF: {e}"));
    let Some(id) = datasecs.get(section) else {
        return Err(ObjError::section(section, "the object's BTF has no DATASEC for it"));
    };
    let TypeDetails::Datasec(vars) = btf.type_by_id(id).map_err(btf_err)?.details() else {
        return Err(ObjError::section(section, "its BTF type is not a DATASEC"));
    };
    let mut out = Vec::with_capacity(vars.len());
    for var in vars {
        let t = btf.type_by_id(var.ty).map_err(btf_err)?;
        if let TypeDetails::Var { ty, .. } = t.details() {
            out.push((t.name().map_err(btf_err)?, ty));
        }
    }
    Ok(out)
}

/// The type of the VAR named `name` among `vars` (the last, if the DATASEC repeats a name).
fn var_type(vars: &[(&str, bpfkit_btf::TypeId)], name: &str) -> Option<bpfkit_btf::TypeId> {
    vars.iter().rev().find(|(n, _)| *n == name).map(|&(_, ty)| ty)
}

/// Which global data kind a section of this name and kind is, as libbpf decides.
fn data_kind(name: &str, kind: SectionKind) -> Option<DataKind> {
    let is = |base: &str| name == base || name.strip_prefix(base).is_some_and(|rest| rest.starts_with('.'));
    if is(".bss") {
        Some(DataKind::Bss)
    } else if is(".data") && kind != SectionKind::UninitializedData {
        Some(DataKind::Data)
    } else if is(".rodata") {
        Some(DataKind::Rodata)
    } else {
        None
    }
}

fn read_u32(bytes: &[u8], endian: Endian) -> u32 {
    let raw = [bytes[0], bytes[1], bytes[2], bytes[3]];
    match endian {
        Endian::Little => u32::from_le_bytes(raw),
        Endian::Big => u32::from_be_bytes(raw),
    }
}
