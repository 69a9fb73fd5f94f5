//! bpftool's visiting order: types sorted so that the header does not reshuffle when ids change
//! between kernel builds.
//!
//! The key is, in order: a rank by kind (anonymous enums, named enums, base types, named
//! structs and unions, function prototypes behind typedefs, everything else), a sort name (the
//! type's own, or that of what a typedef, pointer or array refers to; an anonymous enum's first
//! enumerator), the type's own name, a hash of the names making up its structure (which sets
//! same-named types apart by content), and the id.
//!
//! Since the first visit of a name decides who keeps it unsuffixed, this order also decides
//! which of several `struct foo`s is printed as `foo` and which as `foo___2`. Reproducing it
//! exactly (down to the hash, a multiply-by-31 string hash over `char`s) is what makes the
//! suffixes bpftool's.
//!
//! bpftool's loop starts at index 1 of the sorted array, meant to skip void, which never sorts
//! first; the type that does (the anonymous enum whose first enumerator sorts first) is skipped
//! as a starting point instead. It is still printed when something refers to it; an
//! unreferenced one is lost. Here it is visited like every other type (see "Differences from
//! bpftool" in the `c_header` docs).

use std::cmp::Ordering;

use super::state::Result;
use crate::TypeId;
use crate::btf::Btf;
use crate::error::BtfError;
use crate::types::TypeDetails;

/// Rank of everything without a better one.
const LAST_RANK: u8 = 10;

/// Deepest reference chain followed for a rank, sort name or hash (cycles end in `TooDeep`).
const MAX_CHAIN: u32 = 64;

/// The sort key of one type.
struct Key<'a> {
    rank: u8,
    sort_name: &'a str,
    own_name: &'a str,
    hash: u64,
    id: TypeId,
}

/// All type ids (void included, as bpftool sorts it too) in bpftool's order.
pub(super) fn bpftool_order(btf: &Btf) -> Result<Vec<TypeId>> {
    let mut keys = Vec::with_capacity(btf.type_count() as usize);
    for id in 0..btf.type_count() {
        keys.push(Key {
            rank: rank(btf, id, false, 0)?,
            sort_name: sort_name(btf, id, false, 0)?,
            own_name: if id == 0 { "" } else { btf.type_by_id(id)?.name()? },
            hash: structure_hash(btf, id, true, 0)?,
            id,
        });
    }
    keys.sort_unstable_by(|a, b| compare(a, b));
    Ok(keys.into_iter().map(|k| k.id).collect())
}

fn compare(a: &Key<'_>, b: &Key<'_>) -> Ordering {
    a.rank
        .cmp(&b.rank)
        .then_with(|| a.sort_name.cmp(b.sort_name))
        .then_with(|| a.own_name.cmp(b.own_name))
        .then_with(|| a.hash.cmp(&b.hash))
        .then_with(|| a.id.cmp(&b.id))
}

fn too_deep(id: TypeId, what: &'static str) -> BtfError {
    BtfError::TooDeep { id, limit: MAX_CHAIN, what }
}

/// The kind rank; `named` once some type on the way here had a name (a typedef's target ranks
/// as if it were named).
fn rank(btf: &Btf, id: TypeId, named: bool, depth: u32) -> Result<u8> {
    if depth > MAX_CHAIN {
        return Err(too_deep(id, "reference chain (sort rank)").into());
    }
    if id == 0 {
        return Ok(LAST_RANK);
    }
    let t = btf.type_by_id(id)?;
    let named = named || t.name_offset() != 0;
    Ok(match t.details() {
        TypeDetails::Enum(_) | TypeDetails::Enum64(_) => named as u8,
        TypeDetails::Int(_) | TypeDetails::Float => 2,
        TypeDetails::Struct(_) | TypeDetails::Union(_) if named => 3,
        TypeDetails::FuncProto { .. } if named => 4,
        TypeDetails::Array(a) if named => rank(btf, a.elem_type, true, depth + 1)?,
        TypeDetails::TypeTag(r)
        | TypeDetails::Const(r)
        | TypeDetails::Ptr(r)
        | TypeDetails::Volatile(r)
        | TypeDetails::Restrict(r)
        | TypeDetails::Typedef(r)
        | TypeDetails::DeclTag { ty: r, .. }
            if named =>
        {
            rank(btf, r, true, depth + 1)?
        }
        _ => LAST_RANK,
    })
}

