//! Type compatibility between an object's (local) BTF and a kernel's (target) BTF, the three
//! relations CO-RE uses:
//!
//! - *field compatible* ([`fields_compatible`]): what a matched member's type must satisfy for a
//!   field relocation (any two composites; same kind otherwise, integers of any size, enums of
//!   the same essential name, arrays of compatible elements);
//! - *type compatible* ([`types_compatible`]): for `type_exists`, `type_size` and
//!   `type_id_kernel` (same kinds through pointers, arrays and function prototypes, sizes
//!   ignored);
//! - *type matches* ([`types_match`]): for `bpf_core_type_matches`, a structural match (local
//!   members exist in the target by name and match recursively, integers of the same size and
//!   signedness, enums with every local enumerator present, arrays of the same length).
//!
//! All walks are depth-bounded: a cyclic type graph gives an error, not a hang.

use bpfkit_btf::{Btf, Kind, TypeDetails, TypeId};

use super::names::same_essential;

/// How deep the walks follow pointers, arrays, members and parameters.
const MAX_DEPTH: u32 = 32;

type R = Result<bool, String>;

/// A type with modifiers and typedefs skipped, and its kind.
fn peel(btf: &Btf, id: TypeId) -> Result<(TypeId, Option<Kind>), String> {
    let id = btf.resolve(id).map_err(|e| e.to_string())?;
    Ok((id, if id == 0 { None } else { btf.kind_of(id) }))
}

/// Same kind, counting ENUM and ENUM64 as one.
pub(crate) fn kinds_compatible(a: Option<Kind>, b: Option<Kind>) -> bool {
    let any_enum = |k| matches!(k, Some(Kind::Enum | Kind::Enum64));
    a == b || (any_enum(a) && any_enum(b))
}

fn name(btf: &Btf, id: TypeId) -> Result<&str, String> {
    if id == 0 {
        return Ok("");
    }
    btf.type_by_id(id).and_then(|t| t.name()).map_err(|e| e.to_string())
}

/// Names match up to flavours; an anonymous name matches anything.
fn names_match(a: &str, b: &str) -> bool {
    a.is_empty() || b.is_empty() || same_essential(a, b)
}

/// An INT that is not a (deprecated) bitfield-style integer with a bit offset.
fn plain_int(btf: &Btf, id: TypeId) -> bool {
    matches!(btf.type_by_id(id).map(|t| t.details()), Ok(TypeDetails::Int(i)) if i.offset() == 0)
}

/// Field compatibility of a local member type and a target member type.
pub(crate) fn fields_compatible(local: &Btf, mut lid: TypeId, target: &Btf, mut tid: TypeId) -> R {
    for _ in 0..MAX_DEPTH {
        let (l, lk) = peel(local, lid)?;
        let (t, tk) = peel(target, tid)?;
        let composite = |k| matches!(k, Some(Kind::Struct | Kind::Union));
        if composite(lk) && composite(tk) {
            return Ok(true);
        }
        if !kinds_compatible(lk, tk) {
            return Ok(false);
        }
        match lk {
            Some(Kind::Ptr | Kind::Float) => return Ok(true),
            Some(Kind::Fwd | Kind::Enum | Kind::Enum64) => {
                return Ok(names_match(name(local, l)?, name(target, t)?));
            }
            Some(Kind::Int) => return Ok(plain_int(local, l) && plain_int(target, t)),
            Some(Kind::Array) => {
                let elem = |btf: &Btf, id| match btf.type_by_id(id).map(|t| t.details()) {
                    Ok(TypeDetails::Array(a)) => Ok(a.elem_type),
                    _ => Err(format!("[{id}] is not an array")),
                };
                lid = elem(local, l)?;
                tid = elem(target, t)?;
            }
            _ => return Ok(false),
        }
    }
    Err("type nesting too deep comparing field types".into())
}

/// Type compatibility for type-based relocations (roots already matched by name).
pub(crate) fn types_compatible(local: &Btf, lid: TypeId, target: &Btf, tid: TypeId) -> R {
    compatible_at(local, lid, target, tid, MAX_DEPTH)
}

