//! The object's BTF as the kernel will accept it, completed as libbpf completes it at open:
//!
//! - clang leaves each DATASEC's size at 0 and the offsets of its *global* variables at 0 (the
//!   linker would fill them in; static variables get their offsets from clang): the kernel
//!   checks both against the section, so the size comes from the ELF section and each global
//!   variable's offset from its ELF symbol. A DATASEC that already has a size was laid out by
//!   the static linker (`bpftool gen object`) and keeps its offsets: a linked object has one
//!   same-named static per source file (`____fmt` of every `bpf_printk`), so names cannot tell
//!   them apart, and nothing here guesses between namesakes.
//! - Globals and `.text` functions with hidden or internal ELF visibility (`__hidden`) are
//!   static to the kernel: a hidden function is verified with its caller's context (so it may
//!   return a pointer), and a hidden variable does not make its section memory-mappable.
//! - Each DATASEC's variables are ordered by offset, as the kernel requires.

use std::ops::Range;

use bpfkit_btf::{ArrayInfo, Btf, BtfBuilder, RecordData, TypeDetails, TypeId, VarSecinfo, linkage};

use crate::datasecs::Datasecs;
use crate::error::{ObjError, Result};
use crate::object::Object;

/// A named symbol of a section, as the DATASEC fix-ups need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LayoutSymbol<'a> {
    pub name: &'a str,
    pub offset: u64,
    /// Global or weak binding (only such symbols give global variables their offsets).
    pub global: bool,
    /// Hidden or internal visibility.
    pub hidden: bool,
}

/// Sections' sizes and their named symbols, from the ELF file (while parsing): one table for
/// all sections, each section a run of it.
#[derive(Default)]
pub(crate) struct SectionLayouts<'a> {
    /// Section name, size, and its run of `symbols`.
    sections: Vec<(&'a str, u64, Range<usize>)>,
    symbols: Vec<LayoutSymbol<'a>>,
}

impl<'a> SectionLayouts<'a> {
    /// Adds section `name` of `size` bytes with its named `symbols`.
    pub fn add(&mut self, name: &'a str, size: u64, symbols: impl Iterator<Item = LayoutSymbol<'a>>) {
        let start = self.symbols.len();
        self.symbols.extend(symbols);
        self.sections.push((name, size, start..self.symbols.len()));
    }

    /// Whether section `name` was added.
    pub fn contains(&self, name: &str) -> bool {
        self.sections.iter().any(|(n, _, _)| *n == name)
    }
}

/// What the kernel's copy of the BTF changes: each DATASEC's size and its variables' offsets
/// (ordered by offset), and the VARs and FUNCs that become static.
#[derive(Debug, Clone, Default)]
pub(crate) struct KernelBtfFixes {
    /// DATASEC id, size, and its run of `vars`.
    datasecs: Vec<(TypeId, u32, Range<usize>)>,
    vars: Vec<VarSecinfo>,
    /// VARs and FUNCs whose linkage becomes static.
    statics: Vec<TypeId>,
    /// VARs retyped as a resized array: (VAR id, the new array).
    resized: Vec<(TypeId, ArrayInfo)>,
}

impl KernelBtfFixes {
    /// Each DATASEC's id, size and variables.
    fn iter(&self) -> impl Iterator<Item = (TypeId, u32, &[VarSecinfo])> {
        self.datasecs.iter().map(|(id, size, run)| (*id, *size, self.vars.get(run.clone()).unwrap_or_default()))
    }