/// The name a type sorts by; `via_ref` when reached from a typedef, pointer or array.
fn sort_name(btf: &Btf, id: TypeId, via_ref: bool, depth: u32) -> Result<&str> {
    if depth > MAX_CHAIN {
        return Err(too_deep(id, "reference chain (sort name)").into());
    }
    if id == 0 {
        return Ok("");
    }
    let t = btf.type_by_id(id)?;
    match t.details() {
        TypeDetails::Enum(values) if !via_ref && t.name_offset() == 0 => match values.get(0) {
            Some(first) => Ok(btf.str_at(first.name_off)?),
            None => Ok(""),
        },
        TypeDetails::Enum64(values) if !via_ref && t.name_offset() == 0 => match values.get(0) {
            Some(first) => Ok(btf.str_at(first.name_off)?),
            None => Ok(""),
        },
        TypeDetails::Array(a) => sort_name(btf, a.elem_type, true, depth + 1),
        TypeDetails::TypeTag(r)
        | TypeDetails::Const(r)
        | TypeDetails::Ptr(r)
        | TypeDetails::Volatile(r)
        | TypeDetails::Restrict(r)
        | TypeDetails::Typedef(r)
        | TypeDetails::DeclTag { ty: r, .. } => sort_name(btf, r, true, depth + 1),
        _ => Ok(t.name()?),
    }
}

/// `h * 31 + v`, wrapping.
fn mix(h: u64, v: u64) -> u64 {
    h.wrapping_mul(31).wrapping_add(v)
}

/// libbpf's string hash: `h * 31 + c` over the bytes taken as signed `char`s (x86).
fn str_hash(s: &[u8]) -> u64 {
    s.iter().fold(0u64, |h, &c| mix(h, c as i8 as i64 as u64))
}

/// Mixes in the name at `name_off`, if any.
fn mix_name(btf: &Btf, h: u64, name_off: u32) -> Result<u64> {
    if name_off == 0 { Ok(h) } else { Ok(mix(h, str_hash(btf.str_bytes_at(name_off)?))) }
}

/// A hash of the names that make up `id`: its own, its enumerators', and with `members` its
/// members' names and their types' names (one level deep).
fn structure_hash(btf: &Btf, id: TypeId, members: bool, depth: u32) -> Result<u64> {
    if depth > MAX_CHAIN {
        return Err(too_deep(id, "reference chain (sort hash)").into());
    }
    if id == 0 {
        return Ok(0);
    }
    let t = btf.type_by_id(id)?;
    let mut h = mix_name(btf, 0, t.name_offset())?;
    match t.details() {
        TypeDetails::Enum(values) => {
            for v in values {
                h = mix_name(btf, h, v.name_off)?;
            }
        }
        TypeDetails::Enum64(values) => {
            for v in values {
                h = mix_name(btf, h, v.name_off)?;
            }
        }
        TypeDetails::Struct(list) | TypeDetails::Union(list) if members => {
            for m in list {
                h = mix_name(btf, h, m.name_off)?;
                h = mix(h, structure_hash(btf, m.ty, false, depth + 1)?);
            }
        }
        TypeDetails::TypeTag(r)
        | TypeDetails::Const(r)
        | TypeDetails::Ptr(r)
        | TypeDetails::Volatile(r)
        | TypeDetails::Restrict(r)
        | TypeDetails::Typedef(r)
        | TypeDetails::DeclTag { ty: r, .. } => h = mix(h, structure_hash(btf, r, members, depth + 1)?),
        TypeDetails::Array(a) => {
            h = mix(h, a.nelems as u64);
            h = mix(h, structure_hash(btf, a.elem_type, members, depth + 1)?);
        }
        _ => {}
    }
    Ok(h)
}
