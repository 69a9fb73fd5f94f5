//! Structural equality of types across two BTF blobs.
//!
//! Relocated or distilled BTF has different ids than the BTF it came from (a typedef the base
//! had is now a copy in the split BTF), and the same module built for two kernels numbers its
//! types differently, so "the same types" cannot be checked by comparing ids or bytes. Two types
//! are *equivalent* when they have the same kind, name, sizes, flags and elements and every type
//! they refer to is equivalent in turn; ids below a base both blobs share are the same type only
//! when equal. Cycles (a struct pointing to itself) are handled by assuming a pair equal while it
//! is being checked: the greatest fixed point, as BTF deduplication uses.

use std::collections::HashSet;
use std::sync::Arc;

use crate::TypeId;
use crate::btf::Btf;
use crate::error::Result;
use crate::types::{Type, TypeDetails};

/// Compares types of `a` with types of `b`; proven pairs are remembered between calls.
#[derive(Debug)]
pub struct Equivalence<'a> {
    a: &'a Btf,
    b: &'a Btf,
    shared_below: TypeId,
    proven: HashSet<(TypeId, TypeId)>,
}

/// The number of ids (void included) of the deepest base `a` and `b` share.
fn shared_base(a: &Btf, b: &Btf) -> TypeId {
    let mut x: Option<&Arc<Btf>> = a.base();
    while let Some(xb) = x {
        let mut y: Option<&Arc<Btf>> = b.base();
        while let Some(yb) = y {
            if Arc::ptr_eq(xb, yb) {
                return xb.type_count();
            }
            y = yb.base();
        }
        x = xb.base();
    }
    0
}

impl<'a> Equivalence<'a> {
    /// A comparison of `a`'s types with `b`'s. Ids below the first id of a base both share (the
    /// same `Arc`) denote the same type in both and are compared as ids.
    pub fn new(a: &'a Btf, b: &'a Btf) -> Self {
        Equivalence { a, b, shared_below: shared_base(a, b), proven: HashSet::new() }
    }

    /// Whether type `x` of `a` and type `y` of `b` are equivalent.
    pub fn equal(&mut self, x: TypeId, y: TypeId) -> Result<bool> {
        let mut assumed: HashSet<(TypeId, TypeId)> = HashSet::new();
        let mut pending = vec![(x, y)];
        while let Some((x, y)) = pending.pop() {
            if x == 0 || y == 0 || (x < self.shared_below && y < self.shared_below) {
                if x != y {
                    return Ok(false);
                }
                continue;
            }
            if self.proven.contains(&(x, y)) || !assumed.insert((x, y)) {
                continue;
            }
            let (tx, ty) = (self.a.type_by_id(x)?, self.b.type_by_id(y)?);
            if !same_record(&tx, &ty, &mut pending)? {
                return Ok(false);
            }
        }
        self.proven.extend(assumed);
        Ok(true)
    }
}

/// Compares everything but referenced types, which are pushed as pairs to compare.
fn same_record(x: &Type<'_>, y: &Type<'_>, refs: &mut Vec<(TypeId, TypeId)>) -> Result<bool> {
    if x.kind() != y.kind() || x.kind_flag() != y.kind_flag() || x.vlen() != y.vlen() {
        return Ok(false);
    }
    if x.name_bytes()? != y.name_bytes()? {
        return Ok(false);
    }
    let (a, b) = (x.details(), y.details());
    let names = |p: &Type<'_>, q: &Type<'_>, i: u32, j: u32| -> Result<bool> {
        Ok(p.btf().str_bytes_at(i)? == q.btf().str_bytes_at(j)?)
    };
    let same = match (a, b) {
        (TypeDetails::Int(i), TypeDetails::Int(j)) => i == j && x.size_or_type() == y.size_or_type(),
        (TypeDetails::Float, TypeDetails::Float) | (TypeDetails::Fwd { .. }, TypeDetails::Fwd { .. }) => {
            x.size_or_type() == y.size_or_type()
        }
        (TypeDetails::Array(i), TypeDetails::Array(j)) => {
            refs.push((i.elem_type, j.elem_type));
            refs.push((i.index_type, j.index_type));
            i.nelems == j.nelems
        }
        (TypeDetails::Struct(m), TypeDetails::Struct(n)) | (TypeDetails::Union(m), TypeDetails::Union(n)) => {
            if x.size_or_type() != y.size_or_type() {
                return Ok(false);
            }
            for (m, n) in m.zip(n) {
                if m.raw_offset != n.raw_offset || !names(x, y, m.name_off, n.name_off)? {
                    return Ok(false);
                }
                refs.push((m.ty, n.ty));
            }
            true
        }
        (TypeDetails::Enum(v), TypeDetails::Enum(w)) => {
            for (v, w) in v.zip(w) {
                if v.raw_value != w.raw_value || !names(x, y, v.name_off, w.name_off)? {
                    return Ok(false);
                }
            }
            x.size_or_type() == y.size_or_type()
        }
        (TypeDetails::Enum64(v), TypeDetails::Enum64(w)) => {
            for (v, w) in v.zip(w) {
                if (v.lo32, v.hi32) != (w.lo32, w.hi32) || !names(x, y, v.name_off, w.name_off)? {
                    return Ok(false);
                }
            }
            x.size_or_type() == y.size_or_type()
        }
        (TypeDetails::FuncProto { ret, params }, TypeDetails::FuncProto { ret: ret2, params: params2 }) => {
            refs.push((ret, ret2));
            for (p, q) in params.zip(params2) {
                if !names(x, y, p.name_off, q.name_off)? {
                    return Ok(false);
                }
                refs.push((p.ty, q.ty));
            }
            true
        }
        (TypeDetails::Func { proto, linkage }, TypeDetails::Func { proto: proto2, linkage: linkage2 }) => {
            refs.push((proto, proto2));
            linkage == linkage2
        }
        (TypeDetails::Var { ty, linkage }, TypeDetails::Var { ty: ty2, linkage: linkage2 }) => {
            refs.push((ty, ty2));
            linkage == linkage2
        }
        (TypeDetails::Datasec(v), TypeDetails::Datasec(w)) => {
            for (v, w) in v.zip(w) {
                if (v.offset, v.size) != (w.offset, w.size) {
                    return Ok(false);
                }
                refs.push((v.ty, w.ty));
            }
            x.size_or_type() == y.size_or_type()
        }
        (TypeDetails::DeclTag { ty, component_idx }, TypeDetails::DeclTag { ty: ty2, component_idx: idx2 }) => {
            refs.push((ty, ty2));
            component_idx == idx2
        }
        (TypeDetails::Unknown { payload, .. }, TypeDetails::Unknown { payload: payload2, .. }) => {
            payload == payload2 && x.size_or_type() == y.size_or_type()
        }
        (a, _) => match (a, x.ref_type(), y.ref_type()) {
            // PTR, TYPEDEF, the modifiers and TYPE_TAG: only the referenced type.
            (_, Some(p), Some(q)) => {
                refs.push((p, q));
                true
            }
            _ => false,
        },
    };
    Ok(same)
}