fn compatible_at(local: &Btf, mut lid: TypeId, target: &Btf, mut tid: TypeId, depth: u32) -> R {
    if depth == 0 {
        return Err("type nesting too deep comparing types".into());
    }
    for _ in 0..MAX_DEPTH {
        let (l, lk) = peel(local, lid)?;
        let (t, tk) = peel(target, tid)?;
        if !kinds_compatible(lk, tk) {
            return Ok(false);
        }
        let (ld, td) = match (lk, local.type_by_id(l), target.type_by_id(t)) {
            (None, _, _) => return Ok(true), // void and void
            (_, Ok(a), Ok(b)) => (a.details(), b.details()),
            (_, Err(e), _) | (_, _, Err(e)) => return Err(e.to_string()),
        };
        match (ld, td) {
            (TypeDetails::Struct(_), _)
            | (TypeDetails::Union(_), _)
            | (TypeDetails::Enum(_), _)
            | (TypeDetails::Enum64(_), _)
            | (TypeDetails::Fwd { .. }, _) => return Ok(true),
            (TypeDetails::Int(a), TypeDetails::Int(b)) => return Ok(a.offset() == 0 && b.offset() == 0),
            (TypeDetails::Ptr(a), TypeDetails::Ptr(b)) => (lid, tid) = (a, b),
            (TypeDetails::Array(a), TypeDetails::Array(b)) => (lid, tid) = (a.elem_type, b.elem_type),
            (TypeDetails::FuncProto { ret: lr, params: lp }, TypeDetails::FuncProto { ret: tr, params: tp }) => {
                if lp.total_len() != tp.total_len() {
                    return Ok(false);
                }
                for (a, b) in lp.zip(tp) {
                    if !compatible_at(local, a.ty, target, b.ty, depth - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (lr, tr);
            }
            _ => return Ok(false),
        }
    }
    Err("type nesting too deep comparing types".into())
}

/// The structural match of `bpf_core_type_matches` (roots already matched by name).
pub(crate) fn types_match(local: &Btf, lid: TypeId, target: &Btf, tid: TypeId) -> R {
    match_at(local, lid, target, tid, false, MAX_DEPTH)
}

fn match_at(local: &Btf, mut lid: TypeId, target: &Btf, mut tid: TypeId, mut behind_ptr: bool, depth: u32) -> R {
    if depth == 0 {
        return Err("type nesting too deep matching types".into());
    }
    for _ in 0..MAX_DEPTH {
        let (l, lk) = peel(local, lid)?;
        let (t, tk) = peel(target, tid)?;
        if !names_match(name(local, l)?, name(target, t)?) {
            return Ok(false);
        }
        let (Some(lk), Some(tk)) = (lk, tk) else { return Ok(lk == tk) };
        let lt = local.type_by_id(l).map_err(|e| e.to_string())?;
        let tt = target.type_by_id(t).map_err(|e| e.to_string())?;
        match lk {
            Kind::Fwd => {
                let local_union = lt.kind_flag();
                return Ok(if behind_ptr && tk != Kind::Fwd {
                    (tk == Kind::Struct && !local_union) || (tk == Kind::Union && local_union)
                } else {
                    tk == Kind::Fwd && local_union == tt.kind_flag()
                });
            }
            Kind::Enum | Kind::Enum64 => {
                if !matches!(tk, Kind::Enum | Kind::Enum64) || lt.size() != tt.size() {
                    return Ok(false);
                }
                let names = |btf: &Btf, ty: &bpfkit_btf::Type<'_>| -> Result<Vec<String>, String> {
                    let offs: Vec<u32> = match ty.details() {
                        TypeDetails::Enum(e) => e.map(|v| v.name_off).collect(),
                        TypeDetails::Enum64(e) => e.map(|v| v.name_off).collect(),
                        _ => Vec::new(),
                    };
                    offs.into_iter().map(|o| btf.str_at(o).map(str::to_owned).map_err(|e| e.to_string())).collect()
                };
                let theirs = names(target, &tt)?;
                return Ok(names(local, &lt)?.iter().all(|n| theirs.iter().any(|m| names_match(n, m))));
            }
            Kind::Struct | Kind::Union => {
                if behind_ptr {
                    return Ok(lk == tk || (tk == Kind::Fwd && (lk == Kind::Union) == tt.kind_flag()));
                }
                if lk != tk || lt.vlen() > tt.vlen() {
                    return Ok(false);
                }
                for lm in lt.members() {
                    let ln = local.str_at(lm.name_off).map_err(|e| e.to_string())?;
                    let mut matched = false;
                    for tm in tt.members() {
                        let tn = target.str_at(tm.name_off).map_err(|e| e.to_string())?;
                        if names_match(ln, tn) && match_at(local, lm.ty, target, tm.ty, behind_ptr, depth - 1)? {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            Kind::Int => {
                let (TypeDetails::Int(a), TypeDetails::Int(b)) = (lt.details(), tt.details()) else {
                    return Ok(false);
                };
                return Ok(lt.size() == tt.size() && a.encoding().is_signed() == b.encoding().is_signed());
            }
            Kind::Ptr => {
                if tk != Kind::Ptr {
                    return Ok(false);
                }
                behind_ptr = true;
                (lid, tid) = (lt.size_or_type(), tt.size_or_type());
            }
            Kind::Array => match (lt.details(), tt.details()) {
                (TypeDetails::Array(a), TypeDetails::Array(b)) if a.nelems == b.nelems => {
                    (lid, tid) = (a.elem_type, b.elem_type)
                }
                _ => return Ok(false),
            },
            Kind::FuncProto => match (lt.details(), tt.details()) {
                (TypeDetails::FuncProto { ret: lr, params: lp }, TypeDetails::FuncProto { ret: tr, params: tp }) => {
                    if lp.total_len() != tp.total_len() {
                        return Ok(false);
                    }
                    for (a, b) in lp.zip(tp) {
                        if !match_at(local, a.ty, target, b.ty, behind_ptr, depth - 1)? {
                            return Ok(false);
                        }
                    }
                    (lid, tid) = (lr, tr);
                }
                _ => return Ok(false),
            },
            Kind::Float => return Ok(tk == Kind::Float && lt.size() == tt.size()),
            _ => return Ok(false),
        }
    }
    Err("type nesting too deep matching types".into())
}