    /// Grows or shrinks DATASEC `datasec` to `size` bytes by resizing its last variable, which
    /// must be an array (libbpf's `bpf_map__set_value_size` on global data, behind scx's
    /// `RESIZABLE_ARRAY`): the section's size, the variable's size and its array type change
    /// together, so the kernel sees a consistent DATASEC. Returns the variable's offset and new
    /// size.
    pub(crate) fn resize_last_var(&mut self, btf: &Btf, datasec: TypeId, size: u32) -> Result<(u32, u32)> {
        let (name, entry) = {
            let name = btf.type_by_id(datasec).and_then(|t| t.name()).map_err(ObjError::Btf)?.to_owned();
            let entry = self.datasecs.iter_mut().find(|(id, _, _)| *id == datasec);
            (name, entry.ok_or_else(|| ObjError::section("?", format!("DATASEC [{datasec}] has no layout")))?)
        };
        let run = entry.2.clone();
        let Some(last) = self.vars.get_mut(run).and_then(|v| v.last_mut()) else {
            return Err(ObjError::section(&name, "has no variable to resize"));
        };
        let var = btf.type_by_id(last.ty).map_err(ObjError::Btf)?;
        let var_name = var.name().map_err(ObjError::Btf)?.to_owned();
        let TypeDetails::Var { ty, .. } = var.details() else {
            return Err(ObjError::section(&name, format!("entry [{}] is not a VAR", last.ty)));
        };
        let resolved = btf.resolve(ty).map_err(ObjError::Btf)?;
        let TypeDetails::Array(array) = btf.type_by_id(resolved).map_err(ObjError::Btf)?.details() else {
            return Err(ObjError::section(
                &name,
                format!("its last variable {var_name} is not an array, so the section cannot be resized"),
            ));
        };
        let elem = btf.size_of(array.elem_type).map_err(ObjError::Btf)?;
        let room = size.checked_sub(last.offset).filter(|&r| r > 0).ok_or_else(|| {
            ObjError::section(&name, format!("{size} bytes leaves no room for {var_name} at offset {}", last.offset))
        })?;
        if elem == 0 || u64::from(room) % elem != 0 {
            return Err(ObjError::section(
                &name,
                format!("{var_name} would be {room} bytes, not a whole number of its {elem}-byte elements"),
            ));
        }
        let nelems = (u64::from(room) / elem) as u32;
        last.size = room;
        entry.1 = size;
        let id = last.ty;
        let offset = last.offset;
        self.resized.retain(|(v, _)| *v != id);
        self.resized.push((id, ArrayInfo { nelems, ..array }));
        Ok((offset, room))
    }
}

