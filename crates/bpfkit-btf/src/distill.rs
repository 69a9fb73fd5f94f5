//! Distilling: cutting split BTF loose from the exact base it was built on.
//!
//! A module's split BTF refers to vmlinux types by id, so it is only valid on that one vmlinux.
//! [`distill`] rewrites it onto a *distilled base* that keeps just enough of each referenced base
//! type to find it again in another kernel's vmlinux: named INTs, FLOATs and FWDs as they are,
//! named STRUCTs and UNIONs as member-less records of the same size, named ENUMs and ENUM64s as
//! empty sized ENUMs. Everything else the split BTF reaches in the base (pointers, arrays,
//! typedefs, modifiers, function prototypes, anonymous structs, unions and enums) is copied into
//! the split BTF, after its own types. [`relocate`](crate::relocate()) undoes this onto any
//! base that has the named types; this is the `.BTF.base` format of kernels since 6.11.

use std::sync::Arc;

use crate::TypeId;
use crate::btf::Btf;
use crate::builder::{BtfBuilder, RecordData, TypeRecord};
use crate::error::{BtfError, Result};
use crate::kind::Kind;

/// Why split BTF could not be distilled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DistillError {
    /// Only split BTF has a base to distill.
    #[error("the BTF has no base to distill (it is not split BTF)")]
    NotSplit,
    /// A split type refers to a base type that no module type can legitimately refer to.
    #[error("type [{from}] refers to base type [{to}] of kind {kind}, which a distilled base cannot describe")]
    UnexpectedBaseReference {
        /// The referring type.
        from: TypeId,
        /// The base type referred to.
        to: TypeId,
        /// Its kind.
        kind: Kind,
    },
    /// A type of a kind this crate cannot rewrite (its type references are unknown).
    #[error("type [{id}] has kind {kind}, whose type references are unknown; cannot distill it")]
    UnknownKind {
        /// The type's id.
        id: TypeId,
        /// Its kind.
        kind: Kind,
    },
}

/// The result of [`distill`]: a distilled base and the split BTF rewritten onto it.
#[derive(Debug)]
pub struct Distilled {
    /// The distilled base (what a module carries as `.BTF.base`).
    pub base: Arc<Btf>,
    /// The split BTF on `base` (the module's new `.BTF`): the original types first, in their
    /// order, then the base types copied in.
    pub split: Btf,
}

/// Where a referenced base type goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Unused,
    Base,
    Split,
}

fn place_of(kind: Kind, named: bool) -> Place {
    match kind {
        // A distilled base holds named types only (anonymous ones could not be matched).
        Kind::Int | Kind::Float | Kind::Fwd | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 if named => {
            Place::Base
        }
        _ => Place::Split,
    }
}

