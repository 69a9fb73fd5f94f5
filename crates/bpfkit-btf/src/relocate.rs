//! Relocating split BTF from its distilled base onto a real base (a module's `.BTF.base`).
//!
//! A module built out of tree since Linux 6.11 can carry, beside its split `.BTF`, a small
//! *distilled* base in `.BTF.base`: the named INTs, FLOATs, FWDs and member-less sized
//! STRUCTs, UNIONs and ENUMs its types refer to, instead of ids into one exact vmlinux. At
//! module load the kernel maps each distilled type to a type of the running vmlinux and rewrites
//! the split BTF's ids and string offsets; `/sys/kernel/btf/<module>` then shows the result.
//! [`relocate`] does the same in user space, with the kernel's matching rules, so that a `.ko`
//! can be read against any kernel without loading it.
//!
//! The rules (those of `kernel/bpf/btf_relocate.c`): a distilled type matches a base type of the
//! same name when
//! * INT: the base type is an INT of the same size and encoding;
//! * FLOAT: a FLOAT of the same size;
//! * ENUM: an ENUM or ENUM64 of the same size (distilling turns both into a sized ENUM);
//! * FWD: a FWD of the same flavour, or a STRUCT (struct FWD) or UNION (union FWD);
//! * STRUCT/UNION: a struct, union or FWD; of the same size if the split BTF embeds the type by
//!   value (through typedefs, modifiers and arrays, not pointers) or if the base has several
//!   structs/unions of that name.
//!
//! Every distilled type must match exactly one base type. Where this differs from the kernel it
//! is stricter and says more: the kernel would also map a distilled struct onto a same-named
//! INT, FLOAT or ENUM of the same size (we never map an aggregate onto a scalar), it stops at the
//! first failure (we report every unmatched or ambiguous type, each with its kind, size and, when
//! ambiguous, all candidate ids). And a distilled FWD matches a base STRUCT or UNION by its own
//! flavour (struct FWD: struct, union FWD: union); the kernel tests the *base* type's kind flag
//! there, which for a struct means "bitfield members encoded with sizes", so it refuses a struct
//! FWD against a struct with bitfields and accepts a union FWD against a struct without.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::TypeId;
use crate::btf::Btf;
use crate::builder::{BtfBuilder, RecordData};
use crate::error::{BtfError, Result};
use crate::kind::Kind;
use crate::resolve::MAX_NESTING_DEPTH;
use crate::types::TypeDetails;

/// A type of a distilled base, as named in relocation errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistilledType {
    /// Its id in the distilled base.
    pub id: TypeId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its size in bytes (0 for a FWD).
    pub size: u32,
    /// Whether the split BTF embeds it by value, so that its size must match.
    pub embedded: bool,
}

impl fmt::Display for DistilledType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} '{}' [{}]", self.kind, self.name, self.id)?;
        match (self.kind, self.embedded) {
            (Kind::Fwd, _) => Ok(()),
            (_, true) => write!(f, " (size {}, embedded by value)", self.size),
            (_, false) => write!(f, " (size {})", self.size),
        }
    }
}