/// The fixes for `btf`'s DATASECs from the sections of `layouts` (DATASECs of sections the file
/// does not have, such as `.ksyms`, get none and stay as clang wrote them), and for the global
/// `.text` functions named in `hidden_functions`.
pub(crate) fn kernel_btf_fixes(
    btf: &Btf,
    datasecs: &Datasecs<'_>,
    layouts: &mut SectionLayouts<'_>,
    hidden_functions: &[&str],
) -> Result<KernelBtfFixes> {
    let vars: usize = datasecs.iter().filter_map(|&(_, id)| btf.type_by_id(id).ok()).map(|t| t.vlen() as usize).sum();
    let mut fixes = KernelBtfFixes {
        datasecs: Vec::with_capacity(datasecs.iter().count()),
        vars: Vec::with_capacity(vars),
        statics: Vec::new(),
        resized: Vec::new(),
    };
    for &(name, id) in datasecs.iter() {
        let Some((_, section_size, run)) = layouts.sections.iter().find(|(n, _, _)| *n == name) else { continue };
        let symbols = layouts.symbols.get_mut(run.clone()).unwrap_or_default();
        // Global symbols by name first, for the lookups below.
        symbols.sort_by(|a, b| (!a.global, a.name).cmp(&(!b.global, b.name)));
        let globals = &symbols[..symbols.partition_point(|s| s.global)];
        let ty = btf.type_by_id(id).map_err(ObjError::Btf)?;
        let TypeDetails::Datasec(vars) = ty.details() else { continue };
        // Laid out by the static linker already: its offsets stand.
        let laid_out = ty.size().unwrap_or(0) != 0;
        let size = match ty.size() {
            Some(size) if size != 0 => size,
            _ => u32::try_from(*section_size).map_err(|_| ObjError::section(name, "too large for BTF"))?,
        };
        let start = fixes.vars.len();
        for mut var in vars {
            let t = btf.type_by_id(var.ty).map_err(ObjError::Btf)?;
            let var_name = t.name().map_err(ObjError::Btf)?;
            let TypeDetails::Var { linkage: declared, .. } = t.details() else {
                return Err(ObjError::section(name, format!("DATASEC entry [{}] is not a VAR", var.ty)));
            };
            if declared != linkage::STATIC {
                let at = globals.partition_point(|s| s.name < var_name);
                let Some(sym) = globals.get(at).filter(|s| s.name == var_name) else {
                    return Err(ObjError::Symbol {
                        symbol: var_name.to_owned(),
                        section: name.to_owned(),
                        why: "a global in the section's BTF DATASEC without a global ELF symbol".into(),
                    });
                };
                if globals.get(at + 1).is_some_and(|s| s.name == var_name) {
                    return Err(ObjError::Symbol {
                        symbol: var_name.to_owned(),
                        section: name.to_owned(),
                        why: "two global ELF symbols of this name".into(),
                    });
                }
                if !laid_out {
                    var.offset = u32::try_from(sym.offset)
                        .map_err(|_| ObjError::section(name, format!("{var_name} offset too large")))?;
                }
                if sym.hidden && declared == linkage::GLOBAL {
                    fixes.statics.push(var.ty);
                }
            }
            if var.offset.checked_add(var.size).is_none_or(|end| end > size) {
                return Err(ObjError::Symbol {
                    symbol: var_name.to_owned(),
                    section: name.to_owned(),
                    why: format!("{} bytes at offset {} overrun the section ({size} bytes)", var.size, var.offset),
                });
            }
            fixes.vars.push(var);
        }
        crate::sort::sort_by_key(&mut fixes.vars[start..], |v| u128::from(v.offset));
        fixes.datasecs.push((id, size, start..fixes.vars.len()));
    }
    if !hidden_functions.is_empty() {
        // For each hidden function, the first global FUNC of its name (as libbpf takes it), in
        // one pass over the FUNCs.
        let mut pending: Vec<&str> = hidden_functions.to_vec();
        for id in btf.own_ids_of_kind(bpfkit_btf::Kind::Func) {
            let t = btf.type_by_id(id).map_err(ObjError::Btf)?;
            if !matches!(t.details(), TypeDetails::Func { linkage: linkage::GLOBAL, .. }) {
                continue;
            }
            let name = t.name().map_err(ObjError::Btf)?;
            if let Some(at) = pending.iter().position(|p| *p == name) {
                pending.swap_remove(at);
                fixes.statics.push(id);
                if pending.is_empty() {
                    break;
                }
            }
        }
    }
    Ok(fixes)
}

impl Object {
    /// The object's BTF with DATASECs completed, encoded for `BPF_BTF_LOAD`; `None` when the
    /// object has no BTF. DATASECs of sections the file does not have (`.ksyms`, `.kconfig`:
    /// externs) are left as clang wrote them.
    pub fn btf_for_kernel(&self) -> Result<Option<Vec<u8>>> {
        let Some(btf) = &self.btf else { return Ok(None) };
        if self.extern_datasecs.is_empty() && self.btf_fixes.resized.is_empty() && standard_layout(btf) {
            return self.patched(btf).map(Some);
        }
        self.reencoded(btf).map(Some)
    }