/// Distills `split`'s base: its referenced base types, reduced to what finds them again in
/// another vmlinux (named INTs, FLOATs and FWDs as they are, named STRUCTs and UNIONs without
/// members, named ENUMs without enumerators), become the distilled base; everything else it
/// reaches in the base is copied into the split BTF. [`relocate`](crate::relocate()) undoes it.
pub fn distill(split: &Btf) -> Result<Distilled> {
    let base = split.base().ok_or(DistillError::NotSplit)?;
    let first = split.first_id();
    let places = referenced_base_types(split)?;

    // The distilled base, in base id order.
    let mut dist = BtfBuilder::new();
    dist.set_endian(split.endian());
    let mut new_ids: Vec<TypeId> = vec![0; first as usize];
    for id in 1..first {
        if places[id as usize] != Place::Base {
            continue;
        }
        let t = base.type_by_id(id)?;
        let name_off = dist.add_string(t.name()?);
        let size = t.size_or_type();
        let data = match t.kind() {
            Kind::Struct => RecordData::Struct { size, members: Vec::new() },
            Kind::Union => RecordData::Union { size, members: Vec::new() },
            Kind::Enum | Kind::Enum64 => RecordData::Enum { size, values: Vec::new() },
            _ => t.to_record().data,
        };
        let kind_flag = matches!(t.kind(), Kind::Int | Kind::Float | Kind::Fwd) && t.kind_flag();
        new_ids[id as usize] = dist.add_type(TypeRecord { name_off, kind_flag, data });
    }
    let dist = Arc::new(Btf::parse(dist.encode()?)?);

    // The split: its own types (strings kept, ids shifted), then the copied base types.
    let mut out = BtfBuilder::from_btf(split);
    out.rebase(dist.type_count(), dist.strings_len());
    for id in 1..first {
        if places[id as usize] == Place::Split {
            let record = base.type_by_id(id)?.to_record();
            new_ids[id as usize] = out.add_type(record);
        }
    }
    let shift = first - dist.type_count();
    let base_strs = base.strings_len();
    let (dist_types, dist_strs) = (dist.type_count(), dist.strings_len());
    let copied_from = dist_types + split.own_type_count() as TypeId;
    for id in dist_types..out.next_id() {
        let Some(mut record) = out.record_mut(id).cloned() else {
            return Err(BtfError::IdOutOfRange { id, end: out.next_id() });
        };
        record.data.try_for_each_type_id(|ty| {
            *ty = if *ty >= first { *ty - shift } else { new_ids[*ty as usize] };
            Ok::<(), BtfError>(())
        })?;
        // Own strings move with the base's end (or are copied, where they were the base's);
        // the copied base types' strings are all the base's.
        let own = id < copied_from;
        record.try_for_each_string(|off| {
            *off = match *off {
                0 => 0,
                o if own && o >= base_strs => o - base_strs + dist_strs,
                o => base_string(&mut out, base, o)?,
            };
            Ok::<(), BtfError>(())
        })?;
        if let Some(slot) = out.record_mut(id) {
            *slot = record;
        }
    }
    let split = Btf::parse_split(out.encode()?, dist.clone())?;
    Ok(Distilled { base: dist, split })
}

/// The base string at `off` added to the split being built (0 stays 0).
fn base_string(out: &mut BtfBuilder, base: &Btf, off: u32) -> Result<u32> {
    if off == 0 {
        return Ok(0);
    }
    Ok(out.add_string(base.str_at(off)?))
}

/// Where each base type the split BTF reaches goes (index: base id). Named structs and unions
/// end the walk: the distilled base keeps them without members.
fn referenced_base_types(split: &Btf) -> Result<Vec<Place>> {
    let base = split.base().ok_or(DistillError::NotSplit)?;
    let first = split.first_id();
    let mut places = vec![Place::Unused; first as usize];
    let mut stack: Vec<(TypeId, TypeId)> = Vec::new();
    for t in split.types() {
        let record = t.to_record();
        if let RecordData::Unknown { kind, .. } = record.data {
            return Err(DistillError::UnknownKind { id: t.id(), kind: Kind::Unknown(kind) }.into());
        }
        stack.extend(record.data.type_ids().into_iter().map(|to| (t.id(), to)));
        while let Some((from, id)) = stack.pop() {
            if id == 0 || id >= first || places[id as usize] != Place::Unused {
                continue;
            }
            let bt = base.type_by_id(id)?;
            let kind = bt.kind();
            let allowed = matches!(
                kind,
                Kind::Int
                    | Kind::Float
                    | Kind::Fwd
                    | Kind::Array
                    | Kind::Struct
                    | Kind::Union
                    | Kind::Typedef
                    | Kind::Enum
                    | Kind::Enum64
                    | Kind::Ptr
                    | Kind::Const
                    | Kind::Restrict
                    | Kind::Volatile
                    | Kind::FuncProto
                    | Kind::TypeTag
            );
            if !allowed {
                return Err(DistillError::UnexpectedBaseReference { from, to: id, kind }.into());
            }
            let named = bt.name_offset() != 0;
            places[id as usize] = place_of(kind, named);
            if matches!(kind, Kind::Struct | Kind::Union) && named {
                continue;
            }
            stack.extend(bt.to_record().data.type_ids().into_iter().map(|to| (id, to)));
        }
    }
    Ok(places)
}
