//! Externs: symbols an object uses but does not define, which the loader resolves against the
//! running kernel. libbpf's conventions put them in two BTF DATASECs:
//!
//! - `.ksyms`: kernel symbols. A FUNC there is a kfunc (`extern int f(...) __ksym`); a VAR is a
//!   kernel variable, *typed* (its BTF type; the kernel checks it, the program gets a typed
//!   pointer, per-CPU variables included) or *typeless* (`extern const void sym __ksym`: just
//!   an address, from `/proc/kallsyms`).
//! - `.kconfig`: values of the kernel's configuration (`extern int CONFIG_HZ __kconfig`), kept
//!   in a read-only `.kconfig` map the loader fills, so programs read them like `.rodata`.
//!
//! Names may carry a flavour (`bpf_foo___v2`): the kernel symbol is the essential name, and the
//! loader picks the flavour whose type matches the kernel's.

use bpfkit_btf::{Btf, TypeDetails, TypeId};

use crate::datasecs::Datasecs;
use crate::error::{ObjError, Result};

/// The DATASEC of kernel symbol externs.
pub const KSYMS_SECTION: &str = ".ksyms";
/// The DATASEC (and map) of kernel configuration externs.
pub const KCONFIG_SECTION: &str = ".kconfig";

/// What kind of extern a symbol is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternKind {
    /// A kfunc: `func` is its FUNC in the object's BTF.
    Kfunc {
        /// The FUNC type id.
        func: TypeId,
    },
    /// A typed kernel variable: `var` is its VAR, `ty` the VAR's type.
    Ksym {
        /// The VAR type id.
        var: TypeId,
        /// The variable's type id.
        ty: TypeId,
    },
    /// A typeless kernel symbol (`const void`): only its address.
    TypelessKsym,
    /// A kernel configuration value at `offset` in the `.kconfig` map.
    Kconfig {
        /// The VAR's type id.
        ty: TypeId,
        /// Byte offset in the `.kconfig` map's value.
        offset: u32,
        /// Size in bytes.
        size: u32,
    },
}

/// An extern of the object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extern {
    /// The symbol as the object names it (flavour included).
    pub name: String,
    /// What it is.
    pub kind: ExternKind,
    /// Declared `__weak`: may be missing from the kernel.
    pub weak: bool,
}

impl Extern {
    /// The kernel symbol's name: the object's name without its flavour.
    pub fn kernel_name(&self) -> &str {
        crate::core::names::essential_name(&self.name)
    }
}

/// The externs declared in the object's `.ksyms` and `.kconfig` DATASECs, with the `.kconfig`
/// layout (each value aligned to its type) and its total size. `weak` says which ELF symbols
/// are weak.
pub(crate) fn collect(btf: &Btf, datasecs: &Datasecs<'_>, weak: &dyn Fn(&str) -> bool) -> Result<(Vec<Extern>, u32)> {
    let mut externs = Vec::new();
    let mut kconfig_size = 0u32;
    for section in [KSYMS_SECTION, KCONFIG_SECTION] {
        let Some(id) = datasecs.get(section) else { continue };
        let err = |e: bpfkit_btf::BtfError| ObjError::section(section, format!("BTF: {e}"));
        let TypeDetails::Datasec(vars) = btf.type_by_id(id).map_err(err)?.details() else { continue };
        for v in vars {
            let t = btf.type_by_id(v.ty).map_err(err)?;
            let name = t.name().map_err(err)?.to_owned();
            let is_weak = weak(&name);
            let bad = |why: String| ObjError::Symbol { symbol: name.clone(), section: section.to_owned(), why };
            let kind = match (section, t.details()) {
                (KSYMS_SECTION, TypeDetails::Func { .. }) => ExternKind::Kfunc { func: t.id() },
                (KSYMS_SECTION, TypeDetails::Var { ty, .. }) => {
                    let target = btf.skip_modifiers(ty).map_err(err)?;
                    if target == 0 { ExternKind::TypelessKsym } else { ExternKind::Ksym { var: t.id(), ty } }
                }
                (KCONFIG_SECTION, TypeDetails::Var { ty, .. }) => {
                    let size = btf.size_of(ty).map_err(|e| bad(format!("kconfig value has no size: {e}")))?;
                    let align =
                        btf.align_of(ty).map_err(|e| bad(format!("kconfig value has no alignment: {e}")))?.max(1);
                    let size = u32::try_from(size).map_err(|_| bad("kconfig value too large".into()))?;
                    let offset = u64::from(kconfig_size).div_ceil(align).saturating_mul(align);
                    let offset = u32::try_from(offset).map_err(|_| bad("kconfig section too large".into()))?;
                    kconfig_size = offset.checked_add(size).ok_or_else(|| bad("kconfig section too large".into()))?;
                    ExternKind::Kconfig { ty, offset, size }
                }
                (_, other) => {
                    return Err(bad(format!(
                        "a {} in the {section} DATASEC is not an extern libbpf defines",
                        kind_name(&other)
                    )));
                }
            };
            externs.push(Extern { name, kind, weak: is_weak });
        }
    }
    Ok((externs, kconfig_size))
}

fn kind_name(d: &TypeDetails<'_>) -> &'static str {
    match d {
        TypeDetails::Func { .. } => "FUNC",
        TypeDetails::Var { .. } => "VAR",
        _ => "type",
    }
}