    /// The kernel's BTF by patching a copy of the bytes: only DATASEC sizes and offsets change,
    /// and they keep their places. Only for blobs laid out as the writer lays them out (see
    /// [`standard_layout`]), so that the result is the bytes [`Object::reencoded`] gives.
    fn patched(&self, btf: &Btf) -> Result<Vec<u8>> {
        let mut out = btf.raw_bytes().to_vec();
        let e = btf.endian();
        for (id, size, vars) in self.btf_fixes.iter() {
            let at = btf.record_offset(id);
            let mut put = |at: Option<usize>, v: u32| -> Result<()> {
                let slot = at.and_then(|at| out.get_mut(at..at.checked_add(4)?));
                let slot =
                    slot.ok_or_else(|| ObjError::Invalid(format!("BTF DATASEC [{id}] lies outside the blob")))?;
                slot.copy_from_slice(&e.u32_bytes(v));
                Ok(())
            };
            put(at.map(|a| a + 8), size)?;
            for (i, v) in vars.iter().enumerate() {
                let var_at = at.map(|a| a + 12 + i * 12);
                put(var_at, v.ty)?;
                put(var_at.map(|a| a + 4), v.offset)?;
                put(var_at.map(|a| a + 8), v.size)?;
            }
        }
        for &id in &self.btf_fixes.statics {
            let t = btf.type_by_id(id).map_err(ObjError::Btf)?;
            // A VAR's linkage is the word after its header; a FUNC's is its vlen, the low 16
            // bits of the info word.
            let (word_at, value) = match t.details() {
                TypeDetails::Var { .. } => (12, linkage::STATIC),
                TypeDetails::Func { .. } => (4, e.read_u32(t.record(), 4) & !0xffff | linkage::STATIC),
                _ => continue,
            };
            let at = btf.record_offset(id).and_then(|at| at.checked_add(word_at));
            let slot = at.and_then(|at| out.get_mut(at..at.checked_add(4)?));
            let slot = slot.ok_or_else(|| ObjError::Invalid(format!("BTF type [{id}] lies outside the blob")))?;
            slot.copy_from_slice(&e.u32_bytes(value));
        }
        Ok(out)
    }

    /// The kernel's BTF decoded and encoded again, with the extern sections rewritten.
    fn reencoded(&self, btf: &Btf) -> Result<Vec<u8>> {
        let mut builder = BtfBuilder::from_btf(btf);
        for (id, size, vars) in self.btf_fixes.iter() {
            if let Some(record) = builder.record_mut(id) {
                record.data = RecordData::Datasec { size, vars: vars.to_vec() };
            }
        }
        for &id in &self.btf_fixes.statics {
            if let Some(record) = builder.record_mut(id) {
                if let RecordData::Var { linkage: l, .. } | RecordData::Func { linkage: l, .. } = &mut record.data {
                    *l = linkage::STATIC;
                }
            }
        }
        // A resized variable gets an array type of its own (the old one may be shared).
        for &(var, array) in &self.btf_fixes.resized {
            let new_type = builder.add_array(array.elem_type, array.index_type, array.nelems);
            if let Some(RecordData::Var { ty, .. }) = builder.record_mut(var).map(|r| &mut r.data) {
                *ty = new_type;
            }
        }
        fix_extern_sections(btf, &self.extern_datasecs, &mut builder)?;
        builder.encode().map_err(ObjError::Btf)
    }
}

/// Whether the blob is laid out exactly as `BtfBuilder::encode` writes it (no flags, types right
/// after the header, strings right after the types, the layout section, if any, right after the
/// strings, nothing else): then patching it in place gives the re-encoded bytes. The parser also
/// accepts gaps and other orders, which the kernel refuses and re-encoding removes.
fn standard_layout(btf: &Btf) -> bool {
    let h = btf.header();
    let end = h.hdr_len as u64 + h.type_len as u64 + h.str_len as u64 + h.layout_len as u64;
    h.flags == 0
        && h.type_off == 0
        && h.str_off == h.type_len
        && (h.layout_len == 0 || h.layout_off as u64 == h.str_off as u64 + h.str_len as u64)
        && end == btf.raw_bytes().len() as u64
}