/// Why split BTF could not be relocated onto a base.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelocateError {
    /// The split BTF does not sit on a distilled base.
    #[error("not split BTF on a distilled base: {0}")]
    NotDistilled(&'static str),
    /// A distilled base holds only named INT, FLOAT, ENUM, STRUCT, UNION and FWD types.
    #[error("distilled base type [{id}] ({kind}) is invalid: {reason}")]
    BadDistilledType {
        /// The distilled type's id.
        id: TypeId,
        /// Its kind.
        kind: Kind,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Distilled types that match more than one base type.
    #[error("{}", list_ambiguous(.0))]
    Ambiguous(Vec<(DistilledType, Vec<TypeId>)>),
    /// Distilled types that match no base type.
    #[error("{}", list_unmatched(.0))]
    Unmatched(Vec<DistilledType>),
    /// A split type of a kind this crate cannot rewrite (its type references are unknown).
    #[error("split type [{id}] has kind {kind}, whose type references are unknown; cannot relocate it")]
    UnknownKind {
        /// The split type's id.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A split type uses a distilled-base string that is not a matched type's name.
    #[error("split type [{id}] uses string offset {offset} of the distilled base, which is no distilled type's name")]
    UnmappedString {
        /// The split type's id.
        id: TypeId,
        /// The string offset.
        offset: u32,
    },
    /// A member's type chain of a split struct or union does not end (a cycle).
    #[error("member types of split type [{id}] form a chain longer than {limit}; cycle in the type graph?")]
    ChainTooLong {
        /// The split type's id.
        id: TypeId,
        /// The depth limit hit.
        limit: u32,
    },
}

const LISTED: usize = 8;

fn list_unmatched(types: &[DistilledType]) -> String {
    let mut s = format!("{} distilled base type(s) match no type of the base:", types.len());
    for t in types.iter().take(LISTED) {
        s.push_str(&format!(" {t};"));
    }
    if types.len() > LISTED {
        s.push_str(&format!(" and {} more", types.len() - LISTED));
    }
    s.trim_end_matches(';').to_owned()
}

fn list_ambiguous(types: &[(DistilledType, Vec<TypeId>)]) -> String {
    let mut s = format!("{} distilled base type(s) match several types of the base:", types.len());
    for (t, ids) in types.iter().take(LISTED) {
        s.push_str(&format!(" {t} matches ids {ids:?};"));
    }
    if types.len() > LISTED {
        s.push_str(&format!(" and {} more", types.len() - LISTED));
    }
    s.trim_end_matches(';').to_owned()
}

/// Split BTF relocated onto a real base, with the mapping that was used.
#[derive(Debug)]
pub struct Relocation {
    btf: Btf,
    base_ids: Vec<TypeId>,
}

impl Relocation {
    /// The relocated split BTF, on the new base.
    pub fn btf(&self) -> &Btf {
        &self.btf
    }

    /// Takes the relocated split BTF.
    pub fn into_btf(self) -> Btf {
        self.btf
    }

    /// The base type each distilled type was mapped to (`None` for 0 and ids past the distilled
    /// base).
    pub fn base_id_of(&self, distilled: TypeId) -> Option<TypeId> {
        self.base_ids.get(distilled as usize).copied().filter(|&id| id != 0)
    }

    /// How many distilled types there were (and were mapped).
    pub fn distilled_count(&self) -> usize {
        self.base_ids.len().saturating_sub(1)
    }
}

/// Relocates `split`, parsed on its distilled base, onto `base` (normally vmlinux).
///
/// ```no_run
/// use std::sync::Arc;
/// use bpfkit_btf::{Btf, ModuleFile, relocate};
/// let module = ModuleFile::open("bpfkit_testmod.ko")?;
/// let vmlinux = Arc::new(Btf::open("/sys/kernel/btf/vmlinux", None)?);
/// let on_distilled = module.btf_on(None)?; // split on its .BTF.base
/// let relocated = relocate(&on_distilled, vmlinux)?;
/// println!("{} distilled types mapped", relocated.distilled_count());
/// # Ok::<(), bpfkit_btf::BtfError>(())
/// ```
///
/// The output has the same types in the same order and the same string section as the input
/// (the kernel rewrites the records in place), with references to distilled types replaced by
/// the matching base ids, split ids moved past `base`'s last id, and string offsets moved past
/// `base`'s strings: the bytes `/sys/kernel/btf/<module>` shows.
pub fn relocate(split: &Btf, base: Arc<Btf>) -> Result<Relocation> {
    let distilled = split.base().ok_or(RelocateError::NotDistilled("it has no base"))?;
    if distilled.is_split() {
        return Err(RelocateError::NotDistilled("its base is itself split BTF").into());
    }
    if Arc::ptr_eq(distilled, &base) {
        return Err(RelocateError::NotDistilled("it already sits on that base").into());
    }
    if base.endian() != split.endian() {
        return Err(BtfError::EndiannessMismatch);
    }
    check_distilled(distilled)?;
    let embedded = embedded_types(split, distilled.type_count())?;
    let base_ids = map_distilled(distilled, &base, &embedded)?;
    let btf = rewrite(split, distilled, &base, &base_ids)?;
    Ok(Relocation { btf, base_ids })
}

/// A distilled base has only named INT, FLOAT, ENUM, STRUCT, UNION and FWD types.
fn check_distilled(distilled: &Btf) -> Result<()> {
    for t in distilled.types() {
        let kind = t.kind();
        if !matches!(kind, Kind::Int | Kind::Float | Kind::Enum | Kind::Struct | Kind::Union | Kind::Fwd) {
            return Err(RelocateError::BadDistilledType { id: t.id(), kind, reason: "kind not allowed there" }.into());
        }
        if t.name_offset() == 0 {
            return Err(RelocateError::BadDistilledType { id: t.id(), kind, reason: "anonymous" }.into());
        }
        t.name()?;
    }
    Ok(())
}

/// Which distilled structs/unions the split BTF embeds by value: a member's type, followed
/// through typedefs, modifiers and array elements (not pointers), is that struct/union.
fn embedded_types(split: &Btf, distilled_count: u32) -> Result<Vec<bool>> {
    let mut embedded = vec![false; distilled_count as usize];
    for t in split.types() {
        let members = match t.details() {
            TypeDetails::Struct(m) | TypeDetails::Union(m) => m,
            _ => continue,
        };
        for member in members {
            let mut next = member.ty;
            let mut steps = 0;
            while next != 0 {
                steps += 1;
                if steps > MAX_NESTING_DEPTH {
                    return Err(RelocateError::ChainTooLong { id: t.id(), limit: MAX_NESTING_DEPTH }.into());
                }
                let ty = split.type_by_id(next)?;
                next = match ty.details() {
                    TypeDetails::Typedef(to)
                    | TypeDetails::Const(to)
                    | TypeDetails::Volatile(to)
                    | TypeDetails::Restrict(to)
                    | TypeDetails::TypeTag(to) => to,
                    TypeDetails::Array(a) => a.elem_type,
                    TypeDetails::Struct(_) | TypeDetails::Union(_) => {
                        if let Some(flag) = embedded.get_mut(next as usize) {
                            *flag = true;
                        }
                        0
                    }
                    _ => 0,
                };
            }
        }
    }
    Ok(embedded)
}

/// Maps every distilled type to its one matching base type (index: distilled id; 0 for void).
fn map_distilled(distilled: &Btf, base: &Btf, embedded: &[bool]) -> Result<Vec<TypeId>> {
    // Distilled ids by name (names were checked to be UTF-8).
    let mut by_name: HashMap<&str, Vec<TypeId>> = HashMap::new();
    for t in distilled.types() {
        by_name.entry(t.name()?).or_default().push(t.id());
    }
    let count = distilled.type_count() as usize;
    let mut matches: Vec<Vec<TypeId>> = vec![Vec::new(); count];
    for (name, dist_ids) in &by_name {
        let candidates = base.find_all_by_name(name);
        let mut composites = 0;
        for &id in &candidates {
            if matches!(base.kind_of(id), Some(Kind::Struct | Kind::Union)) {
                composites += 1;
            }
        }
        for &base_id in &candidates {
            let bt = base.type_by_id(base_id)?;
            let (bkind, bsize, bflag) = (bt.kind(), bt.size_or_type(), bt.kind_flag());
            let needs_size = match bkind {
                Kind::Int | Kind::Float | Kind::Enum | Kind::Enum64 => true,
                Kind::Struct | Kind::Union => composites > 1,
                Kind::Fwd => false,
                _ => continue,
            };
            for &dist_id in dist_ids {
                let dt = distilled.type_by_id(dist_id)?;
                let dsize = dt.size_or_type();
                if needs_size && dsize != bsize {
                    continue;
                }
                let compatible = match dt.kind() {
                    Kind::Fwd => match bkind {
                        Kind::Fwd => bflag == dt.kind_flag(),
                        Kind::Struct => !dt.kind_flag(),
                        Kind::Union => dt.kind_flag(),
                        _ => false,
                    },
                    Kind::Int => match (dt.details(), bt.details()) {
                        (TypeDetails::Int(d), TypeDetails::Int(b)) => d.encoding() == b.encoding(),
                        _ => false,
                    },
                    Kind::Float => bkind == Kind::Float,
                    Kind::Enum => matches!(bkind, Kind::Enum | Kind::Enum64),
                    Kind::Struct | Kind::Union => {
                        matches!(bkind, Kind::Struct | Kind::Union | Kind::Fwd)
                            && (!embedded.get(dist_id as usize).copied().unwrap_or(false) || dsize == bsize)
                    }
                    _ => false,
                };
                if compatible {
                    matches[dist_id as usize].push(base_id);
                }
            }
        }
    }
    let describe = |id: TypeId| -> Result<DistilledType> {
        let t = distilled.type_by_id(id)?;
        Ok(DistilledType {
            id,
            name: t.name()?.to_owned(),
            kind: t.kind(),
            size: t.size_or_type(),
            embedded: embedded.get(id as usize).copied().unwrap_or(false),
        })
    };
    let (mut unmatched, mut ambiguous) = (Vec::new(), Vec::new());
    let mut base_ids = vec![0; count];
    for id in 1..count {
        match matches[id].as_slice() {
            [one] => base_ids[id] = *one,
            [] => unmatched.push(describe(id as TypeId)?),
            several => ambiguous.push((describe(id as TypeId)?, several.to_vec())),
        }
    }
    if !ambiguous.is_empty() {
        return Err(RelocateError::Ambiguous(ambiguous).into());
    }
    if !unmatched.is_empty() {
        return Err(RelocateError::Unmatched(unmatched).into());
    }
    Ok(base_ids)
}

/// Rewrites the split records' ids and string offsets for `base` and parses the result on it.
fn rewrite(split: &Btf, distilled: &Btf, base: &Arc<Btf>, base_ids: &[TypeId]) -> Result<Btf> {
    let (dist_types, new_first) = (distilled.type_count(), base.type_count());
    let (dist_strs, base_strs) = (distilled.strings_len(), base.strings_len());
    let mut names: HashMap<u32, u32> = HashMap::new();
    for (dist_id, &base_id) in base_ids.iter().enumerate().skip(1) {
        let from = distilled.type_by_id(dist_id as TypeId)?.name_offset();
        names.insert(from, base.type_by_id(base_id)?.name_offset());
    }
    let mut builder = BtfBuilder::from_btf(split);
    builder.rebase(new_first, base_strs);
    let first = split.first_id();
    for index in 0..split.own_type_count() {
        let id = first + index as TypeId;
        let Some(record) = builder.record_mut(new_first + index as TypeId) else {
            return Err(BtfError::IdOutOfRange { id, end: split.type_count() });
        };
        if let RecordData::Unknown { kind, .. } = record.data {
            return Err(RelocateError::UnknownKind { id, kind: Kind::Unknown(kind) }.into());
        }
        record.data.try_for_each_type_id(|ty| {
            *ty = match *ty {
                0 => 0,
                t if t < dist_types => base_ids[t as usize],
                t => (t - dist_types).checked_add(new_first).ok_or(BtfError::IdOutOfRange { id: t, end: u32::MAX })?,
            };
            Ok::<(), BtfError>(())
        })?;
        record.try_for_each_string(|off| {
            *off = match *off {
                0 => 0,
                o if o >= dist_strs => (o - dist_strs)
                    .checked_add(base_strs)
                    .ok_or(BtfError::StringOutOfRange { offset: o, len: u32::MAX })?,
                o => *names.get(&o).ok_or(RelocateError::UnmappedString { id, offset: o })?,
            };
            Ok::<(), BtfError>(())
        })?;
    }
    Btf::parse_split(builder.encode()?, base.clone())
}