/// What the kernel refuses in extern declarations, rewritten as libbpf does: extern linkage
/// (VARs become global allocated, FUNCs global), FUNCs inside a DATASEC, FUNC parameters
/// without names, and typeless (`void`) variables. In `.ksyms` every entry becomes a 4-byte
/// slot: kfunc entries point at one placeholder `int` VAR, variables are retyped `int` (the
/// kernel never reads `.ksyms` data; the loader resolves those symbols through kernel BTF), and
/// `.kconfig` keeps the layout its map got. Only the kernel's copy changes: the object's own
/// BTF, which relocations and extern resolution read, stays as clang wrote it.
fn fix_extern_sections(btf: &Btf, sections: &[(&'static str, TypeId)], builder: &mut BtfBuilder) -> Result<()> {
    use bpfkit_btf::IntEncoding;
    for &(section, sec) in sections {
        let err = |e: bpfkit_btf::BtfError| ObjError::section(section, format!("BTF: {e}"));
        let TypeDetails::Datasec(vars) = btf.type_by_id(sec).map_err(err)?.details() else { continue };
        let ksyms = section == crate::KSYMS_SECTION;
        // `int` and the placeholder, added once (new ids after every existing one).
        let mut int_and_placeholder: Option<(u32, u32)> = None;
        let mut ints = |b: &mut BtfBuilder| -> (u32, u32) {
            *int_and_placeholder.get_or_insert_with(|| {
                let int = b.add_int("int", 4, IntEncoding::SIGNED);
                (int, b.add_var("bpfkit_ksym", int, linkage::GLOBAL))
            })
        };
        let mut fixed = Vec::new();
        for (slot, mut v) in vars.enumerate() {
            match btf.type_by_id(v.ty).map_err(err)?.details() {
                TypeDetails::Var { .. } => {
                    let int = if ksyms { Some(ints(builder).0) } else { None };
                    if let Some(r) = builder.record_mut(v.ty) {
                        if let RecordData::Var { linkage: l, ty } = &mut r.data {
                            *l = linkage::GLOBAL;
                            if let Some(int) = int {
                                *ty = int;
                            }
                        }
                    }
                }
                TypeDetails::Func { proto, .. } => {
                    if let Some(r) = builder.record_mut(v.ty) {
                        if let RecordData::Func { linkage: l, .. } = &mut r.data {
                            *l = linkage::GLOBAL;
                        }
                    }
                    let name = builder.add_string("bpfkit_ksym");
                    if let Some(r) = builder.record_mut(proto) {
                        if let RecordData::FuncProto { params, .. } = &mut r.data {
                            for p in params.iter_mut().filter(|p| p.name_off == 0 && p.ty != 0) {
                                p.name_off = name;
                            }
                        }
                    }
                    v.ty = ints(builder).1;
                }
                _ => {}
            }
            if ksyms {
                v.offset = u32::try_from(slot * 4).map_err(|_| ObjError::section(section, "too many externs"))?;
                v.size = 4;
                fixed.push(v);
            }
        }
        if ksyms && !fixed.is_empty() {
            let size = fixed.len() as u32 * 4;
            if let Some(r) = builder.record_mut(sec) {
                r.data = RecordData::Datasec { size, vars: fixed };
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// For every fixture without externs, patching in place gives exactly the re-encoded bytes.
    #[test]
    fn patching_equals_reencoding_on_every_fixture() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bpf");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if !path.to_string_lossy().ends_with(".bpf.o") {
                continue;
            }
            let obj = Object::open(&path).unwrap();
            let Some(btf) = &obj.btf else { continue };
            let patched = obj.patched(btf);
            let reencoded = obj.reencoded(btf);
            if standard_layout(btf)
                && btf.find_by_name_kind(crate::KSYMS_SECTION, bpfkit_btf::Kind::Datasec).is_none()
                && btf.find_by_name_kind(crate::KCONFIG_SECTION, bpfkit_btf::Kind::Datasec).is_none()
            {
                assert_eq!(patched.unwrap(), reencoded.unwrap(), "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 5, "only {checked} fixtures compared");
    }
}
